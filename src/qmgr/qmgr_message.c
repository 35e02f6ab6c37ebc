/*
 * qmgr_message - the active queue: bring a message in, record results,
 * and when a pass is over remove it, defer it or expire it.
 *
 * Invariant (docs/queue.md): a recipient's result is marked in the file
 * (pwrite + fsync) before qmgr forgets it, and a file leaves active/ only
 * after every result of the pass is marked.  So a crash anywhere leaves a
 * message in active/ or deferred/ whose unmarked recipients are exactly
 * those still to deliver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "bounce/bounce.h"
#include "global/deliver_log.h"
#include "global/dsn_param.h"
#include "global/deliver_request.h"
#include "global/mail_conf.h"
#include "qmgr/qmgr_int.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

static char *qmgr_message_path(const char *dir, const char *id)
{
    char *p = mem_alloc(strlen(qmgr_queue_dir) + strlen(dir) + strlen(id) + 3);
    sprintf(p, "%s/%s/%s", qmgr_queue_dir, dir, id);
    return p;
}

static void qmgr_message_unlink_defer(const char *id)
{
    char *p = qmgr_message_path(QUEUE_DEFER, id);
    unlink(p);
    mem_free(&p);
}

/* Keep a file that failed validation for a human (docs/queue.md). */
static void qmgr_message_corrupt(const char *path, const char *id,
                                 const char *why)
{
    char *to = qmgr_message_path(QUEUE_CORRUPT, id);
    if (rename(path, to) < 0)
        msg_error("%s: cannot move corrupt queue file to %s: %m", id, to);
    else
        msg_warn("%s: corrupt queue file (%s), moved to %s/", id, why,
                 QUEUE_CORRUPT);
    mem_free(&to);
}

static void qmgr_message_unlink_list(qmgr_msg *qm)
{
    if (qm->prev)
        qm->prev->next = qm->next;
    else
        qmgr_active_head = qm->next;
    if (qm->next)
        qm->next->prev = qm->prev;
    else
        qmgr_active_tail = qm->prev;
    qmgr_active_count--;
}

static void qmgr_message_free(qmgr_msg **qmp)
{
    qmgr_msg *qm = *qmp;
    qmgr_deliver_forget(qm);
    if (qm->routes) {
        for (size_t i = 0; i < qm->m->nrcpt; i++) {
            mem_free(&qm->routes[i].nexthop);
            mem_free(&qm->routes[i].key);
        }
        mem_free(&qm->routes);
    }
    queue_msg_free(&qm->m);
    mem_free(&qm->path);
    mem_free(&qm->rstate);
    buf_free(&qm->defer_text);
    mem_free(qmp);
}

static void qmgr_message_remove(qmgr_msg *qm)
{
    if (unlink(qm->path) < 0 && errno != ENOENT)
        msg_error("%s: remove %s: %m", qm->id, qm->path);
    /* Only a message that was deferred before can have reasons on file. */
    if (qm->retry || qm->deferred) {
        qmgr_message_unlink_defer(qm->id);
        bounce_log_remove(qmgr_queue_dir, qm->id); /* the delay marker */
    }
    msg_info("%s: removed", qm->id);
}

