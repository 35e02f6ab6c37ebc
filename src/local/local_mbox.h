/*
 * local_mbox - append one message to an mbox file (mbox(5)).
 *
 * Opened as Postfix's strict_mailbox_ownership: an existing file must be a
 * regular file with one link owned by the recipient (fstat on the
 * O_NOFOLLOW | O_NONBLOCK descriptor, so a FIFO does not block); a new one
 * is made with O_EXCL.  Locked with a dotlock (NAME.lock, O_EXCL; one that
 * is not a regular file of the recipient or root is honoured 2 s only;
 * stale after 5 minutes by lstat) and an fcntl write lock, in this order
 * as Debian's MUAs expect; appended: "From
 * sender date" line, the message with mboxrd quoting (a line matching
 * ^>*From  gets one more '>', which a reader can undo exactly, unlike
 * mboxo's), a final empty line; fsynced.  On any error the file is
 * truncated back to its old size, so a failed delivery leaves no partial
 * message.
 *
 * Does not: choose the file, change privileges, or log.
 */
#ifndef POSTIE_LOCAL_LOCAL_MBOX_H
#define POSTIE_LOCAL_LOCAL_MBOX_H

#include "local/local_mailbox.h"

/* Deliver into the mbox file at path for the recipient uid (uid < 0: the
 * user we run as).  An existing file must be theirs; a missing one is
 * created mode 0600 with O_EXCL and, when uid >= 0, given to uid:gid.
 * 0, or -1 with *f filled (4.2.0 "destination PATH is not owned by
 * recipient" and the like: docs/local.md, "Opening an mbox"). */
int local_mbox_deliver(const char *path, const local_msg *m, long uid,
                       long gid, local_fail *f);

/* Copy len bytes from in to out with mboxrd quoting, adding a final LF if
 * the content lacks one.  0, or -1 (errno).  Exposed for tests. */
int local_mbox_quote(FILE *in, size_t len, FILE *out);

#endif
