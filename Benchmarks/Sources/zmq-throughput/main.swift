import Foundation
import ZMQBench

// zmq-throughput [--runs N] [--count100 N] [--count1k N] [--async-divisor N] [--only raw,socket,async]
//                [--sizes 100,1024] [--transports ipc,tcp]
//
// Runs every configuration N times, interleaved (run 1 of every configuration, then run 2, …) so
// that a burst of load from elsewhere on the machine hits all of them alike, and prints medians
// and the ratio of each Swift implementation to raw libzmq in the same run.

func argument(_ name: String) -> String? {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
  return arguments[index + 1]
}

let runs = Int(argument("--runs") ?? "") ?? 5
let count100 = Int(argument("--count100") ?? "") ?? 1_000_000
let count1k = Int(argument("--count1k") ?? "") ?? 300_000
// Sizes other than the two of the issue get the 1 KiB count.
func count(forSize size: Int) -> Int { size <= 100 ? count100 : count1k }
// AsyncSocket moves tens of thousands of messages a second, not millions: it gets a share of the
// count so that each of its runs also takes about a second.
let asyncDivisor = Int(argument("--async-divisor") ?? "") ?? 20
let implementations =
  (argument("--only")?.split(separator: ",").compactMap { Implementation(rawValue: String($0)) })
  ?? Implementation.allCases

let sizes = argument("--sizes")?.split(separator: ",").compactMap { Int($0) } ?? [100, 1024]
let transports =
  argument("--transports")?.split(separator: ",").compactMap { Transport(rawValue: String($0)) }
  ?? Transport.allCases

var configurations: [Configuration] = []
for size in sizes {
  for transport in transports {
    for implementation in implementations {
      let count = implementation == .async ? count(forSize: size) / asyncDivisor : count(forSize: size)
      configurations.append(
        .init(implementation: implementation, transport: transport, size: size, count: count))
    }
  }
}

func median(_ values: [Double]) -> Double {
  let sorted = values.sorted()
  let middle = sorted.count / 2
  return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func format(_ rate: Double) -> String {
  let thousands = Int((rate / 1000).rounded())
  var digits = String(thousands)
  var grouped = ""
  while digits.count > 3 {
    grouped = "," + digits.suffix(3) + grouped
    digits.removeLast(3)
  }
  return digits + grouped + "k"
}

var results: [Int: [Double]] = [:]
for run in 1...runs {
  for (index, configuration) in configurations.enumerated() {
    do {
      let rate = try await messagesPerSecond(configuration)
      results[index, default: []].append(rate)
      FileHandle.standardError.write(
        "run \(run)/\(runs) \(configuration): \(format(rate)) msgs/s\n".data(using: .utf8)!)
    } catch {
      FileHandle.standardError.write(
        "run \(run)/\(runs) \(configuration): FAILED \(error)\n".data(using: .utf8)!)
      exit(1)
    }
  }
}

print("Medians of \(runs) interleaved runs; ratio = Swift / raw libzmq, same size and transport.")
print(
  "| size | transport | messages (async) | raw libzmq msgs/s | Socket msgs/s | Socket/raw | AsyncSocket msgs/s | AsyncSocket/raw |"
)
print("|---:|---|---:|---:|---:|---:|---:|---:|")
for size in sizes {
  for transport in transports {
    func rate(_ implementation: Implementation) -> Double? {
      guard
        let index = configurations.firstIndex(where: {
          $0.size == size && $0.transport == transport && $0.implementation == implementation
        })
      else { return nil }
      return median(results[index]!)
    }
    let raw = rate(.raw)
    func cells(_ implementation: Implementation) -> String {
      guard let value = rate(implementation) else { return "– | –" }
      guard let raw else { return "\(format(value)) | –" }
      return "\(format(value)) | \(String(format: "%.2f", value / raw))"
    }
    let rawCell = raw.map(format) ?? "–"
    let sizeLabel = size == 1024 ? "1 KiB" : "\(size) B"
    print(
      "| \(sizeLabel) | \(transport) | \(count(forSize: size)) (\(count(forSize: size) / asyncDivisor)) | \(rawCell) | \(cells(.socket)) | \(cells(.async)) |"
    )
  }
}
