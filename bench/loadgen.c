/* loadgen: posts events to flowd over HTTP/1.1 keep-alive connections, at a fixed rate or as
 * fast as they are accepted, and prints accepted events/s and p50/p99/max of the time to the
 * 202. One thread per connection, so the generator is not the bottleneck.
 *
 *   loadgen -p PORT -t TOKEN [-c CONNS] [-r REQUESTS/s, 0 = max] [-d SECONDS] [-b BATCH]
 *           [-k KIND] [-s START_ID] [-x ID_PREFIX] [-P PATH] [-e EXPECTED_STATUS] [-o FILE]
 * -P and -e point it at another server's endpoint (a peer's HTTP-in node) with the same
 * bodies; an empty token sends no Authorization header.
 * Each event is {"type":"<kind>.created","data":{"id":"<prefix><n>","source":website|facebook,
 * ...}} with n unique across threads. -o writes the first event id and count for the caller's
 * own end-to-end measurement. Only loopback addresses are used. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port = 8080, conns = 50, batch = 1;
static double rate = 0, duration = 10;
static const char *token = "", *kind = "order", *prefix = "B", *path = "/api/events";
static int expect = 202;
static atomic_long next_id, sent_events, errors;
static double t_start;

struct worker {
  pthread_t th;
  int id;
  double *lat; /* ms per request */
  size_t nlat, cap;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_lo(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Reads one HTTP response; returns its status or -1. */
static int read_response(int fd, char *buf, size_t cap) {
  size_t len = 0;
  long body = -1;
  char *hdr_end = NULL;
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n <= 0)
      return -1;
    len += n;
    buf[len] = '\0';
    if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
      char *cl = strcasestr(buf, "content-length:");
      body = cl ? atol(cl + 15) : 0;
    }
    if (hdr_end && (long)(len - (hdr_end + 4 - buf)) >= body)
      break;
  }
  return atoi(buf + 9);
}

static void *run(void *arg) {
  struct worker *w = arg;
  char req[65536], resp[16384], body[60000];
  int fd = connect_lo();
  /* At a fixed rate the connections take turns, evenly spaced: started in step, they would
   * post in bursts of one request each. */
  double per = rate > 0 ? conns / rate : 0, next = now_s() + per * w->id / conns;
  while (fd >= 0 && now_s() - t_start < duration) {
    if (per > 0) {
      double t = now_s();
      if (t < next)
        usleep((useconds_t)((next - t) * 1e6));
      next += per;
    }
    size_t bl = 0;
    if (batch > 1)
      body[bl++] = '[';
    for (int k = 0; k < batch; k++) {
      long id = atomic_fetch_add(&next_id, 1);
      bl += snprintf(body + bl, sizeof body - bl,
                     "%s{\"type\":\"%s.created\",\"data\":{\"id\":\"%s%ld\",\"source\":\"%s\","
                     "\"amount\":%ld,\"customer\":{\"id\":\"c%ld\",\"name\":\"Khách %ld\"}}}",
                     k ? "," : "", kind, prefix, id, id % 2 ? "facebook" : "website",
                     50000 + id % 1000, id % 5000, id % 5000);
    }
    if (batch > 1)
      body[bl++] = ']';
    char auth[300] = "";
    if (token[0])
      snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    int rl = snprintf(req, sizeof req,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%.*s",
                      path, auth, bl, (int)bl, body);
    double t0 = now_s();
    int st = write(fd, req, rl) == rl ? read_response(fd, resp, sizeof resp) : -1;
    double ms = (now_s() - t0) * 1e3;
    if (st != expect) {
      atomic_fetch_add(&errors, 1);
      close(fd);
      fd = connect_lo();
      continue;
    }
    atomic_fetch_add(&sent_events, batch);
    if (w->nlat == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 4096;
      w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
    }
    w->lat[w->nlat++] = ms;
  }
  if (fd >= 0)
    close(fd);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  const char *out = NULL;
  long start = 1;
  int c;
  while ((c = getopt(argc, argv, "p:t:c:r:d:b:k:s:o:x:P:e:")) != -1) {
    switch (c) {
    case 'p': port = atoi(optarg); break;
    case 't': token = optarg; break;
    case 'c': conns = atoi(optarg); break;
    case 'r': rate = atof(optarg); break;
    case 'd': duration = atof(optarg); break;
    case 'b': batch = atoi(optarg); break;
    case 'k': kind = optarg; break;
    case 's': start = atol(optarg); break;
    case 'x': prefix = optarg; break;
    case 'P': path = optarg; break;
    case 'e': expect = atoi(optarg); break;
    case 'o': out = optarg; break;
    default: fprintf(stderr, "usage: see the comment at the top of bench/loadgen.c\n"); return 2;
    }
  }
  atomic_store(&next_id, start);
  struct worker *w = calloc(conns, sizeof *w);
  t_start = now_s();
  for (int i = 0; i < conns; i++) {
    w[i].id = i;
    pthread_create(&w[i].th, NULL, run, &w[i]);
  }
  size_t total = 0;
  for (int i = 0; i < conns; i++) {
    pthread_join(w[i].th, NULL);
    total += w[i].nlat;
  }
  double elapsed = now_s() - t_start;
  double *all = malloc((total ? total : 1) * sizeof *all);
  size_t k = 0;
  for (int i = 0; i < conns; i++) {
    memcpy(all + k, w[i].lat, w[i].nlat * sizeof *all);
    k += w[i].nlat;
    free(w[i].lat);
  }
  qsort(all, total, sizeof *all, cmp);
  long ev = atomic_load(&sent_events);
  printf("loadgen conns=%d target_rps=%.0f batch=%d seconds=%.1f accepted_events=%ld "
         "events_per_s=%.0f requests=%zu errors=%ld accept_p50_ms=%.2f accept_p99_ms=%.2f "
         "accept_max_ms=%.2f\n",
         conns, rate, batch, elapsed, ev, ev / elapsed,
         total, atomic_load(&errors), total ? all[total / 2] : 0,
         total ? all[(size_t)(total * 0.99)] : 0, total ? all[total - 1] : 0);
  if (out) {
    FILE *f = fopen(out, "w");
    if (f) {
      fprintf(f, "%ld %ld\n", start, ev);
      fclose(f);
    }
  }
  free(all);
  free(w);
  return 0;
}
