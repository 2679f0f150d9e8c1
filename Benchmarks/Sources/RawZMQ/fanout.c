#include "fanout.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_SUBSCRIBERS 64
/// A subscriber that receives nothing for this long fails (a lost message ends the run, never hangs it).
#define IDLE_TIMEOUT_MS 10000
/// How long the slow-joiner handshake may take.
#define HANDSHAKE_NS 5000000000LL

int64_t bench_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char topic[] = "0007|bench.event.v1";
static const char position[] = "7:123456";

static void sleep_until(int64_t due) {
  for (;;) {
    int64_t now = bench_monotonic_ns();
    if (now >= due) return;
    int64_t left = due - now;
    struct timespec ts = {left / 1000000000, left % 1000000000};
    nanosleep(&ts, NULL);
  }
}

// MARK: - Subscribers

typedef struct {
  void *socket;
  size_t size;
  long count;
  int idle_timeout_ms;
  int64_t *latencies;  // its row, or NULL
  int joined;          // atomic: set at the first message received (a probe)
  long received;
  int64_t end;         // last receive
  int error;           // errno of the failed receive, 0 if none
  pthread_t thread;
} fan_subscriber_t;

struct raw_fanout_subscribers {
  void *ctx;
  int count;  // subscribers
  int threads;
  long messages;
  fan_subscriber_t subs[MAX_SUBSCRIBERS];
};

static void *fan_subscriber(void *arg) {
  fan_subscriber_t *job = arg;
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  int part = 0;
  while (job->received < job->count) {
    if (zmq_msg_recv(&msg, job->socket, 0) == -1) {
      job->error = zmq_errno();
      break;
    }
    if (!job->joined) __atomic_store_n(&job->joined, 1, __ATOMIC_RELEASE);
    int more = zmq_msg_more(&msg);
    // Single-frame one-byte probes from the slow-joiner handshake are not part of the transfer.
    if (part == 2 && zmq_msg_size(&msg) == job->size) {
      if (job->latencies) {
        long index;
        int64_t sent;
        memcpy(&index, zmq_msg_data(&msg), sizeof index);
        memcpy(&sent, (char *)zmq_msg_data(&msg) + 8, sizeof sent);
        if (index >= 0 && index < job->count) job->latencies[index] = bench_monotonic_ns() - sent;
      }
      job->received++;
    }
    part = more ? part + 1 : 0;
  }
  job->end = bench_monotonic_ns();
  zmq_msg_close(&msg);
  return NULL;
}

static void subscribers_free(raw_fanout_subscribers *subs) {
  for (int s = 0; s < subs->count; s++)
    if (subs->subs[s].socket) zmq_close(subs->subs[s].socket);
  zmq_ctx_term(subs->ctx);
  free(subs);
}

