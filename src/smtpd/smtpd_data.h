/*
 * smtpd_data - the message content stream of DATA and BDAT: split into
 * lines, CRLF to LF, dot-unstuffing and the end of data (RFC 5321 section
 * 4.5.2 and 4.1.1.4), text line length (section 4.5.3.1.6).
 *
 * The one rule that defeats SMTP smuggling (CVE-2023-51764): the end of
 * DATA is "." alone on a line that ends in CRLF and follows a line that
 * ended in CRLF (the DATA command itself counts as one).  A bare LF ends a
 * content line (it is counted so that smtpd can log or reject it, as
 * Postfix's smtpd_forbid_bare_newline), but "<LF>.<LF>", "<CR><LF>.<LF>"
 * and "<LF>.<CR><LF>" never end the message: such a "." stays content.  A
 * bare CR is ordinary content.
 *
 * Does not: know about sockets, replies or the queue; lines go to a
 * callback.  BDAT mode (RFC 3030) does the same line splitting without dots
 * and without an end marker: the chunk sizes delimit the message.
 */
#ifndef POSTIE_SMTPD_SMTPD_DATA_H
#define POSTIE_SMTPD_SMTPD_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* RFC 5321 section 4.5.3.1.6: 1000 octets including the CRLF. */
#define SMTPD_DATA_LINE_MAX 1000

/* One content line without its line end. */
typedef void (*smtpd_data_line_fn)(const char *line, size_t len, void *ctx);

typedef struct smtpd_data {
    bool dot_mode;       /* DATA: dots and end marker; BDAT: neither */
    bool prev_crlf;      /* the previous line ended in CRLF */
    bool last_cr;        /* the current line's last byte so far is CR */
    bool done;           /* the end of data was seen */
    size_t line_len;     /* octets of the current line, CR included */
    buf *line;
    /* What was seen; the caller decides what it means. */
    unsigned bare_lf;    /* lines ended by a bare LF */
    unsigned long_lines; /* lines longer than SMTPD_DATA_LINE_MAX */
    size_t size;         /* content octets as stored (line + LF each) */
    smtpd_data_line_fn fn;
    void *ctx;
} smtpd_data;

void smtpd_data_init(smtpd_data *d, bool dot_mode, smtpd_data_line_fn fn,
                     void *ctx);
/* Consume input; returns the octets used.  In dot mode it stops right
 * after the end-of-data line (d->done); what follows belongs to the next
 * command.  In BDAT mode it uses everything it is given. */
size_t smtpd_data_feed(smtpd_data *d, const char *p, size_t n);
/* BDAT LAST: a last line without line end is delivered as a line. */
void smtpd_data_finish(smtpd_data *d);
void smtpd_data_free(smtpd_data *d);

#endif
