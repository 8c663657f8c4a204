/* curlm: libcurl's multi_socket interface on the flowd loop.
 *
 * One curl multi handle whose sockets are watched by uv_poll handles and whose timeout is one
 * uv_timer, so HTTP and SMTP transfers run on the loop next to libpq and libwebsockets without
 * a thread. A transfer is an easy handle the caller configured; curlm owns it from submission
 * on and cleans it up after its completion callback returned.
 *
 * Invariant: every submitted transfer completes through its callback exactly once: when curl
 * finishes it, when it is cancelled, or at shutdown. The callback never runs from inside
 * curlm_submit. */
#ifndef FLOWD_CURLM_H
#define FLOWD_CURLM_H
#include <curl/curl.h>
#include <uv.h>

struct curlm;

/* Called once per transfer. result is curl's outcome; CURLE_ABORTED_BY_CALLBACK when the
 * transfer was cancelled or curlm shut down. easy is still valid during the call (read
 * CURLINFO_* from it) and is cleaned up by curlm right after; do not keep it. */
typedef void (*curlm_done_cb)(void *ud, CURL *easy, CURLcode result);

/* Initialises libcurl (once per process) and a multi handle on loop. Returns NULL when out of
 * memory. */
struct curlm *curlm_new(uv_loop_t *loop);

/* Starts easy (takes ownership, also on failure: then it is cleaned up and cb never runs).
 * http_headers (may be NULL, for non-HTTP transfers) become CURLOPT_HTTPHEADER; curlm
 * appends an empty "Expect:" (libwebsockets never answers 100-continue), and owns and frees
 * the list, also on failure. Returns 0, ERR_NOMEM, or ERR_BADSTATE after curlm_shutdown. */
int curlm_submit(struct curlm *m, CURL *easy, struct curl_slist *http_headers,
                 curlm_done_cb cb, void *ud);

/* Stops the transfer of easy if it is still running: its callback runs before this returns,
 * with CURLE_ABORTED_BY_CALLBACK. Does nothing for a transfer that already completed. */
void curlm_cancel(struct curlm *m, CURL *easy);

/* Transfers submitted and not yet completed. */
int curlm_running(const struct curlm *m);

/* Cancels every transfer (their callbacks run before this returns), releases the multi
 * handle and closes the loop handles; m is freed from the last close callback, so nothing may
 * use it after this call. */
void curlm_shutdown(struct curlm *m);

#endif
