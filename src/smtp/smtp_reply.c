/*
 * smtp_reply - reply lines to one reply; see smtp_reply.h.
 *
 * RFC 5321 section 4.2.1: every line of a multi-line reply carries the
 * same code; section 4.2: the code is three digits, the first 2-5, the
 * second 0-5 (we accept 0-9 there, as Postfix does: servers stray).  A
 * line of exactly three digits is a last line with no text (section
 * 4.2: "the text may be absent").
 */
#include "smtp/smtp_reply.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void smtp_reply_init(smtp_reply *r)
{
    memset(r, 0, sizeof(*r));
}

size_t smtp_reply_enhanced(const char *text, size_t len, int klass,
                           char *dsn_r, size_t dsnlen)
{
    /* RFC 3463 section 2: class "." 1*3digit "." 1*3digit; the class must
     * agree with the reply code (RFC 2034 section 4). */
    size_t i = 0;
    if (len < 5 || text[0] != (char)('0' + klass) || text[1] != '.')
        return 0;
    i = 2;
    for (int part = 0; part < 2; part++) {
        size_t start = i;
        while (i < len && isdigit((unsigned char)text[i]) && i - start < 4)
            i++;
        if (i == start || i - start > 3)
            return 0;
        if (part == 0) {
            if (i >= len || text[i] != '.')
                return 0;
            i++;
        }
    }
    if (i < len && text[i] != ' ')
        return 0;
    if (i >= dsnlen)
        return 0;
    memcpy(dsn_r, text, i);
    dsn_r[i] = '\0';
    return i;
}

static void smtp_reply_append(smtp_reply *r, const char *p, size_t n)
{
    size_t room = SMTP_REPLY_TEXT_MAX - r->text_len;
    if (n > room)
        n = room;
    memcpy(r->text + r->text_len, p, n);
    r->text_len += n;
    r->text[r->text_len] = '\0';
}

int smtp_reply_line(smtp_reply *r, const char *line, size_t len)
{
    if (len < 3 || line[0] < '2' || line[0] > '5' ||
        !isdigit((unsigned char)line[1]) || !isdigit((unsigned char)line[2]))
        return -1;
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    char sep = len > 3 ? line[3] : ' ';
    if (sep != ' ' && sep != '-')
        return -1;
    if (r->lines > 0 && code != r->code)
        return -1; /* section 4.2.1: one code per reply */
    if (++r->lines > SMTP_REPLY_LINES_MAX)
        return -1;
    r->code = code;
    if (r->lines > 1)
        smtp_reply_append(r, " ", 1);
    smtp_reply_append(r, line, len);
    if (r->lines == 1) {
        const char *text = len > 4 ? line + 4 : "";
        size_t tlen = len > 4 ? len - 4 : 0;
        r->has_dsn = smtp_reply_enhanced(text, tlen, code / 100, r->dsn,
                                         sizeof(r->dsn)) > 0;
        if (!r->has_dsn)
            snprintf(r->dsn, sizeof(r->dsn), "%d.0.0", code / 100);
    }
    return sep == ' ' ? 1 : 0;
}
