/*
 * smtp_body - LF to CRLF, bare CR to CRLF, and dot-stuffing; see
 * smtp_body.h.
 */
#include "smtp/smtp_body.h"

#include <string.h>

void smtp_body_init(smtp_body *b)
{
    b->bol = true;
    b->empty = true;
    b->cr = false;
}

/* Octets before the first CR or LF in p[0..n). */
static size_t smtp_body_run(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != '\r' && p[i] != '\n')
        i++;
    return i;
}

/* One line end on the wire. */
static int smtp_body_eol(smtp_body *b, buf *out)
{
    b->bol = true;
    return buf_append(out, "\r\n", 2);
}

int smtp_body_encode(smtp_body *b, const char *in, size_t n, buf *out)
{
    size_t i = 0;
    if (n > 0)
        b->empty = false;
    while (i < n) {
        if (b->cr) {
            /* RFC 5321 section 2.3.8: a client sends CR and LF only as
             * the CRLF of a line end.  The queue holds line ends as LF,
             * so a CR here came as content: a CR before the LF merges into
             * that line end, a CR alone becomes one.  Either way the next
             * line is dot-stuffed below, so "\r.\r" can never end DATA at
             * a next hop that takes a bare CR for a line end (SMTP
             * smuggling), and no next hop sees a bare CR at all. */
            b->cr = false;
            if (smtp_body_eol(b, out) < 0)
                return -1;
            if (in[i] == '\n') {
                i++;
                continue;
            }
        }
        if (b->bol && in[i] == '.' && buf_putc(out, '.') < 0)
            return -1;
        /* Copy up to and without the next CR or LF in one piece. */
        size_t run = smtp_body_run(in + i, n - i);
        if (run > 0 && buf_append(out, in + i, run) < 0)
            return -1;
        if (run > 0)
            b->bol = false;
        i += run;
        if (i == n)
            break;
        if (in[i] == '\r')
            b->cr = true; /* decided by the next octet, maybe in the next piece */
        else if (smtp_body_eol(b, out) < 0)
            return -1;
        i++;
    }
    return 0;
}

int smtp_body_end(smtp_body *b, buf *out)
{
    if (b->cr) {
        b->cr = false;
        if (smtp_body_eol(b, out) < 0)
            return -1;
    }
    if (!b->bol && buf_append(out, "\r\n", 2) < 0)
        return -1;
    return buf_append(out, ".\r\n", 3);
}
