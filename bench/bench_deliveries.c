/* bench_deliveries: how many deliveries per second the outbox sends to a local HTTP gateway.
 *
 * Inserts N pending SMS deliveries for an http provider, then runs flowd's outbox worker (the
 * real one: claims with leases, up to 200 sends in flight through curl multi_socket, outcome
 * writes, final hooks) on a loop with a 4-connection database pool, until every delivery is
 * final. The gateway is a minimal keep-alive HTTP/1.1 sink on libuv in its own thread, so
 * it is not what limits the figure. Prints deliveries/s over the whole run and p50/p99 of the
 * per-send latency (curl's total time of each transfer).
 *
 * Usage: bench_deliveries [N] (default 20000). Database: FLOWD_DB when set, else a temporary
 * embedded cluster (initdb'd here and removed at the end). Loopback only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include "graph/err.h"
#include "server/db.h"
#include "server/http.h"
#include "server/log.h"
#include "server/migrate.h"
#include "server/outbox.h"
#include "server/pgembed.h"
#include "server/server.h"

/* ---- the sink: a keep-alive HTTP/1.1 server answering 200 {"ok":true} ---- */

struct sink {
  uv_loop_t loop;
  uv_tcp_t server;
  uv_async_t stop;
  uv_thread_t thread;
  int port;
  atomic_int open, max_open;
  atomic_long requests;
};

