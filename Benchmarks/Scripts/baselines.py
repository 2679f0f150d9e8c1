#!/usr/bin/env python3
"""Baselines of the issue 4 benchmark: Redis Streams and NATS JetStream, driven from Python.

    baselines.py redis --subscribers 1 --rate 10000 --seconds 10
    baselines.py nats  --subscribers 4 --rate 10000 --seconds 10

Each call starts its own server on a free loopback port and a fresh temporary directory, runs a
throughput measurement and a paced-latency measurement, stops the server, removes the directory
and prints one JSON object on the last line of stdout (progress on stderr). `bus-throughput`
calls it once per run and subscriber count so that every system is measured in the same run.

Redis: `redis-server --appendonly yes --appendfsync always` (fsync before replying; concurrent
clients' writes share one fsync per event-loop turn). Throughput: `redis-benchmark` XADD of a
500-byte field (50 clients, pipeline 16; without delivery). Latency: a pacer starts one XADD per
event at `rate`, round robin over `--connections` connections (hand-written RESP, replies in
order); `subscribers` consumer processes XREAD BLOCK COUNT 1000.

NATS: `nats-server -js -sd DIR`, stream BENCH on subject `bench.ev`, file storage. nats-server
2.9.10 has no `sync_interval` (added in 2.10), so it acknowledges before fsync (the store is
synced every 2 minutes): this is JetStream's default, *not* fsync-per-message. Throughput:
asynchronous publishing with a window of 1,000 unacknowledged messages, every PubAck counted,
`subscribers` ordered push consumers counting every message. Latency: a pacer starts one
publish per event at `rate` (a core PUB with a reply subject: the PubAck, matched per event);
consumers as above.

Latency = consumer receive time - publish start time (CLOCK_MONOTONIC through
time.monotonic_ns(), the same clock in every process), and PubAck/XADD reply - publish start.
"""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from array import array

SIZE = 500
HEADER = 28  # 19 digits of start time + 9 digits of index


