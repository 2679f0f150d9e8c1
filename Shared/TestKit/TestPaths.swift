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

  /// A TCP socket listening on a free port of 127.0.0.1, and that port: a port that is taken.
  public static func listeningSocket() throws -> (descriptor: Int32, port: Int) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
        bind(listener, generic, length) == 0 && Glibc.listen(listener, 1) == 0
          && getsockname(listener, generic, &length) == 0
      }
    }
    guard bound else {
      close(listener)
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
    return (listener, Int(UInt16(bigEndian: address.sin_port)))
  }

  /// `count` TCP ports of 127.0.0.1 that were free a moment ago (each bound to port 0 by the
  /// kernel, all at once, then released).
  public static func freeTCPPorts(_ count: Int) throws -> [Int] {
    var sockets: [(descriptor: Int32, port: Int)] = []
    defer { for socket in sockets { close(socket.descriptor) } }
    for _ in 0..<count { sockets.append(try listeningSocket()) }
    return sockets.map(\.port)
  }

  /// A fresh `ipc://` endpoint (a path not yet used) in a folder of this test process, which is
  /// removed when the process exits: for tests that bind many short-lived sockets.
  public static func ipcEndpoint(_ name: String) throws -> String {
    "ipc://\(try ipcFolder.get().path)/\(name)-\(UUID().uuidString.prefix(8))"
  }

  private static let ipcFolder: Result<URL, any Error> = Result {
    let folder = try temporaryDirectory("ipc")
    atexit { try? FileManager.default.removeItem(at: try TestPaths.ipcFolder.get()) }
    return folder
  }

  /// A fresh, empty temporary directory; short enough for `ipc://` socket paths (108 bytes).
  public static func temporaryDirectory(_ prefix: String = "pt") throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
