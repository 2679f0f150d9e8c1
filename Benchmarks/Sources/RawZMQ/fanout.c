#include "fanout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_SUBSCRIBERS 64

int64_t bench_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char topic[] = "0007|bench.event.v1";
static const char position[] = "7:123456";

typedef struct {
  void *socket;
  size_t size;
  long count;
  double rate;          // 0: as fast as possible
  int64_t start;        // publisher: first send / schedule origin
  int64_t end;          // subscriber: last receive
  long received;
  int64_t *latencies;   // subscriber: its row, or NULL
  int failed;
} fan_job_t;

static void sleep_until(int64_t due) {
  for (;;) {
    int64_t now = bench_monotonic_ns();
    if (now >= due) return;
    int64_t left = due - now;
    struct timespec ts = {left / 1000000000, left % 1000000000};
    nanosleep(&ts, NULL);
  }
}

static void *fan_publisher(void *arg) {
  fan_job_t *job = arg;
  char *body = malloc(job->size);
  memset(body, 'x', job->size);
  if (job->rate <= 0) job->start = bench_monotonic_ns();  // paced runs keep the shared origin
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
  return NULL;
}

static void *fan_subscriber(void *arg) {
  fan_job_t *job = arg;
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  int part = 0;
  while (job->received < job->count) {
    if (zmq_msg_recv(&msg, job->socket, 0) == -1) {
      job->failed = 1;
      break;
    }
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

static int run(const char *endpoint, size_t size, long count, double rate, int subscribers, int64_t *latencies,
               double *per_second, char *error, size_t error_size) {
  if (subscribers < 1 || subscribers > MAX_SUBSCRIBERS || size < 16) {
    snprintf(error, error_size, "bad arguments");
    return -1;
  }
  int result = -1, zero = 0;
  void *ctx = zmq_ctx_new();
  void *pub = zmq_socket(ctx, ZMQ_PUB);
  void *subs[MAX_SUBSCRIBERS] = {0};
  zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_bind(pub, endpoint) == -1) {
    snprintf(error, error_size, "zmq_bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
    goto done;
  }
  char bound[256];
  size_t bound_size = sizeof bound;
  zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, bound, &bound_size);
  for (int s = 0; s < subscribers; s++) {
    subs[s] = zmq_socket(ctx, ZMQ_SUB);
    zmq_setsockopt(subs[s], ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(subs[s], ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(subs[s], ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(subs[s], bound) == -1) {
      snprintf(error, error_size, "zmq_connect: %s", zmq_strerror(zmq_errno()));
      goto done;
    }
  }
  // Slow joiner: one-byte probes until every subscriber has received one.
  int64_t deadline = bench_monotonic_ns() + 5000000000LL;
  for (int s = 0; s < subscribers; s++) {
    for (;;) {
      char probe = 0;
      zmq_send(pub, &probe, 1, ZMQ_DONTWAIT);
      zmq_pollitem_t item = {subs[s], 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 1) == 1) break;
      if (bench_monotonic_ns() > deadline) {
        snprintf(error, error_size, "subscription never took on %s", bound);
        goto done;
      }
    }
  }

  fan_job_t pub_job = {pub, size, count, rate, 0, 0, 0, NULL, 0};
  fan_job_t sub_jobs[MAX_SUBSCRIBERS];
  pthread_t sub_threads[MAX_SUBSCRIBERS], pub_thread;
  for (int s = 0; s < subscribers; s++) {
    sub_jobs[s] = (fan_job_t){subs[s], size, count, rate, 0, 0, 0, latencies ? latencies + (long)s * count : NULL, 0};
  }
  // Subscribers need the schedule origin: fix it before any thread starts.
  int64_t origin = bench_monotonic_ns() + 1000000;  // 1 ms from now
  pub_job.start = origin;
  for (int s = 0; s < subscribers; s++) sub_jobs[s].start = origin;
  for (int s = 0; s < subscribers; s++) pthread_create(&sub_threads[s], NULL, fan_subscriber, &sub_jobs[s]);
  pthread_create(&pub_thread, NULL, fan_publisher, &pub_job);
  pthread_join(pub_thread, NULL);
  int64_t last = 0;
  int ok = !pub_job.failed;
  for (int s = 0; s < subscribers; s++) {
    pthread_join(sub_threads[s], NULL);
    if (sub_jobs[s].failed || sub_jobs[s].received != count) {
      snprintf(error, error_size, "subscriber %d received %ld of %ld", s, sub_jobs[s].received, count);
      ok = 0;
    }
    if (sub_jobs[s].end > last) last = sub_jobs[s].end;
  }
  if (!ok) goto done;
  if (per_second) *per_second = (double)count / ((double)(last - pub_job.start) * 1e-9);
  result = 0;

done:
  zmq_close(pub);
  for (int s = 0; s < subscribers; s++)
    if (subs[s]) zmq_close(subs[s]);
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
