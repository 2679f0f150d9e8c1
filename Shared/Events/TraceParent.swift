/// W3C Trace Context `traceparent` values, as carried in the CloudEvents distributed tracing extension.
public enum TraceParent {
  /// Whether `value` is a version-00 traceparent: `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not all zero.
  public static func isValid(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
      bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-")
    else { return false }
    let traceId = bytes[3..<35]
    let parentId = bytes[36..<52]
    let flags = bytes[53..<55]
    let isHex = { (byte: UInt8) in
      (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }
    return [traceId, parentId, flags].allSatisfy { $0.allSatisfy(isHex) }
      && traceId.contains { $0 != UInt8(ascii: "0") } && parentId.contains { $0 != UInt8(ascii: "0") }
  }
}
