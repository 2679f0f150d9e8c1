import Foundation

/// Where tests find the package's files and built products, and where they may write.
public enum TestPaths {
  /// The package root, found from this file's location.
  public static let packageRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// A file under the package root.
  public static func file(_ relativePath: String) -> URL {
    packageRoot.appendingPathComponent(relativePath)
  }

  /// The folder holding the built executables of this test run (`.build/debug`).
  public static var productsDirectory: URL {
    Bundle.main.bundleURL.lastPathComponent.hasSuffix(".xctest")
      ? Bundle.main.bundleURL.deletingLastPathComponent()
      : URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  }

  /// The path of a built executable of this package, e.g. `passerelle-bus`.
  public static func executable(_ name: String) -> String {
    productsDirectory.appendingPathComponent(name).path
  }

  /// The Python interpreter for interop peers: `PASSERELLE_TEST_PYTHON`, else `python3` on `PATH`.
  public static var python: String {
    let environment = ProcessInfo.processInfo.environment
    if let configured = environment["PASSERELLE_TEST_PYTHON"] { return configured }
    return findOnPath("python3") ?? "/usr/bin/python3"
  }

  /// The absolute path of `command` in `PATH`, if any.
  public static func findOnPath(_ command: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(command)" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// A fresh, empty temporary directory; short enough for `ipc://` socket paths (108 bytes).
  public static func temporaryDirectory(_ prefix: String = "pt") throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
