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
    return Array(
      "{\"offset\":\(offset),\"partition\":\(partition),\"status\":\"\(outcome.status.rawValue)\"}".utf8)
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
