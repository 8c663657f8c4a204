/* netallow: the FLOWD_HTTP_ALLOW patterns and the address rule for webhooks.
 *
 * Invariant: the pattern table is only replaced whole, after the new spec parsed completely,
 * so a bad spec never leaves half a list in force. IP literals are compared as addresses,
 * not as text, so "[::1]" matches "[0:0::1]". */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "server/log.h"
#include "server/netallow.h"

struct pattern {
  char host[256]; /* lowercase name, or "" with any_host */
  int any_host;   /* "*" */
  int subdomains; /* "*.example.com": host holds "example.com" */
  int port;       /* -1: any */
};

static struct {
  struct pattern p[NETALLOW_MAX_PATTERNS];
  int n;
  int inited, init_rc;
  struct err_detail init_err;
} A;

/* The binary form of an IP literal ("1.2.3.4", "::1", "[::1]"): family, or 0 if not one. */
static int ip_literal(const char *host, unsigned char out[16]) {
  char buf[64];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    if (n - 2 >= sizeof buf)
      return 0;
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : 0;
  }
  if (inet_pton(AF_INET, host, out) == 1)
    return AF_INET;
  return 0;
}

static void lower_copy(char *dst, size_t len, const char *src, size_t n) {
  if (n >= len)
    n = len - 1;
  for (size_t i = 0; i < n; i++)
    dst[i] = (char)tolower((unsigned char)src[i]);
  dst[n] = '\0';
  if (n > 0 && dst[n - 1] == '.') /* "example.com." is example.com */
    dst[n - 1] = '\0';
}

/* Parses one pattern (len bytes at s, already trimmed). */
static int parse_one(const char *s, size_t len, struct pattern *p, struct err_detail *d) {
  memset(p, 0, sizeof *p);
  p->port = -1;
  const char *host_end = s + len;
  const char *close = s[0] == '[' ? memchr(s, ']', len) : NULL;
  const char *colon = close ? (close + 1 < s + len && close[1] == ':' ? close + 1 : NULL)
                            : memchr(s, ':', len);
  if (close && close + 1 != s + len && !colon)
    return err_set(d, ERR_INVAL, "", "\"%.*s\": expected [IPv6] or [IPv6]:port", (int)len, s);
  if (colon) {
    host_end = colon;
    const char *ps = colon + 1;
    size_t pl = (size_t)(s + len - ps);
    char num[8];
    if (pl == 1 && ps[0] == '*') {
      p->port = -1;
    } else if (pl == 0 || pl >= sizeof num || strspn(ps, "0123456789") < pl) {
      return err_set(d, ERR_INVAL, "", "\"%.*s\": the port must be a number or *", (int)len, s);
    } else {
      memcpy(num, ps, pl);
      num[pl] = '\0';
      p->port = atoi(num);
      if (p->port < 1 || p->port > 65535)
        return err_set(d, ERR_INVAL, "", "\"%.*s\": the port must be 1 to 65535", (int)len, s);
    }
  }
  size_t hl = (size_t)(host_end - s);
  if (hl == 1 && s[0] == '*') {
    p->any_host = 1;
    return 0;
  }
  if (hl > 2 && s[0] == '*' && s[1] == '.') {
    p->subdomains = 1;
    s += 2;
    hl -= 2;
  }
  lower_copy(p->host, sizeof p->host, s, hl);
  unsigned char ip[16];
  if (!p->host[0] || (p->host[0] != '[' && strspn(p->host, "abcdefghijklmnopqrstuvwxyz"
                                                    "0123456789-.") != strlen(p->host)) ||
      (p->host[0] == '[' && (p->subdomains || !ip_literal(p->host, ip))))
    return err_set(d, ERR_INVAL, "", "\"%.*s\": not a host name, IP address or *", (int)len, s);
  return 0;
}

