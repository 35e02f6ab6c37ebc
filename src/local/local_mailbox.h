/*
 * local_mailbox - what the Maildir and mbox writers share: the message to
 * write (the queue file's content plus the header lines put before it) and
 * how a failure is reported.
 *
 * Both writers prepend "Return-Path: <sender>" and "Delivered-To: rcpt"
 * (what Postfix's local does; Delivered-To is also the forwarding-loop
 * check).  DSN codes (RFC 3463): a full mailbox (EDQUOT, EFBIG) is 4.2.2, a
 * full file system 4.3.1, other write or lock problems 4.2.0: all
 * temporary, so qmgr retries while an administrator fixes the cause.
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

/* Fill *f (DSN by errno err, else dsn_other; text with ": strerror(err)"
 * when err != 0) and return -1. */
int local_mailbox_fail(local_fail *f, int err, const char *dsn_other,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Write the prepended lines and the content to fd.  0, or -1 (errno). */
int local_mailbox_copy(int out, const local_msg *m);

#endif
