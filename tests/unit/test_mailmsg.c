/* Tests of the e-mail text the smtp provider sends (RFC 5322/2045/2047) and of provider
 * configuration checks and secret masking. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "server/mailmsg.h"
#include "server/provider.h"
#include "tests/test.h"

static const char *SUBJECT = "Xác nhận đơn hàng #SO1024 — cảm ơn quý khách đã mua sắm tại cửa "
                             "hàng Ánh Dương, chúc quý khách một ngày thật tốt lành!";

/* Decodes a folded run of =?UTF-8?B?...?= words, checking each word on the way. */
static char *decode_words(const char *enc) {
  char *out = calloc(1, strlen(enc) + 1);
  size_t len = 0;
  for (const char *p = enc; (p = strstr(p, "=?UTF-8?B?"));) {
    const char *start = p + 10, *end = strstr(start, "?=");
    ASSERT_NOT_NULL(end);
    ASSERT_INT_OP(end + 2 - p, <=, 75);
    size_t got = 0;
    ASSERT_INT_EQ(sodium_base642bin((unsigned char *)out + len, strlen(enc) - len, start,
                                    (size_t)(end - start), NULL, &got, NULL,
                                    sodium_base64_VARIANT_ORIGINAL),
                  0);
    /* A word never starts inside a character. */
    ASSERT((out[len] & 0xC0) != 0x80);
    len += got;
    p = end + 2;
  }
  out[len] = '\0';
  return out;
}

TEST(mailmsg_encodes_a_utf8_subject_in_words_within_78_columns) {
  char *enc = mailmsg_encode_header(SUBJECT, strlen("Subject: "));
  ASSERT_NOT_NULL(enc);
  size_t col = strlen("Subject: ");
  for (const char *p = enc; *p; p++) {
    if (*p == '\r') {
      ASSERT_INT_OP(col, <=, 78);
      ASSERT(p[1] == '\n' && p[2] == ' '); /* folded, never a new header */
      col = 0;
      p++;
      continue;
    }
    col++;
  }
  ASSERT_INT_OP(col, <=, 78);
  char *dec = decode_words(enc);
  ASSERT_STR_EQ(dec, SUBJECT);
  free(dec);
  free(enc);
}

TEST(mailmsg_keeps_short_ascii_headers_as_they_are) {
  char *enc = mailmsg_encode_header("Order SO1024 confirmed", 9);
  ASSERT_STR_EQ(enc, "Order SO1024 confirmed");
  free(enc);
}

static char *header_line(const char *msg, const char *name) {
  const char *p = strstr(msg, name);
  ASSERT_NOT_NULL(p);
  const char *end = strstr(p, "\r\n");
  char *line = malloc((size_t)(end - p) + 1);
  memcpy(line, p, (size_t)(end - p));
  line[end - p] = '\0';
  return line;
}

static char *build(const char *key, time_t date, const char *body) {
  struct mailmsg m = {"Shop <shop@example.com>", "an@example.com", "Hi", body, key, date};
  char *out = NULL;
  size_t len = 0;
  ASSERT_INT_EQ(mailmsg_build(&m, &out, &len), 0);
  ASSERT_INT_EQ(len, strlen(out));
  return out;
}

TEST(mailmsg_message_id_is_the_same_for_every_attempt_of_a_key) {
  char *a = build("run1:n1:1", 1700000000, "x"), *b = build("run1:n1:1", 1700009999, "x");
  char *c = build("run1:n1:2", 1700000000, "x");
  char *ida = header_line(a, "Message-ID: "), *idb = header_line(b, "Message-ID: ");
  char *idc = header_line(c, "Message-ID: ");
  ASSERT_STR_EQ(ida, idb);
  ASSERT(strcmp(ida, idc) != 0);
  ASSERT_STR_CONTAINS(ida, ".flowd@example.com>");
  char *date = header_line(a, "Date: ");
  ASSERT_STR_EQ(date, "Date: Tue, 14 Nov 2023 22:13:20 +0000");
  char *key = header_line(a, "X-Idempotency-Key: ");
  ASSERT_STR_EQ(key, "X-Idempotency-Key: run1:n1:1");
  free(ida), free(idb), free(idc), free(date), free(key);
  free(a), free(b), free(c);
}

TEST(mailmsg_body_is_7bit_for_ascii_and_base64_for_utf8_with_crlf_lines) {
  char *a = build("k", 0, "line one\nline two\r\n.\n");
  ASSERT_STR_CONTAINS(a, "Content-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n.\r\n");
  ASSERT_STR_CONTAINS(a, "Content-Type: text/plain; charset=utf-8\r\n");
  free(a);
  char *u = build("k", 0, "Chào anh\nCảm ơn");
  const char *b64 = strstr(u, "Content-Transfer-Encoding: base64\r\n\r\n");
  ASSERT_NOT_NULL(b64);
  b64 += strlen("Content-Transfer-Encoding: base64\r\n\r\n");
  unsigned char out[256];
  size_t got = 0;
  ASSERT_INT_EQ(sodium_base642bin(out, sizeof out, b64, strlen(b64), "\r\n", &got, NULL,
                                  sodium_base64_VARIANT_ORIGINAL),
                0);
  out[got] = '\0';
  ASSERT_STR_EQ((char *)out, "Chào anh\r\nCảm ơn\r\n");
  free(u);
}

