/* pwhash: Argon2id password hashing (libsodium crypto_pwhash_str, interactive limits) on the
 * libuv thread pool, because one hash takes tens of milliseconds and 64 MiB: done on the loop
 * it would stall every request and run of the process.
 *
 * Invariant: the callback runs on the loop, exactly once; the password copy is wiped before
 * the job's memory is freed. */
#ifndef FLOWD_PWHASH_H
#define FLOWD_PWHASH_H
#include <uv.h>

/* Passwords shorter than this are refused (the field's 400 says so). */
#define PWHASH_MIN_LEN 8
#define PWHASH_MAX_LEN 1024

/* hash: the encoded hash (valid during the call), or NULL when hashing failed. */
typedef void (*pwhash_hash_cb)(void *data, const char *hash);
/* ok: 1 when password matches the hash. */
typedef void (*pwhash_verify_cb)(void *data, int ok);

/* Hashes password (copied). Returns 0 or ERR_NOMEM (then cb is not called). */
int pwhash_hash(uv_loop_t *loop, const char *password, pwhash_hash_cb cb, void *data);

/* Checks password against hash (both copied). hash NULL (no such user, or no password set)
 * still costs one hash, so timing does not tell which emails exist; ok is then 0. */
int pwhash_verify(uv_loop_t *loop, const char *hash, const char *password, pwhash_verify_cb cb,
                  void *data);

#endif
