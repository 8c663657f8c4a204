/* secret: values encrypted at rest with the process's secret key (libsodium crypto_secretbox:
 * XSalsa20-Poly1305, a random nonce per value).
 *
 * The key is FLOWD_SECRET_KEY (32 bytes as 64 hex digits or as base64); when that is unset,
 * the key in DATA/secret-key, created with a random key (mode 0600) on first start, as the
 * admin token is. Every flowd process on one database must have the same key: a value sealed
 * by one process opens only with its key. A sealed value is text, so it fits where the plain
 * value was (a JSON string): SECRET_PREFIX followed by base64(nonce || MAC || ciphertext). */
#ifndef FLOWD_SECRET_H
#define FLOWD_SECRET_H
#include <stddef.h>

struct config;

#define SECRET_PREFIX "enc:v1:"
#define SECRET_KEY_BYTES 32

/* Settles the key as described above; logs where it came from (never the key). Returns 0 or
 * a negative ERR_* (logged): a FLOWD_SECRET_KEY that is not 32 bytes, an unreadable file. */
int secret_init(const struct config *cfg);

/* Decodes a key written as 64 hex digits or base64 (standard or URL-safe, padded or not).
 * Returns 0 or ERR_INVAL. */
int secret_key_parse(const char *text, unsigned char key[SECRET_KEY_BYTES]);

/* Uses key from now on (tests, and secret_init). */
void secret_use_key(const unsigned char key[SECRET_KEY_BYTES]);

/* 1 when a key is set. */
int secret_ready(void);

/* 1 when s looks like a sealed value (starts with SECRET_PREFIX). */
int secret_is_sealed(const char *s);

/* Seals plain (NUL-terminated) into a new string (free()). Returns 0, ERR_BADSTATE (no key)
 * or ERR_NOMEM. */
int secret_seal(const char *plain, char **out);

/* Opens a sealed value into a new NUL-terminated string (free() it, after sodium_memzero if
 * you care). Returns 0; ERR_PARSE when sealed is not a sealed value; ERR_INVAL when it does
 * not open with this key (another key, or altered); ERR_BADSTATE (no key); ERR_NOMEM. */
int secret_open(const char *sealed, char **out);

#endif
