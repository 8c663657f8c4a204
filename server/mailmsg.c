/* mailmsg: RFC 5322 / 2045 / 2047 text for plain UTF-8 messages.
 *
 * Invariant: every line this module writes ends in CRLF and no header line it writes is
 * longer than 78 characters unless a caller-supplied ASCII word is (addresses are never
 * folded). Nothing a caller supplies can start a new header line: CR and LF in header values
 * are refused, never passed through. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/mailmsg.h"

#define LINE_MAX_CHARS 78
#define B64_LINE 76

struct buf {
  char *p;
  size_t len, cap;
  int oom;
};

static void put(struct buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static int plain_ascii(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80 || ((unsigned char)*s < 0x20 && *s != '\t'))
      return 0;
  return 1;
}

/* A body line may hold tabs, and line breaks are normalised anyway. */
static int plain_ascii_text(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80 ||
        ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\r' && *s != '\n'))
      return 0;
  return 1;
}

static int has_line_break(const char *s) { return s && strpbrk(s, "\r\n") != NULL; }

/* Appends base64 of n bytes (no line breaks). */
static void put_b64(struct buf *b, const unsigned char *s, size_t n) {
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
  char *tmp = malloc(cap);
  if (!tmp) {
    b->oom = 1;
    return;
  }
  sodium_bin2base64(tmp, cap, s, n, sodium_base64_VARIANT_ORIGINAL);
  puts_(b, tmp);
  free(tmp);
}

/* How many bytes of s (at most max) end on a UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t n, size_t max) {
  if (n <= max)
    return n;
  size_t k = max;
  while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
    k--;
  return k > 0 ? k : max; /* a broken sequence longer than max: cut it anyway */
}

char *mailmsg_encode_header(const char *value, size_t name_len) {
  size_t n = strlen(value);
  if (plain_ascii(value) && name_len + n <= LINE_MAX_CHARS)
    return strdup(value);
  struct buf b = {0};
  size_t room = LINE_MAX_CHARS - name_len; /* characters left on the first line */
  const char *p = value;
  while (n > 0 || b.len == 0) {
    /* "=?UTF-8?B?" + text + "?=" is at most 75 characters (RFC 2047), and a line is at
     * most 78 including the folding space. */
    size_t word = room < 75 ? room : 75;
    size_t b64 = word > 12 ? (word - 12) / 4 * 4 : 4;
    size_t take = utf8_prefix(p, n, b64 / 4 * 3);
    if (b.len)
      puts_(&b, "\r\n ");
    puts_(&b, "=?UTF-8?B?");
    put_b64(&b, (const unsigned char *)p, take);
    puts_(&b, "?=");
    p += take;
    n -= take;
    room = LINE_MAX_CHARS - 1;
  }
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

static int addr_char_ok(unsigned char c) {
  return c > 0x20 && c != 0x7f && !strchr("<>()[],;:\\\"", c);
}

int mailmsg_address(const char *s, int angle, char *buf, size_t len) {
  if (!s)
    return ERR_INVAL;
  const char *lt = strchr(s, '<'), *start = s, *end = s + strlen(s);
  if (lt) {
    const char *gt = strchr(lt, '>');
    if (!gt || strspn(gt + 1, " \t") != strlen(gt + 1))
      return ERR_INVAL;
    start = lt + 1;
    end = gt;
  }
  while (start < end && (*start == ' ' || *start == '\t'))
    start++;
  while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  size_t n = (size_t)(end - start), at = 0, ats = 0;
  for (size_t i = 0; i < n; i++) {
    if (start[i] == '@')
      at = i, ats++;
    else if (!addr_char_ok((unsigned char)start[i]))
      return ERR_INVAL;
  }
  if (ats != 1 || at == 0 || at == n - 1 || n + 3 > len)
    return ERR_INVAL;
  snprintf(buf, len, angle ? "<%.*s>" : "%.*s", (int)n, start);
  return 0;
}

/* "Name: value" for an address header: a non-ASCII display name is encoded, the address is
 * kept as it is (an encoded-word may not contain it). */
static int put_address(struct buf *b, const char *name, const char *value) {
  char addr[512];
  int rc = mailmsg_address(value, 1, addr, sizeof addr);
  if (rc)
    return rc;
  puts_(b, name);
  puts_(b, ": ");
  const char *lt = strchr(value, '<');
  if (lt && lt > value) {
    char display[512];
    size_t dn = (size_t)(lt - value);
    while (dn > 0 && (value[dn - 1] == ' ' || value[dn - 1] == '\t'))
      dn--;
    snprintf(display, sizeof display, "%.*s", (int)dn, value);
    if (display[0]) {
      char *enc = mailmsg_encode_header(display, strlen(name) + 2);
      if (!enc)
        return ERR_NOMEM;
      puts_(b, enc);
      puts_(b, strchr(enc, '\n') ? "\r\n " : " ");
      free(enc);
    }
  }
  puts_(b, addr);
  puts_(b, "\r\n");
  return 0;
}

static int put_header(struct buf *b, const char *name, const char *value) {
  char *enc = mailmsg_encode_header(value, strlen(name) + 2);
  if (!enc)
    return ERR_NOMEM;
  puts_(b, name);
  puts_(b, ": ");
  puts_(b, enc);
  puts_(b, "\r\n");
  free(enc);
  return 0;
}

static void put_date(struct buf *b, time_t t) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&t, &tm);
  char line[64];
  snprintf(line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
           days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
  puts_(b, line);
}

