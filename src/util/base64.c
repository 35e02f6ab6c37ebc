/*
 * base64 - RFC 4648 section 4 encoding and strict decoding; see base64.h.
 */
#include "util/base64.h"

#include <string.h>

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

long base64_encode(const void *in, size_t n, char *out, size_t outlen)
{
    const unsigned char *p = in;
    size_t need = BASE64_ENCODED_LEN(n);
    if (outlen < need + 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t k = n - i < 3 ? n - i : 3;
        unsigned long w = (unsigned long)p[i] << 16;
        if (k > 1)
            w |= (unsigned long)p[i + 1] << 8;
        if (k > 2)
            w |= p[i + 2];
        out[o++] = base64_alphabet[(w >> 18) & 63];
        out[o++] = base64_alphabet[(w >> 12) & 63];
        /* RFC 4648 section 4: a short final group is padded with '='. */
        out[o++] = k > 1 ? base64_alphabet[(w >> 6) & 63] : '=';
        out[o++] = k > 2 ? base64_alphabet[w & 63] : '=';
    }
    out[o] = '\0';
    return (long)o;
}

static int base64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long base64_decode(const char *in, size_t n, void *outp, size_t outlen)
{
    char *out = outp;
    if (n % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            /* Padding only in the last group, in its last two places. */
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad)
                return -1; /* data after padding */
            v[k] = base64_value((unsigned char)in[i + k]);
            if (v[k] < 0)
                return -1;
        }
        unsigned long w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                          ((unsigned long)v[2] << 6) | (unsigned long)v[3];
        char b[3] = {(char)(w >> 16), (char)(w >> 8), (char)w};
        int take = 3 - pad;
        if (o + (size_t)take > outlen)
            return -1;
        memcpy(out + o, b, (size_t)take);
        o += (size_t)take;
    }
    return (long)o;
}
