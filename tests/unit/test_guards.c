/* The guards against hostile input, without a server: the JSON pre-scan of request bodies,
 * rate-limit settings and token buckets, sealing provider secrets, and the action.http
 * allowlist's patterns and address rule. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/http.h"
#include "server/netallow.h"
#include "server/ratelimit.h"
#include "server/secret.h"
#include "tests/test.h"

/* ---- http_json_limits ---- */

static int limits(const char *s, size_t *off) { return http_json_limits(s, strlen(s), off); }

TEST(bad_input_json_limits_count_depth_and_string_length_outside_and_inside_strings) {
  size_t off = 0;
  char deep[300];
  memset(deep, '[', HTTP_MAX_JSON_DEPTH);
  deep[HTTP_MAX_JSON_DEPTH] = '\0';
  ASSERT_INT_EQ(limits(deep, &off), 0); /* at the limit (unclosed: left to the parser) */
  strcat(deep, "{");
  ASSERT_INT_EQ(limits(deep, &off), ERR_TOODEEP);
  ASSERT_INT_EQ(off, HTTP_MAX_JSON_DEPTH);
  /* Brackets inside strings, escaped quotes, and closers lower the depth again. */
  char many[2000] = "";
  for (int i = 0; i < 200; i++)
    strcat(many, "[\"[[\\\"{\"]");
  ASSERT_INT_EQ(limits(many, &off), 0);
  ASSERT_INT_EQ(limits("\"\\\\\"[[[", &off), 0);
  /* Strings: exactly at the limit passes; one byte more is too big, wherever it is. */
  char *s = malloc(HTTP_MAX_JSON_STRING + 16);
  s[0] = '{';
  s[1] = '"';
  memset(s + 2, 'x', HTTP_MAX_JSON_STRING);
  strcpy(s + 2 + HTTP_MAX_JSON_STRING, "\":1}");
  ASSERT_INT_EQ(limits(s, &off), 0);
  s[2 + HTTP_MAX_JSON_STRING] = 'x';
  strcpy(s + 3 + HTTP_MAX_JSON_STRING, "\":1}");
  ASSERT_INT_EQ(limits(s, &off), ERR_TOOBIG);
  ASSERT_INT_EQ(off, 1);
  free(s);
  ASSERT_INT_EQ(limits("", &off), 0);
  ASSERT_INT_EQ(limits("\"unterminated \\", &off), 0);
}

/* ---- rate limits ---- */

TEST(rate_limit_settings_parse_with_units_bursts_and_off) {
  struct ratelimit_spec s;
  ASSERT_INT_EQ(ratelimit_parse("100/s burst 200", &s), 0);
  ASSERT(s.rate == 100 && s.burst == 200);
  ASSERT_INT_EQ(ratelimit_parse(" 6000/min ", &s), 0);
  ASSERT(s.rate == 100 && s.burst == 100);
  ASSERT_INT_EQ(ratelimit_parse("30/hour", &s), 0);
  ASSERT(s.rate > 0.0083 && s.rate < 0.0084 && s.burst == 1);
  ASSERT_INT_EQ(ratelimit_parse("2/M BURST 5", &s), 0);
  ASSERT(s.burst == 5);
  ASSERT_INT_EQ(ratelimit_parse("off", &s), 0);
  ASSERT(s.rate == 0);
  ASSERT_INT_EQ(ratelimit_parse("0", &s), 0);
  static const char *const bad[] = {"", "100", "100/", "100/day", "-1/s", "1/s burst",
                                    "1/s burst 0", "1/s bursts 2", "1/s 2", "x/s", NULL};
  for (const char *const *b = bad; *b; b++)
    if (ratelimit_parse(*b, &s) != ERR_INVAL)
      test_fail(__FILE__, __LINE__, "\"%s\" parsed", *b);
}

