/* ws_watch: N websocket clients connected to flowd at once, for bench/ws_bench.sh.
 *
 *   ws_watch -p PORT -t TOKEN -f FLOW_ID [-n N] [-k K] [-d SECONDS] [-c HANDSHAKES] [-o FILE]
 *
 * K of the N clients subscribe to flow:<FLOW_ID> and measure, for every node.finished
 * message, the time from the node finishing (the message's "at": milliseconds since the epoch,
 * taken by the executor when the step ended) to the message being read here; the other N - K
 * subscribe to flow:idle_<i>, a topic nothing publishes to, and stay connected (answering
 * pings). Prints "watchers connected=N" once every client has its "subscribed" answer, then,
 * after SECONDS (default 3600) or at SIGINT/SIGTERM, one line with the count, p50/p99/max of
 * that latency, and the messages and lagged notes received; -o also writes every latency (ms,
 * one per line) to FILE, for percentiles over several runs. Exit status 1 if a client failed.
 *
 * One thread, one libuv loop, a small RFC 6455 client by hand (text frames, ping/pong, close;
 * no extensions): the point is that the watchers cost little CPU next to the server they
 * measure, which shares the machine. Both clocks are this machine's CLOCK_REALTIME; "at" is
 * whole milliseconds (truncated), so figures read up to 1 ms high. Loopback only. */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define RX_MAX (1 << 20) /* a client's receive buffer: one message at most this big */

enum state { CONNECTING, HANDSHAKE, OPEN, CLOSED };

struct client {
  uv_tcp_t tcp;
  int idx;
  enum state state;
  int watcher;    /* subscribed to the flow under load */
  int subscribed; /* got the "subscribed" answer */
  char *rx;       /* bytes read and not yet parsed */
  size_t rxlen;
  char *msg; /* a fragmented message being gathered */
  size_t msglen;
};

struct wreq { /* one write: the request and its bytes */
  uv_write_t req;
  char data[];
};

static struct {
  uv_loop_t *loop;
  int port, n, k, handshakes_max;
  const char *token, *flow, *out;
  double seconds;
  struct client *clients;
  int next_connect, handshaking, connected, failed, announced, stopping;
  double *lat; /* ms per node.finished message */
  size_t nlat, cap;
  long msgs, lagged_notes, lagged_dropped, errors;
  uv_timer_t stop_timer;
  uv_signal_t sigint, sigterm;
} S;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void connect_more(void);
static void stop(void);
static void on_stop_timer(uv_timer_t *t);

static void on_closed(uv_handle_t *h) {
  struct client *c = h->data;
  free(c->rx);
  free(c->msg);
  c->rx = c->msg = NULL;
}

static void client_drop(struct client *c, const char *why) {
  if (c->state == CLOSED)
    return;
  if (!S.stopping) {
    S.failed++;
    fprintf(stderr, "ws_watch: client %d: %s\n", c->idx, why);
  }
  if (c->state != OPEN)
    S.handshaking--;
  c->state = CLOSED;
  uv_close((uv_handle_t *)&c->tcp, on_closed);
  if (!S.stopping && !S.announced)
    stop(); /* a client that cannot even connect makes the measurement meaningless */
  connect_more();
}

static void on_written(uv_write_t *req, int status) {
  (void)status; /* a failed write shows up as a read error */
  free(req->data);
}

static void send_bytes(struct client *c, const void *data, size_t len) {
  struct wreq *w = malloc(sizeof *w + len);
  memcpy(w->data, data, len);
  w->req.data = w;
  uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
  if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w);
    client_drop(c, "write failed");
  }
}

/* A client frame: FIN, opcode, masked payload (RFC 6455 5.3). */
static void send_frame(struct client *c, int opcode, const char *payload, size_t len) {
  unsigned char *f = malloc(len + 14);
  size_t h = 0;
  f[h++] = (unsigned char)(0x80 | opcode);
  if (len < 126) {
    f[h++] = (unsigned char)(0x80 | len);
  } else {
    f[h++] = 0x80 | 126;
    f[h++] = (unsigned char)(len >> 8);
    f[h++] = (unsigned char)len;
  }
  unsigned char mask[4];
  for (int i = 0; i < 4; i++)
    mask[i] = (unsigned char)rand();
  memcpy(f + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++)
    f[h + i] = (unsigned char)payload[i] ^ mask[i % 4];
  send_bytes(c, f, h + len);
  free(f);
}

