// durable-floor: the least a durable ZeroMQ bus can do, as a floor for passerelle-bus on the same
// machine (docs/BENCHMARKS.md, "The floor"). One thread: take every PUBLISH waiting on a ROUTER,
// append the event bodies to one file, fdatasync it, answer each request with an ACK and send each
// event on an XPUB, framed as passerelle-bus frames them (docs/PROTOCOL.md), so that `bus-drive`
// drives both alike. Nothing else: no validation, no idempotency, no index, no replay, no restart
// (offsets start at 1 every run), no metrics. Not a product: a measuring stick.
//
//   durable-floor INGEST_ENDPOINT LIVE_ENDPOINT FILE

#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define FLOOR_PARTITIONS 16
#define FLOOR_MAX_REQUESTS 1024  // requests taken per turn (a turn is one fdatasync)
#define FLOOR_MAX_FRAMES 1003    // routing id, command, request id, up to 1,000 events

typedef struct {
  zmq_msg_t frames[FLOOR_MAX_FRAMES];
  int count;
} floor_request;

static floor_request requests[FLOOR_MAX_REQUESTS];

/// The partition of an event: a hash of the 9 digits after "customer-" (bus-drive's partition keys).
static int floor_partition(const char *body, size_t size) {
  const char *key = memmem(body, size, "customer-", 9);
  unsigned hash = 0;
  for (int i = 0; key && i < 9 && key + 9 + i < body + size; i++) hash = hash * 31 + (unsigned char)key[9 + i];
  return (int)(hash % FLOOR_PARTITIONS);
}

/// Receives one whole multipart request without waiting; 0 when none is waiting.
static int floor_receive(void *socket, floor_request *request) {
  request->count = 0;
  zmq_msg_init(&request->frames[0]);
  if (zmq_msg_recv(&request->frames[0], socket, ZMQ_DONTWAIT) < 0) {
    zmq_msg_close(&request->frames[0]);
    return 0;
  }
  request->count = 1;
  int more = zmq_msg_more(&request->frames[0]);
  while (more) {
    if (request->count < FLOOR_MAX_FRAMES) {
      zmq_msg_t *frame = &request->frames[request->count++];
      zmq_msg_init(frame);
      zmq_msg_recv(frame, socket, 0);
      more = zmq_msg_more(frame);
    } else {  // too long: the frames past the limit are dropped
      zmq_msg_t dropped;
      zmq_msg_init(&dropped);
      zmq_msg_recv(&dropped, socket, 0);
      more = zmq_msg_more(&dropped);
      zmq_msg_close(&dropped);
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: durable-floor INGEST_ENDPOINT LIVE_ENDPOINT FILE\n");
    return 2;
  }
  void *context = zmq_ctx_new();
  void *ingest = zmq_socket(context, ZMQ_ROUTER), *live = zmq_socket(context, ZMQ_XPUB);
  int zero = 0;
  zmq_setsockopt(ingest, ZMQ_SNDHWM, &zero, sizeof zero);
  zmq_setsockopt(ingest, ZMQ_RCVHWM, &zero, sizeof zero);
  zmq_setsockopt(live, ZMQ_SNDHWM, &zero, sizeof zero);
  int file = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (zmq_bind(ingest, argv[1]) != 0 || zmq_bind(live, argv[2]) != 0 || file < 0) {
    fprintf(stderr, "durable-floor: cannot bind or open: %s\n", zmq_strerror(zmq_errno()));
    return 1;
  }
  int64_t heads[FLOOR_PARTITIONS] = {0};
  zmq_pollitem_t items[] = {{ingest, 0, ZMQ_POLLIN, 0}, {live, 0, ZMQ_POLLIN, 0}};
  for (;;) {
    if (zmq_poll(items, 2, -1) < 0) return 1;
    for (;;) {  // subscriptions arrive on the XPUB; nothing to do with them but read them
      zmq_msg_t subscription;
      zmq_msg_init(&subscription);
      int received = zmq_msg_recv(&subscription, live, ZMQ_DONTWAIT);
      zmq_msg_close(&subscription);
      if (received < 0) break;
    }
    int taken = 0;
    while (taken < FLOOR_MAX_REQUESTS && floor_receive(ingest, &requests[taken])) taken++;
    if (taken == 0) continue;
    for (int r = 0; r < taken; r++)
      for (int f = 3; f < requests[r].count; f++)
        if (write(file, zmq_msg_data(&requests[r].frames[f]), zmq_msg_size(&requests[r].frames[f])) < 0) return 1;
    if (fdatasync(file) != 0) return 1;
    for (int r = 0; r < taken; r++) {
      floor_request *request = &requests[r];
      int events = request->count > 3 ? request->count - 3 : 0;
      zmq_send(ingest, zmq_msg_data(&request->frames[0]), zmq_msg_size(&request->frames[0]), ZMQ_SNDMORE);
      zmq_send(ingest, "ACK", 3, ZMQ_SNDMORE);
      zmq_send(ingest, request->count > 2 ? zmq_msg_data(&request->frames[2]) : "", request->count > 2 ? zmq_msg_size(&request->frames[2]) : 0,
               events ? ZMQ_SNDMORE : 0);
      for (int e = 0; e < events; e++) {
        zmq_msg_t *event = &request->frames[3 + e];
        int partition = floor_partition(zmq_msg_data(event), zmq_msg_size(event));
        int64_t offset = ++heads[partition];
        char outcome[96], topic[64], position[48];
        int outcome_size = snprintf(outcome, sizeof outcome, "{\"offset\":%lld,\"partition\":%d,\"status\":\"stored\"}",
                                    (long long)offset, partition);
        zmq_send(ingest, outcome, (size_t)outcome_size, e + 1 < events ? ZMQ_SNDMORE : 0);
        zmq_send(live, topic, (size_t)snprintf(topic, sizeof topic, "%04d|bench.event.v1", partition), ZMQ_SNDMORE);
        zmq_send(live, position, (size_t)snprintf(position, sizeof position, "%d:%lld", partition, (long long)offset), ZMQ_SNDMORE);
        zmq_send(live, zmq_msg_data(event), zmq_msg_size(event), 0);
      }
      for (int f = 0; f < request->count; f++) zmq_msg_close(&request->frames[f]);
    }
  }
}
