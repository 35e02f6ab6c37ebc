/*
 * local_mbox - append one message to an mbox file (mbox(5)).
 *
 * Locked with a dotlock (NAME.lock, O_EXCL, stale after 5 minutes) and an
 * fcntl write lock, in this order as Debian's MUAs expect; appended: "From
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

/* Deliver into the mbox file at path (created mode 0600 when missing; when
 * uid >= 0 a new file is given to uid:gid).  0, or -1 with *f filled. */
int local_mbox_deliver(const char *path, const local_msg *m, long uid,
                       long gid, local_fail *f);

/* Copy len bytes from in to out with mboxrd quoting, adding a final LF if
 * the content lacks one.  0, or -1 (errno).  Exposed for tests. */
int local_mbox_quote(FILE *in, size_t len, FILE *out);

#endif
