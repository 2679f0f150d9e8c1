#ifndef PASSERELLE_BENCH_RAW_H
#define PASSERELLE_BENCH_RAW_H
#include <stddef.h>

#include "fanout.h"  // issue 4: fan-out to N subscribers

/// The PUB/SUB transfer written directly against the libzmq C API: the baseline the Swift layer
/// is measured against.
///
/// PUB binds `endpoint` (a `tcp://127.0.0.1:*` wildcard port is resolved), SUB connects and
/// subscribes to everything; probes are published until one arrives (slow joiner). Then a
/// publisher thread sends `count` messages of `size` bytes (`size` > 1) with `zmq_send` while a
/// subscriber thread receives them with `zmq_msg_recv`. High-water marks are 0 (unlimited), so
/// nothing is dropped; the received count is checked.
///
/// Returns messages per second from the first send to the last receive, or a negative value on
/// failure (errno-style detail in `error`, if not NULL, up to `error_size` bytes).
double raw_pubsub_msgs_per_sec(const char *endpoint, size_t size, long count, char *error, size_t error_size);

#endif
