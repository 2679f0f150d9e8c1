#ifndef PASSERELLE_BENCH_BUSDRIVE_H
#define PASSERELLE_BENCH_BUSDRIVE_H
#include <stddef.h>
#include <stdint.h>

/// A lean load driver for `passerelle-bus`, written against the libzmq C API (docs/PROTOCOL.md),
/// so that the bus is measured with a client about as light as `redis-benchmark` is for Redis.
///
/// Both modes connect one DEALER to the bus's ingest endpoint (HWMs 0) and `subscribers` SUBs
/// (one thread each, `ZMQ_RCVHWM` 1,000,000, subscribed to everything) to its live endpoint.
/// Subscribers count only this run's events: 3-frame messages whose body is `event_size` bytes
/// with the id `"<tag>-<9 digits>"` at the template's position; heartbeats (empty body), warm-up
/// events and anything else are skipped. Before measuring, single-event warm-up PUBLISHes (tag
/// `<tag>~w`) go out every 20 ms until every subscriber has received one (slow joiner).
///
/// Events are CloudEvents of exactly `event_size` bytes (at least 143 + the tag's length; the
/// warm-up tag is 2 characters longer than `tag`):
///   {"data":{"pad":"xx…"},"id":"<tag>-<9 digits>","partitionkey":"customer-<9 digits>",
///    "source":"/bench/drive","specversion":"1.0","type":"bench.event.v1"}
/// built from one template by writing the index's digits in place. `tag` is 1 to 62 characters
/// of [A-Za-z0-9._-] and must be new to the bus's journal (ids are deduplicated per source):
/// use one tag per run.
///
/// Every ACK is checked: frame 0 "ACK", frame 1 an outstanding request id, one outcome per event,
/// each `{"offset":…` with `"status":"stored"`. Anything else fails the run. Every wait is
/// bounded; sockets, context and threads are released on every path. Both functions return 0, or
/// -1 with a message in `error` (if not NULL, up to `error_size` bytes).
/// Timestamps are CLOCK_MONOTONIC (`bench_monotonic_ns`, fanout.h).

typedef struct {
  long events;               ///< events acknowledged `stored` (and delivered to every subscriber)
  long requests;             ///< PUBLISH requests acknowledged
  double ack_seconds;        ///< first send → last ACK received
  double deliver_seconds;    ///< first send → last receipt at the slowest subscriber
  double acked_per_sec;      ///< events / ack_seconds
  double delivered_per_sec;  ///< events / deliver_seconds (per subscriber)
  long late;                 ///< latency mode: sends that started more than 1 ms after they were due
  long warmup_events;        ///< warm-up events published before the measurement
  // Observations (not failures):
  long acks_out_of_order;    ///< ACKs that arrived after the ACK of a request sent later
  long ack_offset_gaps;      ///< partitions whose offsets in this run's ACKs are not one dense range
  long live_order_errors;    ///< live events whose offset was not the previous one + 1 in its partition (all subscribers)
  long live_foreign;         ///< live events (non-empty body) not of this run, all subscribers (warm-up included)
  long live_heartbeats;      ///< `~head` heartbeats (empty body) received, all subscribers
  int partitions_seen;       ///< distinct partitions in this run's ACKs
} bus_drive_result_t;

/// With `scattered` non-zero, later runs give events ids in no order (a bijection of their index)
/// instead of ascending ones: the bus's identity index then takes random inserts, as it does from
/// publishers using random UUIDs. Partition keys, and so partitions, are the same either way.
void bus_drive_scatter_ids(int scattered);

/// Max throughput: one publisher (the calling thread, one DEALER) keeps `in_flight` (1 … 65535)
/// PUBLISH requests of `batch` (1 … 1000) events outstanding for `seconds`, then stops sending
/// and collects every outstanding ACK (bounded: 30 s); then waits (bounded: 30 s) until each of
/// the `subscribers` (0 … 64; with none, nothing is delivered and only publishing is measured) has counted exactly
/// the acknowledged events.
/// acked/s = events / (first send → last ACK); delivered/s = events / (first send → last receipt
/// at the slowest subscriber).
int bus_drive_throughput(const char *ingest_endpoint, const char *live_endpoint, int subscribers, int in_flight,
                         int batch, double seconds, size_t event_size, const char *tag, bus_drive_result_t *result,
                         char *error, size_t error_size);

/// The number of events a latency run of `rate` per second for `seconds` publishes:
/// round(rate × seconds). Size `ack_ns` to this and `deliver_ns` to subscribers × this.
long bus_drive_latency_count(double rate, double seconds);

/// Latency at a fixed rate: event i (0 ≤ i < count = bus_drive_latency_count(rate, seconds)) is
/// due at origin + i/rate. The publisher (the calling thread, one DEALER, one event per PUBLISH,
/// request id = i as 8 native-endian bytes, no in-flight limit) sleeps until it is due, records
/// its send start and sends it; between sends it takes the ACKs that have arrived.
/// `ack_ns[i]` = ACK receipt − send start of event i; `deliver_ns[s * count + i]` = receipt at
/// subscriber s − send start of event i (nanoseconds). `result->late` counts sends that started
/// more than 1 ms after they were due. After the last send, ACKs and deliveries are awaited
/// (bounded: 30 s each); a missing or duplicated ACK or delivery fails the run.
int bus_drive_latency(const char *ingest_endpoint, const char *live_endpoint, int subscribers, double rate,
                      double seconds, size_t event_size, const char *tag, int64_t *ack_ns, int64_t *deliver_ns,
                      bus_drive_result_t *result, char *error, size_t error_size);

#endif
