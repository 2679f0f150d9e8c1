#!/usr/bin/env python3
"""A pyzmq peer for Passerelle's ZeroMQ interop tests.

Modes:
  client ENDPOINT [--server-key K --public-key P --secret-key S]
      DEALER: connect, send a multipart message, expect it echoed back. Prints "echoed" or
      "no-reply" (exit 0 either way; the Swift test decides what it expected), exit 1 on error.
  server ENDPOINT [--secret-key S --allow KEY ...]
      ROUTER: bind, echo every message back to its sender until a message "stop" arrives or
      30 seconds pass. With --secret-key it is a CURVE server whose ZAP handler allows --allow keys.
"""
import argparse
import sys
import threading

import zmq
from zmq.utils import z85

PAYLOAD = [b"hello", bytes(range(256)), b"", "caf\u00e9".encode()]


def zap_handler(ctx, allowed, ready):
    zap = ctx.socket(zmq.REP)
    zap.bind("inproc://zeromq.zap.01")
    ready.set()
    poller = zmq.Poller()
    poller.register(zap, zmq.POLLIN)
    while True:
        if not poller.poll(30000):
            return
        msg = zap.recv_multipart()
        version, request_id, mechanism = msg[0], msg[1], msg[5]
        key = z85.encode(msg[6]) if mechanism == b"CURVE" and len(msg) > 6 else b""
        ok = key.decode() in allowed
        zap.send_multipart([version, request_id, b"200" if ok else b"400", b"OK" if ok else b"denied", key, b""])


def client(args):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    if args.server_key:
        sock.curve_serverkey = args.server_key.encode()
        sock.curve_publickey = args.public_key.encode()
        sock.curve_secretkey = args.secret_key.encode()
    sock.connect(args.endpoint)
    sock.send_multipart(PAYLOAD)
    if sock.poll(args.timeout_ms, zmq.POLLIN):
        reply = sock.recv_multipart()
        if reply != PAYLOAD:
            print("mismatch", reply)
            return 1
        print("echoed")
    else:
        print("no-reply")
    sock.close()
    ctx.term()
    return 0


def server(args):
    ctx = zmq.Context()
    if args.secret_key:
        ready = threading.Event()
        threading.Thread(target=zap_handler, args=(ctx, set(args.allow or []), ready), daemon=True).start()
        ready.wait(5)
    sock = ctx.socket(zmq.ROUTER)
    sock.linger = 0
    if args.secret_key:
        sock.curve_server = True
        sock.curve_secretkey = args.secret_key.encode()
    sock.bind(args.endpoint)
    print("listening", sock.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    while poller.poll(30000):
        frames = sock.recv_multipart()
        if frames[1:] == [b"stop"]:
            break
        sock.send_multipart(frames)
        print("echoed", len(frames) - 1, flush=True)
    sock.close()
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["client", "server"])
    parser.add_argument("endpoint")
    parser.add_argument("--server-key")
    parser.add_argument("--public-key")
    parser.add_argument("--secret-key")
    parser.add_argument("--allow", action="append")
    parser.add_argument("--timeout-ms", type=int, default=5000)
    args = parser.parse_args()
    return client(args) if args.mode == "client" else server(args)


if __name__ == "__main__":
    sys.exit(main())
