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
 * Cost: scheduling walks the active messages' recipients, O(recipients in
 * active/) per completed delivery; destination counts are a short list of
 * at most default_process_limit entries.
 */
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

typedef struct qmgr_dest {
    char *key;
    int count;
    struct qmgr_dest *next;
} qmgr_dest;

/* One connection to an agent: one recipient for local, up to
 * QMGR_BATCH recipients of one message and one destination for the others
 * (one SMTP transaction for them, as Postfix's
 * default_destination_recipient_limit). */
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

static qmgr_dest *qmgr_dests;
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

/* An agent that is not there yet (starting, or being restarted by master
 * after a crash) is waited for quietly for a few seconds before its
 * recipients are deferred: otherwise every message found at start would
 * wait a whole minimal_backoff_time for an agent that was up 50 ms later. */
#define QMGR_AGENT_GRACE 10.0
#define QMGR_AGENT_RETRY 0.25

typedef struct qmgr_agent {
    char name[32];
    double down_since;   /* 0: reachable */
    double retry_at;
    int inflight;        /* connections open to it */
} qmgr_agent;

static qmgr_agent qmgr_agents[8];
static long long qmgr_process_limit = 100; /* read once per schedule pass */
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

static qmgr_dest *qmgr_deliver_dest(const char *key)
{
    for (qmgr_dest *d = qmgr_dests; d; d = d->next)
        if (strcasecmp(d->key, key) == 0)
            return d;
    qmgr_dest *d = mem_zalloc(sizeof(*d));
    d->key = mem_strdup(key);
    d->next = qmgr_dests;
    qmgr_dests = d;
    return d;
}

static void qmgr_deliver_dest_release(qmgr_dest *d)
{
    if (--d->count > 0)
        return;
    for (qmgr_dest **pp = &qmgr_dests; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            mem_free(&d->key);
            mem_free(&d);
            return;
        }
    }
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
    qm->routes = mem_zalloc((qm->m->nrcpt ? qm->m->nrcpt : 1) *
                            sizeof(*qm->routes));
    for (size_t i = 0; i < qm->m->nrcpt; i++) {
        if (qm->rstate[i] != QMGR_R_WAIT)
            continue;
        qmgr_route *r = &qm->routes[i];
        r->transport = qmgr_deliver_route(qm->m->rcpts[i].addr, &r->nexthop,
                                          &r->key, &r->limit);
    }
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

void qmgr_deliver_schedule(void)
{
    static bool busy;
    if (qmgr_stopping || busy)
        return;
    busy = true; /* finish() below may come back here */
    qmgr_process_limit = var_int("default_process_limit");
    qmgr_msg *next;
    for (qmgr_msg *qm = qmgr_active_head; qm; qm = next) {
        next = qm->next;
        if (qm->waiting > 0)
            qmgr_deliver_routes(qm);
        for (size_t i = 0; i < qm->m->nrcpt && qm->waiting > 0; i++) {
            if (qm->rstate[i] != QMGR_R_WAIT)
                continue;
            const qmgr_route *rt = &qm->routes[i];
            const qmgr_dead *dd = qmgr_deliver_dead_find(rt->key);
            if (dd != NULL) {
                /* Suspended: deferred here, the agent is not asked. */
                char why[DELIVER_REPLY_MAX];
                snprintf(why, sizeof(why),
                         "delivery temporarily suspended: %s", dd->text);
                qm->waiting--;
                qmgr_message_log_self(qm, i, dd->dsn, why, 0);
                qmgr_message_result(qm, i, dd->dsn, why, false);
                continue;
            }
            qmgr_dest *d = qmgr_deliver_dest(rt->key);
            if (rt->limit <= 0 || d->count < rt->limit) {
                size_t batch[QMGR_BATCH];
                size_t n = 0;
                batch[n++] = i;
                /* Others of this message to the same destination ride
                 * along (local takes one recipient per request). */
                if (strcmp(rt->transport, "local") != 0)
                    for (size_t j = i + 1; j < qm->m->nrcpt && n < QMGR_BATCH; j++)
                        if (qm->rstate[j] == QMGR_R_WAIT &&
                            strcasecmp(qm->routes[j].key, rt->key) == 0)
                            batch[n++] = j;
                qmgr_deliver_start(qm, batch, n, rt->transport, rt->nexthop, d);
            }
            if (d->count == 0) { /* not started: drop the unused entry */
                d->count = 1;
                qmgr_deliver_dest_release(d);
            }
        }
        if (qm->waiting == 0 && qm->inflight == 0)
            qmgr_message_finish(qm);
    }
    busy = false;
}
