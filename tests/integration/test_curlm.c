/* curlm on a private loop against the loopback HTTP sink: many transfers complete once each,
 * cancel and shutdown complete what is in flight exactly once, and the loop closes with no
 * handle left open (curl's sockets are watched and unwatched correctly). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "server/curlm.h"
#include "tests/helpers.h"
#include "tests/sinks.h"
#include "tests/test.h"

#define MANY 100

struct tally {
  int done[MANY];
  int ok, aborted, other;
  long status[MANY];
};

static struct tally T;

static void on_done(void *ud, CURL *easy, CURLcode rc) {
  int i = (int)(intptr_t)ud;
  T.done[i]++;
  if (rc == CURLE_OK) {
    T.ok++;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &T.status[i]);
  } else if (rc == CURLE_ABORTED_BY_CALLBACK) {
    T.aborted++;
  } else {
    T.other++;
  }
}

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p, (void)ud;
  return size * n;
}

static CURL *get(const char *url) {
  CURL *e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 20000L);
  return e;
}

static void on_all_done(uv_idle_t *h) {
  struct curlm *m = h->data;
  if (curlm_running(m) > 0)
    return;
  uv_close((uv_handle_t *)h, NULL);
  curlm_shutdown(m);
}

TEST(curlm_runs_many_transfers_once_each_and_closes_clean) {
  struct sink k;
  sink_http_start(&k, 0, NULL);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct curlm *m = curlm_new(&loop);
  ASSERT_NOT_NULL(m);
  memset(&T, 0, sizeof T);
  char url[128];
  for (int i = 0; i < MANY; i++) {
    snprintf(url, sizeof url, "%s/t/%d", k.url, i);
    struct curl_slist *h = curl_slist_append(NULL, "X-Test: 1");
    ASSERT_INT_EQ(curlm_submit(m, get(url), h, on_done, (void *)(intptr_t)i), 0);
  }
  ASSERT_INT_EQ(T.ok + T.aborted + T.other, 0); /* never from inside submit */
  uv_idle_t idle;
  uv_idle_init(&loop, &idle);
  idle.data = m;
  uv_idle_start(&idle, on_all_done);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_INT_EQ(uv_loop_close(&loop), 0);
  ASSERT_INT_EQ(T.ok, MANY);
  for (int i = 0; i < MANY; i++) {
    ASSERT_INT_EQ(T.done[i], 1);
    ASSERT_INT_EQ(T.status[i], 200);
  }
  cJSON *recs = sink_records(&k);
  ASSERT_INT_EQ(cJSON_GetArraySize(recs), MANY);
  cJSON *h = cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "headers");
  ASSERT(cJSON_GetObjectItem(h, "expect") == NULL);
  ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(h, "x-test")), "1");
  cJSON_Delete(recs);
  sink_stop(&k);
}

struct slow {
  struct curlm *m;
  CURL *first;
  uv_timer_t timer;
};

static void on_slow_timer(uv_timer_t *t) {
  struct slow *s = t->data;
  curlm_cancel(s->m, s->first);
  ASSERT_INT_EQ(T.done[0], 1); /* completed before curlm_cancel returned */
  ASSERT_INT_EQ(T.aborted, 1);
  curlm_cancel(s->m, s->first); /* a second cancel does nothing */
  ASSERT_INT_EQ(T.done[0], 1);
  uv_close((uv_handle_t *)t, NULL);
  curlm_shutdown(s->m);
  ASSERT_INT_EQ(T.aborted, 3);
}

TEST(curlm_cancel_and_shutdown_complete_each_transfer_exactly_once) {
  struct sink k;
  sink_http_start(&k, 0, "{\"delay_ms\":3000}");
  uv_loop_t loop;
  uv_loop_init(&loop);
  static struct slow s;
  s.m = curlm_new(&loop);
  memset(&T, 0, sizeof T);
  for (int i = 0; i < 3; i++) {
    CURL *e = get(k.url);
    if (i == 0)
      s.first = e;
    ASSERT_INT_EQ(curlm_submit(s.m, e, NULL, on_done, (void *)(intptr_t)i), 0);
  }
  uv_timer_init(&loop, &s.timer);
  s.timer.data = &s;
  uv_timer_start(&s.timer, on_slow_timer, 300, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_INT_EQ(uv_loop_close(&loop), 0);
  for (int i = 0; i < 3; i++)
    ASSERT_INT_EQ(T.done[i], 1);
  ASSERT_INT_EQ(T.aborted, 3);
  ASSERT_INT_EQ(T.ok + T.other, 0);
  sink_stop(&k);
}