static void announce_if_ready(void) {
  if (!S.announced && S.connected == S.n) {
    S.announced = 1;
    printf("watchers connected=%d\n", S.connected);
    fflush(stdout);
    uv_timer_start(&S.stop_timer, on_stop_timer, (uint64_t)(S.seconds * 1000), 0);
  }
}

static void on_message(struct client *c, char *text, size_t len, double at_recv) {
  S.msgs++;
  /* flowd writes "topic" then "type" first: look at the type before parsing anything. */
  const char *ty = memchr(text, ',', len < 400 ? len : 400);
  int finished = ty && len > 40 && strncmp(ty, ",\"type\":\"node.finished\"", 23) == 0;
  if (!finished && !strstr(text, "\"type\":\"")) {
    S.errors++;
    return;
  }
  if (!finished && !c->subscribed && strstr(text, "\"type\":\"subscribed\"")) {
    c->subscribed = 1;
    S.connected++;
    announce_if_ready();
    return;
  }
  if (!finished && !strstr(text, "\"type\":\"lagged\"") && !strstr(text, "\"type\":\"error\""))
    return; /* run.started, node.started, run.finished */
  if (finished) {
    /* ,"at": cannot occur inside a JSON string (its quotes would be escaped), and the
     * message has no nested object with an "at": no need to parse it all. */
    const char *at = memmem(text, len, ",\"at\":", 6);
    if (!at) {
      S.errors++;
      return;
    }
    if (S.announced) {
      if (S.nlat == S.cap) {
        S.cap = S.cap ? S.cap * 2 : 65536;
        S.lat = realloc(S.lat, S.cap * sizeof *S.lat);
      }
      S.lat[S.nlat++] = at_recv - strtod(at + 6, NULL);
    }
    return;
  }
  cJSON *m = cJSON_ParseWithLength(text, len);
  const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "type"));
  if (type && strcmp(type, "lagged") == 0) {
    S.lagged_notes++;
    S.lagged_dropped += (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "dropped"));
  } else if (type && strcmp(type, "error") == 0) {
    S.errors++;
    fprintf(stderr, "ws_watch: client %d: %.*s\n", c->idx, (int)len, text);
  }
  cJSON_Delete(m);
}

/* Parses every complete frame in c->rx. Returns -1 when the client was dropped. */
static int parse_frames(struct client *c, double at_recv) {
  size_t off = 0;
  for (;;) {
    unsigned char *p = (unsigned char *)c->rx + off;
    size_t avail = c->rxlen - off;
    if (avail < 2)
      break;
    int fin = p[0] & 0x80, opcode = p[0] & 0x0f;
    size_t h = 2;
    uint64_t len = p[1] & 0x7f;
    if (p[1] & 0x80) {
      client_drop(c, "masked frame from the server");
      return -1;
    }
    if (len == 126) {
      if (avail < 4)
        break;
      len = (uint64_t)p[2] << 8 | p[3];
      h = 4;
    } else if (len == 127) {
      if (avail < 10)
        break;
      len = 0;
      for (int i = 0; i < 8; i++)
        len = len << 8 | p[2 + i];
      h = 10;
    }
    if (len > RX_MAX) {
      client_drop(c, "frame too large");
      return -1;
    }
    if (avail < h + len)
      break;
    char *payload = (char *)p + h;
    off += h + len;
    switch (opcode) {
    case 0x9: /* ping */
      send_frame(c, 0xA, payload, (size_t)len);
      break;
    case 0xA:
      break;
    case 0x8: /* close: answer it, then the server hangs up */
      send_frame(c, 0x8, payload, len >= 2 ? 2 : 0);
      client_drop(c, "closed by the server");
      return -1;
    case 0x0:
    case 0x1:
    case 0x2:
      if (fin && !c->msg) {
        char keep = payload[len]; /* the next frame's first byte, or spare room */
        payload[len] = '\0';
        on_message(c, payload, (size_t)len, at_recv);
        payload[len] = keep;
      } else {
        c->msg = realloc(c->msg, c->msglen + len + 1);
        memcpy(c->msg + c->msglen, payload, (size_t)len);
        c->msglen += (size_t)len;
        if (fin) {
          c->msg[c->msglen] = '\0';
          on_message(c, c->msg, c->msglen, at_recv);
          free(c->msg);
          c->msg = NULL;
          c->msglen = 0;
        }
      }
      break;
    default:
      client_drop(c, "unknown opcode");
      return -1;
    }
  }
  memmove(c->rx, c->rx + off, c->rxlen - off);
  c->rxlen -= off;
  return 0;
}

