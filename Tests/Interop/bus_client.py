#!/usr/bin/env python3
"""A minimal Passerelle bus client, written from docs/PROTOCOL.md alone (pyzmq + stdlib).

    bus_client.py --ingest EP --live EP --query EP info
    bus_client.py --ingest EP --live EP --query EP run-check --count 200 --source python-test

`run-check` publishes, subscribes and replays, checking every promise of the protocol it touches,
and ends with `bus_client: OK <n> events` (exit 0) or `bus_client: FAILED: <what>` (exit 1).
Every wait is bounded; the whole check stops at --timeout seconds.
"""

import argparse
import json
import sys
import time
import uuid
from datetime import datetime, timezone

import zmq


class CheckFailed(Exception):
    pass


class BusError(Exception):
    """An ERROR reply: {"field", "reason"}."""

    def __init__(self, field, reason):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Timeout(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def compact(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def partition_key(event: dict) -> str:
    """PROTOCOL.md, Partitions: partitionkey, else subject, else source NUL id."""
    if event.get("partitionkey") is not None:
        return event["partitionkey"]
    if event.get("subject") is not None:
        return event["subject"]
    return event["source"] + "\x00" + event["id"]


def partition_of(event: dict, count: int) -> int:
    return fnv1a64(partition_key(event).encode("utf-8")) % count


def secure(sock, curve):
    if curve:
        server_key, public, secret = curve
        sock.curve_serverkey = server_key
        sock.curve_publickey = public
        sock.curve_secretkey = secret


class Requester:
    """Requests on a DEALER: [command, request-id, body...] -> [reply, request-id, body...].

    A new request id per send; replies with another id are stale and dropped; on timeout the
    request is sent again (every command is safe to resend, PUBLISH being idempotent).
    """

    def __init__(self, ctx, endpoint, curve=None):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.setsockopt(zmq.RECONNECT_IVL, 100)
        self.sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        self.sock.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        self.sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3000)
        self.sock.setsockopt(zmq.HEARTBEAT_TTL, 3000)
        # Queue only on a live connection: requests for a bus that is down are not kept for it.
        self.sock.setsockopt(zmq.IMMEDIATE, 1)
        secure(self.sock, curve)
        self.sock.connect(endpoint)
        self.prefix = uuid.uuid4().hex[:8]
        self.counter = 0
        self.stale = 0
        self.resends = 0

    def request(self, command, bodies=(), timeout=5.0, attempts=3):
        for attempt in range(attempts):
            if attempt:
                self.resends += 1
            self.counter += 1
            rid = f"{self.prefix}-{self.counter}".encode()
            deadline = time.monotonic() + timeout
            # With ZMQ_IMMEDIATE a send waits while there is no connection: wait for one, bounded.
            if not self.sock.poll(max(1, int(timeout * 1000)), zmq.POLLOUT):
                continue
            self.sock.send_multipart([command.encode("ascii"), rid, *bodies])
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.sock.poll(max(1, int(remaining * 1000)), zmq.POLLIN):
                    break
                reply = self.sock.recv_multipart()
                if len(reply) < 2 or reply[1] != rid:
                    self.stale += 1
                    continue
                kind = reply[0].decode("ascii")
                if kind == "ERROR":
                    check(len(reply) >= 3, "ERROR reply without a body")
                    error = json.loads(reply[2])
                    raise BusError(error["field"], error["reason"])
                return kind, reply[2:]
        raise Timeout(f"no reply to {command} after {attempts} attempts")

    def close(self):
        self.sock.close(0)


class BusClient:
    def __init__(self, ingest, live, query, curve=None):
        self.ctx = zmq.Context()
        self.curve = curve
        self.live_endpoint = live
        self.ingest = Requester(self.ctx, ingest, curve)
        self.query = Requester(self.ctx, query, curve)

    def close(self):
        self.ingest.close()
        self.query.close()
        self.ctx.destroy(linger=0)

    def info(self):
        kind, frames = self.query.request("INFO")
        check(kind == "INFO" and len(frames) == 1, f"INFO reply: {kind} with {len(frames)} frames")
        return json.loads(frames[0])

    def publish(self, bodies):
        # The bus's limits, checked before sending: an oversized frame gets the connection dropped
        # without a reply.
        if len(bodies) > 1000:
            raise BusError("events", f"{len(bodies)} events in one request; at most 1000")
        for body in bodies:
            if len(body) > 1 << 20:
                raise BusError("$", f"{len(body)} bytes; the bus takes at most {1 << 20}")
        kind, frames = self.ingest.request("PUBLISH", bodies)
        check(kind == "ACK", f"PUBLISH answered {kind}")
        check(len(frames) == len(bodies), f"ACK with {len(frames)} outcomes for {len(bodies)} events")
        return [json.loads(frame) for frame in frames]

    def fetch(self, partition, start, max_events=1000, prefixes=None):
        request = {"partition": partition, "from": start, "max": max_events}
        if prefixes is not None:
            if len(prefixes) > 64 or any(len(p.encode()) > 255 for p in prefixes):
                raise BusError("body.prefixes", "at most 64 prefixes of at most 255 bytes each")
            request["prefixes"] = prefixes
        kind, frames = self.query.request("FETCH", [compact(request)], timeout=10.0)
        check(kind == "EVENTS" and frames, f"FETCH answered {kind}")
        header = json.loads(frames[0])
        events = frames[1:]
        check(len(events) == len(header["offsets"]), f"EVENTS: {len(header['offsets'])} offsets, {len(events)} frames")
        check(header["partition"] == partition, "EVENTS for another partition")
        check(header["next"] >= start, "EVENTS next < from")
        return header, events

    def report(self, subscriber, partition, offset):
        kind, frames = self.query.request(
            "POSITION", [compact({"subscriber": subscriber, "partition": partition, "offset": offset})])
        check(kind == "OK" and not frames, f"POSITION answered {kind}")

    def lag(self):
        kind, frames = self.query.request("LAG")
        check(kind == "LAG" and len(frames) == 1, f"LAG answered {kind}")
        return json.loads(frames[0])

    def live_socket(self, prefixes):
        sub = self.ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.rcvhwm = 100_000
        sub.setsockopt(zmq.RECONNECT_IVL, 100)
        sub.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        # No ZMTP heartbeats on a SUB (libzmq#3937): TCP keepalive notices a vanished bus.
        sub.setsockopt(zmq.TCP_KEEPALIVE, 1)
        sub.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 5)
        sub.setsockopt(zmq.TCP_KEEPALIVE_INTVL, 2)
        sub.setsockopt(zmq.TCP_KEEPALIVE_CNT, 5)
        secure(sub, self.curve)
        for prefix in prefixes:
            sub.setsockopt(zmq.SUBSCRIBE, prefix.encode("utf-8"))
        sub.connect(self.live_endpoint)
        return sub