/* A Message-ID that is the same for every attempt of one delivery: a hash of the key at the
 * sender's domain (from_addr is the bare address). */
static void put_message_id(struct buf *b, const char *key, const char *from_addr) {
  unsigned char h[16];
  char hex[33];
  crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key), NULL, 0);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  const char *domain = strrchr(from_addr, '@') + 1; /* mailmsg_address checked there is one */
  if (strspn(domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
      strlen(domain))
    domain = "flowd.invalid";
  char line[400];
  snprintf(line, sizeof line, "Message-ID: <%s.flowd@%.300s>\r\n", hex, domain);
  puts_(b, line);
}

/* The body with every line ending turned into CRLF. */
static char *crlf_body(const char *s, size_t *len, int *needs_b64) {
  struct buf b = {0};
  size_t line = 0;
  *needs_b64 = !plain_ascii_text(s);
  for (const char *p = s; *p; p++) {
    if (*p == '\r' || *p == '\n') {
      puts_(&b, "\r\n");
      if (*p == '\r' && p[1] == '\n')
        p++;
      line = 0;
      continue;
    }
    put(&b, p, 1);
    if (++line > 998) /* RFC 5322's hard limit: only base64 can carry such a line */
      *needs_b64 = 1;
  }
  if (b.len == 0 || b.p[b.len - 1] != '\n')
    puts_(&b, "\r\n");
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  *len = b.len;
  return b.p;
}

static int put_body(struct buf *b, const char *text) {
  size_t n;
  int b64;
  char *body = crlf_body(text ? text : "", &n, &b64);
  if (!body)
    return ERR_NOMEM;
  puts_(b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
  if (!b64) {
    puts_(b, "Content-Transfer-Encoding: 7bit\r\n\r\n");
    put(b, body, n);
    free(body);
    return 0;
  }
  puts_(b, "Content-Transfer-Encoding: base64\r\n\r\n");
  for (size_t off = 0; off < n; off += B64_LINE / 4 * 3) {
    size_t take = n - off < B64_LINE / 4 * 3 ? n - off : B64_LINE / 4 * 3;
    put_b64(b, (const unsigned char *)body + off, take);
    puts_(b, "\r\n");
  }
  free(body);
  return 0;
}

int mailmsg_build(const struct mailmsg *m, char **out, size_t *len) {
  *out = NULL;
  if (has_line_break(m->from) || has_line_break(m->to) || has_line_break(m->subject) ||
      !m->idempotency_key || has_line_break(m->idempotency_key))
    return ERR_INVAL;
  struct buf b = {0};
  char from_addr[512];
  int rc = mailmsg_address(m->from, 0, from_addr, sizeof from_addr);
  put_date(&b, m->date);
  if (!rc)
    rc = put_address(&b, "From", m->from);
  if (!rc)
    rc = put_address(&b, "To", m->to);
  if (!rc && m->subject)
    rc = put_header(&b, "Subject", m->subject);
  if (!rc) {
    put_message_id(&b, m->idempotency_key, from_addr);
    rc = put_header(&b, "X-Idempotency-Key", m->idempotency_key);
  }
  if (!rc)
    rc = put_body(&b, m->body);
  if (!rc && b.oom)
    rc = ERR_NOMEM;
  if (rc) {
    free(b.p);
    return rc;
  }
  *out = b.p;
  *len = b.len;
  return 0;
}
