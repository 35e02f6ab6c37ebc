/*
 * qmgr_deliver - hand recipients to delivery agents and collect results.
 *
 * One connection to queue/private/TRANSPORT per recipient (the protocol is
 * in global/deliver_request.h).  Limits: default_process_limit deliveries
 * per transport; per destination local_destination_concurrency_limit (one local
 * user: the recipient address) or default_destination_concurrency_limit
 * (one remote domain).  A recipient held back by its destination's limit
 * does not hold back the others.
 *
 * Dead destinations (Postfix's throttling): when an agent says with a
 * "dead=" line that the next hop could not be reached at all, the
 * destination (its concurrency key) is suspended for
 * min(queue_run_delay, minimal_backoff_time): its other recipients are
 * deferred by qmgr without a connection to the agent ("delivery
 * temporarily suspended: REASON").  A success reported for it, the end of
 * that time or the next run over deferred/ (periodic, a back-off that ran
 * out, postie queue flush) revives it.
 *
 * Cost: work in proportion to what changed, as Postfix's in-core queue.
 * A message's recipients are routed once, when it becomes active, and each
 * waiting one is put on its destination's list (FIFO, so a message's
 * recipients sit side by side and batch together).  A destination is
 * "ready" while it has waiting recipients and a free slot under its
 * limit; ready destinations hang on their transport's list.  A schedule
 * pass walks, per transport that has room, only its ready destinations,
 * and stops a transport at default_process_limit; a destination that
 * starts a delivery goes to the back of the list (round robin, so one
 * busy destination cannot starve the others).  Destinations are found by
 * a hash of their key.  Nothing rescans active/.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "global/deliver_log.h"
#include "global/deliver_request.h"
#include "global/mail_addr.h"
#include "global/mail_conf.h"
#include "qmgr/qmgr_int.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

/* An agent that is not there yet (starting, or being restarted by master
 * after a crash) is waited for quietly for a few seconds before its
 * recipients are deferred: otherwise every message found at start would
 * wait a whole minimal_backoff_time for an agent that was up 50 ms later. */
#define QMGR_AGENT_GRACE 10.0
#define QMGR_AGENT_RETRY 0.25

struct qmgr_dest;

typedef struct qmgr_agent {
    char name[32];
    double down_since;   /* 0: reachable */
    double retry_at;
    int inflight;        /* connections open to it */
    struct qmgr_dest *ready_head, *ready_tail; /* its ready destinations */
    size_t nready;
} qmgr_agent;

/* One waiting recipient on its destination's list; qm->wait[ri] points
 * back, so that it leaves the list in O(1) when it stops waiting.  The
 * invariant: on the list exactly while qm->rstate[ri] == QMGR_R_WAIT. */
typedef struct qmgr_wait {
    qmgr_msg *qm;
    size_t ri;
    struct qmgr_dest *dest;
    struct qmgr_wait *prev, *next;
} qmgr_wait;

/* A destination (a concurrency key, "transport:destination"): alive while
 * it has deliveries in flight or recipients waiting. */
typedef struct qmgr_dest {
    char *key;
    unsigned hash;
    int count;                 /* deliveries in flight (until "release") */
    long long limit;           /* <= 0: none */
    qmgr_agent *agent;
    qmgr_wait *wait_head, *wait_tail;
    size_t nwait;
    bool ready;                /* on agent's ready list */
    struct qmgr_dest *rprev, *rnext;
    struct qmgr_dest *hnext;   /* hash chain */
} qmgr_dest;

/* One connection to an agent: one recipient for local, up to
 * default_destination_recipient_limit (Postfix's; at most QMGR_BATCH, what
 * a request of the largest addresses holds) recipients of one message and
 * one destination for the others (one SMTP transaction for them). */
#define QMGR_BATCH 50

typedef struct qmgr_job {
    qmgr_msg *qm;
    size_t ri[QMGR_BATCH];     /* indexes into qm->m->rcpts */
    bool done[QMGR_BATCH];
    bool dsn_passed[QMGR_BATCH]; /* a "dsn_passed=" line came for it */
    size_t n, answered;
    qmgr_dest *dest;
    struct qmgr_agent *agent;
    const char *transport;
    int fd;
    uint64_t timer;
    buf *in;
} qmgr_job;

