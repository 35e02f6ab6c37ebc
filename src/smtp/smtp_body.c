/*
 * smtp_body - LF to CRLF and dot-stuffing; see smtp_body.h.
 */
#include "smtp/smtp_body.h"

#include <string.h>

void smtp_body_init(smtp_body *b)
{
    b->bol = true;
    b->empty = true;
}

int smtp_body_encode(smtp_body *b, const char *in, size_t n, buf *out)
{
    size_t i = 0;
    if (n > 0)
        b->empty = false;
    while (i < n) {
        if (b->bol && in[i] == '.' && buf_putc(out, '.') < 0)
            return -1;
        /* Copy up to and without the next LF in one piece. */
        const char *nl = memchr(in + i, '\n', n - i);
        size_t run = nl ? (size_t)(nl - (in + i)) : n - i;
        /* A CR is content: the queue holds CRLF as LF, so a CR stored
         * before an LF was a CR of its own on the wire too. */
        if (run > 0 && buf_append(out, in + i, run) < 0)
            return -1;
        i += run;
        if (nl) {
            if (buf_append(out, "\r\n", 2) < 0)
                return -1;
            i++;
            b->bol = true;
        } else {
            b->bol = false;
        }
    }
    return 0;
}

int smtp_body_end(smtp_body *b, buf *out)
{
    if (!b->bol && buf_append(out, "\r\n", 2) < 0)
        return -1;
    return buf_append(out, ".\r\n", 3);
}
