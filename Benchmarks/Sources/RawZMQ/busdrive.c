#define _GNU_SOURCE  // memmem, ppoll
#include "busdrive.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "fanout.h"  // bench_monotonic_ns

#define BD_MAX_SUBSCRIBERS 64
#define BD_MAX_IN_FLIGHT 65535
#define BD_MAX_BATCH 1000          // the bus answers more events per PUBLISH with ERROR
#define BD_MAX_EVENT (1 << 20)     // the bus's ZMQ_MAXMSGSIZE
#define BD_MAX_TAG 64
#define BD_MAX_INDEX 999999999L    // 9 digits
#define BD_PARTITIONS 10000        // partitions are 0 … 9999
#define BD_SUB_RCVHWM 1000000
#define BD_RECV_TIMEOUT_MS 100     // subscribers look at the stop flag this often
#define BD_DRAIN_NS 30000000000LL  // bound on collecting ACKs and deliveries after the last send
#define BD_WARM_NS 15000000000LL   // bound on the warm-up
#define BD_SLOT_BITS 16            // throughput request id: sequence << 16 | slot

// MARK: - Small helpers

static void bd_fail(char *error, size_t error_size, const char *format, ...) {
  if (!error || error_size == 0) return;
  va_list args;
  va_start(args, format);
  vsnprintf(error, error_size, format, args);
  va_end(args);
}

static void bd_sleep_ns(int64_t ns) {
  if (ns <= 0) return;
  struct timespec ts = {ns / 1000000000, ns % 1000000000};
  nanosleep(&ts, NULL);
}

/// Parses decimal digits at `p` (up to `end`); returns the value, -1 when there is no digit.
static int64_t bd_parse_decimal(const char *p, const char *end, const char **after) {
  int64_t value = -1;
  while (p < end && *p >= '0' && *p <= '9') {
    value = (value < 0 ? 0 : value * 10) + (*p - '0');
    p++;
  }
  if (after) *after = p;
  return value;
}

// MARK: - Event template

typedef struct {
  char *bytes;
  size_t size;
  size_t id_slot;   // the 9 digits of the id
  size_t key_slot;  // the 9 digits of the partition key
  size_t id_key;    // where `"id":"<tag>-` starts
  char id_prefix[BD_MAX_TAG + 16];
  size_t id_prefix_size;
} bd_template_t;

static const char bd_part_a[] = "{\"data\":{\"pad\":\"";
static const char bd_part_b[] = "\"},";  // then "id":"<tag>-<digits>
static const char bd_part_c[] = "\",\"partitionkey\":\"customer-";
static const char bd_part_d[] = "\",\"source\":\"/bench/drive\",\"specversion\":\"1.0\",\"type\":\"bench.event.v1\"}";

static int bd_template_make(bd_template_t *t, const char *tag, size_t size, char *error, size_t error_size) {
  memset(t, 0, sizeof *t);
  t->id_prefix_size = (size_t)snprintf(t->id_prefix, sizeof t->id_prefix, "\"id\":\"%s-", tag);
  size_t bare = (sizeof bd_part_a - 1) + (sizeof bd_part_b - 1) + t->id_prefix_size + 9 + (sizeof bd_part_c - 1) + 9 +
                (sizeof bd_part_d - 1);
  if (size < bare || size > BD_MAX_EVENT) {
    bd_fail(error, error_size, "event size %zu out of range (%zu … %d for tag \"%s\")", size, bare, BD_MAX_EVENT, tag);
    return -1;
  }
  size_t pad = size - bare;
  t->bytes = malloc(size);
  if (!t->bytes) {
    bd_fail(error, error_size, "out of memory");
    return -1;
  }
  char *p = t->bytes;
  memcpy(p, bd_part_a, sizeof bd_part_a - 1), p += sizeof bd_part_a - 1;
  memset(p, 'x', pad), p += pad;
  memcpy(p, bd_part_b, sizeof bd_part_b - 1), p += sizeof bd_part_b - 1;
  t->id_key = (size_t)(p - t->bytes);
  memcpy(p, t->id_prefix, t->id_prefix_size), p += t->id_prefix_size;
  t->id_slot = (size_t)(p - t->bytes);
  memset(p, '0', 9), p += 9;
  memcpy(p, bd_part_c, sizeof bd_part_c - 1), p += sizeof bd_part_c - 1;
  t->key_slot = (size_t)(p - t->bytes);
  memset(p, '0', 9), p += 9;
  memcpy(p, bd_part_d, sizeof bd_part_d - 1), p += sizeof bd_part_d - 1;
  t->size = size;
  if ((size_t)(p - t->bytes) != size) {  // cannot happen: the arithmetic above
    bd_fail(error, error_size, "template size mismatch");
    return -1;
  }
  return 0;
}

static int bd_scattered_ids = 0;

void bus_drive_scatter_ids(int scattered) { bd_scattered_ids = scattered; }