raw_fanout_subscribers *raw_fanout_subscribers_start(const char *endpoint, size_t size, long count, int subscribers,
                                                     int64_t *latencies, char *error, size_t error_size) {
  if (subscribers < 1 || subscribers > MAX_SUBSCRIBERS || size < 16 || count < 1) {
    snprintf(error, error_size, "bad arguments");
    return NULL;
  }
  raw_fanout_subscribers *subs = calloc(1, sizeof *subs);
  if (!subs) {
    snprintf(error, error_size, "out of memory");
    return NULL;
  }
  subs->ctx = zmq_ctx_new();
  subs->count = subscribers;
  subs->messages = count;
  int zero = 0, timeout = IDLE_TIMEOUT_MS;
  for (int s = 0; s < subscribers; s++) {
    fan_subscriber_t *job = &subs->subs[s];
    *job = (fan_subscriber_t){.socket = zmq_socket(subs->ctx, ZMQ_SUB), .size = size, .count = count,
                              .idle_timeout_ms = IDLE_TIMEOUT_MS,
                              .latencies = latencies ? latencies + (long)s * count : NULL};
    zmq_setsockopt(job->socket, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(job->socket, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(job->socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(job->socket, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(job->socket, endpoint) == -1) {
      snprintf(error, error_size, "zmq_connect %s: %s", endpoint, zmq_strerror(zmq_errno()));
      subscribers_free(subs);
      return NULL;
    }
  }
  for (int s = 0; s < subscribers; s++) {
    if (pthread_create(&subs->subs[s].thread, NULL, fan_subscriber, &subs->subs[s]) != 0) {
      snprintf(error, error_size, "pthread_create failed");
      raw_fanout_subscribers_cancel(subs);
      return NULL;
    }
    subs->threads++;
  }
  return subs;
}

int raw_fanout_subscribers_joined(const raw_fanout_subscribers *subs) {
  int joined = 0;
  for (int s = 0; s < subs->count; s++) joined += __atomic_load_n(&subs->subs[s].joined, __ATOMIC_ACQUIRE);
  return joined;
}

int64_t raw_fanout_subscribers_wait(raw_fanout_subscribers *subs, char *error, size_t error_size) {
  int64_t last = 0;
  int ok = 1;
  for (int s = 0; s < subs->threads; s++) pthread_join(subs->subs[s].thread, NULL);
  for (int s = 0; s < subs->count && ok; s++) {
    fan_subscriber_t *job = &subs->subs[s];
    if (job->received != job->count) {
      if (job->error == EAGAIN)
        snprintf(error, error_size, "subscriber %d: nothing received for %d ms after %ld of %ld messages (lost?)", s,
                 job->idle_timeout_ms, job->received, job->count);
      else
        snprintf(error, error_size, "subscriber %d received %ld of %ld: %s", s, job->received, job->count,
                 job->error ? zmq_strerror(job->error) : "stopped");
      ok = 0;
    }
    if (job->end > last) last = job->end;
  }
  subscribers_free(subs);
  return ok ? last : -1;
}

void raw_fanout_subscribers_cancel(raw_fanout_subscribers *subs) {
  zmq_ctx_shutdown(subs->ctx);  // blocked receives fail with ETERM at once
  for (int s = 0; s < subs->threads; s++) pthread_join(subs->subs[s].thread, NULL);
  subscribers_free(subs);
}

// MARK: - The raw publisher

typedef struct {
  void *socket;
  size_t size;
  long count;
  double rate;    // 0: as fast as possible
  int64_t start;  // first send / schedule origin
  int failed;
} fan_publisher_t;

static void fan_publish(fan_publisher_t *job) {
  char *body = malloc(job->size);
  memset(body, 'x', job->size);
  if (job->rate <= 0) job->start = bench_monotonic_ns();  // paced runs keep the given origin
  for (long i = 0; i < job->count; i++) {
    if (job->rate > 0) sleep_until(job->start + (int64_t)((double)i * 1e9 / job->rate));
    int64_t sent = bench_monotonic_ns();  // index and send time, for the latency subscribers
    memcpy(body, &i, sizeof i);
    memcpy(body + 8, &sent, sizeof sent);
    if (zmq_send(job->socket, topic, sizeof topic - 1, ZMQ_SNDMORE) == -1 ||
        zmq_send(job->socket, position, sizeof position - 1, ZMQ_SNDMORE) == -1 ||
        zmq_send(job->socket, body, job->size, 0) == -1) {
      job->failed = 1;
      break;
    }
  }
  free(body);
}

static int run(const char *endpoint, size_t size, long count, double rate, int subscribers, int64_t *latencies,
               double *per_second, char *error, size_t error_size) {
  if (subscribers < 1 || subscribers > MAX_SUBSCRIBERS || size < 16) {
    snprintf(error, error_size, "bad arguments");
    return -1;
  }
  int result = -1, zero = 0;
  // The publisher has a context of its own, as the bus's XPUB has (its subscribers live elsewhere).
  void *ctx = zmq_ctx_new();
  void *pub = zmq_socket(ctx, ZMQ_PUB);
  raw_fanout_subscribers *subs = NULL;
  zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_bind(pub, endpoint) == -1) {
    snprintf(error, error_size, "zmq_bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
    goto done;
  }
  char bound[256];
  size_t bound_size = sizeof bound;
  zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, bound, &bound_size);
  subs = raw_fanout_subscribers_start(bound, size, count, subscribers, latencies, error, error_size);
  if (!subs) goto done;
  // Slow joiner: one-byte probes until every subscriber has received one.
  int64_t deadline = bench_monotonic_ns() + HANDSHAKE_NS;
  for (;;) {
    char probe = 0;
    zmq_send(pub, &probe, 1, ZMQ_DONTWAIT);
    if (raw_fanout_subscribers_joined(subs) == subscribers) break;
    if (bench_monotonic_ns() > deadline) {
      snprintf(error, error_size, "subscription never took on %s", bound);
      raw_fanout_subscribers_cancel(subs);
      goto done;
    }
    sleep_until(bench_monotonic_ns() + 1000000);
  }

  fan_publisher_t job = {pub, size, count, rate, bench_monotonic_ns() + 1000000, 0};  // paced: origin 1 ms from now
  fan_publish(&job);
  if (job.failed) {
    snprintf(error, error_size, "zmq_send: %s", zmq_strerror(zmq_errno()));
    raw_fanout_subscribers_cancel(subs);
    goto done;
  }
  int64_t last = raw_fanout_subscribers_wait(subs, error, error_size);
  if (last < 0) goto done;
  if (per_second) *per_second = (double)count / ((double)(last - job.start) * 1e-9);
  result = 0;

done:
  zmq_close(pub);
  zmq_ctx_term(ctx);
  return result;
}

double raw_fanout_msgs_per_sec(const char *endpoint, size_t size, long count, int subscribers, char *error,
                               size_t error_size) {
  double rate = -1;
  if (run(endpoint, size, count, 0, subscribers, NULL, &rate, error, error_size) != 0) return -1;
  return rate;
}

int raw_fanout_latency(const char *endpoint, size_t size, long count, double rate, int subscribers,
                       int64_t *latencies, char *error, size_t error_size) {
  if (rate <= 0) return -1;
  return run(endpoint, size, count, rate, subscribers, latencies, NULL, error, error_size);
}
