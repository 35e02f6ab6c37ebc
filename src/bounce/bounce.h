/*
 * bounce - delivery status notifications (RFC 3464) for qmgr: the
 * per-message bounce log (queue/bounce/ID) and the notices made from it,
 * enqueued through cleanup like any other mail, from the null sender.
 *
 * bounce is a library that qmgr runs in a child process (docs/
 * architecture.md, "bounce"): qmgr appends a record for each recipient
 * that failed (or was delivered with NOTIFY=SUCCESS) to the log *before*
 * it marks the recipient in the queue file, and when the message leaves
 * the active queue it calls bounce_notify, which forks, writes the
 * notices, removes the log, and only then does qmgr remove the message.
 * The crash guarantees of that order are in docs/queue.md.
 *
 * Notices (RFC 3461 section 4.1, RFC 3464):
 *   failure  to the sender: "ID: sender non-delivery notification: NEWID"
 *            to postmaster when the sender is <>: "ID: postmaster
 *            non-delivery notification: NEWID"; a failed notice to
 *            postmaster is dropped: "ID: undeliverable postmaster
 *            notification discarded" (no loop)
 *   delay    once per message: "ID: sender delay notification: NEWID"
 *   success  NOTIFY=SUCCESS: "ID: sender delivery status notification: NEWID"
 *
 * Does not: decide which recipients failed (the agents do) or when a
 * message expires (qmgr does); deliver the notices (they are new mail).
 */
#ifndef POSTIE_BOUNCE_BOUNCE_H
#define POSTIE_BOUNCE_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>

#include "global/queue_file.h"

#define QUEUE_BOUNCE "bounce"

/* Actions of log records (RFC 3464 section 2.3.3). */
#define BOUNCE_FAILED "failed"
#define BOUNCE_DELIVERED "delivered"
#define BOUNCE_RELAYED "relayed"
#define BOUNCE_EXPANDED "expanded"

/* The queue-file attribute that marks a notice to postmaster about a
 * notice: its own failure is dropped, never reported again. */
#define BOUNCE_ATTR_DOUBLE "double_bounce"

/* Append "INDEX TAB ACTION TAB DSN TAB TEXT" to queue_dir/bounce/ID and
 * fsync it (and the directory when the file is new).  0, or -1 with
 * errno: the caller must then not mark the recipient. */
int bounce_log_append(const char *queue_dir, const char *id, int index,
                      const char *action, const char *dsn, const char *text);
/* The same for a recipient that expired: its reason from defer_text
 * ("ADDR TAB DSN TAB TEXT" lines of this pass), else 4.4.7. */
int bounce_log_expire(const char *queue_dir, const char *id,
                      const queue_rcpt *r, const char *defer_text);
/* Is there a log for this message (notices still to send)? */
bool bounce_log_exists(const char *queue_dir, const char *id);
/* Remove the log and the delay-notice marker (message removed). */
void bounce_log_remove(const char *queue_dir, const char *id);

/* Does recipient ri of m want a notice of this kind (DSN_NOTIFY_*)?  From
 * its NOTIFY (attribute dsn_notify.N); the null sender never gets one. */
bool bounce_wants(const queue_msg *m, size_t ri, int kind);

/* What bounce_notify does. */
#define BOUNCE_NOTIFY_LOG 1    /* the notices of the log, then remove it */
#define BOUNCE_NOTIFY_DELAY 2  /* a delay notice, unless one was sent */

/* Has the delay notice of this message been sent? */
bool bounce_delay_sent(const char *queue_dir, const char *id);

/* Send the notices for message m (as qmgr knows it: statuses in memory
 * are what count) in a child process named "bounce", and wait for it.
 * defer_text holds "ADDR TAB DSN TAB TEXT" lines of the recipients that
 * are still deferred (for the delay notice), or NULL.  Returns 0 when
 * every notice is durable in the queue (or none was due), -1 when not:
 * the log stays and the caller tries again later. */
int bounce_notify(const char *queue_dir, const queue_msg *m, int what,
                  const char *defer_text);

#endif
