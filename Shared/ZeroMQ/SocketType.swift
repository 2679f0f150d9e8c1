import CZeroMQ

/// The ZeroMQ socket patterns Passerelle uses.
public enum SocketType: Sendable, CaseIterable {
  case pub, sub, xpub, xsub, dealer, router, push, pull, req, rep, pair

  var rawValue: Int32 {
    switch self {
    case .pub: ZMQ_PUB
    case .sub: ZMQ_SUB
    case .xpub: ZMQ_XPUB
    case .xsub: ZMQ_XSUB
    case .dealer: ZMQ_DEALER
    case .router: ZMQ_ROUTER
    case .push: ZMQ_PUSH
    case .pull: ZMQ_PULL
    case .req: ZMQ_REQ
    case .rep: ZMQ_REP
    case .pair: ZMQ_PAIR
    }
  }
}
