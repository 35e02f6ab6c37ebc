/*
 * dsn_param - RFC 3461 parameters: xtext, NOTIFY, RET, ORCPT, ENVID; see
 * dsn_param.h.
 *
 * Decoding is strict where the RFC is and liberal only where it costs
 * nothing: lower-case hex after "+" is accepted (RFC 3461 section 4 asks
 * for upper case; some clients send lower), but a "+" without two hex
 * digits, a raw "=" or "+", or an octet outside 33..126 is an error,
 * because a parameter we misread would be repeated wrongly to the next
 * hop and into the DSN.
 */
#include "global/dsn_param.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

static int dsn_param_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int dsn_param_xtext_decode(const char *in, size_t inlen, buf *out)
{
    for (size_t i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '+') {
            if (i + 2 >= inlen)
                return -1; /* "+" needs two hex digits after it */
            int hi = dsn_param_hex((unsigned char)in[i + 1]);
            int lo = hi < 0 ? -1 : dsn_param_hex((unsigned char)in[i + 2]);
            if (lo < 0)
                return -1;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
            /* Decoded values go into queue records and header fields:
             * no control characters, no 8-bit (RFC 3461 section 4 has
             * xtext for ASCII; UTF-8 addresses are RFC 6533's business). */
            if (c < 32 || c > 126)
                return -1;
        } else if (c < 33 || c > 126 || c == '=') {
            return -1;
        }
        if (buf_putc(out, c) < 0)
            return -1;
    }
    return 0;
}

int dsn_param_xtext_encode(const char *s, buf *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int r;
        if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
            r = buf_printf(out, "+%02X", *p);
        else
            r = buf_putc(out, *p);
        if (r < 0)
            return -1;
    }
    return 0;
}

static const struct {
    const char *name;
    int bit;
} dsn_param_notify_names[] = {
    {"NEVER", DSN_NOTIFY_NEVER},
    {"SUCCESS", DSN_NOTIFY_SUCCESS},
    {"FAILURE", DSN_NOTIFY_FAILURE},
    {"DELAY", DSN_NOTIFY_DELAY},
};
#define DSN_PARAM_NNAMES \
    (sizeof(dsn_param_notify_names) / sizeof(dsn_param_notify_names[0]))

int dsn_param_notify_parse(const char *value)
{
    int bits = 0;
    const char *p = value;
    for (;;) {
        size_t n = strcspn(p, ",");
        size_t k;
        for (k = 0; k < DSN_PARAM_NNAMES; k++)
            if (strlen(dsn_param_notify_names[k].name) == n &&
                strncasecmp(p, dsn_param_notify_names[k].name, n) == 0)
                break;
        if (k == DSN_PARAM_NNAMES || (bits & dsn_param_notify_names[k].bit))
            return -1;
        bits |= dsn_param_notify_names[k].bit;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    /* Section 4.1: NEVER must appear by itself. */
    if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
        return -1;
    return bits;
}

void dsn_param_notify_format(int bits, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < DSN_PARAM_NNAMES; k++) {
        if (!(bits & dsn_param_notify_names[k].bit))
            continue;
        int n = snprintf(out + used, outlen - used, "%s%s", used ? "," : "",
                         dsn_param_notify_names[k].name);
        if (n < 0 || (size_t)n >= outlen - used)
            return;
        used += (size_t)n;
    }
}

bool dsn_param_notify_wants(int bits, int kind)
{
    if (bits == 0)
        bits = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
    return (bits & kind) != 0;
}

int dsn_param_notify_forwarded(int bits)
{
    if (bits == 0 || (bits & DSN_NOTIFY_NEVER))
        return bits;
    bits &= ~DSN_NOTIFY_SUCCESS;
    return bits != 0 ? bits : DSN_NOTIFY_NEVER;
}

int dsn_param_ret_parse(const char *value)
{
    if (strcasecmp(value, "FULL") == 0)
        return DSN_RET_FULL;
    if (strcasecmp(value, "HDRS") == 0)
        return DSN_RET_HDRS;
    return -1;
}

int dsn_param_orcpt_parse(const char *value, char **out_r)
{
    const char *semi = strchr(value, ';');
    if (semi == NULL || semi == value || semi - value > 64)
        return -1;
    /* addr-type = atom (RFC 3461 section 4.2, RFC 5322 atext without the
     * characters that would confuse a header field). */
    for (const char *p = value; p < semi; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return -1;
    size_t xlen = strlen(semi + 1);
    if (xlen == 0 || xlen > DSN_ORCPT_MAX)
        return -1;
    buf *b = buf_new(DSN_ORCPT_MAX + 80);
    buf_append(b, value, (size_t)(semi - value) + 1);
    int r = dsn_param_xtext_decode(semi + 1, xlen, b);
    if (r == 0)
        *out_r = mem_strdup(b->data);
    buf_free(&b);
    return r;
}

int dsn_param_envid_parse(const char *value, char **out_r)
{
    size_t n = strlen(value);
    if (n == 0 || n > DSN_ENVID_MAX)
        return -1;
    buf *b = buf_new(DSN_ENVID_MAX);
    int r = dsn_param_xtext_decode(value, n, b);
    if (r == 0)
        *out_r = mem_strdup(b->data);
    buf_free(&b);
    return r;
}

int dsn_param_notify_attr(const char *attr_value)
{
    if (attr_value == NULL)
        return 0;
    int bits = dsn_param_notify_parse(attr_value);
    return bits < 0 ? 0 : bits;
}
