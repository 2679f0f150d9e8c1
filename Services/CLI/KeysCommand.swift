import ArgumentParser
import ZeroMQ

/// `passerelle keys`: a new CURVE key pair for the bus or a service.
struct KeysCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keys",
    abstract:
      "Generate a CURVE key pair (Z85): give the public key out, keep the secret key in configuration.")

  func run() throws {
    let pair = try CurveKeyPair.generate()
    print("public-key=\(pair.publicKey)")
    print("secret-key=\(pair.secretKey)")
  }
}
