#ifndef PASSERELLE_BENCH_FANOUT_H
#define PASSERELLE_BENCH_FANOUT_H
#include <stddef.h>
#include <stdint.h>

/// The ceiling for the bus's live stream: one PUB, `subscribers` SUBs (one thread each), every
/// message three frames shaped like the bus's live messages ([topic "0007|bench.event.v1",
/// position "7:123456", body of `size` bytes]), written directly against the libzmq C API.
///
/// PUB binds `endpoint` (ipc path or `tcp://127.0.0.1:*`); every SUB connects and subscribes to
/// everything; probes go out until every SUB has one (slow joiner). High-water marks are 0, so
/// nothing is dropped, and every subscriber's count is checked.

/// Throughput: `count` messages sent as fast as `zmq_send` takes them. Returns messages per second
/// per subscriber (first send → last receive at the slowest subscriber), negative on failure.
double raw_fanout_msgs_per_sec(const char *endpoint, size_t size, long count, int subscribers, char *error,
                               size_t error_size);

/// Latency: `count` messages paced at `rate` per second (message i is due at start + i/rate; the
/// publisher sleeps until then, or sends at once when late), each carrying its index and send
/// time. Each subscriber writes, for message i, `latencies[s * count + i]` = receive time − send
/// time in nanoseconds (CLOCK_MONOTONIC).
/// Returns 0, or negative on failure.
int raw_fanout_latency(const char *endpoint, size_t size, long count, double rate, int subscribers,
                       int64_t *latencies, char *error, size_t error_size);

/// CLOCK_MONOTONIC in nanoseconds (the clock every driver of the issue 4 benchmark uses).
int64_t bench_monotonic_ns(void);

#endif