TEST(mailmsg_refuses_header_injection_and_bad_addresses) {
  struct mailmsg m = {"shop@example.com", "an@example.com", "Hi\r\nBcc: x@evil.test", "b", "k",
                      0};
  char *out = NULL;
  size_t len;
  ASSERT_INT_EQ(mailmsg_build(&m, &out, &len), ERR_INVAL);
  ASSERT(out == NULL);
  m.subject = "Hi";
  m.to = "an@example.com\nBcc: x@evil.test";
  ASSERT_INT_EQ(mailmsg_build(&m, &out, &len), ERR_INVAL);
  m.to = "not an address";
  ASSERT_INT_EQ(mailmsg_build(&m, &out, &len), ERR_INVAL);
  char buf[128];
  ASSERT_INT_EQ(mailmsg_address("Nguyễn Văn An <an@example.com>", 1, buf, sizeof buf), 0);
  ASSERT_STR_EQ(buf, "<an@example.com>");
  ASSERT_INT_EQ(mailmsg_address(" an@example.com ", 0, buf, sizeof buf), 0);
  ASSERT_STR_EQ(buf, "an@example.com");
  const char *bad[] = {"", "a@", "@b.c", "a@b@c", "a b@c.d", "<a@b.c> x", "a@b.c>", "<a@b.c"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (mailmsg_address(bad[i], 1, buf, sizeof buf) != ERR_INVAL)
      test_fail(__FILE__, __LINE__, "\"%s\" was taken for an address", bad[i]);
}

TEST(mailmsg_encodes_a_utf8_display_name_and_keeps_the_address) {
  struct mailmsg m = {"Cửa hàng Ánh Dương <shop@example.com>", "an@example.com", NULL, "b",
                      "k", 0};
  char *out = NULL;
  size_t len;
  ASSERT_INT_EQ(mailmsg_build(&m, &out, &len), 0);
  char *from = header_line(out, "From: ");
  ASSERT_STR_CONTAINS(from, "From: =?UTF-8?B?");
  ASSERT_STR_CONTAINS(from, "<shop@example.com>");
  ASSERT(strstr(out, "Subject:") == NULL);
  free(from);
  free(out);
}

static const char *check(const char *type, const char *config) {
  static struct err_detail d;
  cJSON *c = cJSON_Parse(config);
  memset(&d, 0, sizeof d);
  int rc = provider_validate(type, c, &d);
  cJSON_Delete(c);
  return rc ? d.path : NULL;
}

TEST(provider_validate_names_the_bad_field) {
  ASSERT(check("http", "{\"url\":\"http://127.0.0.1:8/x\",\"method\":\"PUT\","
                       "\"auth\":{\"type\":\"basic\",\"username\":\"u\",\"password\":\"p\"}}") ==
         NULL);
  ASSERT(check("smtp", "{\"host\":\"127.0.0.1\",\"port\":25,\"starttls\":\"tls\","
                       "\"from\":\"A <a@b.c>\"}") == NULL);
  ASSERT_STR_EQ(check("sms", "{}"), "type");
  ASSERT_STR_EQ(check("http", "[]"), "config");
  ASSERT_STR_EQ(check("http", "{\"url\":\"http://\"}"), "config.url");
  ASSERT_STR_EQ(check("http", "{\"url\":\"http://h/\",\"headers\":{\"Bad Name\":\"x\"}}"),
                "config.headers.Bad Name");
  ASSERT_STR_EQ(check("http", "{\"url\":\"http://h/\",\"headers\":{\"X-A\":\"a\\r\\nB: c\"}}"),
                "config.headers.X-A");
  ASSERT_STR_EQ(check("http", "{\"url\":\"http://h/\",\"auth\":{\"type\":\"header\","
                              "\"value\":\"v\"}}"),
                "config.auth.name");
  ASSERT_STR_EQ(check("http", "{\"url\":\"http://h/\",\"auth\":{\"type\":\"oauth\"}}"),
                "config.auth.type");
  ASSERT_STR_EQ(check("smtp", "{\"host\":\"a b\",\"from\":\"a@b.c\"}"), "config.host");
  ASSERT_STR_EQ(check("smtp", "{\"host\":\"h\",\"from\":\"a@b.c\",\"port\":0}"), "config.port");
  ASSERT_STR_EQ(check("smtp", "{\"host\":\"h\",\"from\":\"a@b.c\",\"password\":\"p\"}"),
                "config.username");
  ASSERT_STR_EQ(check("smtp", "{\"host\":\"h\",\"from\":\"a@b.c\",\"username\":\"u\","
                              "\"password\":\"********\"}"),
                "config");
}

TEST(provider_masks_secrets_and_keeps_them_on_update) {
  cJSON *stored = cJSON_Parse("{\"url\":\"http://h/\",\"headers\":{\"Authorization\":\"Basic x\","
                              "\"X-Shop\":\"a\"},\"auth\":{\"type\":\"header\",\"name\":\"X-K\","
                              "\"value\":\"secret\"}}");
  cJSON *masked = provider_masked(stored);
  char *text = cJSON_PrintUnformatted(masked);
  ASSERT_STR_EQ(text, "{\"url\":\"http://h/\",\"headers\":{\"Authorization\":\"********\","
                      "\"X-Shop\":\"a\"},\"auth\":{\"type\":\"header\",\"name\":\"X-K\","
                      "\"value\":\"********\"}}");
  free(text);
  provider_keep_secrets(masked, stored);
  ASSERT(cJSON_Compare(masked, stored, 1));
  ASSERT(provider_secret_header("X-Api-Key"));
  ASSERT(provider_secret_header("authorization"));
  ASSERT(!provider_secret_header("Idempotency-Key"));
  ASSERT(!provider_secret_header("Content-Type"));
  cJSON_Delete(masked);
  cJSON_Delete(stored);
}
