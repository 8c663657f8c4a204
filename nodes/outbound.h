/* outbound: what the five sending nodes (send_sms, send_email, robocall, send_message, http)
 * share: finding the customer's phone or e-mail, handing a message to the outbox, and turning
 * the delivery's final status into the step's outcome.
 *
 * A send is one step that runs twice. The first execution renders the message, adds it to
 * the step's transaction (outbox_add, keyed by step_idempotency_key) and waits; the outbox
 * sends it, retrying with the node's own policy, and its final status wakes the run; the
 * resumed execution reads it (step_delivery) and takes "out" (sent), fails (failed: the
 * executor then takes "error" or fails the run) or waits on (still pending). A test run
 * records the message and finishes at once: it never waits for a delivery.
 *
 * Contacts. The person a send goes to is the run's `customer`, else its `lead` (a lead has no
 * customer yet). `to` is one of:
 * - "auto": the person's `phone` (`email`), else the first entry of `phones` (`emails`);
 * - a type, a bare lower-case word such as "mobile" or "work": `phones.<type>` when `phones`
 *   is an object ({"mobile": "090..."}), or the first item of a `phones` array whose `type`
 *   is it ([{"type": "mobile", "number": "090..."}]; `value` works too, and `address` for
 *   e-mails);
 * - anything else: a template, such as "{{order.contact_phone}}" or a literal number.
 * Nothing found (or a template rendering empty) is a skip with the reason, not a failure. */
#ifndef FLOWD_OUTBOUND_H
#define FLOWD_OUTBOUND_H
#include <cjson/cJSON.h>
#include <stddef.h>
#include "nodes/node.h"

struct step;
struct outbox_item;

enum outbound_medium { OUTBOUND_PHONE, OUTBOUND_EMAIL };

/* A compiled `to`. type points into the config. */
struct outbound_to {
  const char *type;  /* a phone/e-mail type; NULL: "auto" or a template */
  struct tmpl *tmpl; /* a template; NULL for "auto" and types */
};

/* Compiles the `to` field v (NULL: "auto") found at subpath. Returns 0 or ERR_NOMEM. */
int outbound_to_compile(struct node_compile *ctx, const cJSON *v, const char *subpath,
                        struct outbound_to *to);
void outbound_to_free(struct outbound_to *to);

/* Resolves `to` for this step. Returns a new string, or NULL after reporting the outcome:
 * a skip (no such phone/e-mail) or a failure (the template does not render). */
char *outbound_to_resolve(struct step *s, const struct outbound_to *to,
                          enum outbound_medium m);

/* Builds a sent step's output from what was sent (the output the first execution kept) and
 * the final delivery ({id, status, attempts, response, error, to}); both borrowed. Returns
 * a new object. */
typedef cJSON *(*outbound_shape_fn)(const cJSON *what, const cJSON *delivery);

/* The resumed execution of a send: takes the step's outcome from its delivery; shape (NULL:
 * what plus delivery_id, attempts and response) builds the output when it was sent. Returns
 * 1 when this was a resumed step (an outcome is then reported), 0 for a first execution. */
int outbound_resume(struct step *s, outbound_shape_fn shape);

/* Sends *it (whose channel, to, subject, body, provider and request the caller filled; all
 * borrowed) from this step: fills the run, node, idempotency key, retry policy and test flag,
 * adds the delivery to the step's transaction and reports the outcome (wait; done at once in
 * a test run). what (taken over, also on failure) describes the message: it is the step's
 * output while it waits, and `would_send` in a test run. */
void outbound_send(struct step *s, struct outbox_item *it, cJSON *what);

/* The number of characters (code points) of UTF-8 text s. */
size_t outbound_chars(const char *s);

#endif