TEST(rate_limit_buckets_refill_per_key_and_forget_full_ones) {
  struct ratelimit_spec spec = {2, 3}; /* 2 per second, bursts of 3 */
  ratelimit_set(RATELIMIT_API, &spec);
  uint64_t t = 1000000;
  for (int i = 0; i < 3; i++)
    ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "a", t), 0);
  ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "a", t), 500); /* one token in 500 ms */
  ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "b", t), 0);   /* another key */
  ASSERT_INT_EQ(ratelimit_take(RATELIMIT_EVENTS, "a", t), 0); /* another class */
  ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "a", t + 499), 2);
  ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "a", t + 500), 0);
  /* Never more than the burst, however long the pause. */
  for (int i = 0; i < 3; i++)
    ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "a", t + 100000), 0);
  ASSERT_INT_OP(ratelimit_take(RATELIMIT_API, "a", t + 100000), >, 0);
  /* Thousands of credentials that went quiet do not stay in memory. */
  char key[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    ratelimit_take(RATELIMIT_API, key, t + 200000 + (uint64_t)i * 10);
  }
  ASSERT_INT_OP(ratelimit_buckets(), <, 1000);
  spec.rate = 0;
  ratelimit_set(RATELIMIT_API, &spec);
  for (int i = 0; i < 100; i++)
    ASSERT_INT_EQ(ratelimit_take(RATELIMIT_API, "a", t), 0);
  ASSERT_INT_EQ(ratelimit_buckets(), 0);
  ratelimit_reset();
}

/* ---- secrets ---- */

