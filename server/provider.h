/* provider: what a provider's configuration must look like, and which parts of it are secret.
 *
 * Two types exist. `http` (SMS, robocall and chat gateways): {url, method, headers {name:
 * template}, body (a JSON value whose strings are templates; a string body is sent as it is,
 * anything else as JSON; absent: the template data itself), auth {type: bearer (token) |
 * basic (username, password) | header (name, value)}, timeout_ms (default 10 s)}. Templates
 * are Mustache: use {{{x}}} for values that must not be HTML-escaped (JSON bodies).
 * `smtp` (e-mail): {host, port (default 587, 465 with tls, 25 with none), starttls:
 * none|starttls|tls (default starttls), username, password, from, timeout_ms (default 30 s)}. Secrets (passwords, tokens, auth header values, and header
 * values whose name says they carry credentials) never leave the server: the API shows them
 * as PROVIDER_MASK, and a PROVIDER_MASK sent back in an update keeps the stored secret. */
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

#endif