int netallow_set(const char *spec, struct err_detail *d) {
  struct pattern *tmp = calloc(NETALLOW_MAX_PATTERNS, sizeof *tmp);
  int n = 0;
  if (!tmp)
    return ERR_NOMEM;
  for (const char *s = spec ? spec : ""; *s;) {
    size_t len = strcspn(s, ",");
    const char *a = s, *b = s + len;
    while (a < b && isspace((unsigned char)*a))
      a++;
    while (b > a && isspace((unsigned char)b[-1]))
      b--;
    if (b > a) {
      if (n == NETALLOW_MAX_PATTERNS) {
        free(tmp);
        return err_set(d, ERR_INVAL, "", "at most %d patterns", NETALLOW_MAX_PATTERNS);
      }
      int rc = parse_one(a, (size_t)(b - a), &tmp[n++], d);
      if (rc) {
        free(tmp);
        return rc;
      }
    }
    s += len + (s[len] == ',');
  }
  memcpy(A.p, tmp, sizeof A.p);
  A.n = n;
  free(tmp);
  return 0;
}

int netallow_init(struct err_detail *d) {
  if (!A.inited) {
    A.inited = 1;
    const char *v = getenv("FLOWD_HTTP_ALLOW");
    A.init_rc = netallow_set(v, &A.init_err);
    if (A.init_rc)
      log_error("FLOWD_HTTP_ALLOW is not valid: every action.http delivery will fail",
                "reason=%s", log_quote(A.init_err.msg));
    else if (A.n > 0)
      log_info("action.http may reach only the hosts of FLOWD_HTTP_ALLOW", "allow=%s",
               log_quote(v));
  }
  if (A.init_rc && d)
    *d = A.init_err;
  return A.init_rc;
}

int netallow_active(void) { return A.n > 0; }

static int host_matches(const struct pattern *p, const char *host) {
  if (p->any_host)
    return 1;
  unsigned char a[16], b[16];
  int fa = ip_literal(p->host, a), fb = ip_literal(host, b);
  if (fa || fb)
    return fa == fb && memcmp(a, b, fa == AF_INET ? 4 : 16) == 0;
  if (!p->subdomains)
    return strcmp(p->host, host) == 0;
  size_t pl = strlen(p->host), hl = strlen(host);
  return hl > pl + 1 && host[hl - pl - 1] == '.' && strcmp(host + hl - pl, p->host) == 0;
}

/* Host (lowercase, IPv6 in brackets) and port (the scheme's default when absent) of url. */
static int url_parts(const char *url, char *host, size_t len, int *port) {
  CURLU *u = curl_url();
  char *h = NULL, *p = NULL;
  int ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) {
    lower_copy(host, len, h, strlen(h));
    *port = atoi(p);
  }
  curl_free(h);
  curl_free(p);
  curl_url_cleanup(u);
  return ok;
}

int netallow_url(const char *url, char *why, size_t len) {
  if (A.n == 0)
    return 1;
  char host[256];
  int port = 0;
  if (!url_parts(url, host, sizeof host, &port)) {
    snprintf(why, len, "the URL cannot be read, so it cannot be checked against "
             "FLOWD_HTTP_ALLOW");
    return 0;
  }
  for (int i = 0; i < A.n; i++)
    if (host_matches(&A.p[i], host) && (A.p[i].port < 0 || A.p[i].port == port))
      return 1;
  snprintf(why, len, "%.200s:%d is not in FLOWD_HTTP_ALLOW, the hosts action.http may reach",
           host, port);
  return 0;
}

int netallow_address(const struct sockaddr *sa, char *addr, size_t len) {
  int bad = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uint32_t a = ntohl(in->sin_addr.s_addr);
    bad = (a >> 16) == 0xA9FE || a == 0; /* 169.254.0.0/16, 0.0.0.0 */
    if (bad)
      inet_ntop(AF_INET, &in->sin_addr, addr, (socklen_t)len);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const unsigned char *b = in6->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    int v4 = memcmp(b, mapped, 12) == 0; /* ::ffff:a.b.c.d is the IPv4 address */
    bad = (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ||
          (v4 && ((b[12] == 169 && b[13] == 254) || (b[12] | b[13] | b[14] | b[15]) == 0));
    if (bad)
      inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)len);
  }
  return !bad;
}
