import PasserelleEvents
import PasserelleTestKit
import Testing

@testable import PasserelleBroker

/// The hand-off between ingest's decoding and committing stages.
@Suite struct IngestQueueTests {
  static func batch(events: Int, tag: String) throws -> IngestBatch {
    var batch = IngestBatch()
    for index in 0..<events {
      let event = CloudEvent(id: "\(tag)-\(index)", source: "/test", type: "test.v1", data: .null)
      batch.entries.append(Journal.Entry(event: event, body: event.encoded()))
    }
    return batch
  }

  @Test func everythingQueuedDuringACommitIsTakenTogether() async throws {
    let queue = IngestQueue(capacity: 100)
    #expect(await queue.put(try Self.batch(events: 2, tag: "a")))
    #expect(await queue.put(try Self.batch(events: 3, tag: "b")))
    let taken = await queue.takeAll()
    #expect(taken.map(\.entries.count) == [2, 3])
    #expect(taken[1].entries[0].id == "b-0")
  }

  @Test func aWaitingCommitterGetsTheNextBatchAtOnce() async throws {
    let queue = IngestQueue(capacity: 100)
    async let taken = queue.takeAll()
    try await Task.sleep(for: .milliseconds(50))
    #expect(await queue.put(try Self.batch(events: 1, tag: "a")))
    #expect(await taken.map(\.entries.count) == [1])
  }

  @Test func aFullQueueHoldsThePublisherBackUntilTheCommitterTakes() async throws {
    let queue = IngestQueue(capacity: 5)
    #expect(await queue.put(try Self.batch(events: 5, tag: "a")))
    let second = Task { await queue.put(try Self.batch(events: 1, tag: "b")) }
    try await Task.sleep(for: .milliseconds(100))
    // Still waiting: the queue holds its capacity.
    #expect(await queue.takeAll().map(\.entries.count) == [5])
    #expect(try await withDeadline(.seconds(5)) { try await second.value })
    #expect(await queue.takeAll().map(\.entries.count) == [1])
  }

  @Test func finishingDrainsWhatIsQueuedThenRefuses() async throws {
    let queue = IngestQueue(capacity: 100)
    #expect(await queue.put(try Self.batch(events: 1, tag: "a")))
    queue.finish()
    #expect(await !queue.put(try Self.batch(events: 1, tag: "b")))
    #expect(await queue.takeAll().map(\.entries.count) == [1])
    #expect(await queue.takeAll().isEmpty)
  }

  @Test func finishingWakesAWaitingCommitter() async throws {
    let queue = IngestQueue(capacity: 100)
    async let taken = queue.takeAll()
    try await Task.sleep(for: .milliseconds(50))
    queue.finish()
    #expect(await taken.isEmpty)
  }
}