def topic_prefix(partition):
    return f"{partition:04d}|"


class Consumer:
    """PROTOCOL.md, Consuming exactly once: per-partition expected offsets, fetch on gap and ~head."""

    def __init__(self, client, partitions, checkpoints, drop_every=0):
        self.client = client
        self.drop_every = drop_every  # test aid: discard every n-th live event, as a full queue would
        self.received = 0
        self.dropped = 0
        self.expected = {p: checkpoints[p] + 1 for p in range(partitions)}
        self.applied = {p: [] for p in range(partitions)}  # (offset, body) in apply order
        self.heartbeats = set()
        self.skipped = 0
        self.gap_repairs = 0
        self.head_repairs = 0
        self.info_repairs = 0
        # Step 2: subscribe first (whole partitions, heartbeat included).
        self.sub = client.live_socket([topic_prefix(p) for p in range(partitions)])
        # Step 3: then catch up from the checkpoint.
        for p in range(partitions):
            self.catch_up(p)

    def apply(self, partition, offset, body):
        check(offset == self.expected[partition], f"applying {partition}:{offset}, expected {self.expected[partition]}")
        self.applied[partition].append((offset, bytes(body)))
        self.expected[partition] = offset + 1

    def catch_up(self, partition):
        for _ in range(100_000):
            start = self.expected[partition]
            header, events = self.client.fetch(partition, start)
            check(header["low"] <= start, f"partition {partition}: events {start}..{header['low'] - 1} lost to retention")
            for offset, body in zip(header["offsets"], events):
                if offset >= self.expected[partition]:
                    self.apply(partition, offset, body)
            check(header["next"] >= self.expected[partition], f"partition {partition}: next went backwards")
            self.expected[partition] = header["next"]
            if header["next"] > header["head"]:
                return
        raise CheckFailed(f"partition {partition}: catch-up did not end")

    def catch_up_behind(self):
        """The INFO backstop: catch up each partition whose head is at or past its expected offset."""
        heads = self.client.info()["heads"]
        for p, head in enumerate(heads):
            if p in self.expected and head >= self.expected[p]:
                self.info_repairs += 1
                self.catch_up(p)

    def handle(self, frames):
        check(len(frames) == 3, f"live message with {len(frames)} frames")
        topic = frames[0].decode("utf-8")
        bar = topic.index("|")
        partition, event_type = int(topic[:bar]), topic[bar + 1:]
        check(topic[:bar] == f"{partition:04d}", f"topic {topic!r} not zero-padded")
        position = frames[1].decode("ascii").split(":")
        check(len(position) == 2 and int(position[0]) == partition, f"position {frames[1]!r} for topic {topic!r}")
        offset = int(position[1])
        if event_type == "~head":
            check(frames[2] == b"", "~head with a body")
            self.heartbeats.add(partition)
            if offset >= self.expected[partition]:
                self.head_repairs += 1
                self.catch_up(partition)
            return
        check(json.loads(frames[2])["type"] == event_type, f"topic {topic!r} does not match the event's type")
        self.received += 1
        if self.drop_every and self.received % self.drop_every == 0:
            self.dropped += 1
            return
        if offset < self.expected[partition]:
            self.skipped += 1
            return
        if offset > self.expected[partition]:
            self.gap_repairs += 1
            self.catch_up(partition)
            if offset < self.expected[partition]:
                self.skipped += 1
                return
        self.apply(partition, offset, frames[2])

    def drain(self, wait_ms):
        """Handles what arrives within `wait_ms` (0: only what is already there)."""
        if not self.sub.poll(wait_ms, zmq.POLLIN):
            return 0
        handled = 0
        while self.sub.poll(0, zmq.POLLIN) and handled < 10_000:
            self.handle(self.sub.recv_multipart())
            handled += 1
        return handled


