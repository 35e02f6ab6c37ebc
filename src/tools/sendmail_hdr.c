/*
 * sendmail_hdr - header walk and address-list extraction for sendmail -t;
 * see sendmail_hdr.h.  RFC 5322 sections 2.2 (fields, folding), 3.2.2
 * (comments), 3.2.4 (quoted strings), 3.4 (address lists and groups).
 */
#include "tools/sendmail_hdr.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

/* Longest unfolded header field we look at; longer ones are skipped. */
#define SENDMAIL_HDR_MAX (256 * 1024)

/* Is this line the start of a header field: "name:" with printable
 * characters other than colon and space (RFC 5322 section 2.2)? */
static size_t sendmail_hdr_name_len(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != ':' && p[i] > ' ' && p[i] < 127)
        i++;
    return (i > 0 && i < n && p[i] == ':') ? i : 0;
}

size_t sendmail_hdr_walk(const char *content, size_t len, sendmail_hdr_fn fn,
                         void *ctx)
{
    size_t pos = 0;
    buf *value = buf_new(SENDMAIL_HDR_MAX);
    while (pos < len) {
        const char *line = content + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        if (ll == 0) { /* the empty line that ends the header */
            pos += 1;
            break;
        }
        size_t nlen = sendmail_hdr_name_len(line, ll);
        if (nlen == 0)
            break; /* not a header: the body starts here (no empty line) */
        size_t start = pos;
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(nlen < 255 ? nlen : 255), line);
        buf_reset(value);
        buf_append(value, line + nlen + 1, ll - nlen - 1);
        pos += ll + (nl ? 1 : 0);
        /* Continuation lines start with white space (folding). */
        while (pos < len && (content[pos] == ' ' || content[pos] == '\t')) {
            const char *c = content + pos;
            const char *cnl = memchr(c, '\n', len - pos);
            size_t cl = cnl ? (size_t)(cnl - c) : len - pos;
            buf_append(value, c, cl);
            pos += cl + (cnl ? 1 : 0);
        }
        const char *v = value->data;
        while (*v == ' ' || *v == '\t')
            v++;
        if (fn(name, v, start, pos - start, ctx) != 0)
            break;
    }
    buf_free(&value);
    return pos;
}

/* Append the address collected so far (if any) to the vector. */
static void sendmail_hdr_emit(char ***v, size_t *n, buf *addr)
{
    size_t a = 0, e = addr->len;
    while (a < e && isspace((unsigned char)addr->data[a]))
        a++;
    while (e > a && isspace((unsigned char)addr->data[e - 1]))
        e--;
    if (e > a) {
        *v = mem_realloc(*v, (*n + 2) * sizeof(**v));
        (*v)[(*n)++] = mem_strndup(addr->data + a, e - a);
        (*v)[*n] = NULL;
    }
    buf_reset(addr);
}

char **sendmail_hdr_addresses(const char *value)
{
    char **v = mem_zalloc(sizeof(*v));
    size_t n = 0;
    buf *plain = buf_new(SENDMAIL_HDR_MAX); /* text outside <> and comments */
    buf *angle = buf_new(SENDMAIL_HDR_MAX); /* text inside <> */
    bool have_angle = false, in_angle = false, in_quote = false;
    int depth = 0;
    for (const char *p = value;; p++) {
        char c = *p;
        if (c == '\0' || (!in_quote && depth == 0 && !in_angle &&
                          (c == ',' || c == ';'))) {
            sendmail_hdr_emit(&v, &n, have_angle ? angle : plain);
            buf_reset(plain);
            buf_reset(angle);
            have_angle = false;
            if (c == '\0')
                break;
            continue;
        }
        if (in_quote) {
            if (c == '\\' && p[1]) {
                buf_putc(in_angle ? angle : plain, c);
                c = *++p;
            } else if (c == '"') {
                in_quote = false;
            }
            buf_putc(in_angle ? angle : plain, c);
            continue;
        }
        if (depth > 0) { /* comments nest (RFC 5322 section 3.2.2) */
            if (c == '\\' && p[1])
                p++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            continue;
        }
        switch (c) {
        case '(':
            depth = 1;
            break;
        case '"':
            in_quote = true;
            buf_putc(in_angle ? angle : plain, c);
            break;
        case '<':
            in_angle = true;
            have_angle = true;
            buf_reset(angle);
            break;
        case '>':
            in_angle = false;
            break;
        case ':':
            /* "group: a, b;" drops the group name; inside <> a colon ends
             * an obsolete source route ("<@a,@b:user@c>"). */
            if (in_angle)
                buf_reset(angle);
            else
                buf_reset(plain);
            break;
        default:
            buf_putc(in_angle ? angle : plain, c);
        }
    }
    buf_free(&plain);
    buf_free(&angle);
    return v;
}