#define QMGR_DEST_BUCKETS 4096 /* a power of two */
static qmgr_dest *qmgr_dest_table[QMGR_DEST_BUCKETS];
static int qmgr_inflight;

/* A suspended destination: a short list (one entry per unreachable next
 * hop), pruned as entries run out. */
typedef struct qmgr_dead {
    char *key;
    double until;              /* event_now() time */
    char dsn[16];
    char *text;                /* the failure that suspended it */
    struct qmgr_dead *next;
} qmgr_dead;

static qmgr_dead *qmgr_deads;

static void qmgr_deliver_dead_free(qmgr_dead **pp)
{
    qmgr_dead *d = *pp;
    *pp = d->next;
    mem_free(&d->key);
    mem_free(&d->text);
    mem_free(&d);
}

/* The live suspension of key, or NULL (expired ones go on the way). */
static qmgr_dead *qmgr_deliver_dead_find(const char *key)
{
    double now = event_now();
    for (qmgr_dead **pp = &qmgr_deads; *pp;) {
        if ((*pp)->until <= now) {
            qmgr_deliver_dead_free(pp);
            continue;
        }
        if (strcasecmp((*pp)->key, key) == 0)
            return *pp;
        pp = &(*pp)->next;
    }
    return NULL;
}

static void qmgr_deliver_dead_set(const char *key, const char *dsn,
                                  const char *text)
{
    /* Until the next queue run, and never longer than a deferred
     * message's own back-off: a destination that came back is found by
     * the first retry. */
    long long t = var_time("minimal_backoff_time");
    long long run = var_time("queue_run_delay");
    if (run < t)
        t = run;
    if (t <= 0)
        return;
    qmgr_dead *d = qmgr_deliver_dead_find(key);
    if (d == NULL) {
        d = mem_zalloc(sizeof(*d));
        d->key = mem_strdup(key);
        d->next = qmgr_deads;
        qmgr_deads = d;
    }
    d->until = event_now() + (double)t;
    snprintf(d->dsn, sizeof(d->dsn), "%s", dsn);
    mem_free(&d->text);
    d->text = mem_strdup(text);
}

static void qmgr_deliver_dead_clear(const char *key)
{
    for (qmgr_dead **pp = &qmgr_deads; *pp; pp = &(*pp)->next) {
        if (strcasecmp((*pp)->key, key) == 0) {
            qmgr_deliver_dead_free(pp);
            return;
        }
    }
}

void qmgr_deliver_revive_all(void)
{
    while (qmgr_deads)
        qmgr_deliver_dead_free(&qmgr_deads);
}

static qmgr_agent qmgr_agents[8];
static long long qmgr_process_limit = 100; /* read once per schedule pass */
static size_t qmgr_rcpt_limit = QMGR_BATCH;  /* the same */
static uint64_t qmgr_agent_timer;

static qmgr_agent *qmgr_deliver_agent(const char *name)
{
    for (size_t i = 0; i < sizeof(qmgr_agents) / sizeof(qmgr_agents[0]); i++) {
        if (strcmp(qmgr_agents[i].name, name) == 0)
            return &qmgr_agents[i];
        if (qmgr_agents[i].name[0] == '\0') {
            snprintf(qmgr_agents[i].name, sizeof(qmgr_agents[i].name), "%s", name);
            return &qmgr_agents[i];
        }
    }
    return &qmgr_agents[0]; /* more transports than slots: share one */
}

static void qmgr_deliver_agent_retry(void *ctx)
{
    qmgr_agent_timer = 0;
    qmgr_deliver_schedule();
}

int qmgr_deliver_inflight(void)
{
    return qmgr_inflight;
}

/* Keys compare without regard to case (domains, RFC 5321 section 2.4). */
static unsigned qmgr_deliver_hash(const char *key)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ (unsigned)tolower(*p)) * 16777619u;
    return h;
}

