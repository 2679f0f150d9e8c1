/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`, written for the bus's hot path.
///
/// It walks the buffer once, keeps integers exact, and reports the byte offset of the first error.
struct JSONParser {
  /// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
  static let maximumDepth = 256

  private let bytes: UnsafeBufferPointer<UInt8>
  private var index = 0
  private var depth = 0

  /// A member of the top-level object whose value is checked but not built (`nil`: none).
  private let skippedMember: String?
  /// The plain names (see ``skipContainer(close:keyed:)``) of the objects being skipped, as byte
  /// ranges, innermost object last; one buffer for all, reused, so objects do not allocate.
  private var plainNames: [Range<Int>] = []
  /// How many of `plainNames` are in use; the rest is left over from objects already skipped.
  private var plainNameCount = 0

  private init(_ bytes: UnsafeBufferPointer<UInt8>, skippingMember skippedMember: String? = nil) {
    self.bytes = bytes
    self.skippedMember = skippedMember
    // Room for the names of a typical `data`, allocated once.
    if skippedMember != nil { plainNames.reserveCapacity(32) }
  }

  /// Parses a whole document: one value, surrounded only by whitespace.
  ///
  /// With `skippedMember`, that member of the top-level object is checked exactly as if it were
  /// parsed (the same errors, duplicate names included, at the same byte) but not built: it comes
  /// back as an empty value of its JSON type (`""`, `[]`, `{}`; numbers and literals as they are),
  /// so the bus validates envelopes without paying for `data` and still knows what kind it is.
  static func parseDocument(
    _ bytes: UnsafeBufferPointer<UInt8>, skippingMember skippedMember: String? = nil
  ) throws(EventDecodingError) -> JSONValue {
    var parser = JSONParser(bytes, skippingMember: skippedMember)
    parser.skipWhitespace()
    let value = try parser.parseValue()
    parser.skipWhitespace()
    guard parser.index == bytes.count else { throw parser.failure("unexpected data after the JSON value") }
    return value
  }

  /// Parses a document whose value is an object, handing each top-level member to `member` in
  /// document order instead of building a dictionary; returns `false` (and calls nothing) when the
  /// value is not an object, so the caller can fall back to ``parseDocument(_:skippingMember:)``.
  ///
  /// Errors are those of ``parseDocument(_:skippingMember:)`` at the same byte: `member` returns
  /// whether the name is new, and a repeated name fails as a duplicate key.
  static func parseMembers(
    _ bytes: UnsafeBufferPointer<UInt8>, skippingMember skippedMember: String? = nil,
    _ member: (String, JSONValue) -> Bool
  ) throws(EventDecodingError) -> Bool {
    var parser = JSONParser(bytes, skippingMember: skippedMember)
    parser.skipWhitespace()
    guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { return false }
    try parser.parseObject { key, value in member(key, value) ? nil : key }
    parser.skipWhitespace()
    guard parser.index == bytes.count else { throw parser.failure("unexpected data after the JSON value") }
    return true
  }

  private func failure(_ detail: String) -> EventDecodingError {
    if index >= bytes.count {
      return EventDecodingError(field: "$", reason: .malformedJSON("unexpected end of input (\(detail))"))
    }
    return EventDecodingError(field: "$", reason: .malformedJSON("\(detail) at byte \(index)"))
  }

  private mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x0A, 0x0D, 0x09: index += 1
      default: return
      }
    }
  }

  private mutating func parseValue() throws(EventDecodingError) -> JSONValue {
    guard index < bytes.count else { throw failure("expected a value") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try expectLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expectLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expectLiteral("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw failure("unexpected character")
    }
  }

  /// Checks one value exactly as ``parseValue()`` does, without building it; returns an empty
  /// value of the same JSON type (numbers and literals, cheap to build, as they are).
  private mutating func skipValue() throws(EventDecodingError) -> JSONValue {
    guard index < bytes.count else { throw failure("expected a value") }
    switch bytes[index] {
    case UInt8(ascii: "{"):
      try skipContainer(close: UInt8(ascii: "}"), keyed: true)
      return .object([:])
    case UInt8(ascii: "["):
      try skipContainer(close: UInt8(ascii: "]"), keyed: false)
      return .array([])
    case UInt8(ascii: "\""):
      _ = try skipString()
      return .string("")
    default: return try parseValue()  // a number, true, false, null, or the same error
    }
  }

  /// The most names of one object compared pairwise as bytes; more go into a set.
  private static let maximumPlainNames = 16

  /// Checks an array or an object, failing on a repeated name as ``parseObject(_:)`` does, by
  /// `String` equality: names of ASCII without escapes (plain) compare as their bytes, and while an
  /// object has only such names, and few, they are compared in place, with no string built. An
  /// escaped or non-ASCII name (equal, as a string, to names with other bytes: `\u0061` is `a`,
  /// the Kelvin sign is `K`) or many names switch the object to a set of strings.
  private mutating func skipContainer(close: UInt8, keyed: Bool) throws(EventDecodingError) {
    try enter()
    defer { depth -= 1 }
    index += 1
    skipWhitespace()
    if index < bytes.count, bytes[index] == close {
      index += 1
      return
    }
    let firstName = plainNameCount
    defer { plainNameCount = firstName }
    var names: Set<String>?  // the object's names, once they are not all plain or too many
    while true {
      skipWhitespace()
      var plainName: Range<Int>?
      var decodedName: String?
      if keyed {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key") }
        let start = index + 1
        decodedName = try skipString()
        if decodedName == nil { plainName = start..<index - 1 }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
        index += 1
        skipWhitespace()
      }
      _ = try skipValue()
      if let plainName, names == nil, plainNameCount - firstName < Self.maximumPlainNames {
        for position in firstName..<plainNameCount where equalBytes(plainNames[position], plainName) {
          throw failure("duplicate key \"\(text(plainName))\"")
        }
        if plainNameCount < plainNames.count {
          plainNames[plainNameCount] = plainName
        } else {
          plainNames.append(plainName)
        }
        plainNameCount += 1
      } else if let name = decodedName ?? plainName.map(text) {
        if names == nil { names = Set(plainNames[firstName..<plainNameCount].map(text)) }
        guard names?.insert(name).inserted == true else { throw failure("duplicate key \"\(name)\"") }
      }
      skipWhitespace()
      guard index < bytes.count else { throw failure(keyed ? "unterminated object" : "unterminated array") }
      switch bytes[index] {
      case UInt8(ascii: ","): index += 1
      case close:
        index += 1
        return
      default: throw failure(keyed ? "expected ',' or '}'" : "expected ',' or ']'")
      }
    }
  }

  /// Whether two ranges of the input hold the same bytes.
  private func equalBytes(_ first: Range<Int>, _ second: Range<Int>) -> Bool {
    first.count == second.count
      && (0..<first.count).allSatisfy { bytes[first.lowerBound + $0] == bytes[second.lowerBound + $0] }
  }

  /// The text of plain (ASCII) string bytes.
  private func text(_ range: Range<Int>) -> String {
    String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
  }

  /// Checks a string starting at its opening quote; returns `nil` if it is plain (ASCII without
  /// escapes, its text the bytes between the quotes), else its text: only then is it decoded.
  private mutating func skipString() throws(EventDecodingError) -> String? {
    let start = index + 1
    var position = start
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        index = position + 1
        return nil
      }
      guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else {
        // The rare case: let the full parser check escapes, UTF-8 and control characters.
        return try parseString()
      }
      position += 1
    }
    index = position
    throw failure("unterminated string")
  }

  private mutating func expectLiteral(_ literal: StaticString) throws(EventDecodingError) {
    let count = literal.utf8CodeUnitCount
    guard bytes.count - index >= count else {
      index = bytes.count
      throw failure("truncated literal")
    }
    let start = literal.utf8Start
    for offset in 0..<count where bytes[index + offset] != start[offset] {
      throw failure("invalid literal")
    }
    index += count
  }

  private mutating func enter() throws(EventDecodingError) {
    depth += 1
    guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
  }

  private mutating func parseObject() throws(EventDecodingError) -> JSONValue {
    var members: [String: JSONValue] = [:]
    // An event's envelope has about a dozen members: no rehashing while they are added.
    if depth == 0 { members.reserveCapacity(16) }
    try parseObject { key, value in members.updateValue(value, forKey: key) == nil ? nil : key }
    return .object(members)
  }

  /// Parses an object starting at its opening brace, handing each member to `add` in order; `add`
  /// returns the name back if it was already there (a duplicate key), `nil` otherwise.
  private mutating func parseObject(_ add: (String, JSONValue) -> String?) throws(EventDecodingError) {
    try enter()
    defer { depth -= 1 }
    index += 1
    skipWhitespace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return
    }
    while true {
      skipWhitespace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key") }
      let key = try parseString()
      skipWhitespace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
      index += 1
      skipWhitespace()
      let value: JSONValue
      if depth == 1, let skippedMember, key == skippedMember {
        value = try skipValue()
      } else {
        value = try parseValue()
      }
      if let duplicate = add(key, value) { throw failure("duplicate key \"\(duplicate)\"") }
      skipWhitespace()
      guard index < bytes.count else { throw failure("unterminated object") }
      switch bytes[index] {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        return
      default: throw failure("expected ',' or '}'")
      }
    }
  }

  private mutating func parseArray() throws(EventDecodingError) -> JSONValue {
    try enter()
    defer { depth -= 1 }
    index += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue())
      skipWhitespace()
      guard index < bytes.count else { throw failure("unterminated array") }
      switch bytes[index] {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        return .array(elements)
      default: throw failure("expected ',' or ']'")
      }
    }
  }

  /// Parses a string starting at its opening quote; the common unescaped case is one copy.
  private mutating func parseString() throws(EventDecodingError) -> String {
    index += 1
    let start = index
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        let text = try makeString(start..<index)
        index += 1
        return text
      }
      if byte == UInt8(ascii: "\\") { return try parseEscapedString(from: start) }
      guard byte >= 0x20 else { throw failure("control character in string") }
      index += 1
    }
    throw failure("unterminated string")
  }

  /// Decodes a run of string bytes; ASCII (the common case) skips the generic UTF-8 validation.
  private func makeString(_ range: Range<Int>) throws(EventDecodingError) -> String {
    let run = UnsafeBufferPointer(rebasing: bytes[range])
    if run.allSatisfy({ $0 < 0x80 }) { return String(decoding: run, as: UTF8.self) }
    guard let text = String(validating: run, as: UTF8.self) else { throw failure("invalid UTF-8 in string") }
    return text
  }

  private mutating func parseEscapedString(from start: Int) throws(EventDecodingError) -> String {
    var text = try makeString(start..<index)
    var runStart = index
    while index < bytes.count {
      let byte = bytes[index]
      switch byte {
      case UInt8(ascii: "\""):
        text += try makeString(runStart..<index)
        index += 1
        return text
      case UInt8(ascii: "\\"):
        text += try makeString(runStart..<index)
        index += 1
        guard index < bytes.count else { break }
        text.unicodeScalars.append(try parseEscape())
        runStart = index
      case ..<0x20: throw failure("control character in string")
      default: index += 1
      }
    }
    throw failure("unterminated string")
  }

  /// Parses the escape after a backslash, including UTF-16 surrogate pairs.
  private mutating func parseEscape() throws(EventDecodingError) -> Unicode.Scalar {
    let byte = bytes[index]
    index += 1
    switch byte {
    case UInt8(ascii: "\""): return "\""
    case UInt8(ascii: "\\"): return "\\"
    case UInt8(ascii: "/"): return "/"
    case UInt8(ascii: "b"): return "\u{08}"
    case UInt8(ascii: "f"): return "\u{0C}"
    case UInt8(ascii: "n"): return "\n"
    case UInt8(ascii: "r"): return "\r"
    case UInt8(ascii: "t"): return "\t"
    case UInt8(ascii: "u"):
      let high = try parseHex4()
      if (0xD800..<0xDC00).contains(high) {
        guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"),
          bytes[index + 1] == UInt8(ascii: "u")
        else { throw failure("unpaired surrogate") }
        index += 2
        let low = try parseHex4()
        guard (0xDC00..<0xE000).contains(low),
          let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        else { throw failure("invalid surrogate pair") }
        return scalar
      }
      guard let scalar = Unicode.Scalar(high) else { throw failure("unpaired surrogate") }
      return scalar
    default: throw failure("invalid escape")
    }
  }

  private mutating func parseHex4() throws(EventDecodingError) -> UInt32 {
    guard bytes.count - index >= 4 else {
      index = bytes.count
      throw failure("truncated \\u escape")
    }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[index]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw failure("invalid \\u escape")
      }
      value = value << 4 | UInt32(digit)
      index += 1
    }
    return value
  }

  /// Parses a number; integers without fraction or exponent that fit in Int64 stay exact.
  private mutating func parseNumber() throws(EventDecodingError) -> JSONValue {
    let start = index
    if bytes[index] == UInt8(ascii: "-") { index += 1 }
    guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
    if bytes[index] == UInt8(ascii: "0") {
      index += 1
    } else {
      skipDigits()
    }
    var isInteger = true
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      isInteger = false
      index += 1
      guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
      skipDigits()
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      isInteger = false
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
        index += 1
      }
      guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
      skipDigits()
    }
    if isInteger, let value = integer(start..<index) { return .integer(value) }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    guard let value = Double(text), value.isFinite else {
      index = start  // the number's offset, also when it ends the input
      throw failure("number out of range")
    }
    return .double(value)
  }

  /// The value of an already validated integer literal, or `nil` if it overflows `Int64`.
  private func integer(_ range: Range<Int>) -> Int64? {
    let negative = bytes[range.lowerBound] == UInt8(ascii: "-")
    var value: Int64 = 0
    for index in (negative ? range.lowerBound + 1 : range.lowerBound)..<range.upperBound {
      let digit = Int64(bytes[index] - UInt8(ascii: "0"))
      let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
      let (next, overflow2) =
        negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
      guard !overflow, !overflow2 else { return nil }
      value = next
    }
    return value
  }

  private func isDigit(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
  }

  private mutating func skipDigits() {
    while index < bytes.count, isDigit(bytes[index]) { index += 1 }
  }
}
