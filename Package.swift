// swift-tools-version:6.2
import PackageDescription

/// One list of settings for every target (as Hummingbird does).
let settings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "Passerelle",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "passerelle-bus", targets: ["passerelle-bus"]),
    .executable(name: "passerelle", targets: ["passerelle"]),
    .library(name: "PasserelleBus", targets: ["PasserelleBus"]),
    .library(name: "PasserelleEvents", targets: ["PasserelleEvents"]),
    .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
  ],
  targets: [
    // libzmq through a module map; only the ZeroMQ target imports it.
    .systemLibrary(
      name: "CZeroMQ",
      path: "Shared/CZeroMQ",
      pkgConfig: "libzmq",
      providers: [.apt(["libzmq3-dev"])]
    ),
    .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], path: "Shared/ZeroMQ", swiftSettings: settings),
    .target(name: "PasserelleEvents", path: "Shared/Events", swiftSettings: settings),
    .target(
      name: "PasserelleStorage",
      dependencies: [
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "GRDBSQLite", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Shared/Storage",
      swiftSettings: settings
    ),
    .target(
      name: "PasserelleRuntime",
      dependencies: [
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Shared/Runtime",
      swiftSettings: settings
    ),
    .target(
      name: "PasserelleBus",
      dependencies: [
        "ZeroMQ", "PasserelleEvents", "PasserelleStorage", "PasserelleRuntime",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      path: "Shared/Bus",
      swiftSettings: settings
    ),
    .target(
      name: "PasserelleBroker",
      dependencies: [
        "ZeroMQ", "PasserelleEvents", "PasserelleStorage", "PasserelleBus",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      path: "Shared/Broker",
      swiftSettings: settings
    ),
    .target(
      name: "PasserelleTestKit",
      path: "Shared/TestKit",
      swiftSettings: settings
    ),
    .target(
      name: "PasserelleStorageTestKit",
      dependencies: [
        "PasserelleStorage", "PasserelleTestKit", .product(name: "Logging", package: "swift-log"),
      ],
      path: "Shared/StorageTestKit",
      swiftSettings: settings
    ),
    .executableTarget(
      name: "passerelle-bus",
      dependencies: [
        "PasserelleBroker", "PasserelleBus", "PasserelleRuntime", "PasserelleStorage", "ZeroMQ",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Services/Bus",
      swiftSettings: settings
    ),
    .executableTarget(
      name: "passerelle",
      dependencies: [
        "PasserelleBus", "PasserelleRuntime", "PasserelleEvents", "PasserelleStorage", "ZeroMQ",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Services/CLI",
      swiftSettings: settings
    ),
    .testTarget(
      name: "ZeroMQTests",
      dependencies: ["ZeroMQ", "PasserelleTestKit"],
      path: "Tests/ZeroMQTests",
      swiftSettings: settings
    ),
    .testTarget(
      name: "EventsTests",
      dependencies: ["PasserelleEvents"],
      path: "Tests/EventsTests",
      resources: [.copy("Golden")],
      swiftSettings: settings
    ),
    .testTarget(
      name: "StorageTests",
      dependencies: [
        "PasserelleStorage", "PasserelleStorageTestKit", "PasserelleTestKit",
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/StorageTests",
      swiftSettings: settings
    ),
    .testTarget(
      name: "RuntimeTests",
      dependencies: [
        "PasserelleRuntime",
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ],
      path: "Tests/RuntimeTests",
      swiftSettings: settings
    ),
    .testTarget(
      name: "BusTests",
      dependencies: [
        "PasserelleBus", "PasserelleBroker", "PasserelleTestKit", "PasserelleStorageTestKit",
        "PasserelleEvents",
        "PasserelleStorage", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
      ],
      path: "Tests/BusTests",
      swiftSettings: settings
    ),
  ]
)
