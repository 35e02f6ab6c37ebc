/*
 * smtp_reply_fuzz - the smtp client's reply parser (smtp/smtp_reply) on
 * arbitrary server output: lines split at LF, fed one by one, a new reply
 * after each complete one.  Checks what the client relies on: the text
 * stays within its limit and NUL-terminated, the code is 200-599, the
 * status is a valid RFC 3463 code of the reply's class (2, 4, 5).  Also runs the
 * body encoder (smtp/smtp_body) over the same bytes and checks that the
 * wire form has no bare LF and ends with CRLF.CRLF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/deliver_request.h"
#include "smtp/smtp_body.h"
#include "smtp/smtp_reply.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtp_reply r;
    smtp_reply_init(&r);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        int st = smtp_reply_line(&r, p, len);
        if (r.text_len > SMTP_REPLY_TEXT_MAX || r.text[r.text_len] != '\0')
            abort();
        if (st == 1) {
            /* 3xx (354) has no RFC 3463 class; its "3.0.0" is unused. */
            if (r.code < 200 || r.code > 599 ||
                r.dsn[0] != (char)('0' + r.code / 100) ||
                (r.code / 100 != 3 && !deliver_dsn_valid(r.dsn)))
                abort();
            smtp_reply_init(&r);
        } else if (st < 0) {
            smtp_reply_init(&r);
        }
        p += nl ? (size_t)(nl - p) + 1 : len;
        if (!nl)
            break;
    }

    buf *out = buf_new(2 * size + 16);
    smtp_body b;
    smtp_body_init(&b);
    /* Pieces of varying size, so state carries across them. */
    size_t off = 0, step = 1;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        if (smtp_body_encode(&b, (const char *)data + off, n, out) < 0)
            abort();
        off += n;
        step = step * 3 + 1;
    }
    if (smtp_body_end(&b, out) < 0)
        abort();
    for (size_t i = 0; i < out->len; i++)
        if (out->data[i] == '\n' && (i == 0 || out->data[i - 1] != '\r'))
            abort();
    if (out->len < 3 || memcmp(out->data + out->len - 3, ".\r\n", 3) != 0 ||
        (out->len > 3 && memcmp(out->data + out->len - 5, "\r\n", 2) != 0))
        abort();
    buf_free(&out);
    return 0;
}
