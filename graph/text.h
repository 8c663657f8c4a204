/* text: small text helpers the modules share: decoding UTF-8 one code point at a time (the
 * condition engines compare and slice text by code point), the edit distance behind "did you
 * mean" hints (flow validation, JSON Schema property names), and the string hash of the hash
 * tables. */
#ifndef FLOWD_TEXT_H
#define FLOWD_TEXT_H
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s (s < end) into *cp and returns its length in bytes. A byte
 * that does not start a well-formed sequence decodes as itself, one byte long, so any bytes
 * have a reading. */
int text_utf8_next(const unsigned char *s, const unsigned char *end, uint32_t *cp);

/* Edit distance between a and b, counting a swap of neighbours as one edit (optimal string
 * alignment); 99 for strings of 63 bytes or more (too long to be a typo worth a hint). */
size_t text_edit_distance(const char *a, const char *b);

/* FNV-1a (64 bits) of the string s: for hash tables and names made from a text. */
uint64_t text_hash(const char *s);

#endif