/// Writes `index` (0 … 999,999,999) as 9 digits into the partition key, and into the id either
/// as is or, with scattered ids, through a bijection of 0 … 10⁹−1 (ids stay unique but arrive in
/// no order, as random UUIDs do).
static inline void bd_template_set(bd_template_t *t, long index) {
  char *id = t->bytes + t->id_slot, *key = t->bytes + t->key_slot;
  // 3¹⁸ is prime to 10⁹, so multiplying by it modulo 10⁹ is a bijection.
  long id_value = bd_scattered_ids ? (long)(((int64_t)index * 387420489LL + 123456789LL) % 1000000000LL) : index;
  for (int k = 8; k >= 0; k--) {
    key[k] = (char)('0' + index % 10);
    id[k] = (char)('0' + id_value % 10);
    index /= 10;
    id_value /= 10;
  }
}

/// This run's index of an event body, or -1 for any other body.
static inline long bd_template_index(const bd_template_t *t, const char *body, size_t size) {
  if (size != t->size || memcmp(body + t->id_key, t->id_prefix, t->id_prefix_size) != 0) return -1;
  const char *digits = body + t->key_slot;  // the key carries the index unscattered
  long value = 0;
  for (int k = 0; k < 9; k++) {
    if (digits[k] < '0' || digits[k] > '9') return -1;
    value = value * 10 + (digits[k] - '0');
  }
  return value;
}