static qmgr_dest *qmgr_deliver_dest(const char *key, const char *transport,
                                    long long limit)
{
    unsigned h = qmgr_deliver_hash(key);
    qmgr_dest **bucket = &qmgr_dest_table[h & (QMGR_DEST_BUCKETS - 1)];
    for (qmgr_dest *d = *bucket; d; d = d->hnext)
        if (d->hash == h && strcasecmp(d->key, key) == 0)
            return d;
    qmgr_dest *d = mem_zalloc(sizeof(*d));
    d->key = mem_strdup(key);
    d->hash = h;
    d->limit = limit;
    d->agent = qmgr_deliver_agent(transport);
    d->hnext = *bucket;
    *bucket = d;
    return d;
}

/* Put d on or take it off its agent's ready list, as its state says; free
 * it when nothing refers to it any more. */
static void qmgr_deliver_dest_update(qmgr_dest *d)
{
    qmgr_agent *ag = d->agent;
    bool ready = d->nwait > 0 && (d->limit <= 0 || d->count < d->limit);
    if (ready && !d->ready) {
        d->rprev = ag->ready_tail;
        d->rnext = NULL;
        if (ag->ready_tail)
            ag->ready_tail->rnext = d;
        else
            ag->ready_head = d;
        ag->ready_tail = d;
        ag->nready++;
        d->ready = true;
    } else if (!ready && d->ready) {
        if (d->rprev)
            d->rprev->rnext = d->rnext;
        else
            ag->ready_head = d->rnext;
        if (d->rnext)
            d->rnext->rprev = d->rprev;
        else
            ag->ready_tail = d->rprev;
        ag->nready--;
        d->ready = false;
    }
    if (d->count == 0 && d->nwait == 0) {
        qmgr_dest **pp = &qmgr_dest_table[d->hash & (QMGR_DEST_BUCKETS - 1)];
        while (*pp != d)
            pp = &(*pp)->hnext;
        *pp = d->hnext;
        mem_free(&d->key);
        mem_free(&d);
    }
}

/* Round robin: the destination that just started a delivery waits behind
 * the others of its transport. */
static void qmgr_deliver_dest_to_back(qmgr_dest *d)
{
    qmgr_agent *ag = d->agent;
    if (!d->ready || ag->ready_tail == d)
        return;
    if (d->rprev)
        d->rprev->rnext = d->rnext;
    else
        ag->ready_head = d->rnext;
    d->rnext->rprev = d->rprev; /* not the tail: checked above */
    d->rprev = ag->ready_tail;
    d->rnext = NULL;
    ag->ready_tail->rnext = d;
    ag->ready_tail = d;
}

static void qmgr_deliver_dest_release(qmgr_dest *d)
{
    d->count--;
    qmgr_deliver_dest_update(d);
}

/* Recipient ri of qm waits for a delivery: onto its destination's list. */
static void qmgr_deliver_wait(qmgr_msg *qm, size_t ri)
{
    const qmgr_route *rt = &qm->routes[ri];
    qmgr_dest *d = qmgr_deliver_dest(rt->key, rt->transport, rt->limit);
    qmgr_wait *w = mem_zalloc(sizeof(*w));
    w->qm = qm;
    w->ri = ri;
    w->dest = d;
    w->prev = d->wait_tail;
    if (d->wait_tail)
        d->wait_tail->next = w;
    else
        d->wait_head = w;
    d->wait_tail = w;
    d->nwait++;
    qm->wait[ri] = w;
    qmgr_deliver_dest_update(d);
}

/* Recipient ri of qm stops waiting (started, or deferred by qmgr). */
static void qmgr_deliver_unwait(qmgr_msg *qm, size_t ri)
{
    qmgr_wait *w = qm->wait[ri];
    if (w == NULL)
        return;
    qmgr_dest *d = w->dest;
    if (w->prev)
        w->prev->next = w->next;
    else
        d->wait_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        d->wait_tail = w->prev;
    d->nwait--;
    qm->wait[ri] = NULL;
    mem_free(&w);
    qmgr_deliver_dest_update(d);
}

/* Which agent, which next hop, which concurrency key and limit.  Domains
 * of mydestination go to local; the rest to smtp (issue 5), through
 * relayhost when set. */
