/*
 * cleanup - turns an SMTP transaction into a queue file: gives it its queue
 * ID, writes the envelope, adds the Received header (RFC 5321 section 4.4)
 * and, where missing, Message-ID and Date (RFC 5322 section 3.6), limits
 * header size, and commits durably (file and directory fsynced) before the
 * caller may say 250.
 *
 * cleanup runs as a library inside smtpd (and pickup): see
 * docs/architecture.md for why.  Its log lines carry the program name
 * "cleanup".
 *
 * Does not: parse SMTP, decide which recipients are acceptable, or move the
 * file out of incoming/ (qmgr does).
 */
#ifndef POSTIE_CLEANUP_CLEANUP_H
#define POSTIE_CLEANUP_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cleanup cleanup;

/* RFC 5321 section 6.3: a loop is assumed past this many Received headers
 * (Postfix's hopcount_limit default). */
#define CLEANUP_HOP_LIMIT 50

/* Results of cleanup_commit. */
#define CLEANUP_OK 0
#define CLEANUP_TEMP (-1) /* 451 4.3.0: try again later */
#define CLEANUP_PERM (-2) /* 554 5.x.x: do not try again */

/* What the Received header says about the client.  For local submission
 * (pickup) leave addr NULL: the header then has Postfix's local form
 * "Received: by HOST (postie, from userid UID)\n\tid ID; DATE". */
typedef struct cleanup_client {
    const char *helo;   /* may be NULL or "" */
    const char *name;   /* "unknown" when there is no verified name */
    const char *addr;   /* printable address; NULL: local submission */
    bool ipv6;
    const char *proto;  /* SMTP, ESMTP, ESMTPS ... (RFC 3848) */
    const char *tls;    /* "TLSv1.3 with cipher X (256/256 bits)" for the
                         * Received header's comment, or NULL */
    long uid;           /* local submission: the submitter's uid, or -1 */
} cleanup_client;

/* Create incoming/ID and write the sender ("" for <>).  Returns 0, or -1
 * with *err_r (a new string). */
int cleanup_open(const char *queue_dir, const char *sender, cleanup **c_r,
                 char **err_r);
const char *cleanup_id(const cleanup *c);
int cleanup_attr(cleanup *c, const char *name, const char *value);
int cleanup_rcpt(cleanup *c, const char *addr, const char *orcpt);
int cleanup_nrcpt(const cleanup *c);
/* Start the content; writes the Received header. */
int cleanup_begin(cleanup *c, const cleanup_client *client);
/* One content line without its line end (it is stored with LF). */
void cleanup_line(cleanup *c, const char *line, size_t len);
/* Content size as stored so far (Postfix's size=). */
size_t cleanup_size(const cleanup *c);
/* Finish the headers if needed, commit.  On CLEANUP_OK the message is
 * durable.  Otherwise *why_r is a new string with the reply text (without
 * the code) and the file is gone.  *cp is freed either way. */
int cleanup_commit(cleanup **cp, char **why_r);
/* Throw the message away (RSET, lost connection, rejected content). */
void cleanup_abort(cleanup **cp);

/* The forms cleanup writes, exposed for tests.  "Mon, 23 Nov 2026 16:34:00
 * +0000 (UTC)" in the local time zone (RFC 5322 section 3.3). */
void cleanup_date(char *out, size_t outlen, long long epoch_sec);

#endif