def log(text):
    print(text, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payload(index, start_ns):
    head = b"%019d%09d" % (start_ns, index)
    return head + b"x" * (SIZE - HEADER)


def percentiles(samples):
    if not samples:
        return {"p50": None, "p99": None, "p999": None, "max": None}
    samples = sorted(samples)
    n = len(samples)

    def rank(q):
        import math
        return samples[min(n - 1, max(0, math.ceil(q * n) - 1))] / 1e6

    return {"p50": rank(0.5), "p99": rank(0.99), "p999": rank(0.999), "max": rank(1.0)}


def wait_port(port, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------------------- Redis


def redis_consumer(port, count, deadline, ready, results):
    import redis

    client = redis.Redis(port=port)
    client.ping()
    ready.set()
    latencies = array("q", [-1]) * count
    got = 0
    last = "0-0"
    while got < count and time.monotonic() < deadline:
        reply = client.xread({"bench": last}, count=1000, block=500)
        now = time.monotonic_ns()
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                data = fields[b"d"]
                index = int(data[19:28])
                if index < count and latencies[index] < 0:
                    latencies[index] = now - int(data[:19])
                    got += 1
    results.put(latencies.tobytes())


class RespPublisher(asyncio.Protocol):
    """XADD over one connection, replies matched in order (RESP replies are FIFO per connection).

    Hand-written so that the driver's cost per event is a format and a write (redis-py's asyncio
    client costs ~100 us per command, too much for 10,000/s beside the server on 2 cores)."""

    def __init__(self, acks):
        self.acks = acks
        self.pending = []  # (index, start) in send order
        self.head = 0
        self.buffer = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def send(self, index):
        start = time.monotonic_ns()
        body = payload(index, start)
        self.transport.write(b"*5\r\n$4\r\nXADD\r\n$5\r\nbench\r\n$1\r\n*\r\n$1\r\nd\r\n$%d\r\n%s\r\n" % (len(body), body))
        self.pending.append((index, start))

    def data_received(self, data):
        now = time.monotonic_ns()
        self.buffer += data
        while True:
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            kind = self.buffer[:1]
            if kind == b"$":
                length = int(self.buffer[1:line_end])
                total = line_end + 2 + length + 2
                if len(self.buffer) < total:
                    return
                self.buffer = self.buffer[total:]
            elif kind == b"-":
                raise RuntimeError(self.buffer[:line_end].decode())
            else:
                self.buffer = self.buffer[line_end + 2:]
            index, start = self.pending[self.head]
            self.head += 1
            self.acks[index] = now - start


async def paced(count, rate, send_event):
    """Starts event i at origin + i/rate (or at once when late); returns how many started >1 ms late."""
    period = 1e9 / rate
    origin = time.monotonic_ns() + 50_000_000
    late = 0
    index = 0
    while index < count:
        now = time.monotonic_ns()
        while index < count and origin + index * period <= now:
            if now - (origin + index * period) > 1e6:
                late += 1
            send_event(index)
            index += 1
        if index < count:
            await asyncio.sleep(max(0, (origin + index * period - time.monotonic_ns()) / 1e9))
    return late


async def redis_paced(port, count, rate, connections):
    loop = asyncio.get_running_loop()
    acks = array("q", [-1]) * count
    publishers = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(lambda: RespPublisher(acks), "127.0.0.1", port)
        publishers.append(protocol)
    late = await paced(count, rate, lambda index: publishers[index % connections].send(index))
    deadline = time.monotonic() + 60
    while any(p.head < len(p.pending) for p in publishers) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for protocol in publishers:
        protocol.transport.close()
    return acks, late


def run_redis(args):
    directory = tempfile.mkdtemp(prefix="passerelle-bench-redis-")
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "yes",
         "--appendfsync", "always", "--save", "", "--protected-mode", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        import redis
        admin = redis.Redis(port=port)
        assert admin.config_get("appendfsync")["appendfsync"] == "always"

        # Throughput: redis-benchmark XADD (acknowledged = fsynced), no delivery.
        admin.delete("bench")
        value = "x" * (SIZE - 5)  # XADD field "d" plus id overhead: ~500 B per entry
        rates = {}
        for label, clients, pipeline in (("c50_p16", 50, 16), ("c50_p1", 50, 1)):
            n = args.bench_count if pipeline > 1 else max(20_000, args.bench_count // 10)
            out = subprocess.run(
                ["redis-benchmark", "-p", str(port), "-c", str(clients), "-P", str(pipeline), "-n", str(n), "--csv",
                 "XADD", "benchxadd", "*", "d", value],
                capture_output=True, text=True, timeout=300).stdout
            lines = [line for line in out.strip().splitlines() if line.startswith('"XADD')]
            rates[label] = float(lines[-1].split(",")[1].strip('"'))
            log(f"redis-benchmark {label}: {rates[label]:,.0f} XADD/s")
        admin.delete("benchxadd")

        # Latency at a fixed rate.
        admin.delete("bench")
        count = int(args.rate * args.seconds)
        context = mp.get_context("fork")
        results = context.Queue()
        deadline = time.monotonic() + args.seconds + 60
        consumers = []
        for _ in range(args.subscribers):
            ready = context.Event()
            process = context.Process(target=redis_consumer, args=(port, count, deadline, ready, results))
            process.start()
            consumers.append((process, ready))
        for _, ready in consumers:
            if not ready.wait(10):
                raise RuntimeError("consumer not ready")
        acks, late = asyncio.run(redis_paced(port, count, args.rate, args.connections))
        rows = collect(consumers, results, deadline)
        deliver = [x for row in rows for x in row if x >= 0]
        delivered = len(deliver)
        return {
            "system": "redis", "throughput": rates["c50_p16"], "throughput_unpipelined": rates["c50_p1"],
            "ack": percentiles([x for x in acks if x >= 0]), "deliver": percentiles(deliver),
            "events": count, "delivered": delivered, "expected": count * args.subscribers, "late": late,
        }
    finally:
        stop(server)
        shutil.rmtree(directory, ignore_errors=True)


# ----------------------------------------------------------------------------------------- NATS


def nats_consumer(url, count, deadline, ready, results, mode):
    asyncio.run(nats_consume(url, count, deadline, ready, results, mode))


async def nats_consume(url, count, deadline, ready, results, mode):
    import nats
    from nats.js.api import DeliverPolicy

    connection = await nats.connect(url)
    js = connection.jetstream()
    latencies = array("q", [-1]) * count
    state = {"got": 0}
    done = asyncio.Event()

    async def on_message(message):
        now = time.monotonic_ns()
        data = message.data
        if mode == "latency":
            index = int(data[19:28])
            if index < count and latencies[index] < 0:
                latencies[index] = now - int(data[:19])
                state["got"] += 1
        else:
            state["got"] += 1
            latencies[0] = now  # last receive
        if state["got"] >= count:
            done.set()

    await js.subscribe("bench.ev", stream="BENCH", cb=on_message, ordered_consumer=True,
                       deliver_policy=DeliverPolicy.ALL)
    await connection.flush()
    ready.set()
    try:
        await asyncio.wait_for(done.wait(), max(1, deadline - time.monotonic()))
    except asyncio.TimeoutError:
        pass
    if mode == "throughput":
        latencies = array("q", [state["got"], latencies[0]])
    results.put(latencies.tobytes())
    await connection.close()


async def nats_stream(url):
    import nats
    from nats.js.api import StorageType, StreamConfig

    connection = await nats.connect(url)
    js = connection.jetstream()
    try:
        await js.delete_stream("BENCH")
    except Exception:
        pass
    await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.ev"], storage=StorageType.FILE))
    await connection.close()


async def nats_async_publish(url, count, window):
    """Publishes `count` messages with a window of unacknowledged ones; returns (acks/s, first, last ack)."""
    import nats

    connection = await nats.connect(url, pending_size=64 * 1024 * 1024)
    inbox = connection.new_inbox()
    slots = asyncio.Semaphore(window)
    state = {"acked": 0, "errors": 0, "last": 0}
    done = asyncio.Event()

    async def on_ack(message):
        if b'"error"' in message.data:
            state["errors"] += 1
        state["acked"] += 1
        state["last"] = time.monotonic_ns()
        slots.release()
        if state["acked"] >= count:
            done.set()

    await connection.subscribe(inbox + ".*", cb=on_ack)
    await connection.flush()
    body = payload(0, 0)
    start = time.monotonic_ns()
    for index in range(count):
        await slots.acquire()
        await connection.publish("bench.ev", body, reply=f"{inbox}.{index}")
    await asyncio.wait_for(done.wait(), 120)
    await connection.close()
    if state["errors"]:
        raise RuntimeError(f"{state['errors']} publish errors")
    return start, state["last"]


async def nats_paced(url, count, rate):
    """Starts one JetStream publish per event at `rate`: a core PUB with a reply subject, the
    PubAck matched by that subject (what `js.publish` does, without its per-call future and
    timeout, which cost too much in Python at 10,000/s)."""
    import nats

    connection = await nats.connect(url)
    inbox = connection.new_inbox()
    acks = array("q", [-1]) * count
    starts = array("q", [0]) * count
    state = {"acked": 0, "errors": 0}

    async def on_ack(message):
        now = time.monotonic_ns()
        index = int(message.subject.rsplit(".", 1)[1])
        if b'"error"' in message.data:
            state["errors"] += 1
        acks[index] = now - starts[index]
        state["acked"] += 1

    await connection.subscribe(inbox + ".*", cb=on_ack)
    await connection.flush()
    def send(index):
        start = time.monotonic_ns()
        starts[index] = start
        # nats-py's publish only appends to its write buffer; its flusher task writes it out.
        asyncio.ensure_future(connection.publish("bench.ev", payload(index, start), reply=f"{inbox}.{index}"))

    late = await paced(count, rate, send)
    deadline = time.monotonic() + 60
    while state["acked"] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await connection.close()
    if state["errors"]:
        raise RuntimeError(f"{state['errors']} publish errors")
    return acks, late


def start_consumers(url, count, subscribers, deadline, mode):
    context = mp.get_context("fork")
    results = context.Queue()
    consumers = []
    for _ in range(subscribers):
        ready = context.Event()
        process = context.Process(target=nats_consumer, args=(url, count, deadline, ready, results, mode))
        process.start()
        consumers.append((process, ready))
    for _, ready in consumers:
        if not ready.wait(10):
            raise RuntimeError("consumer not ready")
    return consumers, results


def collect(consumers, results, deadline):
    rows = []
    for _ in consumers:
        row = array("q")
        row.frombytes(results.get(timeout=max(1, deadline - time.monotonic() + 5)))
        rows.append(row)
    for process, _ in consumers:
        process.join(10)
        if process.is_alive():
            process.kill()
    return rows


def run_nats(args):
    directory = tempfile.mkdtemp(prefix="passerelle-bench-nats-")
    port = free_port()
    server = subprocess.Popen(
        ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"nats://127.0.0.1:{port}"
    try:
        wait_port(port)
        # Throughput with delivery to every consumer.
        asyncio.run(nats_stream(url))
        count = args.nats_count
        deadline = time.monotonic() + 150
        consumers, results = start_consumers(url, count, args.subscribers, deadline, "throughput")
        start, last_ack = asyncio.run(nats_async_publish(url, count, 1000))
        rows = collect(consumers, results, deadline)
        received = [row[0] for row in rows]
        last_delivery = max([row[1] for row in rows] + [last_ack])
        if any(r != count for r in received):
            raise RuntimeError(f"delivered {received} of {count}")
        throughput = count / ((last_ack - start) / 1e9)
        delivered_rate = count / ((last_delivery - start) / 1e9)
        log(f"nats throughput: {throughput:,.0f} acked/s, {delivered_rate:,.0f} delivered/s")

        # Latency at a fixed rate.
        asyncio.run(nats_stream(url))
        count = int(args.rate * args.seconds)
        deadline = time.monotonic() + args.seconds + 60
        consumers, results = start_consumers(url, count, args.subscribers, deadline, "latency")
        acks, late = asyncio.run(nats_paced(url, count, args.rate))
        rows = collect(consumers, results, deadline)
        deliver = [x for row in rows for x in row if x >= 0]
        return {
            "system": "nats", "throughput": throughput, "throughput_delivered": delivered_rate,
            "ack": percentiles([x for x in acks if x >= 0]), "deliver": percentiles(deliver),
            "events": count, "delivered": len(deliver), "expected": count * args.subscribers, "late": late,
        }
    finally:
        stop(server)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("system", choices=["redis", "nats"])
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8, help="Redis connections for the paced publisher")
    parser.add_argument("--bench-count", type=int, default=500_000, help="redis-benchmark XADDs (pipelined)")
    parser.add_argument("--nats-count", type=int, default=100_000, help="NATS throughput messages")
    args = parser.parse_args()
    result = run_redis(args) if args.system == "redis" else run_nats(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
