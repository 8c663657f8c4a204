/* provider: what a provider's configuration must look like, and which parts of it are secret.
 *
 * Two types exist. `http` (SMS, robocall and chat gateways): {url, method, headers {name:
 * template}, body (a JSON value whose strings are templates; a string body is sent as it is,
 * anything else as JSON; absent: the template data itself), auth {type: bearer (token) |
 * basic (username, password) | header (name, value)}, timeout_ms (default 10 s)}. Templates
 * are Mustache: use {{{x}}} for values that must not be HTML-escaped (JSON bodies).
 * `smtp` (e-mail): {host, port (default 587, 465 with tls, 25 with none), starttls:
 * none|starttls|tls (default starttls), username, password, from, timeout_ms (default 30 s)}. Secrets (passwords, tokens, auth header values, and header
 * values and body members whose name says they carry credentials) never leave the server:
 * the API shows them as PROVIDER_MASK, a PROVIDER_MASK sent back in an update keeps the
 * stored secret, and they are stored encrypted (provider_seal_secrets). */
#ifndef FLOWD_PROVIDER_H
#define FLOWD_PROVIDER_H
#include <cjson/cJSON.h>
#include "graph/err.h"

#define PROVIDER_MASK "********"
#define PROVIDER_TIMEOUT_MIN_MS 100
#define PROVIDER_TIMEOUT_MAX_MS 60000

/* Checks a provider id: 1-64 of A-Z a-z 0-9 _ . - */
int provider_id_ok(const char *id);

/* Checks config for type ("smtp" or "http"). Returns 0, or ERR_INVAL with d->path naming the
 * field ("type", "config.url", "config.auth.token") and d->msg saying what is wrong. */
int provider_validate(const char *type, const cJSON *config, struct err_detail *d);

/* A copy of config with every secret replaced by PROVIDER_MASK (a new reference). */
cJSON *provider_masked(const cJSON *config);

/* In config (being updated), replaces each secret that is PROVIDER_MASK with the stored one
 * from old (may be NULL). */
void provider_keep_secrets(cJSON *config, const cJSON *old);

/* 1 when an HTTP header of this name carries credentials (Authorization, X-Api-Key, ...). */
int provider_secret_header(const char *name);

/* Masks the secret values of a headers object in place ({name: value}). */
void provider_mask_headers(cJSON *headers);

/* Secrets at rest (secret.h): every secret above, plus string members of the body template
 * whose name says they carry a secret (as provider_secret_header), is stored sealed.
 * provider_seal_secrets seals, in place, each one that is not sealed yet (the ones kept from
 * the stored config already are). Returns 0, ERR_BADSTATE (no key) or ERR_NOMEM. */
int provider_seal_secrets(cJSON *config);

/* Makes *out a copy of config with every sealed secret opened, for the send that needs it
 * (a new reference: free it with provider_free_opened, which wipes the secrets first).
 * Secrets saved before encryption existed are plain and stay as they are. Returns 0,
 * ERR_NOMEM, or ERR_INVAL / ERR_BADSTATE with d->msg saying which secret cannot be opened
 * and why; *out is NULL on failure. */
int provider_opened(const cJSON *config, cJSON **out, struct err_detail *d);
void provider_free_opened(cJSON *config);

#endif
