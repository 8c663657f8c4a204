/* mailmsg: plain-text e-mail messages as RFC 5322 text, for the smtp provider.
 *
 * The message is UTF-8 text/plain. Header values that are not plain ASCII (a Vietnamese
 * subject) are RFC 2047 encoded-words split on character boundaries; a non-ASCII body is
 * base64 (RFC 2045) so no 8BITMIME support is needed on the server's side. Lines end in CRLF.
 * The Message-ID is derived from the idempotency key, so every retry of one delivery carries
 * the same one and the receiving side can drop duplicates. */
#ifndef FLOWD_MAILMSG_H
#define FLOWD_MAILMSG_H
#include <stddef.h>
#include <time.h>

struct mailmsg {
  const char *from;    /* "addr" or "Name <addr>" */
  const char *to;      /* "addr" or "Name <addr>" */
  const char *subject; /* may be NULL */
  const char *body;    /* may be NULL */
  const char *idempotency_key;
  time_t date;
};

/* Builds the message into *out (a new NUL-terminated string owned by the caller) and its
 * length into *len. Returns 0, ERR_INVAL when from or to is not one address or a header
 * would contain a line break (header injection), or ERR_NOMEM. */
int mailmsg_build(const struct mailmsg *m, char **out, size_t *len);

/* The bare address of "addr" or "Name <addr>" into buf ("<addr>" form when angle is set, as
 * SMTP's MAIL FROM and RCPT TO want it). Returns 0, or ERR_INVAL when it does not look like
 * exactly one address local@domain. */
int mailmsg_address(const char *s, int angle, char *buf, size_t len);

/* Encodes a header value as RFC 2047 encoded-words when it is not plain ASCII; returns a new
 * string (the value unchanged when it is), or NULL when out of memory. name_len is the length
 * of "Name: " in front of it, so the first line stays within 78 characters. */
char *mailmsg_encode_header(const char *value, size_t name_len);

#endif