TEST(secret_seal_and_open_round_trip_and_refuse_other_keys_and_tampering) {
  unsigned char k1[SECRET_KEY_BYTES], k2[SECRET_KEY_BYTES];
  ASSERT_INT_EQ(secret_key_parse(
                    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", k1), 0);
  /* The same 32 bytes in base64, padded and not; wrong lengths are refused. */
  ASSERT_INT_EQ(secret_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", k2), 0);
  ASSERT(memcmp(k1, k2, sizeof k1) == 0);
  ASSERT_INT_EQ(secret_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", k2), 0);
  ASSERT_INT_EQ(secret_key_parse("abcd", k2), ERR_INVAL);
  ASSERT_INT_EQ(secret_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
                                 k2), ERR_INVAL);
  secret_use_key(k1);
  char *a = NULL, *b = NULL, *plain = NULL;
  ASSERT_INT_EQ(secret_seal("p@ss wörd", &a), 0);
  ASSERT_INT_EQ(secret_seal("p@ss wörd", &b), 0);
  ASSERT(secret_is_sealed(a));
  ASSERT(strstr(a, "p@ss") == NULL);
  ASSERT(strcmp(a, b) != 0); /* a fresh nonce each time */
  ASSERT_INT_EQ(secret_open(a, &plain), 0);
  ASSERT_STR_EQ(plain, "p@ss wörd");
  free(plain);
  ASSERT_INT_EQ(secret_open("not sealed", &plain), ERR_PARSE);
  ASSERT_INT_EQ(secret_open(SECRET_PREFIX "!!!", &plain), ERR_PARSE);
  ASSERT_INT_EQ(secret_open(SECRET_PREFIX "AAAA", &plain), ERR_PARSE);
  /* One changed character, or another key: refused, never garbage. */
  b[strlen(SECRET_PREFIX) + 30] = b[strlen(SECRET_PREFIX) + 30] == 'A' ? 'B' : 'A';
  ASSERT_INT_EQ(secret_open(b, &plain), ERR_INVAL);
  ASSERT(plain == NULL);
  k2[0] ^= 1;
  secret_use_key(k2);
  ASSERT_INT_EQ(secret_open(a, &plain), ERR_INVAL);
  free(a);
  free(b);
  ASSERT_INT_EQ(secret_seal("", &a), 0);
  ASSERT_INT_EQ(secret_open(a, &plain), 0);
  ASSERT_STR_EQ(plain, "");
  free(plain);
  free(a);
}

/* ---- the action.http allowlist ---- */

static int url_ok(const char *url) {
  char why[300];
  return netallow_url(url, why, sizeof why);
}

TEST(allow_patterns_match_hosts_subdomains_ports_and_ip_literals) {
  struct err_detail d;
  ASSERT_INT_EQ(netallow_set(NULL, &d), 0);
  ASSERT(!netallow_active());
  ASSERT(url_ok("http://anything.example/x"));
  ASSERT_INT_EQ(netallow_set(" api.Example.com , *.shop.test:8443, 127.0.0.1:*, [::1]:9000,"
                             "10.0.0.5", &d), 0);
  ASSERT(netallow_active());
  ASSERT(url_ok("https://API.example.com/v1"));
  ASSERT(url_ok("http://api.example.com.:81/"));
  ASSERT(!url_ok("https://x.api.example.com/"));
  ASSERT(url_ok("https://a.b.shop.test:8443/"));
  ASSERT(!url_ok("https://shop.test:8443/"));
  ASSERT(!url_ok("https://a.shop.test/"));
  ASSERT(!url_ok("https://evilshop.test:8443/"));
  ASSERT(url_ok("http://127.0.0.1:5/"));
  ASSERT(url_ok("http://[0:0::1]:9000/"));
  ASSERT(!url_ok("http://[::1]:9001/"));
  ASSERT(url_ok("http://10.0.0.5/"));
  ASSERT(!url_ok("http://10.0.0.6/"));
  ASSERT(!url_ok("http://localhost/"));
  ASSERT(!url_ok("not a url"));
  char why[300];
  ASSERT(!netallow_url("https://evil.test/x", why, sizeof why));
  ASSERT_STR_CONTAINS(why, "evil.test:443 is not in FLOWD_HTTP_ALLOW");
  ASSERT_INT_EQ(netallow_set("*:443", &d), 0);
  ASSERT(url_ok("https://any.where/"));
  ASSERT(!url_ok("http://any.where/"));
  /* Bad patterns are refused whole, naming the pattern; the list in force stays. */
  static const char *const bad[] = {"a b", "x:", "x:0", "x:70000", "x:port", "[::1", "::1",
                                    "[nope]", "*.[::1]", "a/b", NULL};
  for (const char *const *b = bad; *b; b++)
    if (netallow_set(*b, &d) != ERR_INVAL || !strstr(d.msg, *b))
      test_fail(__FILE__, __LINE__, "\"%s\" was accepted (or not named: %s)", *b, d.msg);
  ASSERT(url_ok("https://any.where/"));
  ASSERT_INT_EQ(netallow_set("", &d), 0);
}

static int addr_ok(int family, const char *text) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  char out[64];
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, text, &in->sin_addr);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, text, &in6->sin6_addr);
  }
  return netallow_address((struct sockaddr *)&ss, out, sizeof out);
}

TEST(allow_address_rule_refuses_link_local_and_unspecified_only) {
  ASSERT(!addr_ok(AF_INET, "169.254.169.254"));
  ASSERT(!addr_ok(AF_INET, "169.254.0.1"));
  ASSERT(!addr_ok(AF_INET, "0.0.0.0"));
  ASSERT(!addr_ok(AF_INET6, "fe80::1"));
  ASSERT(!addr_ok(AF_INET6, "::"));
  ASSERT(!addr_ok(AF_INET6, "::ffff:169.254.169.254"));
  ASSERT(!addr_ok(AF_INET6, "::ffff:0.0.0.0"));
  ASSERT(addr_ok(AF_INET, "127.0.0.1"));
  ASSERT(addr_ok(AF_INET, "10.1.2.3"));
  ASSERT(addr_ok(AF_INET, "169.255.0.1"));
  ASSERT(addr_ok(AF_INET6, "::1"));
  ASSERT(addr_ok(AF_INET6, "fec0::1"));
  ASSERT(addr_ok(AF_INET6, "::ffff:127.0.0.1"));
}