/* The 101 answer; what follows it in the buffer is already frames. */
static int parse_handshake(struct client *c) {
  c->rx[c->rxlen] = '\0';
  char *end = strstr(c->rx, "\r\n\r\n");
  if (!end)
    return c->rxlen > 8192 ? (client_drop(c, "handshake answer too long"), -1) : 0;
  if (strncmp(c->rx, "HTTP/1.1 101", 12) != 0) {
    char line[80];
    snprintf(line, sizeof line, "refused: %.60s", c->rx);
    *strchr(line, '\r') = '\0';
    client_drop(c, line);
    return -1;
  }
  size_t hl = (size_t)(end + 4 - c->rx);
  memmove(c->rx, c->rx + hl, c->rxlen - hl);
  c->rxlen -= hl;
  c->state = OPEN;
  S.handshaking--;
  char sub[300];
  int n = c->watcher ? snprintf(sub, sizeof sub, "{\"op\":\"subscribe\",\"topic\":\"flow:%s\"}",
                                S.flow)
                     : snprintf(sub, sizeof sub,
                                "{\"op\":\"subscribe\",\"topic\":\"flow:idle_%d\"}", c->idx);
  send_frame(c, 0x1, sub, (size_t)n);
  connect_more();
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  struct client *c = h->data;
  if (!c->rx)
    c->rx = malloc(RX_MAX + 16);
  size_t room = RX_MAX + 15 - c->rxlen; /* one byte stays free for a NUL */
  *buf = uv_buf_init(c->rx + c->rxlen, (unsigned)(room < 65536 ? room : 65536));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  struct client *c = s->data;
  if (nread == 0 || c->state == CLOSED)
    return;
  if (nread < 0) {
    client_drop(c, nread == UV_EOF ? "the server hung up" : uv_strerror((int)nread));
    return;
  }
  double t = now_ms();
  c->rxlen += (size_t)nread;
  if (c->state == HANDSHAKE && parse_handshake(c) != 0)
    return;
  if (c->state == OPEN)
    parse_frames(c, t);
}

