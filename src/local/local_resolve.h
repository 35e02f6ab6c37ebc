/*
 * local_resolve - from one envelope recipient to the list of things to do:
 * mailboxes of local users, addresses in other domains to forward to, and
 * failures.  Aliases expand recursively (RFC 5321 section 3.9.1: an alias
 * replaces the recipient by its list), with:
 *   - a loop check: a name already being expanded is not expanded again;
 *     if it is also a user, that user's mailbox gets the mail (the
 *     "bob: bob, archive" idiom), else it fails with 5.4.6;
 *   - a depth limit of LOCAL_RESOLVE_MAX_DEPTH (5.4.6 beyond);
 *   - duplicates removed (one copy per mailbox or address).
 * A bare name in an alias ("alice") is taken as alice@$myorigin, as
 * Postfix does.  A system user's ~/.forward (a plain file of the user's,
 * writable by nobody else) replaces that user's mailbox the same way;
 * "\\name" in it is name's own mailbox.  postmaster with no alias and no user goes to the first
 * user of the users file, else to root when system users are on.
 *
 * Does not: deliver or log.
 */
#ifndef POSTIE_LOCAL_LOCAL_RESOLVE_H
#define POSTIE_LOCAL_LOCAL_RESOLVE_H

#include <stddef.h>

#define LOCAL_RESOLVE_MAX_DEPTH 20

enum local_target_kind {
    LOCAL_T_MAILBOX,   /* user's mailbox */
    LOCAL_T_FORWARD,   /* another domain: a new message */
    LOCAL_T_FAIL,      /* permanent failure: dsn + text */
};

typedef struct local_target {
    enum local_target_kind kind;
    char *addr;        /* the address as logged in to=<> */
    char *user;        /* LOCAL_T_MAILBOX: user name (lower case) */
    char *dsn;         /* LOCAL_T_FAIL */
    char *text;        /* LOCAL_T_FAIL */
} local_target;

typedef struct local_targets {
    local_target *v;
    size_t n;
} local_targets;

/* Resolve rcpt.  0 (targets in *t, at least one), or -1 for a temporary
 * failure (*why_r: a new string, e.g. an unreadable alias file). */
int local_resolve(const char *rcpt, local_targets *t, char **why_r);
void local_targets_free(local_targets *t);

#endif
