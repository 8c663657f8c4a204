/* jsonnum: JavaScript-compatible number to string (ECMA-262 Number::toString). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/jsonnum.h"

/* Finds the shortest decimal digits d (no dot) and exponent e with n = 0.d * 10^(e+1)... in
 * %e terms: n = d[0].d[1..] * 10^e. */
static int shortest_digits(double n, char *digits, int *exp10) {
  char tmp[40];
  for (int prec = 0; prec < 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec, n);
    if (strtod(tmp, NULL) == n)
      goto found;
  }
  snprintf(tmp, sizeof tmp, "%.16e", n);
found:;
  int k = 0;
  const char *p = tmp;
  for (; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9')
      digits[k++] = *p;
  /* strip trailing zeros of the mantissa (kept for 1 digit) */
  while (k > 1 && digits[k - 1] == '0')
    k--;
  digits[k] = '\0';
  *exp10 = atoi(p + 1);
  return k;
}

char *jsonnum_format(double n, char *buf) {
  if (isnan(n))
    return strcpy(buf, "NaN");
  if (isinf(n))
    return strcpy(buf, n < 0 ? "-Infinity" : "Infinity");
  if (n == 0)
    return strcpy(buf, "0");
  char *out = buf;
  if (n < 0) {
    *out++ = '-';
    n = -n;
  }
  char d[24];
  int e;
  int k = shortest_digits(n, d, &e);
  int point = e + 1; /* digits before the decimal point (ECMA's n) */
  if (point >= k && point <= 21) {
    memcpy(out, d, k);
    memset(out + k, '0', point - k);
    out[point] = '\0';
  } else if (point > 0 && point <= 21) {
    memcpy(out, d, point);
    out[point] = '.';
    memcpy(out + point + 1, d + point, k - point);
    out[k + 1] = '\0';
  } else if (point > -6 && point <= 0) {
    out[0] = '0';
    out[1] = '.';
    memset(out + 2, '0', -point);
    memcpy(out + 2 - point, d, k);
    out[2 - point + k] = '\0';
  } else {
    int pos = 0;
    out[pos++] = d[0];
    if (k > 1) {
      out[pos++] = '.';
      memcpy(out + pos, d + 1, k - 1);
      pos += k - 1;
    }
    char ex[8];
    int el = snprintf(ex, sizeof ex, "e%c%d", point - 1 >= 0 ? '+' : '-', abs(point - 1) % 1000);
    memcpy(out + pos, ex, el + 1);
  }
  return buf;
}
