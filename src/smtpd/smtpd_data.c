/*
 * smtpd_data - content line splitting, dot-unstuffing and end of data; see
 * smtpd_data.h for the rules and why they are what they are.
 *
 * Memory: one line buffer of at most SMTPD_DATA_LINE_MAX octets; a longer
 * line is counted in long_lines and its excess is dropped (smtpd rejects
 * such a message, so the truncated text is never queued).
 */
#include "smtpd/smtpd_data.h"

#include <string.h>

void smtpd_data_init(smtpd_data *d, bool dot_mode, smtpd_data_line_fn fn,
                     void *ctx)
{
    buf *line = d->line;
    memset(d, 0, sizeof(*d));
    d->line = line ? line : buf_new(SMTPD_DATA_LINE_MAX);
    buf_reset(d->line);
    d->dot_mode = dot_mode;
    d->prev_crlf = true; /* the DATA command line ended the previous line */
    d->fn = fn;
    d->ctx = ctx;
}

void smtpd_data_free(smtpd_data *d)
{
    buf_free(&d->line);
}

/* The LF of a line arrived. */
static void smtpd_data_eol(smtpd_data *d)
{
    bool crlf = d->last_cr;
    const char *p = d->line->data;
    size_t n = d->line->len;
    if (crlf && n > 0 && n == d->line_len)
        n--; /* the CR is in the buffer unless the line was cut */
    if (!crlf)
        d->bare_lf++;
    /* Text line limit, CRLF included (section 4.5.3.1.6). */
    if (d->line_len + (crlf ? 1 : 2) > SMTPD_DATA_LINE_MAX)
        d->long_lines++;
    if (d->dot_mode && n >= 1 && p[0] == '.') {
        if (n == 1 && crlf && d->prev_crlf) {
            d->done = true;
            buf_reset(d->line);
            return;
        }
        /* Transparency (section 4.5.2): drop the first dot, except on a
         * lone "." that did not qualify as the end: it stays as content
         * so that nothing after it is lost or reinterpreted. */
        if (n > 1) {
            p++;
            n--;
        }
    }
    d->size += n + 1;
    if (d->fn)
        d->fn(p, n, d->ctx);
    d->prev_crlf = crlf;
    d->last_cr = false;
    d->line_len = 0;
    buf_reset(d->line);
}

size_t smtpd_data_feed(smtpd_data *d, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && !d->done) {
        /* Copy up to the next LF in one piece. */
        const char *lf = memchr(p + i, '\n', n - i);
        size_t chunk = lf ? (size_t)(lf - (p + i)) : n - i;
        if (chunk > 0) {
            size_t room = d->line->max > d->line->len ? d->line->max - d->line->len : 0;
            buf_append(d->line, p + i, chunk < room ? chunk : room);
            d->line_len += chunk;
            d->last_cr = p[i + chunk - 1] == '\r';
        }
        i += chunk;
        if (lf == NULL)
            break;
        i++; /* the LF */
        smtpd_data_eol(d);
    }
    return i;
}

void smtpd_data_finish(smtpd_data *d)
{
    if (d->line_len == 0)
        return;
    /* A trailing CR without LF is content, not a line end. */
    d->last_cr = false;
    d->bare_lf--; /* not a bare LF either: there was no LF at all */
    smtpd_data_eol(d);
}
