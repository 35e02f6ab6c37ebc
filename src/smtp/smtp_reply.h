/*
 * smtp_reply - an SMTP or LMTP server's reply, read line by line
 * (RFC 5321 section 4.2: "NNN-text" continuation lines, then "NNN text"),
 * with its enhanced status code (RFC 3463, RFC 2034 section 4: the code
 * follows the reply code on each line).
 *
 * The text is kept as Postfix logs it: every line with its own code, the
 * lines joined by single spaces ("550-5.1.1 first 550 5.1.1 second"), cut
 * at SMTP_REPLY_TEXT_MAX.  The status is the enhanced code when the server
 * gave one of the reply's class, else the class alone (X.0.0).
 *
 * Does not: any I/O (util/conn reads the lines).
 */
#ifndef POSTIE_SMTP_SMTP_REPLY_H
#define POSTIE_SMTP_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_REPLY_TEXT_MAX 2000
#define SMTP_REPLY_LINES_MAX 100  /* more continuation lines: malformed */

typedef struct smtp_reply {
    int code;                        /* 250; 0 before the first line */
    char dsn[16];                    /* "2.0.0", "5.1.1", ... */
    bool has_dsn;                    /* the server gave an enhanced code */
    int lines;
    char text[SMTP_REPLY_TEXT_MAX + 1];
    size_t text_len;
} smtp_reply;

void smtp_reply_init(smtp_reply *r);
/* Feed one line without its CRLF.  Returns 1 when this line ends the
 * reply, 0 when more lines follow, -1 when the line is not part of a
 * well-formed reply (the session is then broken). */
int smtp_reply_line(smtp_reply *r, const char *line, size_t len);
/* The reply class: 2, 3, 4 or 5. */
static inline int smtp_reply_class(const smtp_reply *r)
{
    return r->code / 100;
}
/* Parse an enhanced status code at the start of text ("5.1.1 ...") of the
 * given class.  Returns its length (without the following space), or 0. */
size_t smtp_reply_enhanced(const char *text, size_t len, int klass,
                           char *dsn_r, size_t dsnlen);

#endif