int qmgr_message_activate(const char *from, const char *id)
{
    char *path = qmgr_message_path(QUEUE_ACTIVE, id);
    if (strcmp(from, QUEUE_ACTIVE) != 0) {
        char *src = qmgr_message_path(from, id);
        int r = rename(src, path);
        mem_free(&src);
        if (r < 0) {
            mem_free(&path);
            return errno == ENOENT ? 0 : -1; /* gone: someone else's move */
        }
    }
    queue_msg *m;
    char *err = NULL;
    if (queue_msg_read(path, &m, &err) < 0) {
        int saved = errno;
        /* EPERM: not a queue file one may trust (a link, a file of
         * someone else), warned by queue_file_open: left alone where it
         * is, out of the active list, so it is neither delivered nor
         * removed, and only a restart's recovery looks at it again. */
        if (saved == EINVAL)
            qmgr_message_corrupt(path, id, err);
        else if (saved != ENOENT && saved != EPERM)
            msg_error("%s: read %s: %s", id, path, err);
        mem_free(&err);
        mem_free(&path);
        return 0;
    }
    if (strcmp(m->id, id) != 0) {
        qmgr_message_corrupt(path, id, "queue ID does not match file name");
        queue_msg_free(&m);
        mem_free(&path);
        return 0;
    }
    qmgr_msg *qm = mem_zalloc(sizeof(*qm));
    snprintf(qm->id, sizeof(qm->id), "%s", id);
    qm->path = path;
    qm->m = m;
    qm->active_usec = deliver_log_now();
    qm->retry = strcmp(from, QUEUE_INCOMING) != 0;
    /* Records of an earlier pass whose notices are not sent yet (a crash,
     * or a notice that failed): docs/queue.md, "Bounces". */
    qm->notify = qm->retry && bounce_log_exists(qmgr_queue_dir, id);
    qm->rstate = mem_zalloc(m->nrcpt ? m->nrcpt : 1);
    for (size_t i = 0; i < m->nrcpt; i++) {
        if (m->rcpts[i].status == QUEUE_RCPT_TODO) {
            qm->rstate[i] = QMGR_R_WAIT;
            qm->waiting++;
        } else {
            qm->rstate[i] = QMGR_R_DONE;
        }
    }
    qm->prev = qmgr_active_tail;
    if (qmgr_active_tail)
        qmgr_active_tail->next = qm;
    else
        qmgr_active_head = qm;
    qmgr_active_tail = qm;
    qmgr_active_count++;

    if (qm->waiting == 0) {
        /* Every recipient was marked before a crash or stop, only the
         * unlink was missing -- and perhaps the notices: finish sends
         * them first (bounce, issue 4). */
        qmgr_message_finish(qm);
        return 0;
    }
    /* Postfix's size is the message content as queued; nrcpt counts the
     * recipients this pass will deliver. */
    msg_info("%s: from=<%s>, size=%zu, nrcpt=%zu (queue active)", id,
             m->sender, m->content_len, qm->waiting);
    qmgr_deliver_routes(qm);
    return 0;
}

void qmgr_message_log_self(qmgr_msg *qm, size_t ri, const char *dsn,
                           const char *text, long long handoff)
{
    const queue_rcpt *r = &qm->m->rcpts[ri];
    deliver_stats st = {
        .arrival = qm->m->arrival_usec,
        .active = qm->active_usec,
        .handoff = handoff,
    };
    deliver_log(qm->id, r->addr, NULL, "none", &st, dsn,
                deliver_dsn_status(dsn), text);
}

