/* secret: the key (environment or data folder) and sealing/opening with crypto_secretbox.
 *
 * Invariant: the key lives only in this file's static buffer (locked into memory where the
 * system allows it) and is never logged; opened values are returned to callers, who own and
 * wipe them. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "graph/err.h"
#include "server/config.h"
#include "server/log.h"
#include "server/secret.h"

#define PREFIX_LEN (sizeof SECRET_PREFIX - 1)
#define B64 sodium_base64_VARIANT_ORIGINAL

static unsigned char key[SECRET_KEY_BYTES];
static int have_key;

void secret_use_key(const unsigned char k[SECRET_KEY_BYTES]) {
  memcpy(key, k, SECRET_KEY_BYTES);
  have_key = 1;
}

int secret_ready(void) { return have_key; }

int secret_key_parse(const char *text, unsigned char out[SECRET_KEY_BYTES]) {
  static const int variants[] = {sodium_base64_VARIANT_ORIGINAL,
                                 sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                                 sodium_base64_VARIANT_URLSAFE,
                                 sodium_base64_VARIANT_URLSAFE_NO_PADDING};
  size_t n = strlen(text), got = 0;
  const char *end = NULL;
  if (n == 2 * SECRET_KEY_BYTES &&
      sodium_hex2bin(out, SECRET_KEY_BYTES, text, n, NULL, &got, &end) == 0 &&
      got == SECRET_KEY_BYTES && end == text + n)
    return 0;
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
    if (sodium_base642bin(out, SECRET_KEY_BYTES, text, n, NULL, &got, &end, variants[i]) == 0 &&
        got == SECRET_KEY_BYTES && end == text + n)
      return 0;
  sodium_memzero(out, SECRET_KEY_BYTES);
  return ERR_INVAL;
}

/* Reads DATA/secret-key into key; returns 0, 1 when there is no such file, or an ERR_*. */
static int read_key_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return errno == ENOENT ? 1 : err_set(NULL, ERR_IO, "", "%s", strerror(errno));
  char text[200] = "";
  int ok = fgets(text, sizeof text, f) != NULL;
  fclose(f);
  text[strcspn(text, "\r\n")] = '\0';
  unsigned char k[SECRET_KEY_BYTES];
  int rc = ok && secret_key_parse(text, k) == 0 ? 0 : ERR_INVAL;
  sodium_memzero(text, sizeof text);
  if (rc == 0)
    secret_use_key(k);
  sodium_memzero(k, sizeof k);
  return rc;
}

/* First start without FLOWD_SECRET_KEY: a random key, kept beside the admin token. */
static int create_key_file(const char *data_dir, const char *path) {
  unsigned char k[SECRET_KEY_BYTES];
  char hex[2 * SECRET_KEY_BYTES + 2];
  randombytes_buf(k, sizeof k);
  sodium_bin2hex(hex, sizeof hex, k, sizeof k);
  strcat(hex, "\n");
  mkdir(data_dir, 0755);
  /* O_EXCL: two processes starting on one data folder must not end up with two keys. */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  ssize_t w = fd < 0 ? -1 : write(fd, hex, strlen(hex));
  int saved = errno;
  if (fd >= 0)
    close(fd);
  sodium_memzero(hex, sizeof hex);
  if (fd < 0 && saved == EEXIST) {
    sodium_memzero(k, sizeof k);
    return read_key_file(path);
  }
  if (w != (ssize_t)(2 * SECRET_KEY_BYTES + 1)) {
    sodium_memzero(k, sizeof k);
    log_error("cannot write the secret key", "file=%s reason=%s", log_quote(path),
              log_quote(strerror(saved)));
    return ERR_IO;
  }
  secret_use_key(k);
  sodium_memzero(k, sizeof k);
  log_warn("no FLOWD_SECRET_KEY set: generated the key that encrypts provider secrets; "
           "every flowd process on this database needs the same key",
           "file=%s", log_quote(path));
  return 0;
}

int secret_init(const struct config *cfg) {
  if (sodium_init() < 0)
    return ERR_IO;
  sodium_mlock(key, sizeof key);
  const char *env = getenv("FLOWD_SECRET_KEY");
  if (env && *env) {
    unsigned char k[SECRET_KEY_BYTES];
    if (secret_key_parse(env, k) != 0) {
      log_error("FLOWD_SECRET_KEY must be 32 bytes, as 64 hex digits or base64", NULL);
      return ERR_INVAL;
    }
    secret_use_key(k);
    sodium_memzero(k, sizeof k);
    log_info("provider secrets are encrypted with FLOWD_SECRET_KEY", NULL);
    return 0;
  }
  char path[700];
  snprintf(path, sizeof path, "%s/secret-key", cfg->data_dir);
  int rc = read_key_file(path);
  if (rc == 0)
    log_info("provider secrets are encrypted with the key in the data folder", "file=%s",
             log_quote(path));
  else if (rc == 1)
    rc = create_key_file(cfg->data_dir, path);
  else
    log_error("cannot read the secret key (expected 64 hex digits)", "file=%s",
              log_quote(path));
  return rc;
}

int secret_is_sealed(const char *s) { return s && strncmp(s, SECRET_PREFIX, PREFIX_LEN) == 0; }

int secret_seal(const char *plain, char **out) {
  *out = NULL;
  if (!have_key)
    return ERR_BADSTATE;
  size_t n = strlen(plain);
  size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
  unsigned char *box = malloc(blen);
  size_t tlen = PREFIX_LEN + sodium_base64_ENCODED_LEN(blen, B64);
  char *text = malloc(tlen);
  if (!box || !text) {
    free(box);
    free(text);
    return ERR_NOMEM;
  }
  randombytes_buf(box, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, n, box,
                        key);
  memcpy(text, SECRET_PREFIX, PREFIX_LEN);
  sodium_bin2base64(text + PREFIX_LEN, tlen - PREFIX_LEN, box, blen, B64);
  free(box);
  *out = text;
  return 0;
}

int secret_open(const char *sealed, char **out) {
  *out = NULL;
  if (!secret_is_sealed(sealed))
    return ERR_PARSE;
  if (!have_key)
    return ERR_BADSTATE;
  const char *b64 = sealed + PREFIX_LEN;
  size_t n = strlen(b64), blen = 0;
  unsigned char *box = malloc(n / 4 * 3 + 3);
  if (!box)
    return ERR_NOMEM;
  const size_t overhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (sodium_base642bin(box, n / 4 * 3 + 3, b64, n, NULL, &blen, NULL, B64) != 0 ||
      blen < overhead) {
    free(box);
    return ERR_PARSE;
  }
  size_t plen = blen - overhead;
  char *plain = malloc(plen + 1);
  int rc = !plain ? ERR_NOMEM
           : crypto_secretbox_open_easy((unsigned char *)plain, box + crypto_secretbox_NONCEBYTES,
                                        blen - crypto_secretbox_NONCEBYTES, box, key) == 0
               ? 0
               : ERR_INVAL;
  free(box);
  if (rc) {
    free(plain);
    return rc;
  }
  plain[plen] = '\0';
  *out = plain;
  return 0;
}
