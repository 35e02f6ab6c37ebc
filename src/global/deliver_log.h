/*
 * deliver_log - the delivery line every delivery agent (local, smtp, lmtp)
 * and qmgr write, in Postfix's exact grammar:
 *
 *   ID: to=<rcpt>, [orig_to=<orig>, ]relay=R, delay=D, delays=a/b/c/d,
 *       dsn=X.Y.Z, status=sent|deferred|bounced|expired (text)
 *
 * (one line).  delay is arrival to now; a = arrival to active queue, b =
 * active queue to hand-off to the agent, c = connection set-up, d =
 * transmission.  Numbers follow Postfix's rule: at most two significant
 * digits for small values, never more than delay_logging_resolution_limit
 * (2) digits after the point, whole seconds from 10 s on, trailing zeros
 * dropped: 0, 0.01, 0.08, 0.1, 1.2, 12, 345.  Log tools parse these.
 *
 * Does not: decide the status or the text, or write anything but the log.
 */
#ifndef POSTIE_GLOBAL_DELIVER_LOG_H
#define POSTIE_GLOBAL_DELIVER_LOG_H

#include "util/buf.h"

/* Postfix's delay_logging_resolution_limit default and its significant
 * digit count. */
#define DELIVER_LOG_MAX_DIGITS 2
#define DELIVER_LOG_SIG_DIGITS 2

/* Time stamps in microseconds since the epoch (wall clock: the arrival
 * time in the queue file is one); 0 means "did not happen". */
typedef struct deliver_stats {
    long long arrival;   /* the message entered the queue */
    long long active;    /* qmgr moved it to active/ */
    long long handoff;   /* qmgr handed the recipient to the agent */
    long long conn_done; /* the agent's connection was up (smtp, lmtp) */
    long long done;      /* delivery finished; 0: now */
} deliver_stats;

/* Append a duration (microseconds, >= 0) in Postfix's format. */
void deliver_log_tv(buf *b, long long usec, int sig_digits, int max_digits);

/* Append the line's text (without the log prefix) to b.  orig_to may be
 * NULL; it is shown only when it differs from to (case ignored). */
void deliver_log_format(buf *b, const char *id, const char *to,
                        const char *orig_to, const char *relay,
                        const deliver_stats *st, const char *dsn,
                        const char *status, const char *text);

/* Format and log it with msg_info. */
void deliver_log(const char *id, const char *to, const char *orig_to,
                 const char *relay, const deliver_stats *st, const char *dsn,
                 const char *status, const char *text);

/* Microseconds since the epoch, now. */
long long deliver_log_now(void);

#endif