static const char *qmgr_deliver_route(const char *addr, char **nexthop_r,
                                      char **key_r, long long *limit_r)
{
    char *local, *domain;
    mail_addr_split(addr, &local, &domain);
    const char *transport;
    /* local_transport (Postfix's name and syntax, "transport:nexthop")
     * may send mydestination's recipients to the lmtp agent, e.g.
     * "lmtp:unix:/run/dovecot/lmtp" or "lmtp:inet:127.0.0.1:24" (issue 4);
     * they then bypass local (no aliases, no .forward), as in Postfix. */
    const char *lt = var_str("local_transport");
    if (mail_addr_domain_is_local(domain) && strncmp(lt, "lmtp:", 5) == 0) {
        transport = "lmtp";
        *nexthop_r = mem_strdup(lt + 5);
        size_t n = strlen(*nexthop_r) + 8;
        *key_r = mem_alloc(n);
        snprintf(*key_r, n, "lmtp:%s", *nexthop_r);
        *limit_r = var_int("default_destination_concurrency_limit");
    } else if (mail_addr_domain_is_local(domain)) {
        transport = "local";
        *nexthop_r = mem_strdup(domain);
        size_t n = strlen(addr) + 8;
        *key_r = mem_alloc(n);
        snprintf(*key_r, n, "local:%s", addr);
        *limit_r = var_int("local_destination_concurrency_limit");
    } else {
        transport = "smtp";
        const char *relay = var_str("relayhost");
        *nexthop_r = mem_strdup(*relay ? relay : domain);
        size_t n = strlen(*nexthop_r) + 8;
        *key_r = mem_alloc(n);
        snprintf(*key_r, n, "smtp:%s", *nexthop_r);
        *limit_r = var_int("default_destination_concurrency_limit");
    }
    mem_free(&local);
    mem_free(&domain);
    return transport;
}

void qmgr_deliver_routes(qmgr_msg *qm)
{
    if (qm->routes != NULL)
        return;
    size_t n = qm->m->nrcpt ? qm->m->nrcpt : 1;
    qm->routes = mem_zalloc(n * sizeof(*qm->routes));
    qm->wait = mem_zalloc(n * sizeof(*qm->wait));
    for (size_t i = 0; i < qm->m->nrcpt; i++) {
        if (qm->rstate[i] != QMGR_R_WAIT)
            continue;
        qmgr_route *r = &qm->routes[i];
        r->transport = qmgr_deliver_route(qm->m->rcpts[i].addr, &r->nexthop,
                                          &r->key, &r->limit);
        qmgr_deliver_wait(qm, i);
    }
}

void qmgr_deliver_forget(qmgr_msg *qm)
{
    if (qm->wait == NULL)
        return;
    for (size_t i = 0; i < qm->m->nrcpt; i++)
        qmgr_deliver_unwait(qm, i);
    mem_free(&qm->wait);
}

static void qmgr_deliver_end(qmgr_job *job)
{
    qmgr_msg *qm = job->qm;
    if (job->fd >= 0) {
        event_remove(job->fd);
        close(job->fd);
    }
    if (job->timer)
        event_cancel(job->timer);
    buf_free(&job->in);
    if (job->dest != NULL) /* not yet freed by a "release" line */
        qmgr_deliver_dest_release(job->dest);
    job->agent->inflight--;
    qmgr_inflight--;
    qm->inflight--;
    mem_free(&job);
    if (qm->waiting == 0 && qm->inflight == 0)
        qmgr_message_finish(qm);
    qmgr_deliver_schedule();
}

/* No result from the agent: qmgr logs the deferral itself. */
static void qmgr_deliver_fail(qmgr_job *job, const char *why)
{
    for (size_t k = 0; k < job->n; k++) {
        if (job->done[k])
            continue;
        qmgr_message_log_self(job->qm, job->ri[k], "4.3.0", why, 0);
        qmgr_message_result(job->qm, job->ri[k], "4.3.0", why, false);
        job->done[k] = true;
        job->answered++;
    }
    qmgr_deliver_end(job);
}

static void qmgr_deliver_timeout(void *ctx)
{
    qmgr_job *job = ctx;
    job->timer = 0;
    char why[200];
    snprintf(why, sizeof(why), "delivery agent %s timed out", job->transport);
    qmgr_deliver_fail(job, why);
}

