/*
 * qmgr_int - qmgr's internal types, shared by qmgr.c (service, scans),
 * qmgr_message.c (active messages, defer, expire, remove) and
 * qmgr_deliver.c (agent connections and concurrency).
 */
#ifndef POSTIE_QMGR_QMGR_INT_H
#define POSTIE_QMGR_QMGR_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "global/queue_file.h"
#include "util/buf.h"

/* Per-recipient scheduling state within one pass over a message. */
enum qmgr_rstate {
    QMGR_R_WAIT = 0,   /* to be handed to an agent */
    QMGR_R_BUSY,       /* an agent has it */
    QMGR_R_DONE,       /* finished in this pass (sent, failed or deferred) */
};

/* Where a recipient goes: decided once, when the message becomes active. */
typedef struct qmgr_route {
    const char *transport;     /* "local", "smtp" (string literals) */
    char *nexthop;
    char *key;                 /* concurrency key: transport:destination */
    long long limit;           /* per-destination concurrency */
} qmgr_route;

typedef struct qmgr_msg {
    char id[QUEUE_ID_SIZE];
    char *path;                /* queue_dir/active/ID */
    queue_msg *m;
    unsigned char *rstate;     /* enum qmgr_rstate per m->rcpts[i] */
    qmgr_route *routes;        /* per m->rcpts[i]; NULL until scheduled */
    struct qmgr_wait **wait;   /* per m->rcpts[i]: its entry on the
                                * destination's list while it waits */
    long long active_usec;     /* when it entered active/ */
    int inflight;
    size_t waiting;            /* recipients in QMGR_R_WAIT */
    bool deferred;             /* some recipient deferred in this pass */
    bool retry;                /* came from deferred/ or active/ (crash) */
    buf *defer_text;           /* "rcpt: reason" lines for defer/ID */
    bool notify;               /* bounce (issue 4): queue/bounce/ID has
                                * records, notices due when the pass ends */
    struct qmgr_msg *prev, *next;
} qmgr_msg;

/* Globals of the running qmgr (set once at start). */
extern char *qmgr_queue_dir;
extern size_t qmgr_active_count;
extern qmgr_msg *qmgr_active_head, *qmgr_active_tail;
extern bool qmgr_stopping;
extern bool qmgr_scan_more;   /* the last scan stopped at the active limit */

/* qmgr_message.c */
/* Move from (a queue subdirectory) into active/ and load it.  Returns 0
 * (loaded or dealt with: corrupt, gone, finished), -1 on a system error. */
int qmgr_message_activate(const char *from, const char *id);
/* Record a recipient's result: dsn class 2 marks D, 5 marks B, 4 defers.
 * dsn_passed: the agent said the next hop took the recipient's NOTIFY
 * ("dsn_passed=", RFC 3461 section 5.2), so a success gets no notice. */
void qmgr_message_result(qmgr_msg *qm, size_t ri, const char *dsn,
                         const char *text, bool dsn_passed);
/* Called when nothing is waiting or busy: remove, defer or expire. */
void qmgr_message_finish(qmgr_msg *qm);
/* Log a deferral made by qmgr itself (no agent reached). */
void qmgr_message_log_self(qmgr_msg *qm, size_t ri, const char *dsn,
                           const char *text, long long handoff);

/* qmgr_deliver.c */
/* Fill qm->routes (once) and put the waiting recipients on their
 * destinations' lists. */
void qmgr_deliver_routes(qmgr_msg *qm);
/* Take qm's recipients off those lists (before it is freed). */
void qmgr_deliver_forget(qmgr_msg *qm);
/* Start as many deliveries as the limits allow. */
void qmgr_deliver_schedule(void);
int qmgr_deliver_inflight(void);
/* Forget every suspended ("dead") destination: a run over deferred/ (and
 * so a flush) tries them all again. */
void qmgr_deliver_revive_all(void);

/* qmgr.c */
/* Ask for an incoming scan soon (coalesced). */
void qmgr_scan_soon(void);
/* A deferred message is due at this time (epoch seconds): wake then. */
void qmgr_wake_at(long long when);

#endif
