/*
 * base64 - the base64 alphabet of RFC 4648 section 4 ("+/", '=' padding),
 * for SASL exchanges (AUTH PLAIN of RFC 4616 in POP3's RFC 5034 and
 * SMTP's RFC 4954) and for random session identifiers.
 *
 * Decoding is strict, as RFC 4648 section 3.3 allows and SASL wants: the
 * length is a multiple of four, '=' only at the end (at most two), no
 * white space, no characters outside the alphabet.  Bad input is -1, never
 * a guess.
 *
 * Does not: the URL-safe alphabet (section 5), line-wrapped MIME bodies
 * (RFC 2045 section 6.8), streaming.
 */
#ifndef POSTIE_UTIL_BASE64_H
#define POSTIE_UTIL_BASE64_H

#include <stddef.h>

/* Octets the encoding of n octets takes, without the closing NUL. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode n octets, padded, NUL-terminated in out.  Returns the length, or
 * -1 when out (outlen octets) cannot hold it and its NUL. */
long base64_encode(const void *in, size_t n, char *out, size_t outlen);

/* Decode (padding required).  Returns the length, or -1 for bad input or
 * when out (outlen octets) is too small.  out is not NUL-terminated. */
long base64_decode(const char *in, size_t n, void *out, size_t outlen);

#endif
