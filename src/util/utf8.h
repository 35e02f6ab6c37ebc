/*
 * utf8 - is a byte string well-formed UTF-8?  (RFC 3629 section 4.)
 *
 * Well-formed means: shortest form only (no overlong encodings such as
 * C0 AF for '/'), no UTF-16 surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no stray continuation bytes, no truncated sequences.  A NUL
 * byte is valid UTF-8 (U+0000); callers that must refuse it check apart.
 *
 * Does not: normalise, or judge whether a code point is assigned.
 */
#ifndef POSTIE_UTIL_UTF8_H
#define POSTIE_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when p[0..n) is well-formed UTF-8. */
bool utf8_valid(const char *p, size_t n);

#endif
