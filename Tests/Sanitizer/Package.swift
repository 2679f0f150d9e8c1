// swift-tools-version:6.2
import PackageDescription

/// The ZeroMQ layer and its tests alone, for `swift test --sanitize=thread` (scripts/test runs it).
///
/// The folders are symbolic links into the main package: this builds the same files, without the
/// dependencies the other test targets need, so the ThreadSanitizer pass stays quick.
let package = Package(
  name: "PasserelleSanitizer",
  targets: [
    .systemLibrary(name: "CZeroMQ", path: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
    .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], path: "ZeroMQ"),
    .target(name: "PasserelleTestKit", path: "TestKit"),
    .testTarget(
      name: "ZeroMQTests", dependencies: ["ZeroMQ", "PasserelleTestKit"], path: "Tests/ZeroMQTests"),
  ]
)
