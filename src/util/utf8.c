/*
 * utf8 - UTF-8 well-formedness; see utf8.h.
 *
 * The check follows the table of RFC 3629 section 4 (the UTF8-octets ABNF):
 * each lead byte fixes how many continuation bytes follow and, for E0, ED,
 * F0 and F4, a narrower range of the first one.  That range is what rules
 * out overlong forms, surrogates and code points above U+10FFFF without
 * decoding.  O(n), no allocation.
 */
#include "util/utf8.h"

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        unsigned char lo = 0x80, hi = 0xBF; /* range of the 2nd byte */
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;                 /* C0, C1: overlong 2-byte forms */
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                lo = 0xA0;            /* overlong 3-byte forms */
            else if (c == 0xED)
                hi = 0x9F;            /* U+D800..U+DFFF surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                lo = 0x90;            /* overlong 4-byte forms */
            else if (c == 0xF4)
                hi = 0x8F;            /* above U+10FFFF */
        } else {
            return false;             /* 80..C1 alone, F5..FF */
        }
        if (n - i <= more)
            return false;             /* truncated */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= more; k++)
            if (p[i + k] < 0x80 || p[i + k] > 0xBF)
                return false;
        i += more + 1;
    }
    return true;
}
