/*
 * logexplain - what a parsed log line means, in words: the step of the mail
 * flow, the DSN code (RFC 3463 and its extensions), the delays=a/b/c/d
 * breakdown, and for a failure the likely cause and what to check.
 *
 * What it does not do: parse (logline) or correlate lines (logtrace).  The
 * texts are postie's own; the tables are in logexplain.c.
 */
#ifndef POSTIE_LOGTOOL_LOGEXPLAIN_H
#define POSTIE_LOGTOOL_LOGEXPLAIN_H

#include "logtool/logline.h"
#include "util/buf.h"

typedef struct logexplain_cause {
    const char *pattern;    /* matched case-insensitively in the reason */
    const char *cause;      /* what probably went wrong */
    const char *check;      /* what to check or do */
} logexplain_cause;

/* The step of the flow, short: "SMTP session opened", "delivered". */
const char *logexplain_step(const logline *ll);
/* The component's job ("smtpd: SMTP server ..."), or NULL. */
const char *logexplain_component(const logline *ll);

/* "5.1.1": appends "permanent failure - addressing: bad destination
 * mailbox ..." to out.  Returns 0, or -1 when dsn is not a DSN code. */
int logexplain_dsn(logstr dsn, buf *out);
/* The class alone: "success", "temporary failure", "permanent failure". */
const char *logexplain_dsn_class(logstr dsn);

/* What a delivery status means ("deferred": temporary failure, ...). */
const char *logexplain_status(enum logline_status s);

/*
 * The delays=a/b/c/d breakdown in words, with the share of each part and
 * which one dominates.  Returns the index (0..3) of the largest part, or
 * -1 when the line has no delays.
 */
int logexplain_delays(const logline *ll, buf *out);
/* Long names of the four parts. */
const char *logexplain_delay_part(int i);

/* The likely cause of a failure, reject or warning, or NULL. */
const logexplain_cause *logexplain_cause_find(const logline *ll);

/* All of the above for one line, as indented lines ("  " prefix). */
void logexplain_line(const logline *ll, buf *out);

#endif
