/* jsonnum: numbers printed the way JavaScript's String(n) prints them: the shortest digits
 * that read back as the same double, no trailing ".0", exponent only below 1e-6 or from 1e21.
 * JSON Logic's "cat" and Mustache interpolation both rely on it (1.21 -> "1.21", 85 -> "85"). */
#ifndef FLOWD_JSONNUM_H
#define FLOWD_JSONNUM_H
#include <stddef.h>

#define JSONNUM_BUFSIZE 32

/* Writes n into buf (at least JSONNUM_BUFSIZE bytes); returns buf. NaN prints "NaN",
 * infinities "Infinity"/"-Infinity", negative zero "0". */
char *jsonnum_format(double n, char *buf);

#endif
