/* text: UTF-8 decoding and edit distance, shared by the graph modules. */
#include <string.h>
#include "graph/text.h"

int text_utf8_next(const unsigned char *s, const unsigned char *end, uint32_t *cp) {
  unsigned c = s[0];
  int n;
  uint32_t v;
  *cp = c;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, v = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, v = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, v = c & 0x07;
  else
    return 1;
  if (end - s < n)
    return 1;
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 1;
    v = v << 6 | (s[i] & 0x3F);
  }
  /* Overlong forms, surrogates and code points past U+10FFFF are not well formed. */
  if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
      (v >= 0xD800 && v <= 0xDFFF))
    return 1;
  *cp = v;
  return n;
}

size_t text_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), r0[64], r1[64], r2[64];
  size_t *prev2 = r0, *prev = r1, *cur = r2;
  if (la >= 63 || lb >= 63)
    return 99;
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if (prev[j] + 1 < best)
        best = prev[j] + 1;
      if (cur[j - 1] + 1 < best)
        best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      cur[j] = best;
    }
    size_t *t = prev2;
    prev2 = prev, prev = cur, cur = t;
  }
  return prev[lb];
}

uint64_t text_hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}