void qmgr_message_result(qmgr_msg *qm, size_t ri, const char *dsn,
                         const char *text, bool dsn_passed)
{
    queue_rcpt *r = &qm->m->rcpts[ri];
    char mark = dsn[0] == '2' ? QUEUE_RCPT_DONE
                : dsn[0] == '5' ? QUEUE_RCPT_FAILED : 0;
    /* bounce (issue 4): a failure, or a delivery the sender asked to hear
     * of (NOTIFY=SUCCESS), gets its record in queue/bounce/ID before the
     * mark, so a marked recipient never lacks its notice (docs/queue.md,
     * "Bounces").  No record, no mark: it is tried again. */
    const char *action = NULL;
    if (mark == QUEUE_RCPT_FAILED)
        action = BOUNCE_FAILED;
    else if (mark == QUEUE_RCPT_DONE && !dsn_passed &&
             bounce_wants(qm->m, ri, DSN_NOTIFY_SUCCESS))
        /* RFC 3464 section 2.3.3: "relayed" past us by smtp to a host
         * that could not take the NOTIFY (one that did sends the notice
         * itself, RFC 3461 section 5.2: dsn_passed), "expanded" by local
         * to an alias's or .forward's addresses. */
        action = qm->routes && qm->routes[ri].transport &&
                         strcmp(qm->routes[ri].transport, "smtp") == 0
                     ? BOUNCE_RELAYED
                 : strncmp(text, "forwarded as ", 13) == 0 ? BOUNCE_EXPANDED
                                                           : BOUNCE_DELIVERED;
    if (action && r->status == QUEUE_RCPT_TODO) {
        if (bounce_log_append(qmgr_queue_dir, qm->id, r->index, action, dsn,
                              text) < 0) {
            msg_error("%s: cannot write bounce log for recipient %d: %m",
                      qm->id, r->index);
            mark = 0;
            dsn = "4.3.0";
            text = "cannot write bounce log";
        } else {
            qm->notify = true;
        }
    }
    /* With notices due, the marks must all be in the file: the notice
     * reads them, and a failed notice keeps the message for later. */
    if (mark && r->status == QUEUE_RCPT_TODO && queue_msg_pending(qm->m) == 1 &&
        !qm->notify) {
        /* The last recipient: the file is unlinked next, which records
         * "done" for all of it; a mark (and its fsync, the largest cost
         * per message) would be written only to be deleted.  A crash in
         * between delivers this recipient again: at least once, and
         * exactly once for Maildir (its file name is found again). */
        r->status = mark;
    } else if (mark) {
        if (queue_msg_mark(qm->path, r, mark) < 0) {
            /* Not marked means not known to be done: deliver again later
             * (at least once, docs/queue.md). */
            msg_error("%s: cannot mark recipient %d in %s: %m", qm->id,
                      r->index, qm->path);
            mark = 0;
            text = "cannot update queue file";
        } else {
            r->status = mark;
        }
    }
    if (!mark) {
        qm->deferred = true;
        if (qm->defer_text == NULL)
            qm->defer_text = buf_new(1 << 20);
        buf_printf(qm->defer_text, "%s\t%s\t%s\n", r->addr, dsn, text);
    }
    qm->rstate[ri] = QMGR_R_DONE;
}

/* Postfix's back-off: the time the message has already waited, bounded
 * by minimal_backoff_time and maximal_backoff_time, so the interval
 * roughly doubles with each failed attempt. */
static long long qmgr_message_backoff(const qmgr_msg *qm, long long now)
{
    long long min = var_time("minimal_backoff_time");
    long long max = var_time("maximal_backoff_time");
    if (max < min)
        max = min;
    long long waited = now - qm->m->arrival_usec / 1000000;
    if (waited < min)
        waited = min;
    if (waited > max)
        waited = max;
    return waited;
}

static void qmgr_message_expire(qmgr_msg *qm)
{
    /* Nothing left to return (every recipient marked; only a failed
     * notice kept the message): no expiry line. */
    if (queue_msg_pending(qm->m) == 0)
        return;
    for (size_t i = 0; i < qm->m->nrcpt; i++) {
        queue_rcpt *r = &qm->m->rcpts[i];
        if (r->status != QUEUE_RCPT_TODO)
            continue;
        /* bounce (issue 4): the record first, as for any failure. */
        if (bounce_log_expire(qmgr_queue_dir, qm->id, r,
                              qm->defer_text ? qm->defer_text->data : NULL) < 0) {
            msg_error("%s: cannot write bounce log for recipient %d: %m",
                      qm->id, r->index);
            continue; /* unmarked: tried again, expired again */
        }
        qm->notify = true;
        if (queue_msg_mark(qm->path, r, QUEUE_RCPT_FAILED) < 0)
            msg_error("%s: cannot mark recipient %d in %s: %m", qm->id,
                      r->index, qm->path);
        else
            r->status = QUEUE_RCPT_FAILED;
    }
    /* Postfix's line; the notice follows from the bounce log. */
    msg_info("%s: from=<%s>, status=expired, returned to sender", qm->id,
             qm->m->sender);
}