def make_event(run, source, index, customers):
    event = {
        "specversion": "1.0",
        "id": f"{run}-{index}",
        "source": source,
        "type": "pos.purchase.completed.v1" if index % 3 == 0 else "product.viewed.v1",
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z",
        "datacontenttype": "application/json",
        "data": {"seq": index, "note": "café ✓"},
    }
    if index % 10 == 9:
        event["subject"] = f"order-{index % 4}"  # no partitionkey: partitioned by subject
    elif index % 10 != 8:  # index % 10 == 8: neither, partitioned by source NUL id
        event["partitionkey"] = f"customer-{index % customers}"
    return event


def run_check(client, args):
    deadline = time.monotonic() + args.timeout

    def remaining(what):
        left = deadline - time.monotonic()
        check(left > 0, f"ran out of time ({args.timeout} s) while {what}")
        return left

    run = uuid.uuid4().hex[:10]
    info = client.info()
    partitions = info["partitions"]
    start_heads = info["heads"]
    check(1 <= partitions <= 9999 and len(start_heads) == partitions, f"INFO: {info}")

    # (a) subscribe to every partition and catch up from the current heads.
    consumer = Consumer(client, partitions, start_heads, args.drop_every)
    while len(consumer.heartbeats) < partitions:
        remaining("waiting for a ~head heartbeat from every partition")
        consumer.drain(100)

    # (b) publish `count` events in batches, checking each outcome against our own partitioning.
    events = [make_event(run, args.source, i, args.customers) for i in range(args.count)]
    bodies = [compact(event) for event in events]
    positions = []  # per event: (partition, offset)
    last_offset = list(start_heads)
    batches = [list(range(i, min(i + args.batch, args.count))) for i in range(0, args.count, args.batch)]
    for batch in batches:
        remaining("publishing")
        outcomes = client.publish([bodies[i] for i in batch])
        for i, outcome in zip(batch, outcomes):
            check(outcome.get("status") == "stored", f"event {i}: {outcome}")
            partition, offset = outcome["partition"], outcome["offset"]
            check(partition == partition_of(events[i], partitions),
                  f"event {i}: bus put it in partition {partition}, FNV-1a says {partition_of(events[i], partitions)}")
            check(offset > last_offset[partition], f"event {i}: offset {offset} not after {last_offset[partition]}")
            last_offset[partition] = offset
            positions.append((partition, offset))
        consumer.drain(0)

    # (c) republish the first batch: every event is a duplicate at its original position.
    first = batches[0]
    outcomes = client.publish([bodies[i] for i in first])
    for i, outcome in zip(first, outcomes):
        check(outcome == {"status": "duplicate", "partition": positions[i][0], "offset": positions[i][1]},
              f"republished event {i}: {outcome}, stored at {positions[i]}")

    # (d) an invalid event (no id) is rejected, naming the field.
    invalid = dict(events[0])
    del invalid["id"]
    (outcome,) = client.publish([compact(invalid)])
    check(outcome.get("status") == "rejected" and outcome.get("field") == "id", f"event without id: {outcome}")
    check("partition" not in outcome and "offset" not in outcome, f"rejected outcome with a position: {outcome}")

    # An unknown command is refused with an ERROR naming the command.
    try:
        client.query.request("PUBLISH", [bodies[0]])
        raise CheckFailed("PUBLISH on the query socket was accepted")
    except BusError as error:
        check(error.field == "command", f"PUBLISH on the query socket: {error}")
    try:
        client.fetch(partitions, 1)
        raise CheckFailed("FETCH of a partition out of range was accepted")
    except BusError as error:
        check(error.field == "body.partition", f"FETCH of partition {partitions}: {error}")

    # (e) the live stream (repaired by FETCH where needed) delivers each event once, gapless.
    published = {p: [] for p in range(partitions)}  # (offset, body) in offset order
    for i, (partition, offset) in enumerate(positions):
        published[partition].append((offset, bodies[i]))
    for p in published:
        published[p].sort()
    last_info = time.monotonic()
    while any(consumer.expected[p] <= last_offset[p] for p in range(partitions)):
        remaining("waiting for the live events")
        consumer.drain(100)
        if time.monotonic() - last_info >= 1:
            consumer.catch_up_behind()
            last_info = time.monotonic()
    for p in range(partitions):
        offsets = [offset for offset, _ in consumer.applied[p]]
        check(offsets == list(range(start_heads[p] + 1, start_heads[p] + 1 + len(offsets))),
              f"partition {p}: live offsets not gapless")
    if args.drop_every and args.count >= args.drop_every:
        check(consumer.gap_repairs + consumer.head_repairs + consumer.info_repairs > 0,
              "events were dropped but nothing was repaired")
        for p in range(partitions):
            mine = [(o, b) for o, b in consumer.applied[p] if json.loads(b)["id"].startswith(run + "-")]
            check(mine == published[p], f"partition {p}: live events differ from the published ones")
    delivered = sum(len(v) for v in consumer.applied.values())

    # (f) replay everything from offset 1 and compare with what was published.
    replayed = {}
    for p in range(partitions):
        remaining("replaying")
        start, got = 1, []
        while True:
            header, frames = client.fetch(p, start)
            if not got:
                check(header["low"] == 1, f"partition {p}: low {header['low']} (nothing should have expired)")
            got += [(offset, bytes(body)) for offset, body in zip(header["offsets"], frames)]
            start = header["next"]
            if header["next"] > header["head"]:
                break
        check([o for o, _ in got] == list(range(1, len(got) + 1)), f"partition {p}: replay offsets not 1..{len(got)}")
        replayed[p] = [(o, b) for o, b in got if json.loads(b)["source"] == args.source and
                       json.loads(b)["id"].startswith(run + "-")]
        check(replayed[p] == published[p], f"partition {p}: replayed events differ from the published ones")
    check(sum(len(v) for v in replayed.values()) == args.count, "replay count")

    # Type prefixes filter a FETCH.
    busiest = max(range(partitions), key=lambda p: len(published[p]))
    header, frames = client.fetch(busiest, 1, prefixes=["pos."])
    check(header["next"] > header["head"], "filtered FETCH did not reach the head")
    expected_pos = [o for o, b in replayed[busiest] if json.loads(b)["type"].startswith("pos.")]
    got_pos = [o for o, b in zip(header["offsets"], frames) if json.loads(b)["source"] == args.source]
    check(all(json.loads(b)["type"].startswith("pos.") for b in frames), "filtered FETCH returned another type")
    check(got_pos == expected_pos, f"filtered FETCH of partition {busiest}: {got_pos} != {expected_pos}")

    # (g) report positions, then read the lag.
    # At most 200 bytes of UTF-8 (not characters).
    subscriber = f"{args.source}-{run}".replace("/", "-").encode()[:200].decode("utf-8", "ignore")
    heads = client.info()["heads"]
    for p in range(partitions):
        client.report(subscriber, p, consumer.expected[p] - 1)
    lag = client.lag()
    check(lag["heads"] == heads, f"LAG heads {lag['heads']} != INFO heads {heads}")
    entries = {e["partition"]: e for e in lag["entries"] if e["subscriber"] == subscriber}
    check(sorted(entries) == list(range(partitions)), f"LAG entries for {subscriber}: {sorted(entries)}")
    for p, entry in entries.items():
        check(entry["offset"] == consumer.expected[p] - 1 and entry["lag"] == max(0, heads[p] - entry["offset"]),
              f"LAG entry {entry} with head {heads[p]}")
    check(all(entry["lag"] == 0 for entry in entries.values()), "a partition lags after consuming everything")

    consumer.sub.close(0)
    used = sum(1 for p in range(partitions) if published[p])
    print(f"bus_client: live {delivered} events over {used} partitions, {consumer.gap_repairs} gap repairs, "
          f"{consumer.head_repairs} heartbeat repairs, {consumer.dropped} dropped on purpose, {consumer.skipped} skipped, "
          f"{client.ingest.resends + client.query.resends} resends, {client.ingest.stale + client.query.stale} stale")
    print(f"bus_client: OK {args.count} events", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ingest", default="tcp://127.0.0.1:7401")
    parser.add_argument("--live", default="tcp://127.0.0.1:7402")
    parser.add_argument("--query", default="tcp://127.0.0.1:7403")
    parser.add_argument("--server-key", help="the bus's CURVE public key (Z85)")
    parser.add_argument("--secret-key", help="this client's CURVE secret key (Z85)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="print INFO")
    check_parser = commands.add_parser("run-check", help="publish, subscribe, replay and check")
    check_parser.add_argument("--count", type=int, default=200)
    check_parser.add_argument("--source", default="python-test")
    check_parser.add_argument("--batch", type=int, default=25)
    check_parser.add_argument("--customers", type=int, default=7)
    check_parser.add_argument("--timeout", type=float, default=50.0)
    check_parser.add_argument("--drop-every", type=int, default=0,
                              help="discard every n-th live event on receipt, to exercise gap repair")
    args = parser.parse_args()

    curve = None
    if args.server_key or args.secret_key:
        if not (args.server_key and args.secret_key):
            parser.error("--server-key and --secret-key go together")
        public = zmq.curve_public(args.secret_key.encode("ascii"))
        curve = (args.server_key.encode("ascii"), public, args.secret_key.encode("ascii"))

    client = BusClient(args.ingest, args.live, args.query, curve)
    try:
        if args.command == "info":
            print(json.dumps(client.info()))
        else:
            check(args.count >= 1 and args.batch >= 1, "--count and --batch must be positive")
            run_check(client, args)
        return 0
    except (CheckFailed, BusError, Timeout, ValueError, KeyError) as error:
        print(f"bus_client: FAILED: {type(error).__name__}: {error}", flush=True)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