static void qmgr_deliver_read(int fd, int events, void *ctx)
{
    qmgr_job *job = ctx;
    char tmp[4096];
    ssize_t n = read(fd, tmp, sizeof(tmp));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0 && buf_append(job->in, tmp, (size_t)n) < 0) {
        qmgr_deliver_fail(job, "delivery agent reply too long");
        return;
    }
    char *nl;
    while (job->answered < job->n &&
           (nl = memchr(job->in->data, '\n', job->in->len))) {
        *nl = '\0';
        if (strcmp(job->in->data, DELIVER_REPLY_RELEASE) == 0) {
            /* The agent only waits for the disk now: the next delivery to
             * this destination may start.  The recipients stay in flight
             * and unmarked until their results (docs/queue.md). */
            buf_consume(job->in, (size_t)(nl - job->in->data) + 1);
            if (job->dest != NULL) {
                qmgr_deliver_dest_release(job->dest);
                job->dest = NULL;
                qmgr_deliver_schedule();
            }
            continue;
        }
        int idx;
        size_t k;
        char dsn[16];
        const char *text;
        const char *key = job->qm->routes[job->ri[0]].key;
        int dead = deliver_dead_parse(job->in->data, dsn, &text);
        if (dead == 1) {
            /* The next hop is unreachable: the others queued for it wait
             * without a try (the schedule after this job defers them). */
            qmgr_deliver_dead_set(key, dsn, text);
            buf_consume(job->in, (size_t)(nl - job->in->data) + 1);
            continue;
        }
        int passed = dead == 0 ? deliver_dsn_passed_parse(job->in->data, &idx)
                               : 0;
        if (passed == 1) {
            /* For the result line that follows (deliver_request.h). */
            for (k = 0; k < job->n; k++)
                if (!job->done[k] && job->qm->m->rcpts[job->ri[k]].index == idx)
                    break;
            if (k < job->n) {
                job->dsn_passed[k] = true;
                buf_consume(job->in, (size_t)(nl - job->in->data) + 1);
                continue;
            }
        }
        k = job->n;
        if (dead == 0 && passed == 0 &&
            deliver_reply_parse(job->in->data, &idx, dsn, &text) == 0)
            for (k = 0; k < job->n; k++)
                if (!job->done[k] && job->qm->m->rcpts[job->ri[k]].index == idx)
                    break;
        if (k == job->n) {
            msg_warn("%s: malformed reply from delivery agent %s", job->qm->id,
                     job->transport);
            qmgr_deliver_fail(job, "malformed reply from delivery agent");
            return;
        }
        if (dsn[0] == '2') /* it works again (a delivery in flight) */
            qmgr_deliver_dead_clear(key);
        qmgr_message_result(job->qm, job->ri[k], dsn, text,
                            job->dsn_passed[k]);
        job->done[k] = true;
        job->answered++;
        buf_consume(job->in, (size_t)(nl - job->in->data) + 1);
    }
    if (job->answered == job->n) {
        qmgr_deliver_end(job);
        return;
    }
    if (n <= 0) {
        char why[200];
        snprintf(why, sizeof(why), "lost connection with delivery agent %s",
                 job->transport);
        qmgr_deliver_fail(job, why);
    }
}

static int qmgr_deliver_connect(const char *transport, char **err_r)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/%s",
                     qmgr_queue_dir, QUEUE_PRIVATE, transport);
    char why[400];
    if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
        *err_r = mem_strdup("socket path too long");
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, sizeof(why), "socket: %s", strerror(errno));
        *err_r = mem_strdup(why);
        return -1;
    }
    /* Blocking connect and write, bounded: an agent that accepts nothing
     * for 10 s costs a deferral, never a hung qmgr. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno; /* the caller tells "not there yet" by it */
        snprintf(why, sizeof(why),
                 "delivery temporarily suspended: connect to transport "
                 "private/%s: %s",
                 transport, strerror(errno));
        *err_r = mem_strdup(why);
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Start one delivery of the recipients ri[0..n); a failure before the
 * agent has the request is recorded at once (deferred, logged by qmgr).
 * Returns false when the agent is not there yet (nothing changed). */
