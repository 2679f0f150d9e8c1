/// Writes `JSONValue`s as compact UTF-8 JSON with sorted object keys, so encoding is deterministic.
struct JSONWriter {
  /// The bytes written so far.
  private(set) var bytes: [UInt8] = []

  /// Creates a writer with room for a typical event.
  init(capacity: Int = 512) {
    bytes.reserveCapacity(capacity)
  }

  /// Appends one value.
  mutating func write(_ value: JSONValue) {
    switch value {
    case .null: append("null")
    case .bool(let flag): append(flag ? "true" : "false")
    case .integer(let number): append(String(number))
    case .double(let number):
      // JSON has no NaN or infinity; they can only come from code, never from parsed input.
      append(number.isFinite ? String(number) : "null")
    case .string(let text): writeString(text)
    case .array(let elements):
      bytes.append(UInt8(ascii: "["))
      for (offset, element) in elements.enumerated() {
        if offset > 0 { bytes.append(UInt8(ascii: ",")) }
        write(element)
      }
      bytes.append(UInt8(ascii: "]"))
    case .object(let members): writeObject(members)
    }
  }

  /// Appends an object whose members are written in sorted key order.
  private mutating func writeObject(_ members: [String: JSONValue]) {
    bytes.append(UInt8(ascii: "{"))
    for (offset, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
      if offset > 0 { bytes.append(UInt8(ascii: ",")) }
      writeString(member.key)
      bytes.append(UInt8(ascii: ":"))
      write(member.value)
    }
    bytes.append(UInt8(ascii: "}"))
  }

  private mutating func append(_ text: String) {
    bytes.append(contentsOf: text.utf8)
  }

  private static let hexDigits = Array("0123456789abcdef".utf8)

  /// Appends a quoted string, escaping only what JSON requires; unescaped runs are copied in bulk.
  private mutating func writeString(_ text: String) {
    var text = text
    bytes.append(UInt8(ascii: "\""))
    text.withUTF8 { utf8 in
      var runStart = 0
      for (index, byte) in utf8.enumerated()
      where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
        runStart = index + 1
        switch byte {
        case UInt8(ascii: "\""): append("\\\"")
        case UInt8(ascii: "\\"): append("\\\\")
        case 0x0A: append("\\n")
        case 0x0D: append("\\r")
        case 0x09: append("\\t")
        default:
          append("\\u00")
          bytes.append(Self.hexDigits[Int(byte >> 4)])
          bytes.append(Self.hexDigits[Int(byte & 0x0F)])
        }
      }
      bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }
    bytes.append(UInt8(ascii: "\""))
  }
}
