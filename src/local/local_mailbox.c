/*
 * local_mailbox - what the Maildir and mbox writers share: failure reports
 * and the copy of the message; see local_mailbox.h.
 *
 * A mailbox that is not a plain file could be a permanent failure (5.2.0);
 * we defer (4.2.0) so that the administrator can look before any mail is
 * returned.
 */
#include "local/local_mailbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"

#define LOCAL_MAILBOX_COPY_BUF 65536

int local_mailbox_fail(local_fail *f, int err, const char *dsn_other,
                       const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (err == EDQUOT || err == EFBIG)
        f->dsn = "4.2.2";
    else if (err == ENOSPC)
        f->dsn = "4.3.1";
    else
        f->dsn = dsn_other;
    if (err != 0) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, ": %s", strerror(err));
    }
    f->text = mem_strdup(text);
    return -1;
}

/* Copy the message (prepend, then content) to fd. */
int local_mailbox_copy(int out, const local_msg *m)
{
    if (fs_write_all(out, m->prepend, strlen(m->prepend)) < 0)
        return -1;
    char *b = mem_alloc(LOCAL_MAILBOX_COPY_BUF);
    off_t off = m->off;
    size_t left = m->len;
    int r = 0;
    while (left > 0) {
        size_t want = left < LOCAL_MAILBOX_COPY_BUF ? left : LOCAL_MAILBOX_COPY_BUF;
        ssize_t n = pread(m->fd, b, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the queue file is shorter than it says */
            r = -1;
            break;
        }
        if (fs_write_all(out, b, (size_t)n) < 0) {
            r = -1;
            break;
        }
        off += n;
        left -= (size_t)n;
    }
    mem_free(&b);
    return r;
}