static int bd_tag_ok(const char *tag) {
  size_t n = tag ? strlen(tag) : 0;
  if (n < 1 || n > BD_MAX_TAG - 2) return 0;  // room for the warm-up suffix
  for (size_t i = 0; i < n; i++) {
    char c = tag[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

// MARK: - Subscribers

typedef struct {
  void *socket;
  const bd_template_t *run;
  const int *stop;
  // Latency mode (NULL otherwise): send start times and this subscriber's row of deliver_ns.
  long count;
  const int64_t *sent;
  int64_t *deliver;
  int64_t *last_offset;  // per partition, 0 = none seen yet
  // Written by the subscriber thread, read by the driver with __atomic loads.
  long warm;        // event messages of any tag
  long received;    // this run's events (distinct indices in latency mode)
  int64_t last_ns;  // receipt time of the last one
  long duplicates;  // latency mode: an index received twice
  long foreign;
  long heartbeats;
  long order_errors;
  int failed;
  char error[160];
} bd_sub_t;

static void *bd_subscriber(void *arg) {
  bd_sub_t *sub = arg;
  zmq_msg_t part[3];
  for (int k = 0; k < 3; k++) zmq_msg_init(&part[k]);
  while (!__atomic_load_n(sub->stop, __ATOMIC_ACQUIRE)) {
    if (zmq_msg_recv(&part[0], sub->socket, 0) == -1) {
      if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) continue;  // RCVTIMEO: look at the stop flag
      snprintf(sub->error, sizeof sub->error, "zmq_msg_recv: %s", zmq_strerror(zmq_errno()));
      __atomic_store_n(&sub->failed, 1, __ATOMIC_RELEASE);
      break;
    }
    int frames = 1, broken = 0;
    zmq_msg_t *last = &part[0];
    while (zmq_msg_more(last)) {  // the rest of a multipart message is already here
      zmq_msg_t *into = frames < 3 ? &part[frames] : &part[2];
      if (zmq_msg_recv(into, sub->socket, 0) == -1) {
        if ((zmq_errno() == EAGAIN || zmq_errno() == EINTR) && !__atomic_load_n(sub->stop, __ATOMIC_ACQUIRE)) continue;
        broken = 1;
        break;
      }
      last = into;
      frames++;
    }
    if (broken) {
      if (!__atomic_load_n(sub->stop, __ATOMIC_ACQUIRE)) {
        snprintf(sub->error, sizeof sub->error, "zmq_msg_recv: %s", zmq_strerror(zmq_errno()));
        __atomic_store_n(&sub->failed, 1, __ATOMIC_RELEASE);
      }
      break;
    }
    int64_t now = bench_monotonic_ns();
    if (frames != 3) continue;
    size_t size = zmq_msg_size(&part[2]);
    if (size == 0) {  // `~head` heartbeat
      __atomic_store_n(&sub->heartbeats, sub->heartbeats + 1, __ATOMIC_RELAXED);
      continue;
    }
    // Position "P:O": offsets per partition must go up by exactly 1 (from the first one seen).
    const char *position = zmq_msg_data(&part[1]), *end = position + zmq_msg_size(&part[1]), *colon;
    int64_t partition = bd_parse_decimal(position, end, &colon);
    if (partition >= 0 && partition < BD_PARTITIONS && colon < end && *colon == ':') {
      int64_t offset = bd_parse_decimal(colon + 1, end, NULL);
      int64_t previous = sub->last_offset[partition];
      if (previous != 0 && offset != previous + 1)
        __atomic_store_n(&sub->order_errors, sub->order_errors + 1, __ATOMIC_RELAXED);
      if (offset > previous) sub->last_offset[partition] = offset;
    } else {
      __atomic_store_n(&sub->order_errors, sub->order_errors + 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&sub->warm, sub->warm + 1, __ATOMIC_RELEASE);
    long index = bd_template_index(sub->run, zmq_msg_data(&part[2]), size);
    if (index < 0 || (sub->sent && index >= sub->count)) {
      __atomic_store_n(&sub->foreign, sub->foreign + 1, __ATOMIC_RELAXED);
      continue;
    }
    if (sub->sent) {
      if (sub->deliver[index] != -1) {
        __atomic_store_n(&sub->duplicates, sub->duplicates + 1, __ATOMIC_RELAXED);
        continue;
      }
      // The publisher stores the send start before handing the event to libzmq.
      int64_t started = __atomic_load_n(&sub->sent[index], __ATOMIC_ACQUIRE);
      sub->deliver[index] = started > 0 ? now - started : INT64_MAX;
    }
    __atomic_store_n(&sub->last_ns, now, __ATOMIC_RELAXED);
    __atomic_store_n(&sub->received, sub->received + 1, __ATOMIC_RELEASE);
  }
  for (int k = 0; k < 3; k++) zmq_msg_close(&part[k]);
  return NULL;
}

// MARK: - One run: sockets, subscriber threads, warm-up

typedef struct {
  void *ctx;
  void *dealer;
  int subscribers;
  int started;  // subscriber threads running
  int stop;
  bd_sub_t subs[BD_MAX_SUBSCRIBERS];
  pthread_t threads[BD_MAX_SUBSCRIBERS];
  bd_template_t run, warm;
  // ACK observations, per partition (this run's events only).
  int64_t *ack_min, *ack_max, *ack_count;
} bd_run_t;

static void bd_close(bd_run_t *r) {
  __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
  for (int s = 0; s < r->started; s++) pthread_join(r->threads[s], NULL);
  r->started = 0;
  if (r->dealer) zmq_close(r->dealer);
  for (int s = 0; s < r->subscribers; s++) {
    if (r->subs[s].socket) zmq_close(r->subs[s].socket);
    free(r->subs[s].last_offset);
  }
  if (r->ctx) zmq_ctx_term(r->ctx);
  free(r->run.bytes);
  free(r->warm.bytes);
  free(r->ack_min);
  free(r->ack_max);
  free(r->ack_count);
  free(r);
}

/// Sockets, templates and subscriber threads. On failure everything is released and NULL returned.
static bd_run_t *bd_open(const char *ingest, const char *live, int subscribers, size_t event_size, const char *tag,
                         long count, const int64_t *sent, int64_t *deliver, char *error, size_t error_size) {
  if (!ingest || !live || subscribers < 0 || subscribers > BD_MAX_SUBSCRIBERS) {
    bd_fail(error, error_size, "bad arguments: endpoints and 0 … %d subscribers needed", BD_MAX_SUBSCRIBERS);
    return NULL;
  }
  if (!bd_tag_ok(tag)) {
    bd_fail(error, error_size, "bad tag \"%s\": 1 … %d characters of [A-Za-z0-9._-]", tag ? tag : "", BD_MAX_TAG - 2);
    return NULL;
  }
  bd_run_t *r = calloc(1, sizeof *r);
  if (!r) {
    bd_fail(error, error_size, "out of memory");
    return NULL;
  }
  char warm_tag[BD_MAX_TAG + 4];
  snprintf(warm_tag, sizeof warm_tag, "%s~w", tag);
  if (bd_template_make(&r->run, tag, event_size, error, error_size) != 0 ||
      bd_template_make(&r->warm, warm_tag, event_size, error, error_size) != 0)
    goto fail;
  r->ack_min = calloc(BD_PARTITIONS, sizeof(int64_t));
  r->ack_max = calloc(BD_PARTITIONS, sizeof(int64_t));
  r->ack_count = calloc(BD_PARTITIONS, sizeof(int64_t));
  if (!r->ack_min || !r->ack_max || !r->ack_count) {
    bd_fail(error, error_size, "out of memory");
    goto fail;
  }
  int zero = 0, hwm = BD_SUB_RCVHWM, timeout = BD_RECV_TIMEOUT_MS;
  r->ctx = zmq_ctx_new();
  if (!r->ctx) {
    bd_fail(error, error_size, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    goto fail;
  }
  r->dealer = zmq_socket(r->ctx, ZMQ_DEALER);
  if (!r->dealer) {
    bd_fail(error, error_size, "zmq_socket: %s", zmq_strerror(zmq_errno()));
    goto fail;
  }
  zmq_setsockopt(r->dealer, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(r->dealer, ZMQ_RCVHWM, &zero, sizeof zero);
  zmq_setsockopt(r->dealer, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_connect(r->dealer, ingest) == -1) {
    bd_fail(error, error_size, "zmq_connect %s: %s", ingest, zmq_strerror(zmq_errno()));
    goto fail;
  }
  r->subscribers = subscribers;
  for (int s = 0; s < subscribers; s++) {
    bd_sub_t *sub = &r->subs[s];
    sub->run = &r->run;
    sub->stop = &r->stop;
    sub->count = count;
    sub->sent = sent;
    sub->deliver = deliver ? deliver + (size_t)s * (size_t)count : NULL;
    sub->last_offset = calloc(BD_PARTITIONS, sizeof(int64_t));
    sub->socket = zmq_socket(r->ctx, ZMQ_SUB);
    if (!sub->last_offset || !sub->socket) {
      bd_fail(error, error_size, "subscriber %d: %s", s, sub->socket ? "out of memory" : zmq_strerror(zmq_errno()));
      goto fail;
    }
    zmq_setsockopt(sub->socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub->socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sub->socket, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub->socket, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(sub->socket, live) == -1) {
      bd_fail(error, error_size, "zmq_connect %s: %s", live, zmq_strerror(zmq_errno()));
      goto fail;
    }
  }
  for (int s = 0; s < subscribers; s++) {
    if (pthread_create(&r->threads[s], NULL, bd_subscriber, &r->subs[s]) != 0) {
      bd_fail(error, error_size, "pthread_create failed");
      goto fail;
    }
    r->started++;
  }
  return r;
fail:
  bd_close(r);
  return NULL;
}

/// A subscriber thread that stopped on an error fails the run.
static int bd_subscribers_failed(bd_run_t *r, char *error, size_t error_size) {
  for (int s = 0; s < r->subscribers; s++) {
    if (__atomic_load_n(&r->subs[s].failed, __ATOMIC_ACQUIRE)) {
      bd_fail(error, error_size, "subscriber %d: %s", s, r->subs[s].error);
      return 1;
    }
  }
  return 0;
}

// MARK: - PUBLISH and ACK

static int bd_send_publish(void *dealer, uint64_t id, bd_template_t *t, long first, int events) {
  if (zmq_send(dealer, "PUBLISH", 7, ZMQ_SNDMORE) == -1) return -1;
  if (zmq_send(dealer, &id, sizeof id, events > 0 ? ZMQ_SNDMORE : 0) == -1) return -1;
  for (int k = 0; k < events; k++) {
    bd_template_set(t, first + k);
    if (zmq_send(dealer, t->bytes, t->size, k + 1 < events ? ZMQ_SNDMORE : 0) == -1) return -1;
  }
  return 0;
}

typedef struct {
  uint64_t id;
  long outcomes;
  int64_t received;  // receipt time of frame 0
} bd_reply_t;

/// Takes one reply off the DEALER: 1 with `reply` filled (an ACK whose outcomes are all `stored`),
/// 0 when none is waiting (`flags` ZMQ_DONTWAIT), -1 on failure (message in `error`).
/// With `r` set, this run's stored positions are tallied per partition.
static int bd_recv_ack(void *dealer, int flags, bd_run_t *r, bd_reply_t *reply, char *error, size_t error_size) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  if (zmq_msg_recv(&msg, dealer, flags) == -1) {
    int e = zmq_errno();
    zmq_msg_close(&msg);
    if (e == EAGAIN || e == EINTR) return 0;
    bd_fail(error, error_size, "ingest zmq_msg_recv: %s", zmq_strerror(e));
    return -1;
  }
  reply->received = bench_monotonic_ns();
  reply->outcomes = 0;
  reply->id = 0;
  char command[16] = {0};
  size_t command_size = zmq_msg_size(&msg);
  memcpy(command, zmq_msg_data(&msg), command_size < sizeof command - 1 ? command_size : sizeof command - 1);
  int ok = command_size == 3 && memcmp(command, "ACK", 3) == 0, frame = 0, more = zmq_msg_more(&msg);
  if (!ok) bd_fail(error, error_size, "reply \"%s\" instead of ACK", command);
  while (more) {
    if (zmq_msg_recv(&msg, dealer, 0) == -1) {
      if (zmq_errno() == EINTR) continue;
      bd_fail(error, error_size, "ingest zmq_msg_recv (reply frame %d): %s", frame + 1, zmq_strerror(zmq_errno()));
      zmq_msg_close(&msg);
      return -1;
    }
    frame++;
    more = zmq_msg_more(&msg);
    const char *data = zmq_msg_data(&msg);
    size_t size = zmq_msg_size(&msg);
    if (frame == 1) {
      if (size == sizeof reply->id)
        memcpy(&reply->id, data, sizeof reply->id);
      else if (ok) {
        bd_fail(error, error_size, "ACK with a %zu-byte request id", size);
        ok = 0;
      }
      continue;
    }
    if (!ok) {  // ERROR or another reply: its body, for the message
      if (frame == 2 && error && error_size > 0) {
        size_t used = strlen(error);
        snprintf(error + used, error_size - used, ": %.*s", (int)(size < 200 ? size : 200), data);
      }
      continue;
    }
    reply->outcomes++;
    static const char head[] = "{\"offset\":", stored[] = "\"status\":\"stored\"", part[] = "\"partition\":";
    const char *end = data + size;
    if (size < sizeof head - 1 || memcmp(data, head, sizeof head - 1) != 0 ||
        !memmem(data, size, stored, sizeof stored - 1)) {
      bd_fail(error, error_size, "outcome %ld not stored: %.*s", reply->outcomes, (int)(size < 200 ? size : 200), data);
      ok = 0;
      continue;
    }
    if (!r) continue;
    int64_t offset = bd_parse_decimal(data + sizeof head - 1, end, NULL);
    const char *p = memmem(data, size, part, sizeof part - 1);
    int64_t partition = p ? bd_parse_decimal(p + sizeof part - 1, end, NULL) : -1;
    if (offset < 1 || partition < 0 || partition >= BD_PARTITIONS) {
      bd_fail(error, error_size, "outcome %ld unreadable: %.*s", reply->outcomes, (int)(size < 200 ? size : 200), data);
      ok = 0;
      continue;
    }
    if (r->ack_count[partition] == 0 || offset < r->ack_min[partition]) r->ack_min[partition] = offset;
    if (offset > r->ack_max[partition]) r->ack_max[partition] = offset;
    r->ack_count[partition]++;
  }
  zmq_msg_close(&msg);
  if (ok && frame < 1) {
    bd_fail(error, error_size, "ACK without a request id");
    ok = 0;
  }
  return ok ? 1 : -1;
}

/// Slow joiner: one warm-up event per PUBLISH (each ACK awaited), every 20 ms, until every
/// subscriber has received an event. Request ids have the top bit set (never a run's id).
static int bd_warm_up(bd_run_t *r, bus_drive_result_t *result, char *error, size_t error_size) {
  int64_t deadline = bench_monotonic_ns() + BD_WARM_NS;
  for (long k = 0;; k++) {
    int all = 1;
    for (int s = 0; s < r->subscribers; s++)
      if (__atomic_load_n(&r->subs[s].warm, __ATOMIC_ACQUIRE) == 0) all = 0;
    if (all) {
      result->warmup_events = k;
      return 0;
    }
    if (bd_subscribers_failed(r, error, error_size)) return -1;
    if (bench_monotonic_ns() > deadline || k > BD_MAX_INDEX) {
      bd_fail(error, error_size, "warm-up: subscribers received no event within %lld s (%ld published)",
              BD_WARM_NS / 1000000000, k);
      return -1;
    }
    uint64_t id = (1ULL << 63) | (uint64_t)k;
    if (bd_send_publish(r->dealer, id, &r->warm, k, 1) != 0) {
      bd_fail(error, error_size, "warm-up send: %s", zmq_strerror(zmq_errno()));
      return -1;
    }
    bd_reply_t reply;
    for (;;) {
      int64_t left = deadline - bench_monotonic_ns();
      if (left <= 0) {
        bd_fail(error, error_size, "warm-up: no ACK (is the bus running at the ingest endpoint?)");
        return -1;
      }
      zmq_pollitem_t item = {r->dealer, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, (long)(left / 1000000) + 1) == -1 && zmq_errno() != EINTR) {
        bd_fail(error, error_size, "zmq_poll: %s", zmq_strerror(zmq_errno()));
        return -1;
      }
      int got = bd_recv_ack(r->dealer, ZMQ_DONTWAIT, NULL, &reply, error, error_size);
      if (got < 0) return -1;
      if (got == 0) continue;
      if (reply.id != id || reply.outcomes != 1) {
        bd_fail(error, error_size, "warm-up: unexpected ACK (id %llx, %ld outcomes)", (unsigned long long)reply.id,
                reply.outcomes);
        return -1;
      }
      break;
    }
    int64_t next = bench_monotonic_ns() + 20000000;
    while (bench_monotonic_ns() < next) {
      int now_all = 1;
      for (int s = 0; s < r->subscribers; s++)
        if (__atomic_load_n(&r->subs[s].warm, __ATOMIC_ACQUIRE) == 0) now_all = 0;
      if (now_all) break;
      bd_sleep_ns(1000000);
    }
  }
}

/// Waits (bounded) until every subscriber has counted `expected` events; fails on more or fewer.
/// Returns the last receipt time at the slowest subscriber.
static int bd_await_deliveries(bd_run_t *r, long expected, int64_t *last_receipt, char *error, size_t error_size) {
  int64_t deadline = bench_monotonic_ns() + BD_DRAIN_NS;
  int settled = 0;
  for (;;) {
    if (bd_subscribers_failed(r, error, error_size)) return -1;
    int done = 1;
    for (int s = 0; s < r->subscribers; s++) {
      long got = __atomic_load_n(&r->subs[s].received, __ATOMIC_ACQUIRE);
      long duplicates = __atomic_load_n(&r->subs[s].duplicates, __ATOMIC_RELAXED);
      if (got > expected || duplicates > 0) {
        bd_fail(error, error_size, "subscriber %d received %ld events (%ld duplicates), %ld acknowledged", s, got,
                duplicates, expected);
        return -1;
      }
      if (got < expected) done = 0;
    }
    if (done) {
      if (settled) break;
      settled = 1;  // once more after 50 ms: nothing extra may follow
      bd_sleep_ns(50000000);
      continue;
    }
    if (bench_monotonic_ns() > deadline) {
      char counts[256] = {0};
      size_t used = 0;
      for (int s = 0; s < r->subscribers && used < sizeof counts - 24; s++)
        used += (size_t)snprintf(counts + used, sizeof counts - used, "%s%ld", s ? ", " : "",
                                 __atomic_load_n(&r->subs[s].received, __ATOMIC_ACQUIRE));
      bd_fail(error, error_size, "subscribers received [%s] of %ld acknowledged events within %lld s", counts, expected,
              BD_DRAIN_NS / 1000000000);
      return -1;
    }
    bd_sleep_ns(1000000);
  }
  int64_t last = 0;
  for (int s = 0; s < r->subscribers; s++) {
    int64_t at = __atomic_load_n(&r->subs[s].last_ns, __ATOMIC_RELAXED);
    if (at > last) last = at;
  }
  *last_receipt = last;
  return 0;
}

static void bd_observations(bd_run_t *r, bus_drive_result_t *result) {
  for (int p = 0; p < BD_PARTITIONS; p++) {
    if (r->ack_count[p] == 0) continue;
    result->partitions_seen++;
    if (r->ack_max[p] - r->ack_min[p] + 1 != r->ack_count[p]) result->ack_offset_gaps++;
  }
  for (int s = 0; s < r->subscribers; s++) {
    result->live_order_errors += __atomic_load_n(&r->subs[s].order_errors, __ATOMIC_RELAXED);
    result->live_foreign += __atomic_load_n(&r->subs[s].foreign, __ATOMIC_RELAXED);
    result->live_heartbeats += __atomic_load_n(&r->subs[s].heartbeats, __ATOMIC_RELAXED);
  }
}

// MARK: - Throughput

int bus_drive_throughput(const char *ingest_endpoint, const char *live_endpoint, int subscribers, int in_flight,
                         int batch, double seconds, size_t event_size, const char *tag, bus_drive_result_t *result,
                         char *error, size_t error_size) {
  if (error && error_size) error[0] = 0;
  if (!result || in_flight < 1 || in_flight > BD_MAX_IN_FLIGHT || batch < 1 || batch > BD_MAX_BATCH ||
      !(seconds > 0 && seconds < 86400)) {
    bd_fail(error, error_size, "bad arguments: in_flight 1 … %d, batch 1 … %d, seconds > 0", BD_MAX_IN_FLIGHT,
            BD_MAX_BATCH);
    return -1;
  }
  memset(result, 0, sizeof *result);
  uint64_t *pending = calloc((size_t)in_flight, sizeof *pending);  // id per slot, 0 = free
  int *free_slots = malloc((size_t)in_flight * sizeof *free_slots);
  if (!pending || !free_slots) {
    free(pending);
    free(free_slots);
    bd_fail(error, error_size, "out of memory");
    return -1;
  }
  bd_run_t *r = bd_open(ingest_endpoint, live_endpoint, subscribers, event_size, tag, 0, NULL, NULL, error, error_size);
  if (!r) {
    free(pending);
    free(free_slots);
    return -1;
  }
  int status = -1;
  if (bd_warm_up(r, result, error, error_size) != 0) goto done;

  int free_count = in_flight;
  for (int k = 0; k < in_flight; k++) free_slots[k] = in_flight - 1 - k;
  long outstanding = 0, next_index = 0;
  uint64_t sequence = 0, highest_acked = 0;
  int64_t start = bench_monotonic_ns(), stop_at = start + (int64_t)(seconds * 1e9), last_ack = start;
  int64_t drain_deadline = stop_at + BD_DRAIN_NS;
  for (;;) {
    int64_t now = bench_monotonic_ns();
    int sending = now < stop_at;
    if (!sending && outstanding == 0) break;
    if (!sending && now > drain_deadline) {
      bd_fail(error, error_size, "%ld requests unanswered %lld s after the last send", outstanding,
              BD_DRAIN_NS / 1000000000);
      goto done;
    }
    while (sending && free_count > 0) {
      if (next_index + batch - 1 > BD_MAX_INDEX) {
        bd_fail(error, error_size, "more than %ld events: the 9-digit index ran out", BD_MAX_INDEX + 1);
        goto done;
      }
      int slot = free_slots[--free_count];
      uint64_t id = (++sequence << BD_SLOT_BITS) | (uint64_t)slot;
      pending[slot] = id;
      if (bd_send_publish(r->dealer, id, &r->run, next_index, batch) != 0) {
        bd_fail(error, error_size, "send: %s", zmq_strerror(zmq_errno()));
        goto done;
      }
      next_index += batch;
      outstanding++;
    }
    int64_t wait_ns = sending ? stop_at - now : drain_deadline - now;
    long timeout = wait_ns > 100000000 ? 100 : (long)(wait_ns / 1000000) + 1;
    zmq_pollitem_t item = {r->dealer, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout) == -1) {
      if (zmq_errno() == EINTR) continue;
      bd_fail(error, error_size, "zmq_poll: %s", zmq_strerror(zmq_errno()));
      goto done;
    }
    if (!(item.revents & ZMQ_POLLIN)) {
      if (bd_subscribers_failed(r, error, error_size)) goto done;
      continue;
    }
    // Take every ACK waiting, then top the window up again.
    for (;;) {
      bd_reply_t reply;
      int got = bd_recv_ack(r->dealer, ZMQ_DONTWAIT, r, &reply, error, error_size);
      if (got < 0) goto done;
      if (got == 0) break;
      uint64_t slot = reply.id & ((1ULL << BD_SLOT_BITS) - 1);
      if (slot >= (uint64_t)in_flight || pending[slot] != reply.id || reply.id == 0) {
        bd_fail(error, error_size, "ACK for request id %llx, which is not outstanding", (unsigned long long)reply.id);
        goto done;
      }
      if (reply.outcomes != batch) {
        bd_fail(error, error_size, "ACK with %ld outcomes for %d events", reply.outcomes, batch);
        goto done;
      }
      uint64_t seq = reply.id >> BD_SLOT_BITS;
      if (seq < highest_acked)
        result->acks_out_of_order++;
      else
        highest_acked = seq;
      pending[slot] = 0;
      free_slots[free_count++] = (int)slot;
      outstanding--;
      result->events += batch;
      result->requests++;
      last_ack = reply.received;
    }
  }

  int64_t last_receipt = 0;
  if (bd_await_deliveries(r, result->events, &last_receipt, error, error_size) != 0) goto done;
  result->ack_seconds = (double)(last_ack - start) * 1e-9;
  // Without subscribers nothing is delivered: the run measures acknowledged publishing alone.
  result->deliver_seconds = r->subscribers > 0 ? (double)(last_receipt - start) * 1e-9 : 0;
  result->acked_per_sec = result->ack_seconds > 0 ? (double)result->events / result->ack_seconds : 0;
  result->delivered_per_sec = result->deliver_seconds > 0 ? (double)result->events / result->deliver_seconds : 0;
  bd_observations(r, result);
  status = 0;

done:
  bd_close(r);
  free(pending);
  free(free_slots);
  return status;
}

// MARK: - Latency

long bus_drive_latency_count(double rate, double seconds) {
  if (!(rate > 0) || !(seconds > 0)) return 0;
  double count = rate * seconds + 0.5;  // rounded (positive)
  return count >= (double)BD_MAX_INDEX + 2 ? -1 : (long)count;
}

/// Waits until the DEALER has a message to read or `until` (monotonic ns) passes, with
/// nanosecond timeouts (zmq_poll's are whole milliseconds, coarser than the schedule: 100 µs
/// between sends at 10,000/s). ZMQ_FD is edge-triggered: only wait on it after ZMQ_EVENTS says
/// there is nothing to read (the caller has drained the socket).
static int bd_wait_readable(void *socket, int fd, int64_t until) {
  for (;;) {
    uint32_t events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size) == -1) return -1;
    if (events & ZMQ_POLLIN) return 1;
    int64_t left = until - bench_monotonic_ns();
    if (left <= 0) return 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    struct timespec ts = {left / 1000000000, left % 1000000000};
    if (ppoll(&pfd, 1, &ts, NULL) == -1 && errno != EINTR) return -1;
  }
}

