import Foundation
import ZeroMQ

/// One of the bus's sockets could not bind its endpoint (in use, a missing folder, an address not
/// on this host): what `passerelle-bus` reports as a bad setting.
public struct BindFailure: Error, CustomStringConvertible {
  /// The bus's three sockets.
  public enum Socket: String, Sendable {
    case ingest, live, query
  }

  /// Which socket.
  public let socket: Socket
  /// The endpoint it was given.
  public let endpoint: String
  /// Why libzmq refused it.
  public let reason: String

  public var description: String { "cannot bind the \(socket.rawValue) socket to \(endpoint): \(reason)" }

  /// Runs `bind`, turning a `zmq_bind` error into a ``BindFailure`` of `socket`.
  static func naming<T>(_ socket: Socket, _ endpoint: String, _ bind: () async throws -> T) async throws -> T
  {
    do {
      return try await bind()
    } catch let error as ZMQError where error.call == "zmq_bind" {
      throw BindFailure(socket: socket, endpoint: endpoint, reason: String(cString: strerror(error.code)))
    }
  }
}
