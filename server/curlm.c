/* curlm: curl multi_socket driven by uv_poll and one uv_timer.
 *
 * Invariants: curl asks for a timeout through timer_cb and for socket interest through
 * socket_cb; we never call curl_multi_socket_action from inside those callbacks (curl forbids
 * it), only from the uv callbacks. Every socket curl watches has one struct sock (a uv_poll),
 * attached with curl_multi_assign and stopped the moment curl says CURL_POLL_REMOVE, because
 * curl closes the fd right after. Every easy handle we were given is on m->xfers until its
 * completion callback ran, since curl_multi_cleanup would not free it for us. The struct
 * curlm is freed from the close callback of its last uv handle. */
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/curlm.h"
#include "server/log.h"

struct xfer {
  CURL *easy;
  struct curl_slist *headers;
  curlm_done_cb cb;
  void *ud;
  struct xfer *prev, *next;
};

struct sock {
  uv_poll_t poll; /* first: the close callback gets the handle */
  struct curlm *m;
  curl_socket_t fd;
  int closing;
  struct sock *prev, *next;
};

struct curlm {
  uv_loop_t *loop;
  CURLM *multi;
  uv_timer_t timer;
  struct xfer *xfers;
  struct sock *socks;
  int nxfers;
  int open_handles; /* the timer plus every sock not yet closed */
  int closing;
};

/* ---- handle lifetime ---- */

static void handle_closed(struct curlm *m) {
  if (--m->open_handles == 0 && m->closing)
    free(m);
}

static void timer_closed(uv_handle_t *h) { handle_closed(h->data); }

static void sock_closed(uv_handle_t *h) {
  struct sock *s = (struct sock *)h;
  struct curlm *m = s->m;
  free(s);
  handle_closed(m);
}

/* Stops watching at once (curl closes the fd next) and closes the handle later. */
static void sock_drop(struct sock *s) {
  if (s->closing)
    return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  if (s->prev)
    s->prev->next = s->next;
  else
    s->m->socks = s->next;
  if (s->next)
    s->next->prev = s->prev;
  uv_close((uv_handle_t *)&s->poll, sock_closed);
}

/* ---- completion ---- */

static void xfer_unlink(struct curlm *m, struct xfer *x) {
  if (x->prev)
    x->prev->next = x->next;
  else
    m->xfers = x->next;
  if (x->next)
    x->next->prev = x->prev;
  m->nxfers--;
}

/* Removes x from the multi handle, runs its callback once and frees it. */
static void xfer_finish(struct curlm *m, struct xfer *x, CURLcode result) {
  curl_multi_remove_handle(m->multi, x->easy);
  xfer_unlink(m, x);
  x->cb(x->ud, x->easy, result);
  curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->headers);
  free(x);
}

static void drain_done(struct curlm *m) {
  CURLMsg *msg;
  int left;
  while (!m->closing && (msg = curl_multi_info_read(m->multi, &left))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    struct xfer *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    xfer_finish(m, x, result);
  }
}

/* ---- curl -> uv ---- */

static void on_timer(uv_timer_t *t) {
  struct curlm *m = t->data;
  int running;
  curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain_done(m);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *ud) {
  struct curlm *m = ud;
  (void)multi;
  if (timeout_ms < 0)
    uv_timer_stop(&m->timer);
  else
    uv_timer_start(&m->timer, on_timer, (uint64_t)timeout_ms, 0);
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct sock *s = (struct sock *)h;
  struct curlm *m = s->m;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  else
    flags = (events & UV_READABLE ? CURL_CSELECT_IN : 0) |
            (events & UV_WRITABLE ? CURL_CSELECT_OUT : 0);
  int running;
  curl_multi_socket_action(m->multi, s->fd, flags, &running);
  drain_done(m);
}

static struct sock *sock_new(struct curlm *m, curl_socket_t fd) {
  struct sock *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  if (uv_poll_init_socket(m->loop, &s->poll, fd) != 0) {
    free(s);
    return NULL;
  }
  s->m = m;
  s->fd = fd;
  s->next = m->socks;
  if (m->socks)
    m->socks->prev = s;
  m->socks = s;
  m->open_handles++;
  curl_multi_assign(m->multi, fd, s);
  return s;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *ud, void *socketp) {
  struct curlm *m = ud;
  struct sock *s = socketp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (s) {
      sock_drop(s);
      curl_multi_assign(m->multi, fd, NULL);
    }
    return 0;
  }
  if (!s && !(s = sock_new(m, fd))) {
    log_error("cannot watch a curl socket", "fd=%d", (int)fd);
    return -1; /* curl fails the transfers on this socket */
  }
  int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
  uv_poll_start(&s->poll, events, on_poll);
  return 0;
}

/* ---- API ---- */

struct curlm *curlm_new(uv_loop_t *loop) {
  static int curl_ready;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      return NULL;
    curl_ready = 1;
  }
  struct curlm *m = calloc(1, sizeof *m);
  if (!m || !(m->multi = curl_multi_init())) {
    free(m);
    return NULL;
  }
  m->loop = loop;
  uv_timer_init(loop, &m->timer);
  m->timer.data = m;
  m->open_handles = 1;
  curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
  curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
  return m;
}

int curlm_submit(struct curlm *m, CURL *easy, struct curl_slist *http_headers,
                 curlm_done_cb cb, void *ud) {
  struct xfer *x = m->closing ? NULL : calloc(1, sizeof *x);
  struct curl_slist *h = http_headers ? curl_slist_append(http_headers, "Expect:") : NULL;
  if (!x || (http_headers && !h)) {
    free(x);
    curl_slist_free_all(http_headers);
    curl_easy_cleanup(easy);
    return m->closing ? ERR_BADSTATE : ERR_NOMEM;
  }
  *x = (struct xfer){easy, h, cb, ud, NULL, m->xfers};
  if (h)
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  if (curl_multi_add_handle(m->multi, easy) != CURLM_OK) {
    curl_easy_cleanup(easy);
    curl_slist_free_all(h);
    free(x);
    return ERR_NOMEM;
  }
  if (m->xfers)
    m->xfers->prev = x;
  m->xfers = x;
  m->nxfers++;
  return 0;
}

void curlm_cancel(struct curlm *m, CURL *easy) {
  for (struct xfer *x = m->xfers; x; x = x->next)
    if (x->easy == easy) {
      xfer_finish(m, x, CURLE_ABORTED_BY_CALLBACK);
      return;
    }
}

int curlm_running(const struct curlm *m) { return m->nxfers; }

void curlm_shutdown(struct curlm *m) {
  m->closing = 1; /* callbacks that submit from here on get ERR_BADSTATE */
  while (m->xfers)
    xfer_finish(m, m->xfers, CURLE_ABORTED_BY_CALLBACK);
  /* Stop watching before curl closes its cached connections; curl must not call back into a
   * half-dismantled curlm, so its callbacks go first. */
  while (m->socks)
    sock_drop(m->socks);
  curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, NULL);
  curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, NULL);
  curl_multi_cleanup(m->multi);
  m->multi = NULL;
  uv_timer_stop(&m->timer);
  uv_close((uv_handle_t *)&m->timer, timer_closed);
}