typedef struct {
  long count;
  const int64_t *sent;
  int64_t *ack_ns;
  long acked;
  int64_t last_ack;
  uint64_t highest;
} bd_latency_acks_t;

/// Takes every ACK waiting without blocking. 0, or -1 on failure.
static int bd_latency_drain(bd_run_t *r, bd_latency_acks_t *a, bus_drive_result_t *result, char *error,
                            size_t error_size) {
  for (;;) {
    bd_reply_t reply;
    int got = bd_recv_ack(r->dealer, ZMQ_DONTWAIT, r, &reply, error, error_size);
    if (got < 0) return -1;
    if (got == 0) return 0;
    if (reply.id >= (uint64_t)a->count || a->sent[reply.id] == 0 || a->ack_ns[reply.id] != -1) {
      bd_fail(error, error_size, "ACK for request id %llx, which is not outstanding", (unsigned long long)reply.id);
      return -1;
    }
    if (reply.outcomes != 1) {
      bd_fail(error, error_size, "ACK with %ld outcomes for 1 event", reply.outcomes);
      return -1;
    }
    if (a->acked > 0 && reply.id < a->highest)
      result->acks_out_of_order++;
    else
      a->highest = reply.id;
    a->ack_ns[reply.id] = reply.received - a->sent[reply.id];
    a->acked++;
    a->last_ack = reply.received;
    result->events++;
    result->requests++;
  }
}