static bool qmgr_deliver_start(qmgr_msg *qm, const size_t *ri, size_t n,
                               const char *transport, const char *nexthop,
                               qmgr_dest *dest)
{
    qmgr_agent *ag = qmgr_deliver_agent(transport);
    double now = event_now();
    if (ag->down_since > 0 && now < ag->retry_at)
        return false; /* still waiting for it; a timer reschedules */
    /* default_process_limit per transport, as Postfix's per-service
     * process limit: slow remote servers cannot take every slot from
     * local delivery. */
    if (ag->inflight >= qmgr_process_limit)
        return false;
    long long handoff = deliver_log_now();
    char *err = NULL;
    int fd = qmgr_deliver_connect(transport, &err);
    if (fd < 0 && (errno == ENOENT || errno == ECONNREFUSED ||
                   errno == EAGAIN)) {
        if (ag->down_since == 0)
            ag->down_since = now;
        if (now - ag->down_since < QMGR_AGENT_GRACE) {
            ag->retry_at = now + QMGR_AGENT_RETRY;
            if (qmgr_agent_timer == 0)
                qmgr_agent_timer = event_timer(QMGR_AGENT_RETRY,
                                               qmgr_deliver_agent_retry, NULL);
            mem_free(&err);
            return false;
        }
    } else if (fd >= 0) {
        ag->down_since = 0;
    }
    for (size_t k = 0; k < n; k++) {
        qm->rstate[ri[k]] = QMGR_R_BUSY;
        qm->waiting--;
        qmgr_deliver_unwait(qm, ri[k]);
    }
    if (fd >= 0) {
        char *hop = mem_strdup(nexthop);
        deliver_request dr = {
            .sender = qm->m->sender,
            .nexthop = hop,
            .arrival = qm->m->arrival_usec,
            .active = qm->active_usec,
            .handoff = handoff,
            .retry = qm->retry,
        };
        snprintf(dr.id, sizeof(dr.id), "%s", qm->id);
        deliver_rcpt list[QMGR_BATCH];
        for (size_t k = 0; k < n; k++) {
            const queue_rcpt *r = &qm->m->rcpts[ri[k]];
            list[k] = (deliver_rcpt){.index = r->index, .addr = r->addr,
                                     .orcpt = r->orcpt};
        }
        dr.rcpts = list;
        dr.nrcpt = n;
        buf *req = buf_new(DELIVER_REQUEST_MAX);
        if (deliver_request_format(req, &dr) < 0) {
            err = mem_strdup("recipient or sender not fit for a request");
        } else {
            const char *p = req->data;
            size_t left = req->len;
            while (left > 0) {
                ssize_t w = write(fd, p, left);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    char why[300];
                    snprintf(why, sizeof(why),
                             "lost connection with delivery agent %s: %s",
                             transport, strerror(errno));
                    err = mem_strdup(why);
                    break;
                }
                p += w;
                left -= (size_t)w;
            }
        }
        buf_free(&req);
        mem_free(&hop);
        if (err != NULL) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0) {
        for (size_t k = 0; k < n; k++) {
            qmgr_message_log_self(qm, ri[k], "4.3.0", err, 0);
            qmgr_message_result(qm, ri[k], "4.3.0", err, false);
        }
        mem_free(&err);
        return true;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    qmgr_job *job = mem_zalloc(sizeof(*job));
    job->qm = qm;
    memcpy(job->ri, ri, n * sizeof(*ri));
    job->n = n;
    job->dest = dest;
    job->agent = ag;
    ag->inflight++;
    job->transport = transport; /* a string literal */
    job->fd = fd;
    job->in = buf_new(DELIVER_REPLY_MAX * (n + 2)); /* + a "dead=" line */
    dest->count++;
    qm->inflight++;
    qmgr_inflight++;
    /* local_delivery_timeout bounds local's own work (the slack lets it
     * report its own timeout first); network agents have their per-command
     * timeouts, this is only a backstop. */
    double limit = (double)var_time("local_delivery_timeout") + 30;
    if (strcmp(transport, "local") != 0)
        /* smtp/lmtp bound a whole request by daemon_timeout themselves
         * (src/smtp): the backstop waits for that plus the slack, so qmgr
         * never defers a delivery the agent may still complete. */
        limit = (double)var_time("daemon_timeout") + 30;
    job->timer = event_timer(limit, qmgr_deliver_timeout, job);
    event_add(fd, EVENT_READ, qmgr_deliver_read, job);
    return true;
}

