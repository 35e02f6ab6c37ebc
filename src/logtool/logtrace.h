/*
 * logtrace - put log lines together into messages: the correlation engine
 * behind "postie log trace" and "postie log follow".
 *
 * A message is keyed by (host, instance, queue ID); its lines are kept (as
 * raw text, re-parsed when printed) until it is finished.  The engine
 * follows what a grep cannot:
 *   - the smtpd session that carried a message, by (host, pid) between
 *     "connect from" and "disconnect from";
 *   - a bounce or notification to the new queue ID it created, in either
 *     order of the lines (Postfix >= 3.9 logs the bounce line first);
 *   - hops on the same host: messages with the same Message-ID (content
 *     filter, second instance) join one group;
 *   - qmail's delivery numbers and bounce qp, Exim's R= parent, Sendmail's
 *     DSN lines, DMA's per-recipient lines, Dovecot's LMTP/LDA deliveries
 *     (joined to the message with the same Message-ID);
 *   - a mailbox session (Dovecot's or postie's pop3d): the login line and
 *     the logged-in session's lines share the session id, and a query for
 *     the user name finds them.
 * Linked messages form a group; a query matches a group when any line of
 * any member matches it (queue ID, Message-ID, sender or recipient address,
 * "@domain").
 *
 * Memory is bounded: finished messages nobody asked for are dropped (after
 * a short grace so late lines still find them), and the number of open
 * messages is capped (oldest dropped first and counted).
 *
 * What it does not do: read files or print (logtool_trace.c, logtool_follow.c).
 */
#ifndef POSTIE_LOGTOOL_LOGTRACE_H
#define POSTIE_LOGTOOL_LOGTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logtool/logline.h"
#include "util/buf.h"

typedef struct logtrace_step {
    uint32_t off, len;          /* the raw line in msg->text */
    long long time;             /* epoch seconds or -1 */
    int usec;
} logtrace_step;

typedef struct logtrace_group logtrace_group;

typedef struct logtrace_msg {
    char *key;                  /* host \x1f instance \x1f queue ID */
    size_t keylen;
    size_t hash;                /* of key */
    size_t mhash;               /* of msgid */
    char *qid;                  /* points into key */
    char *host;                 /* same allocation as key */
    char *instance;             /* same allocation: "postfix", "postfix-out", "postie" */
    char *msgid;                /* first Message-ID seen, or NULL */
    char *parent;               /* queue ID of the message that caused this one */
    const char *link;           /* "bounce", "hop", "delivery" ... or NULL */
    enum logline_format format;
    unsigned long seq;          /* creation order */

    char *text;                 /* the raw lines, each followed by '\n' */
    size_t text_len, text_cap;
    logtrace_step *steps;
    size_t nsteps, steps_cap;
    size_t dropped;             /* lines not kept (per-message cap) */
    long long first_time, last_time;

    long nrcpt;                 /* from the queued line, -1 unknown */
    int pending;                /* DMA/qmail deliveries started, not finished */
    int finals;                 /* final results (sent, bounced, expired) */
    bool done;                  /* removed from the queue (or equivalent) */
    bool pseudo;                /* a NOQUEUE reject or a lone mailbox delivery */
    bool session;               /* a mailbox (POP3/IMAP) session: qid is
                                   "session ID", the lines its login and
                                   logged-in session (also pseudo) */

    struct logtrace_msg *hnext;             /* hash chain */
    struct logtrace_msg **hpp;              /* the pointer that points here */
    struct logtrace_msg *mnext;             /* Message-ID chain */
    struct logtrace_msg **mpp;
    bool in_msgid;                          /* linked in the Message-ID table */
    struct logtrace_msg *lprev, *lnext;     /* eviction list */
    int lru;                                /* which list: 0 none, 1 open, 2 done */
    logtrace_group *group;
    struct logtrace_msg *gprev, *gnext;     /* group members */
    struct logtrace_msg *xprev, *xnext;     /* all matched messages */
    bool in_x;
} logtrace_msg;

struct logtrace_group {
    bool matched;
    size_t n;
    logtrace_msg *head;
    unsigned long seq;          /* of the first member: output order */
    bool printed;
};

typedef struct logtrace logtrace;
typedef void (*logtrace_done_fn)(logtrace *t, logtrace_msg *m, void *ctx);
/* A finished matched group, members in order of creation; freed after. */
typedef void (*logtrace_emit_fn)(logtrace *t, logtrace_msg **msgs, size_t n, void *ctx);

typedef struct logtrace_stats {
    unsigned long long messages;        /* messages seen */
    unsigned long long evicted_open;    /* unfinished, dropped for the cap */
    unsigned long long sessions;
    size_t open, done_kept;
} logtrace_stats;

/* query NULL: nothing matches (follow uses the done callback instead). */
logtrace *logtrace_new(const char *query);
void logtrace_free(logtrace **tp);
void logtrace_set_done(logtrace *t, logtrace_done_fn fn, void *ctx);
/*
 * With an emit function, a matched group is handed over (and freed) once all
 * its members are finished and have aged out of the finished list, so that
 * even a query matching most of a huge log needs bounded memory.  Without
 * one, matched messages are kept to the end (logtrace_matched).
 */
void logtrace_set_emit(logtrace *t, logtrace_emit_fn fn, void *ctx);
/* Caps: open messages, finished-but-kept messages (defaults 500000, 20000). */
void logtrace_set_caps(logtrace *t, size_t open_cap, size_t done_cap);

/* Feed one parsed line. */
void logtrace_line(logtrace *t, const logline *ll);

/*
 * The matched messages not emitted yet, grouped (members of one group
 * adjacent, groups in order of appearance, members in order of creation).  The array is the
 * caller's to free (mem_free); the messages stay the engine's.
 */
size_t logtrace_matched(logtrace *t, logtrace_msg ***msgs_r);
const logtrace_stats *logtrace_stats_get(logtrace *t);

/* Drop a finished message now (follow, after printing it). */
void logtrace_forget(logtrace *t, logtrace_msg *m);

/* ---- rendering (logtrace_print.c) ---- */

/* The overall outcome: "delivered", "bounced", "deferred (still in queue)". */
const char *logtrace_print_outcome(const logtrace_msg *m);
/* The message's path as text, with explanations. */
void logtrace_print_text(const logtrace_msg *m, bool verbose, buf *out);
/* The message as one JSON object. */
void logtrace_print_json(const logtrace_msg *m, buf *out);
/* JSON string escaping (appends the quoted string). */
void logtrace_print_jstr(buf *out, const char *s, size_t n);

#endif
