/*
 * local_mailbox - write one message into a Maildir or an mbox file.
 *
 * Maildir (maildir(5), D. J. Bernstein's layout): the message is written
 * to tmp/NAME, fsynced, hard-linked to new/NAME, tmp/NAME unlinked, new/
 * fsynced.  NAME is derived from the queue ID, the recipient index and the
 * target address, so a delivery repeated after a crash (the mailbox write
 * was durable, qmgr's mark was not) finds new/NAME and counts as done:
 * exactly once for Maildir, also when a reader already moved the first
 * copy to cur/ (looked for on repeated attempts only).
 *
 * mbox (mbox(5)): locked with a dotlock (NAME.lock, O_EXCL, stale after
 * 5 minutes) and an fcntl write lock, in this order as Debian's MUAs
 * expect; appended: "From sender date" line, the message with mboxrd
 * quoting (a line matching ^>*From  gets one more '>', which a reader can
 * undo exactly, unlike mboxo's), a final empty line; fsynced.  On any
 * error the file is truncated back to its old size, so a failed delivery
 * leaves no partial message.
 *
 * Both prepend "Return-Path: <sender>" and "Delivered-To: rcpt" (what
 * Postfix's local does; Delivered-To is also the forwarding-loop check).
 *
 * Does not: choose the mailbox, change privileges, or log.
 */
#ifndef POSTIE_LOCAL_LOCAL_MAILBOX_H
#define POSTIE_LOCAL_LOCAL_MAILBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The message to write: content at [off, off+len) of fd (the queue file),
 * and the header lines to put before it (each ending in LF). */
typedef struct local_msg {
    int fd;
    off_t off;
    size_t len;
    const char *prepend;
    const char *sender;     /* "" for the null sender */
} local_msg;

/* A failure: DSN code (static) and a new text. */
typedef struct local_fail {
    const char *dsn;
    char *text;
} local_fail;

/* The Maildir file name for a delivery (no directory). */
char *local_maildir_name(long long arrival_sec, const char *id, int index,
                         const char *target, size_t size);

/* Deliver into the Maildir at dir (created with tmp, new, cur when
 * missing).  0 delivered or already there, -1 with *f filled.  With
 * look_in_cur (a repeated attempt), a file a reader already moved to cur/
 * (NAME:2,FLAGS) also counts as there: one directory scan, paid only by
 * repeats. */
int local_maildir_deliver(const char *dir, const char *name,
                          const local_msg *m, bool look_in_cur,
                          local_fail *f);

/* Deliver into the mbox file at path (created mode 0600 when missing; when
 * uid >= 0 a new file is given to uid:gid).  0, or -1 with *f filled. */
int local_mbox_deliver(const char *path, const local_msg *m, long uid,
                       long gid, local_fail *f);

/* Copy len bytes from in to out with mboxrd quoting, adding a final LF if
 * the content lacks one.  0, or -1 (errno).  Exposed for tests. */
int local_mbox_quote(FILE *in, size_t len, FILE *out);

#endif