/* Defer every waiting recipient of a suspended destination (Postfix's
 * throttling: the agent is not asked). */
static void qmgr_deliver_suspend(qmgr_dest *d, const qmgr_dead *dd)
{
    char why[DELIVER_REPLY_MAX];
    snprintf(why, sizeof(why), "delivery temporarily suspended: %s", dd->text);
    char dsn[sizeof(dd->dsn)];
    snprintf(dsn, sizeof(dsn), "%s", dd->dsn);
    d->count++; /* keeps d alive while its list empties */
    while (d->wait_head) {
        qmgr_msg *qm = d->wait_head->qm;
        size_t ri = d->wait_head->ri;
        qmgr_deliver_unwait(qm, ri);
        qm->waiting--;
        qmgr_message_log_self(qm, ri, dsn, why, 0);
        qmgr_message_result(qm, ri, dsn, why, false);
        if (qm->waiting == 0 && qm->inflight == 0)
            qmgr_message_finish(qm);
    }
    qmgr_deliver_dest_release(d);
}

/* Start what d's limit and its agent allow.  False when the agent can take
 * no more now (its other destinations need not be tried). */
static bool qmgr_deliver_dest_run(qmgr_dest *d)
{
    const qmgr_dead *dd = qmgr_deliver_dead_find(d->key);
    if (dd != NULL) {
        qmgr_deliver_suspend(d, dd);
        return true;
    }
    qmgr_agent *ag = d->agent;
    d->count++; /* keeps d alive across the starts and finishes below */
    bool more = true;
    while (d->nwait > 0 && (d->limit <= 0 || d->count - 1 < d->limit)) {
        if (ag->inflight >= qmgr_process_limit ||
            (ag->down_since > 0 && event_now() < ag->retry_at)) {
            more = false;
            break;
        }
        qmgr_msg *qm = d->wait_head->qm;
        const qmgr_route *rt = &qm->routes[d->wait_head->ri];
        size_t batch[QMGR_BATCH];
        size_t n = 0;
        /* Others of this message to the same destination ride along
         * (local takes one recipient per request): they are next on the
         * list, put there together when the message became active. */
        for (qmgr_wait *w = d->wait_head;
             w && w->qm == qm && n < qmgr_rcpt_limit; w = w->next) {
            batch[n++] = w->ri;
            if (strcmp(rt->transport, "local") == 0)
                break;
        }
        if (!qmgr_deliver_start(qm, batch, n, rt->transport, rt->nexthop, d)) {
            more = false; /* the agent is not there yet */
            break;
        }
        qmgr_deliver_dest_to_back(d);
        if (qm->waiting == 0 && qm->inflight == 0)
            qmgr_message_finish(qm); /* every one deferred at once */
    }
    qmgr_deliver_dest_release(d);
    return more;
}

void qmgr_deliver_schedule(void)
{
    static bool busy;
    if (qmgr_stopping || busy)
        return;
    busy = true; /* finish() below may come back here */
    qmgr_process_limit = var_int("default_process_limit");
    /* Postfix's default_destination_recipient_limit, within the request
     * size the agents accept (QMGR_BATCH; config check says so). */
    long long rl = var_int("default_destination_recipient_limit");
    qmgr_rcpt_limit = rl < 1 ? 1 : rl > QMGR_BATCH ? QMGR_BATCH : (size_t)rl;
    for (size_t a = 0; a < sizeof(qmgr_agents) / sizeof(qmgr_agents[0]); a++) {
        qmgr_agent *ag = &qmgr_agents[a];
        /* Each ready destination once per pass; those that start go to
         * the back, so the pass visits as many as were ready at its start. */
        size_t visits = ag->nready;
        qmgr_dest *d = ag->ready_head;
        while (d != NULL && visits-- > 0) {
            qmgr_dest *next = d->rnext;
            if (!qmgr_deliver_dest_run(d))
                break;
            d = next != NULL && next->ready ? next : ag->ready_head;
        }
    }
    busy = false;
}