static void on_connect(uv_connect_t *req, int status) {
  struct client *c = req->data;
  free(req);
  if (c->state == CLOSED)
    return;
  if (status != 0) {
    client_drop(c, uv_strerror(status));
    return;
  }
  c->state = HANDSHAKE;
  unsigned char nonce[16];
  for (int i = 0; i < 16; i++)
    nonce[i] = (unsigned char)rand();
  char key[32], req_text[1024];
  lws_b64_encode_string((const char *)nonce, 16, key, sizeof key);
  int n = snprintf(req_text, sizeof req_text,
                   "GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n", S.token, S.port, key);
  send_bytes(c, req_text, (size_t)n);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Opens connections while fewer than handshakes_max are being set up: a thousand SYNs at
 * once would only overflow the listen backlog. */
static void connect_more(void) {
  while (!S.stopping && S.next_connect < S.n && S.handshaking < S.handshakes_max) {
    struct client *c = &S.clients[S.next_connect];
    c->idx = S.next_connect++;
    c->watcher = c->idx < S.k;
    c->state = CONNECTING;
    S.handshaking++;
    uv_tcp_init(S.loop, &c->tcp);
    c->tcp.data = c;
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", S.port, &a);
    uv_connect_t *req = malloc(sizeof *req);
    req->data = c;
    if (uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&a, on_connect) != 0) {
      free(req);
      client_drop(c, "connect failed");
    }
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double q) {
  size_t i = (size_t)(S.nlat * q);
  return S.lat[i < S.nlat ? i : S.nlat - 1];
}

static void report(void) {
  qsort(S.lat, S.nlat, sizeof *S.lat, cmp);
  FILE *f = S.out ? fopen(S.out, "w") : NULL;
  for (size_t i = 0; f && i < S.nlat; i++)
    fprintf(f, "%.2f\n", S.lat[i]);
  if (f)
    fclose(f);
  if (S.nlat)
    printf("watchers node_finished_msgs=%zu p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f "
           "p999_ms=%.1f max_ms=%.1f",
           S.nlat, pct(0.5), pct(0.9), pct(0.99), pct(0.999), S.lat[S.nlat - 1]);
  else
    printf("watchers node_finished_msgs=0");
  printf(" msgs=%ld lagged_notes=%ld lagged_dropped=%ld errors=%ld failed=%d\n", S.msgs,
         S.lagged_notes, S.lagged_dropped, S.errors, S.failed);
  fflush(stdout);
}

static void stop(void) {
  if (S.stopping)
    return;
  S.stopping = 1;
  report();
  for (int i = 0; i < S.next_connect; i++)
    if (S.clients[i].state != CLOSED) {
      if (S.clients[i].state == OPEN)
        send_frame(&S.clients[i], 0x8, "\x03\xe8", 2); /* 1000: normal closure */
      client_drop(&S.clients[i], "");
    }
  uv_close((uv_handle_t *)&S.stop_timer, NULL);
  uv_close((uv_handle_t *)&S.sigint, NULL);
  uv_close((uv_handle_t *)&S.sigterm, NULL);
}

static void on_stop_timer(uv_timer_t *t) {
  (void)t;
  stop();
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)h, (void)signum;
  stop();
}

int main(int argc, char **argv) {
  S.n = 1000;
  S.k = 10;
  S.seconds = 3600;
  S.handshakes_max = 64;
  int opt;
  while ((opt = getopt(argc, argv, "p:t:f:n:k:d:c:o:")) != -1) {
    switch (opt) {
    case 'p': S.port = atoi(optarg); break;
    case 't': S.token = optarg; break;
    case 'f': S.flow = optarg; break;
    case 'n': S.n = atoi(optarg); break;
    case 'k': S.k = atoi(optarg); break;
    case 'd': S.seconds = atof(optarg); break;
    case 'c': S.handshakes_max = atoi(optarg); break;
    case 'o': S.out = optarg; break;
    default: fprintf(stderr, "usage: see the comment at the top of bench/ws_watch.c\n"); return 2;
    }
  }
  if (!S.port || !S.token || !S.flow || S.n < 1 || S.k < 0 || S.k > S.n ||
      S.handshakes_max < 1) {
    fprintf(stderr, "usage: ws_watch -p PORT -t TOKEN -f FLOW_ID [-n N] [-k K] [-d SECONDS] "
                    "[-c HANDSHAKES] [-o FILE]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  S.loop = uv_default_loop();
  S.clients = calloc((size_t)S.n, sizeof *S.clients);
  uv_timer_init(S.loop, &S.stop_timer);
  uv_signal_init(S.loop, &S.sigint);
  uv_signal_init(S.loop, &S.sigterm);
  uv_signal_start(&S.sigint, on_signal, SIGINT);
  uv_signal_start(&S.sigterm, on_signal, SIGTERM);
  connect_more();
  uv_run(S.loop, UV_RUN_DEFAULT);
  int failed = S.failed > 0 || S.connected < S.n;
  uv_loop_close(S.loop);
  free(S.clients);
  free(S.lat);
  return failed;
}
