#ifndef PASSERELLE_BENCH_FANOUT_H
#define PASSERELLE_BENCH_FANOUT_H
#include <stddef.h>
#include <stdint.h>

/// The ceiling for the bus's live stream: one PUB, `subscribers` SUBs (one thread each), every
/// message three frames shaped like the bus's live messages ([topic "0007|bench.event.v1",
/// position "7:123456", body of `size` bytes]), written directly against the libzmq C API.
///
/// PUB binds `endpoint` (ipc path or `tcp://127.0.0.1:*`) in a context of its own; the SUBs are
/// `raw_fanout_subscribers_start`'s (below, their own context); probes go out until every SUB has
/// one (slow joiner). High-water marks are 0, so nothing is dropped, and every subscriber's count is
/// checked. A subscriber that receives nothing for 10 s fails the run.

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

/// The receiving side on its own, so that any publisher (the raw one above, or the bus's own
/// `AsyncSocket` XPUB in bus-throughput) is measured against the same subscribers.
typedef struct raw_fanout_subscribers raw_fanout_subscribers;

/// Connects `subscribers` SUB sockets (a context of their own, receive HWM 0, linger 0, subscribed to
/// everything) to `endpoint` (already bound; pass the resolved endpoint, not a wildcard) and starts
/// one thread per SUB. Each thread counts `count` messages whose third frame is `size` bytes and
/// skips everything else (single-frame probes); the first message of any kind marks it joined. With
/// `latencies` (size `subscribers * count`), message i's body must carry its index (`long`, bytes
/// 0–7) and send time (`int64_t` CLOCK_MONOTONIC ns, bytes 8–15); subscriber s writes receive − send
/// to `latencies[s * count + i]`. A subscriber that receives nothing for 10 s stops (failure).
/// Returns NULL on failure (detail in `error`).
raw_fanout_subscribers *raw_fanout_subscribers_start(const char *endpoint, size_t size, long count, int subscribers,
                                                     int64_t *latencies, char *error, size_t error_size);

/// How many subscribers have received at least one message: the slow-joiner handshake is done when
/// this equals `subscribers` (publish probes until then; they are not counted).
int raw_fanout_subscribers_joined(const raw_fanout_subscribers *subscribers);

/// Waits until every subscriber has its `count` messages (or failed), then frees everything.
/// Returns the last receive time at the slowest subscriber (CLOCK_MONOTONIC ns), or -1 if any
/// subscriber did not receive exactly `count` messages (detail in `error`).
int64_t raw_fanout_subscribers_wait(raw_fanout_subscribers *subscribers, char *error, size_t error_size);

/// Gives up: shuts the subscribers' context down (a blocked receive ends at once), joins the
/// threads and frees everything.
void raw_fanout_subscribers_cancel(raw_fanout_subscribers *subscribers);

/// CLOCK_MONOTONIC in nanoseconds (the clock every driver of the issue 4 benchmark uses).
int64_t bench_monotonic_ns(void);

#endif
