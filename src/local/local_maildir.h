/*
 * local_maildir - write one message into a Maildir (maildir(5), D. J.
 * Bernstein's layout): tmp/NAME, fsync, hard link to new/NAME, unlink
 * tmp/NAME, fsync new/.  NAME is derived from the queue ID, the recipient
 * index and the target address, so a delivery repeated after a crash (the
 * mailbox write was durable, qmgr's mark was not) finds new/NAME and counts
 * as done: exactly once for Maildir, also when a reader already moved the
 * first copy to cur/ (looked for on repeated attempts only).
 *
 * Does not: choose the Maildir, change privileges, or log.
 */
#ifndef POSTIE_LOCAL_LOCAL_MAILDIR_H
#define POSTIE_LOCAL_LOCAL_MAILDIR_H

#include "local/local_mailbox.h"

/* The Maildir file name for a delivery (no directory). */
char *local_maildir_name(long long arrival_sec, const char *id, int index,
                         const char *target, size_t size);

/* Deliver into the Maildir at dir (created with tmp, new, cur when
 * missing).  0 delivered or already there, -1 with *f filled.  With
 * look_in_cur (a repeated attempt), a file a reader already moved to cur/
 * (NAME:2,FLAGS) also counts as there: one directory scan, paid only by
 * repeats.  release, when not NULL, is called once the message is written
 * to tmp/ and only the fsyncs, the link and the fsync of new/ are left:
 * from then on this delivery only waits for the disk.  The return value
 * still says whether the whole delivery is durable. */
int local_maildir_deliver(const char *dir, const char *name,
                          const local_msg *m, bool look_in_cur,
                          void (*release)(void *), void *release_ctx,
                          local_fail *f);

#endif
