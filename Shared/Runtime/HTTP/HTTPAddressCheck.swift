import Foundation

/// Checks, before the HTTP server starts, that its host resolves and its port can be bound, so
/// that a taken port or a wrong host is a start-up error naming its setting (the server's own
/// failure would come later, as a NIO error naming neither).
enum HTTPAddressCheck {
  /// Why `host`:`port` cannot be listened on, with the setting at fault, or `nil` if it can.
  static func problem(host: String, port: Int) -> ConfigurationError? {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE
    var found: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &found) == 0, let address = found else {
      return ConfigurationError(
        variable: Setting<String>.httpHost.variable, value: host,
        reason: "not an address or host name of this machine")
    }
    defer { freeaddrinfo(found) }
    guard port != 0 else { return nil }
    let descriptor = socket(
      address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
    guard descriptor >= 0 else { return nil }  // let the server report it
    defer { close(descriptor) }
    var reuse: Int32 = 1  // as the server sets it: a port in TIME_WAIT is not taken
    setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
    guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 else { return nil }
    let reason = String(cString: strerror(errno))
    return errno == EADDRNOTAVAIL
      ? ConfigurationError(
        variable: Setting<String>.httpHost.variable, value: host, reason: "cannot listen on it: \(reason)")
      : ConfigurationError(
        variable: Setting<Int>.httpPort(default: 0).variable, value: String(port),
        reason: "cannot listen on it: \(reason)")
  }
}
