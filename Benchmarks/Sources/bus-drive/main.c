// bus-drive: a lean C load driver for passerelle-bus (Benchmarks/Sources/RawZMQ/busdrive.c), for
// manual runs. One run per invocation; the result is one JSON line on stdout (exit 0), or
// {"error": …} (exit 1).
//
//   bus-drive throughput [--subscribers 1] [--in-flight 32] [--batch 100] [--seconds 2]
//                        [--size 500] [--tag T] [--ids sequential|scattered] [--ingest EP] [--live EP]
//   bus-drive latency    [--subscribers 1] [--rate 10000] [--seconds 5] [--size 500]
//                        [--tag T] [--ids sequential|scattered] [--ingest EP] [--live EP]
//
// Endpoints default to $PASSERELLE_BUS_INGEST / $PASSERELLE_BUS_LIVE, then the bus's defaults
// (tcp://127.0.0.1:7401 / 7402). The tag defaults to one made of the pid and the time: every
// run's event ids must be new to the bus's journal.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "busdrive.h"
#include "fanout.h"

static void usage(void) {
  fprintf(stderr,
          "usage: bus-drive throughput [--subscribers 1] [--in-flight 32] [--batch 100] [--seconds 2]\n"
          "                            [--size 500] [--tag T] [--ids sequential|scattered] [--ingest EP] [--live EP]\n"
          "       bus-drive latency    [--subscribers 1] [--rate 10000] [--seconds 5] [--size 500]\n"
          "                            [--tag T] [--ids sequential|scattered] [--ingest EP] [--live EP]\n");
}

static void json_string(const char *text) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static int compare(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/// Nearest-rank percentiles in milliseconds (as bus-throughput computes them); sorts `samples`.
static void print_percentiles(const char *name, int64_t *samples, size_t n) {
  qsort(samples, n, sizeof *samples, compare);
  static const double qs[] = {0.5, 0.99, 0.999, 1.0};
  static const char *keys[] = {"p50", "p99", "p999", "max"};
  printf(",\"%s\":{", name);
  for (int k = 0; k < 4; k++) {
    size_t rank = (size_t)((double)n * qs[k] + 0.999999999);
    size_t index = rank == 0 ? 0 : rank - 1;
    if (index >= n) index = n - 1;
    printf("%s\"%s\":%.3f", k ? "," : "", keys[k], (double)samples[index] / 1e6);
  }
  putchar('}');
}

static void print_observations(const bus_drive_result_t *r) {
  printf(",\"events\":%ld,\"requests\":%ld,\"ack_seconds\":%.3f,\"deliver_seconds\":%.3f,"
         "\"acked_per_sec\":%.0f,\"delivered_per_sec\":%.0f,\"warmup_events\":%ld,\"acks_out_of_order\":%ld,"
         "\"ack_offset_gaps\":%ld,\"partitions\":%d,\"live_order_errors\":%ld,\"live_foreign\":%ld,"
         "\"live_heartbeats\":%ld",
         r->events, r->requests, r->ack_seconds, r->deliver_seconds, r->acked_per_sec, r->delivered_per_sec,
         r->warmup_events, r->acks_out_of_order, r->ack_offset_gaps, r->partitions_seen, r->live_order_errors,
         r->live_foreign, r->live_heartbeats);
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "throughput") != 0 && strcmp(argv[1], "latency") != 0)) {
    usage();
    return 2;
  }
  const char *mode = argv[1];
  const char *ingest = getenv("PASSERELLE_BUS_INGEST"), *live = getenv("PASSERELLE_BUS_LIVE");
  if (!ingest || !*ingest) ingest = "tcp://127.0.0.1:7401";
  if (!live || !*live) live = "tcp://127.0.0.1:7402";
  int subscribers = 1, in_flight = 32, batch = 100;
  double seconds = strcmp(mode, "latency") == 0 ? 5 : 2, rate = 10000;
  long size = 500;
  char tag[64];
  snprintf(tag, sizeof tag, "d%lx-%x", (long)time(NULL), (unsigned)getpid());
  const char *tag_arg = NULL;
  for (int i = 2; i < argc; i++) {
    const char *name = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) {
      usage();
      return 2;
    }
    i++;
    if (strcmp(name, "--subscribers") == 0) subscribers = atoi(value);
    else if (strcmp(name, "--in-flight") == 0) in_flight = atoi(value);
    else if (strcmp(name, "--batch") == 0) batch = atoi(value);
    else if (strcmp(name, "--seconds") == 0) seconds = atof(value);
    else if (strcmp(name, "--rate") == 0) rate = atof(value);
    else if (strcmp(name, "--size") == 0) size = atol(value);
    else if (strcmp(name, "--tag") == 0) tag_arg = value;
    else if (strcmp(name, "--ids") == 0 && (strcmp(value, "sequential") == 0 || strcmp(value, "scattered") == 0))
      bus_drive_scatter_ids(strcmp(value, "scattered") == 0);
    else if (strcmp(name, "--ingest") == 0) ingest = value;
    else if (strcmp(name, "--live") == 0) live = value;
    else {
      usage();
      return 2;
    }
  }
  if (tag_arg) snprintf(tag, sizeof tag, "%s", tag_arg);
  if (size < 1) size = 1;

  char error[512] = {0};
  bus_drive_result_t result;
  int status;
  if (strcmp(mode, "throughput") == 0) {
    status = bus_drive_throughput(ingest, live, subscribers, in_flight, batch, seconds, (size_t)size, tag, &result,
                                  error, sizeof error);
    if (status == 0) {
      printf("{\"mode\":\"throughput\",\"subscribers\":%d,\"in_flight\":%d,\"batch\":%d,\"seconds\":%g,"
             "\"event_size\":%ld,\"tag\":",
             subscribers, in_flight, batch, seconds, size);
      json_string(tag);
      print_observations(&result);
      printf("}\n");
    }
  } else {
    long count = bus_drive_latency_count(rate, seconds);
    int64_t *ack = count > 0 && subscribers > 0 && subscribers <= 64 ? malloc((size_t)count * sizeof *ack) : NULL;
    int64_t *deliver = ack ? malloc((size_t)count * (size_t)subscribers * sizeof *deliver) : NULL;
    if (!ack || !deliver) {
      snprintf(error, sizeof error, "bad rate/seconds/subscribers or out of memory (%ld events)", count);
      status = -1;
    } else {
      status = bus_drive_latency(ingest, live, subscribers, rate, seconds, (size_t)size, tag, ack, deliver, &result,
                                 error, sizeof error);
    }
    if (status == 0) {
      printf("{\"mode\":\"latency\",\"subscribers\":%d,\"rate\":%g,\"seconds\":%g,\"event_size\":%ld,\"tag\":",
             subscribers, rate, seconds, size);
      json_string(tag);
      printf(",\"late\":%ld", result.late);
      print_observations(&result);
      print_percentiles("ack_ms", ack, (size_t)count);
      print_percentiles("deliver_ms", deliver, (size_t)count * (size_t)subscribers);
      printf("}\n");
    }
    free(ack);
    free(deliver);
  }
  if (status != 0) {
    printf("{\"mode\":\"%s\",\"error\":", mode);
    json_string(error[0] ? error : "failed");
    printf("}\n");
    return 1;
  }
  return 0;
}
