#include "raw.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(char *error, size_t error_size, const char *what) {
  if (error && error_size) snprintf(error, error_size, "%s: %s", what, zmq_strerror(zmq_errno()));
}

typedef struct {
  void *socket;
  size_t size;
  long count;
  double start;    // publisher: time of the first send
  double end;      // subscriber: time of the last receive
  long received;   // subscriber: data messages received
  int failed;
} job_t;

static void *publisher(void *arg) {
  job_t *job = arg;
  char *payload = malloc(job->size);
  memset(payload, 0x5a, job->size);
  job->start = now_seconds();
  for (long i = 0; i < job->count; i++) {
    if (zmq_send(job->socket, payload, job->size, 0) == -1) {
      job->failed = 1;
      break;
    }
  }
  free(payload);
  return NULL;
}

static void *subscriber(void *arg) {
  job_t *job = arg;
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (job->received < job->count) {
    if (zmq_msg_recv(&msg, job->socket, 0) == -1) {
      job->failed = 1;
      break;
    }
    // One-byte probes left over from the slow-joiner handshake are not part of the transfer.
    if (zmq_msg_size(&msg) == job->size) job->received++;
  }
  job->end = now_seconds();
  zmq_msg_close(&msg);
  return NULL;
}

double raw_pubsub_msgs_per_sec(const char *endpoint, size_t size, long count, char *error, size_t error_size) {
  double result = -1;
  int zero = 0;
  void *ctx = zmq_ctx_new();
  void *pub = zmq_socket(ctx, ZMQ_PUB);
  void *sub = zmq_socket(ctx, ZMQ_SUB);
  zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
  zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
  if (zmq_bind(pub, endpoint) == -1) {
    fail(error, error_size, "zmq_bind");
    goto done;
  }
  char bound[256];
  size_t bound_size = sizeof bound;
  zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, bound, &bound_size);
  if (zmq_connect(sub, bound) == -1) {
    fail(error, error_size, "zmq_connect");
    goto done;
  }

  // Slow joiner: publish one-byte probes until the subscription has reached the publisher.
  double deadline = now_seconds() + 5;
  for (;;) {
    char probe = 0;
    zmq_send(pub, &probe, 1, ZMQ_DONTWAIT);
    zmq_pollitem_t item = {sub, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, 1) == 1) break;
    if (now_seconds() > deadline) {
      if (error && error_size) snprintf(error, error_size, "subscription never took on %s", bound);
      goto done;
    }
  }

  job_t pub_job = {pub, size, count, 0, 0, 0, 0};
  job_t sub_job = {sub, size, count, 0, 0, 0, 0};
  pthread_t pub_thread, sub_thread;
  pthread_create(&sub_thread, NULL, subscriber, &sub_job);
  pthread_create(&pub_thread, NULL, publisher, &pub_job);
  pthread_join(pub_thread, NULL);
  pthread_join(sub_thread, NULL);
  if (pub_job.failed || sub_job.failed || sub_job.received != count) {
    if (error && error_size)
      snprintf(error, error_size, "transfer failed: received %ld of %ld", sub_job.received, count);
    goto done;
  }
  result = (double)count / (sub_job.end - pub_job.start);

done:
  zmq_close(pub);
  zmq_close(sub);
  zmq_ctx_term(ctx);
  return result;
}
