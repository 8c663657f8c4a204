/* send: one attempt to deliver one message, as a curl transfer on the loop.
 *
 * The outbox hands over a claimed delivery (its row as JSON: id, channel, to, subject, body,
 * request, idempotency_key, provider_type, provider_config) and gets back a verdict: sent,
 * retry later (connection failures, timeouts, 5xx, 408, 429, SMTP 4xx), or failed for good
 * (other 4xx, SMTP 5xx, a delivery or provider that cannot work). Three kinds of transfer:
 * - webhook (channel "webhook"): request {method, url, headers, body, timeout_ms, expect} as
 *   it stands (the executor rendered it);
 * - http provider: the provider's url, method, headers and body templates rendered against
 *   {to, text, body, subject, channel, idempotency_key, delivery_id, run_id, node_id} plus the
 *   members of the delivery's request object (voice, audio_url, ...);
 * - smtp provider: an RFC 5322 message (mailmsg.h) from the provider's `from` (or
 *   request.from) to `to`.
 * Every attempt carries the same idempotency key: header Idempotency-Key over HTTP, and
 * X-Idempotency-Key plus a key-derived Message-ID in e-mail. */
#ifndef FLOWD_SEND_H
#define FLOWD_SEND_H
#include <cjson/cJSON.h>

struct curlm;

#define SEND_RESPONSE_MAX (64 * 1024) /* response bodies are cut here */

enum send_verdict {
  SEND_OK,     /* delivered */
  SEND_RETRY,  /* failed this time; another attempt may work */
  SEND_FAIL,   /* failed; another attempt would fail the same way */
  SEND_ABORTED /* cancelled before an outcome (shutdown) */
};

struct send_result {
  enum send_verdict verdict;
  cJSON *response;     /* {status, headers, body, truncated, duration_ms} or {code} for smtp;
                          may be NULL; owned by the result */
  char error[512];     /* one sentence when verdict is not SEND_OK */
  long retry_after_ms; /* the server's Retry-After, or 0 */
};

/* Called once per started attempt; r (and r->response) belong to the callee, who must call
 * send_result_free on it. */
typedef void (*send_done_cb)(void *ud, struct send_result *r);

/* Starts one attempt of delivery d (borrowed; only read during the call). timeout_cap_ms
 * bounds the transfer (the outbox keeps it under its lease). On 0 cb runs later, exactly
 * once, never from inside this call. On failure returns a negative ERR_* and fills *r instead
 * (a delivery that cannot be sent: SEND_FAIL; out of memory: SEND_RETRY); cb never runs. */
int send_start(struct curlm *m, const cJSON *d, long timeout_cap_ms, send_done_cb cb,
               void *ud, struct send_result *r);

void send_result_free(struct send_result *r);

/* Replaces every byte of s that is not part of valid UTF-8 with '?', in place, so text from
 * the outside (response bodies, cut error messages) can always be stored. */
void send_utf8_clean(char *s);

#endif
