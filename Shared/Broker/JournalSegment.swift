/// Consecutive events of one partition stored as one row of `bus_segments`.
///
/// A commit writes one segment per partition it touches (split past ``maximumEvents`` events or
/// ``maximumBytes`` bytes), so the database does one row's work for many events; only the
/// identity index (`bus_fingerprints`) is per event. `bodies` is the events' bytes, concatenated in
/// offset order; `directory` says where each one is and what the journal needs without parsing
/// it: per event, LEB128 varints and UTF-8 bytes: body length, type length, type, id length, id,
/// source length, source.
struct JournalSegment {
  /// What the directory records for one event.
  struct Record {
    let type: String
    let id: String
    let source: String
    /// Where the event's bytes are in `bodies`.
    let body: Range<Int>
  }

  /// Most events in one segment, so retention and replay work in small steps. Never raise it:
  /// `Journal.segmentSearchFloor(after:)` relies on it for the segments already written.
  static let maximumEvents = 256
  /// Most body bytes in one segment (a single larger event gets a segment of its own).
  static let maximumBytes = 1 << 20

  var directory: [UInt8] = []
  var bodies: [UInt8] = []
  var count = 0

  /// Whether `entry` still fits (an empty segment takes anything).
  func fits(_ entry: Journal.Entry) -> Bool {
    count == 0 || (count < Self.maximumEvents && bodies.count + entry.body.count <= Self.maximumBytes)
  }

  mutating func append(_ entry: Journal.Entry) {
    Self.appendVarint(entry.body.count, to: &directory)
    // One call per text, not a loop over `[type, id, source]`: that array would be allocated per event.
    appendText(entry.type)
    appendText(entry.id)
    appendText(entry.source)
    bodies.append(contentsOf: entry.body)
    count += 1
  }

  private mutating func appendText(_ text: String) {
    Self.appendVarint(text.utf8.count, to: &directory)
    directory.append(contentsOf: text.utf8)
  }

  /// Reads a directory back; `nil` if it is damaged or does not match `bodyCount` bytes of bodies.
  static func records(directory: [UInt8], bodyCount: Int) -> [Record]? {
    var records: [Record] = []
    var position = 0
    var bodyStart = 0
    while position < directory.count {
      guard let length = varint(directory, &position), let type = text(directory, &position),
        let id = text(directory, &position), let source = text(directory, &position),
        bodyStart + length <= bodyCount
      else { return nil }
      records.append(Record(type: type, id: id, source: source, body: bodyStart..<bodyStart + length))
      bodyStart += length
    }
    return bodyStart == bodyCount ? records : nil
  }

  private static func appendVarint(_ value: Int, to bytes: inout [UInt8]) {
    var value = UInt64(value)
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  private static func varint(_ bytes: [UInt8], _ position: inout Int) -> Int? {
    var value: UInt64 = 0
    var shift: UInt64 = 0
    while position < bytes.count, shift < 63 {
      let byte = bytes[position]
      position += 1
      value |= UInt64(byte & 0x7F) << shift
      if byte < 0x80 { return Int(exactly: value) }
      shift += 7
    }
    return nil
  }

  private static func text(_ bytes: [UInt8], _ position: inout Int) -> String? {
    guard let length = varint(bytes, &position), length <= bytes.count - position else { return nil }
    defer { position += length }
    return String(decoding: bytes[position..<position + length], as: UTF8.self)
  }
}
