import Foundation

/// JSON for the bus's small control frames (outcomes, fetch headers, reports).
public enum WireJSON {
  /// Encodes `value` as compact JSON with sorted keys.
  public static func encode(_ value: any Encodable) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Every type encoded here is a plain struct of strings and numbers: encoding cannot fail.
    return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
  }

  /// Encodes an outcome; stored and duplicate outcomes (the hot path of every `ACK`) without an encoder.
  ///
  /// The output is byte for byte what the generic encoder writes: compact, keys sorted.
  public static func encode(_ outcome: PublishOutcome) -> [UInt8] {
    guard outcome.status != .rejected, let partition = outcome.partition, let offset = outcome.offset else {
      return encode(outcome as any Encodable)
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(64)
    bytes.append(contentsOf: #"{"offset":"#.utf8)
    appendDecimal(offset, to: &bytes)
    bytes.append(contentsOf: #","partition":"#.utf8)
    appendDecimal(Int64(partition), to: &bytes)
    bytes.append(
      contentsOf: outcome.status == .stored ? #","status":"stored"}"#.utf8 : #","status":"duplicate"}"#.utf8)
    return bytes
  }

  /// Appends `value` in ASCII decimal.
  static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
    if value < 0 { bytes.append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) = (
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
      )
    var count = 0
    withUnsafeMutableBytes(of: &digits) { buffer in
      repeat {
        buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
        magnitude /= 10
        count += 1
      } while magnitude > 0
      bytes.append(contentsOf: buffer[(20 - count)...])
    }
  }

  /// Decodes an outcome: the stored and duplicate form the bus writes (see `encode(_: PublishOutcome)`)
  /// by hand, anything else with the generic decoder.
  public static func decodeOutcome(from bytes: some ContiguousBytes) throws(ProtocolError) -> PublishOutcome {
    let fast: PublishOutcome? = bytes.withUnsafeBytes { buffer in
      var scanner = OutcomeScanner(bytes: buffer)
      guard scanner.expect("{\"offset\":"), let offset = scanner.integer(),
        scanner.expect(",\"partition\":"), let partition = scanner.integer(),
        scanner.expect(",\"status\":\"")
      else { return nil }
      let status: PublishOutcome.Status
      if scanner.expect("stored\"}") {
        status = .stored
      } else if scanner.expect("duplicate\"}") {
        status = .duplicate
      } else {
        return nil
      }
      guard scanner.atEnd, let partitionNumber = Int(exactly: partition) else { return nil }
      return PublishOutcome(
        status: status, position: EventPosition(partition: partitionNumber, offset: offset))
    }
    if let fast { return fast }
    return try decode(PublishOutcome.self, from: bytes, field: "outcome")
  }

  /// Decodes a frame's JSON, naming `field` in the error when it does not parse.
  public static func decode<T: Decodable>(_ type: T.Type, from bytes: some ContiguousBytes, field: String)
    throws(ProtocolError) -> T
  {
    do {
      return try bytes.withUnsafeBytes { try JSONDecoder().decode(T.self, from: Data($0)) }
    } catch let DecodingError.keyNotFound(key, _) {
      throw ProtocolError(field: "\(field).\(key.stringValue)", reason: "missing")
    } catch let DecodingError.typeMismatch(expected, context) {
      let path = ([field] + context.codingPath.map(\.stringValue)).joined(separator: ".")
      throw ProtocolError(field: path, reason: "wrong type, expected \(expected)")
    } catch {
      throw ProtocolError(field: field, reason: "not valid JSON")
    }
  }
}

/// Reads the fixed shape of a stored or duplicate outcome without allocating.
private struct OutcomeScanner {
  let bytes: UnsafeRawBufferPointer
  var position = 0

  init(bytes: UnsafeRawBufferPointer) {
    self.bytes = bytes
  }

  var atEnd: Bool { position == bytes.count }

  /// Consumes `literal` if the input continues with it.
  mutating func expect(_ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard bytes.count - position >= count else { return false }
    let matches = literal.withUTF8Buffer { expected in
      (0..<count).allSatisfy { bytes[position + $0] == expected[$0] }
    }
    if matches { position += count }
    return matches
  }

  /// Consumes a non-negative decimal integer of at most 18 digits.
  mutating func integer() -> Int64? {
    var value: Int64 = 0
    let start = position
    while position < bytes.count, position - start < 18, (0x30...0x39).contains(bytes[position]) {
      value = value * 10 + Int64(bytes[position] - 0x30)
      position += 1
    }
    return position > start ? value : nil
  }
}