/* bounce (issue 4): send the notices this pass calls for (the log's, and
 * what adds), in a child, before the message leaves active/.  0 when they
 * are durable (or none was due). */
static int qmgr_message_notify(qmgr_msg *qm, int what)
{
    if (qm->notify)
        what |= BOUNCE_NOTIFY_LOG;
    if (what == 0)
        return 0;
    int r = bounce_notify(qmgr_queue_dir, qm->m, what,
                          qm->defer_text ? qm->defer_text->data : NULL);
    if (r == 0)
        qm->notify = false;
    return r;
}

void qmgr_message_finish(qmgr_msg *qm)
{
    qmgr_message_unlink_list(qm);
    if (qmgr_scan_more)
        qmgr_scan_soon(); /* a scan left files for lack of room */
    if (!qm->deferred) {
        if (qmgr_message_notify(qm, 0) == 0) {
            qmgr_message_remove(qm);
            qmgr_message_free(&qm);
            return;
        }
        /* A notice could not be written: the message (all marked) waits
         * in deferred/ and the next pass tries the notice again. */
        qm->deferred = true;
    }
    struct stat st;
    if (stat(qm->path, &st) < 0 && errno == ENOENT) {
        /* Deleted under us by the administrator (postie queue delete),
         * who logged it: nothing left to defer. */
        qmgr_message_unlink_defer(qm->id);
        bounce_log_remove(qmgr_queue_dir, qm->id);
        qmgr_message_free(&qm);
        return;
    }
    if (qmgr_stopping) {
        /* A delivery cut short by the stop (the agent went away too) is no
         * reason for a back-off: the file stays in active/ and the next
         * start takes it up at once. */
        qmgr_message_free(&qm);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long now = tv.tv_sec;
    long long age = now - qm->m->arrival_usec / 1000000;
    const char *lifetime_param = qm->m->sender[0] == '\0'
                                     ? "bounce_queue_lifetime"
                                     : "maximal_queue_lifetime";
    if (age >= var_time(lifetime_param)) {
        qmgr_message_expire(qm);
        if (queue_msg_pending(qm->m) == 0 && qmgr_message_notify(qm, 0) == 0) {
            qmgr_message_remove(qm);
            qmgr_message_free(&qm);
            return;
        }
        /* A mark or the notice failed: keep it deferred and try again. */
    } else {
        /* bounce (issue 4): the failures of this pass go out now, even
         * with other recipients still deferred (Postfix's habit), and one
         * delay notice once the message is delay_warning_time old. */
        long long warn = var_time("delay_warning_time");
        int what = warn > 0 && age >= warn &&
                           !bounce_delay_sent(qmgr_queue_dir, qm->id)
                       ? BOUNCE_NOTIFY_DELAY
                       : 0;
        qmgr_message_notify(qm, what); /* on failure: the next pass */
    }
    /* Reasons for mailq: written before the move, so a deferred file
     * always has its reasons (a stale one is harmless). */
    if (qm->defer_text) {
        char *dp = qmgr_message_path(QUEUE_DEFER, qm->id);
        if (fs_write_atomic(dp, qm->defer_text->data, qm->defer_text->len,
                            0600) < 0)
            msg_warn("%s: write %s: %m", qm->id, dp);
        mem_free(&dp);
    }
    long long next = now + qmgr_message_backoff(qm, now);
    /* The mtime is set before the rename, so a file in deferred/ never
     * carries a wrong next-attempt time. */
    struct timeval times[2] = {{.tv_sec = next}, {.tv_sec = next}};
    if (utimes(qm->path, times) < 0)
        msg_warn("%s: set time of %s: %m", qm->id, qm->path);
    char *to = qmgr_message_path(QUEUE_DEFERRED, qm->id);
    if (rename(qm->path, to) < 0)
        msg_error("%s: move to %s: %m", qm->id, to);
    mem_free(&to);
    qmgr_wake_at(next);
    qmgr_message_free(&qm);
}