struct sconn {
  uv_tcp_t tcp;
  struct sink *sink;
  char buf[16384];
  size_t len;
};

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 11\r\n\r\n{\"ok\":true}";

static void sconn_closed(uv_handle_t *h) {
  struct sconn *c = h->data;
  atomic_fetch_sub(&c->sink->open, 1);
  free(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  struct sconn *c = h->data;
  (void)hint;
  *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void on_written(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

/* Answers every complete request in the buffer; returns -1 on a request it cannot parse. */
static int answer(struct sconn *c) {
  for (;;) {
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
      return c->len == sizeof c->buf ? -1 : 0;
    *end = '\0';
    const char *cl = strcasestr(c->buf, "\r\ncontent-length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0, total = (size_t)(end - c->buf) + 4 + body;
    *end = '\r';
    if (total > sizeof c->buf)
      return -1;
    if (c->len < total)
      return 0;
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)RESPONSE, sizeof RESPONSE - 1);
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    atomic_fetch_add(&c->sink->requests, 1);
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
  }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  struct sconn *c = s->data;
  (void)buf;
  if (n == 0)
    return;
  if (n > 0) {
    c->len += (size_t)n;
    if (answer(c) == 0)
      return;
  }
  uv_close((uv_handle_t *)s, sconn_closed);
}

static void on_connection(uv_stream_t *server, int status) {
  struct sink *k = server->data;
  struct sconn *c = calloc(1, sizeof *c);
  if (status < 0 || !c) {
    free(c);
    return;
  }
  c->sink = k;
  uv_tcp_init(&k->loop, &c->tcp);
  c->tcp.data = c;
  int open = atomic_fetch_add(&k->open, 1) + 1;
  if (open > atomic_load(&k->max_open))
    atomic_store(&k->max_open, open);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  else
    uv_close((uv_handle_t *)&c->tcp, sconn_closed);
}

static void close_any(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, h->type == UV_TCP && h->data && h->data != arg ? sconn_closed : NULL);
}

static void on_stop(uv_async_t *a) {
  struct sink *k = a->data;
  uv_walk(&k->loop, close_any, k);
}

static void sink_main(void *arg) {
  struct sink *k = arg;
  uv_run(&k->loop, UV_RUN_DEFAULT);
  uv_loop_close(&k->loop);
}

static int sink_start(struct sink *k) {
  struct sockaddr_in addr;
  uv_loop_init(&k->loop);
  uv_tcp_init(&k->loop, &k->server);
  k->server.data = k;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  if (uv_tcp_bind(&k->server, (const struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&k->server, 1024, on_connection) != 0)
    return -1;
  int len = sizeof addr;
  uv_tcp_getsockname(&k->server, (struct sockaddr *)&addr, &len);
  k->port = ntohs(addr.sin_port);
  uv_async_init(&k->loop, &k->stop, on_stop);
  k->stop.data = k;
  return uv_thread_create(&k->thread, sink_main, k);
}

/* ---- the run ---- */

struct run {
  long n, finals, bad;
  double t0, t_end;
  double *lat;
  struct server srv;
  uv_timer_t done_check;
};

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_final(void *ud, const cJSON *d) {
  struct run *r = ud;
  const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(d, "status"));
  if (!status || strcmp(status, "sent") != 0)
    r->bad++;
  double ms = cJSON_GetNumberValue(
      cJSON_GetObjectItem(cJSON_GetObjectItem(d, "response"), "duration_ms"));
  if (r->finals < r->n)
    r->lat[r->finals] = ms == ms ? ms : 0; /* NaN when there was no response */
  if (++r->finals == r->n)
    r->t_end = now_ms();
}

static void on_done_check(uv_timer_t *t) {
  struct run *r = t->data;
  if (r->finals < r->n && now_ms() - r->t0 < 600000)
    return;
  uv_close((uv_handle_t *)t, NULL);
  outbox_shutdown();
  db_close(r->srv.db, NULL, NULL);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int sql(PGconn *c, const char *q) {
  PGresult *res = PQexec(c, q);
  int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
  if (!ok)
    fprintf(stderr, "%s: %s", q, PQerrorMessage(c));
  PQclear(res);
  return ok ? 0 : -1;
}

static int prepare(const char *conninfo, int port, long n) {
  PGconn *c = PQconnectdb(conninfo);
  char q[1024];
  snprintf(q, sizeof q,
           "INSERT INTO providers (id, type, config) VALUES ('bench_gw', 'http', "
           "'{\"url\": \"http://127.0.0.1:%d/sms\", \"auth\": {\"type\": \"bearer\", \"token\": "
           "\"t\"}, \"body\": {\"to\": \"{{{to}}}\", \"text\": \"{{{text}}}\"}}') "
           "ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config",
           port);
  int rc = PQstatus(c) == CONNECTION_OK ? sql(c, q) : -1;
  snprintf(q, sizeof q,
           "INSERT INTO deliveries (channel, provider, \"to\", body, idempotency_key) "
           "SELECT 'sms', 'bench_gw', '09' || g, 'Đơn hàng SO' || g || ' đã được xác nhận', "
           "'bench-%d-%ld-' || g FROM generate_series(1, %ld) g",
           (int)getpid(), (long)time(NULL), n);
  if (!rc)
    rc = sql(c, q);
  PQfinish(c);
  return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(path);
}

static void report(struct run *r, struct sink *k) {
  double secs = (r->t_end - r->t0) / 1000.0;
  qsort(r->lat, (size_t)r->n, sizeof *r->lat, cmp_double);
  printf("deliveries: %ld sent, %ld not sent, in %.2f s\n", r->finals - r->bad, r->bad, secs);
  printf("throughput: %.0f deliveries/s (200 in flight; sink saw %ld requests on at most %d "
         "connections)\n",
         r->n / secs, (long)atomic_load(&k->requests), atomic_load(&k->max_open));
  printf("send latency: p50 %.2f ms, p99 %.2f ms\n", r->lat[r->n / 2],
         r->lat[(long)(r->n * 0.99)]);
}

int main(int argc, char **argv) {
  static struct run r;
  static struct sink k;
  r.n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
  if (r.n <= 0 || !(r.lat = calloc((size_t)r.n, sizeof *r.lat)))
    return 2;
  log_set_level(LOG_WARN);
  char conninfo[2048], tmp[] = "/tmp/bench_deliveries.XXXXXX";
  const char *db = getenv("FLOWD_DB");
  int embedded = !(db && *db);
  struct err_detail d = {{0}, {0}};
  int version;
  if (embedded && (!mkdtemp(tmp) || pgembed_start(tmp, conninfo, sizeof conninfo, &d) != 0)) {
    fprintf(stderr, "cannot start PostgreSQL: %s\n", d.msg);
    return 1;
  }
  if (!embedded)
    snprintf(conninfo, sizeof conninfo, "%s", db);
  int rc = migrate_run(conninfo, 30, &version, &d) || sink_start(&k) ||
           prepare(conninfo, k.port, r.n);
  if (!rc) {
    uv_loop_t *loop = uv_default_loop();
    r.srv.loop = loop;
    r.srv.db = db_open(loop, conninfo, 4);
    outbox_on_final(on_final, &r);
    r.t0 = now_ms();
    rc = outbox_init(&r.srv);
    uv_timer_init(loop, &r.done_check);
    r.done_check.data = &r;
    uv_timer_start(&r.done_check, on_done_check, 10, 10);
    uv_run(loop, UV_RUN_DEFAULT);
    db_free(r.srv.db);
    uv_loop_close(loop);
    uv_async_send(&k.stop);
    uv_thread_join(&k.thread);
    report(&r, &k);
  }
  if (embedded) {
    pgembed_stop();
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  free(r.lat);
  return rc || r.bad ? 1 : 0;
}