int bus_drive_latency(const char *ingest_endpoint, const char *live_endpoint, int subscribers, double rate,
                      double seconds, size_t event_size, const char *tag, int64_t *ack_ns, int64_t *deliver_ns,
                      bus_drive_result_t *result, char *error, size_t error_size) {
  if (error && error_size) error[0] = 0;
  long count = bus_drive_latency_count(rate, seconds);
  if (!result || !ack_ns || !deliver_ns || count < 1 || subscribers < 1 || subscribers > BD_MAX_SUBSCRIBERS) {
    bd_fail(error, error_size, "bad arguments: rate × seconds must give 1 … %ld events; arrays needed", BD_MAX_INDEX + 1);
    return -1;
  }
  memset(result, 0, sizeof *result);
  int64_t *sent = calloc((size_t)count, sizeof *sent);
  if (!sent) {
    bd_fail(error, error_size, "out of memory");
    return -1;
  }
  for (long i = 0; i < count; i++) ack_ns[i] = -1;
  for (size_t i = 0; i < (size_t)count * (size_t)subscribers; i++) deliver_ns[i] = -1;
  bd_run_t *r =
      bd_open(ingest_endpoint, live_endpoint, subscribers, event_size, tag, count, sent, deliver_ns, error, error_size);
  if (!r) {
    free(sent);
    return -1;
  }
  int status = -1, fd = -1;
  size_t fd_size = sizeof fd;
  if (bd_warm_up(r, result, error, error_size) != 0) goto done;
  if (zmq_getsockopt(r->dealer, ZMQ_FD, &fd, &fd_size) == -1) {
    bd_fail(error, error_size, "ZMQ_FD: %s", zmq_strerror(zmq_errno()));
    goto done;
  }

  bd_latency_acks_t acks = {count, sent, ack_ns, 0, 0, 0};
  double period = 1e9 / rate;
  int64_t origin = bench_monotonic_ns() + 10000000;  // 10 ms from now
  int64_t first = 0;
  for (long i = 0; i < count; i++) {
    int64_t due = origin + (int64_t)((double)i * period);
    for (;;) {  // ACKs until the event is due
      if (bd_latency_drain(r, &acks, result, error, error_size) != 0) goto done;
      int ready = bd_wait_readable(r->dealer, fd, due);
      if (ready < 0) {
        bd_fail(error, error_size, "waiting on the ingest socket: %s", zmq_strerror(zmq_errno()));
        goto done;
      }
      if (ready == 0) break;
    }
    int64_t start = bench_monotonic_ns();
    if (i == 0) first = start;
    if (start - due > 1000000) result->late++;
    __atomic_store_n(&sent[i], start, __ATOMIC_RELEASE);
    if (bd_send_publish(r->dealer, (uint64_t)i, &r->run, i, 1) != 0) {
      bd_fail(error, error_size, "send: %s", zmq_strerror(zmq_errno()));
      goto done;
    }
  }
  int64_t deadline = bench_monotonic_ns() + BD_DRAIN_NS;
  for (;;) {
    if (bd_latency_drain(r, &acks, result, error, error_size) != 0) goto done;
    if (acks.acked == count) break;
    if (bench_monotonic_ns() > deadline) {
      bd_fail(error, error_size, "%ld of %ld events acknowledged %lld s after the last send", acks.acked, count,
              BD_DRAIN_NS / 1000000000);
      goto done;
    }
    if (bd_subscribers_failed(r, error, error_size)) goto done;
    int64_t until = bench_monotonic_ns() + 100000000;
    if (bd_wait_readable(r->dealer, fd, until < deadline ? until : deadline) < 0) {
      bd_fail(error, error_size, "waiting on the ingest socket: %s", zmq_strerror(zmq_errno()));
      goto done;
    }
  }

  int64_t last_receipt = 0;
  if (bd_await_deliveries(r, count, &last_receipt, error, error_size) != 0) goto done;
  result->ack_seconds = (double)(acks.last_ack - first) * 1e-9;
  result->deliver_seconds = (double)(last_receipt - first) * 1e-9;
  result->acked_per_sec = result->ack_seconds > 0 ? (double)count / result->ack_seconds : 0;
  result->delivered_per_sec = result->deliver_seconds > 0 ? (double)count / result->deliver_seconds : 0;
  bd_observations(r, result);
  status = 0;

done:
  bd_close(r);  // joins the subscribers before `sent` goes
  free(sent);
  return status;
}
