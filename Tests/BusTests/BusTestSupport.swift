import Foundation
import PasserelleBus
import PasserelleEvents
import PasserelleTestKit
import ZeroMQ

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// What the bus tests share: sample events, a client for a ``TestBus``, and reading the whole journal.
enum BusTestSupport {
  /// `GET http://127.0.0.1:<port><path>`: the status code and the body.
  static func get(_ port: Int, _ path: String) async throws -> (Int, String) {
    let (data, response) = try await URLSession.shared.data(
      from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }

  /// The value of an unlabelled counter or gauge on the bus's `/metrics`, or `nil`.
  static func metric(_ name: String, of bus: TestBus) async throws -> Double? {
    guard let port = bus.httpPort() else { return nil }
    let text = try await get(port, "/metrics").1
    let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
    return line.flatMap { Double($0.dropFirst(name.count + 1)) }
  }

  /// `count` events from `source`, spread over `customers` partition keys, with `data.seq` = index.
  static func events(source: String, count: Int, customers: Int = 97, prefix: String = "e") -> [CloudEvent] {
    (0..<count).map { index in
      CloudEvent(
        id: "\(prefix)-\(index)", source: source,
        type: index % 3 == 0 ? "pos.purchase.completed.v1" : "product.viewed.v1",
        time: Date(),
        data: .object(["seq": .integer(Int64(index)), "padding": .string(String(repeating: "x", count: 200))]
        ),
        partitionKey: "customer-\(index % customers)")
    }
  }

  /// Writes events as JSON lines, as `passerelle publish --file` reads them.
  static func writeLines(_ events: [CloudEvent], to url: URL) throws {
    var data = Data()
    for event in events {
      data.append(contentsOf: event.encoded())
      data.append(0x0A)
    }
    try data.write(to: url)
  }

  /// A client for `bus`.
  static func client(_ bus: TestBus) throws -> BusClient {
    try BusClient(endpoints: BusEndpoints(ingest: bus.ingest, live: bus.live, query: bus.query))
  }

  /// One stored event as read back from the journal.
  struct Stored: Hashable {
    let position: EventPosition
    let source: String
    let id: String
    let seq: Int64
  }

  /// Every event in the journal, partition by partition, in offset order.
  static func readJournal(_ client: BusClient) async throws -> [Stored] {
    let info = try await client.info()
    var stored: [Stored] = []
    for partition in 0..<info.partitions {
      var from: Int64 = 1
      for _ in 0..<10_000 {
        let (header, bodies) = try await client.fetch(
          FetchRequest(partition: partition, from: from, max: 1000))
        for (offset, body) in zip(header.offsets, bodies) {
          let event = try CloudEvent.decode(body.bytes)
          guard case .object(let data) = event.data, case .integer(let seq)? = data["seq"] else { continue }
          stored.append(
            Stored(
              position: EventPosition(partition: partition, offset: offset), source: event.source,
              id: event.id, seq: seq))
        }
        if header.next > header.head { break }
        from = header.next
      }
    }
    return stored
  }

  /// Checks offsets are gapless from 1 in every partition and that each source's events keep
  /// their publishing order within a partition, each once; returns a description of the first problem.
  static func orderProblem(_ stored: [Stored]) -> String? {
    for (partition, events) in Dictionary(grouping: stored, by: \.position.partition) {
      let offsets = events.map(\.position.offset)
      if offsets != Array(1...Int64(offsets.count)) {
        return "partition \(partition): offsets not 1...\(offsets.count)"
      }
      for (source, fromSource) in Dictionary(grouping: events, by: \.source) {
        let seqs = fromSource.map(\.seq)
        if zip(seqs, seqs.dropFirst()).contains(where: { $0 >= $1 }) {
          return "partition \(partition): \(source)'s events out of order or repeated"
        }
      }
    }
    return nil
  }
}
