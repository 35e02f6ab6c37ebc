/*
 * qmgr - the service: start-up recovery, the incoming and deferred scans,
 * the trigger socket, and the graceful stop.  See qmgr.h and docs/queue.md.
 *
 * Scans: incoming/ on every trigger (coalesced) and at least every
 * min(queue_run_delay, 10 s), because a trigger is only a hint; deferred/
 * every queue_run_delay and when the earliest back-off we set runs out.
 * At start every file in active/ is treated as new: after a crash its
 * unmarked recipients are delivered again (at least once).
 */
#include "qmgr/qmgr.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "global/mail_trigger.h"
#include "qmgr/qmgr_int.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

char *qmgr_queue_dir;
size_t qmgr_active_count;
qmgr_msg *qmgr_active_head, *qmgr_active_tail;
bool qmgr_stopping;
bool qmgr_scan_more;

static uint64_t qmgr_scan_timer;
static uint64_t qmgr_wake_timer;
static long long qmgr_wake_when;
static bool qmgr_deferred_due = true;
static bool qmgr_flush_all;     /* F request: ignore next-attempt times once */

/* A file being written by cleanup (mode 0600) for longer than this was
 * abandoned by a crash before its 250 (docs/queue.md). */
#define QMGR_INCOMING_STALE (60 * 60)

static int qmgr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Queue file names in dir, sorted: IDs grow with arrival time, so this is
 * roughly first come, first served. */
static char **qmgr_list(const char *sub, size_t *n_r)
{
    char *dir = mem_alloc(strlen(qmgr_queue_dir) + strlen(sub) + 2);
    sprintf(dir, "%s/%s", qmgr_queue_dir, sub);
    DIR *d = opendir(dir);
    size_t n = 0, cap = 16;
    char **v = mem_alloc(cap * sizeof(*v));
    if (d == NULL) {
        msg_warn("open %s: %m", dir);
    } else {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!queue_id_valid(e->d_name))
                continue;
            if (n == cap) {
                cap *= 2;
                v = mem_realloc(v, cap * sizeof(*v));
            }
            v[n++] = mem_strdup(e->d_name);
        }
        closedir(d);
    }
    mem_free(&dir);
    qsort(v, n, sizeof(*v), qmgr_cmp);
    *n_r = n;
    return v;
}

static void qmgr_list_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem_free(&v[i]);
    mem_free(&v);
}

static bool qmgr_room(void)
{
    return !qmgr_stopping &&
           (long long)qmgr_active_count < var_int("qmgr_message_active_limit");
}

static void qmgr_scan_incoming(void)
{
    size_t n;
    char **v = qmgr_list(QUEUE_INCOMING, &n);
    time_t now = time(NULL);
    size_t i;
    for (i = 0; i < n && qmgr_room(); i++) {
        char *p = mem_alloc(strlen(qmgr_queue_dir) + strlen(v[i]) + 16);
        sprintf(p, "%s/%s/%s", qmgr_queue_dir, QUEUE_INCOMING, v[i]);
        struct stat st;
        if (stat(p, &st) == 0) {
            if ((st.st_mode & 0777) == 0700) {
                if (qmgr_message_activate(QUEUE_INCOMING, v[i]) < 0)
                    msg_error("%s: move to %s: %m", v[i], QUEUE_ACTIVE);
            } else if (now - st.st_mtime > QMGR_INCOMING_STALE) {
                /* Never completed, so never acknowledged: the client
                 * retries; the file is garbage. */
                if (unlink(p) == 0)
                    msg_warn("%s: removed incomplete queue file older than "
                             "1 hour", v[i]);
            }
        }
        mem_free(&p);
    }
    qmgr_scan_more = i < n;
    qmgr_list_free(v, n);
}

static void qmgr_scan_deferred(void)
{
    size_t n;
    char **v = qmgr_list(QUEUE_DEFERRED, &n);
    time_t now = time(NULL);
    long long earliest = 0;
    bool all = qmgr_flush_all;
    qmgr_flush_all = false;
    /* A queue run (periodic, a back-off that ran out, a flush) tries dead
     * destinations again: what it takes from deferred/ is due for a try,
     * and a destination that came back is found by the first one. */
    qmgr_deliver_revive_all();
    for (size_t i = 0; i < n; i++) {
        char *p = mem_alloc(strlen(qmgr_queue_dir) + strlen(v[i]) + 16);
        sprintf(p, "%s/%s/%s", qmgr_queue_dir, QUEUE_DEFERRED, v[i]);
        struct stat st;
        if (stat(p, &st) == 0) {
            bool due = all || st.st_mtime <= now;
            if (due && !qmgr_room()) {
                qmgr_scan_more = true;
                qmgr_deferred_due = true;
                qmgr_flush_all = qmgr_flush_all || all;
            } else if (due) {
                if (qmgr_message_activate(QUEUE_DEFERRED, v[i]) < 0)
                    msg_error("%s: move to %s: %m", v[i], QUEUE_ACTIVE);
            } else if (earliest == 0 || st.st_mtime < earliest) {
                earliest = st.st_mtime;
            }
        }
        mem_free(&p);
    }
    qmgr_list_free(v, n);
    if (earliest > 0)
        qmgr_wake_at(earliest);
}

static void qmgr_scan(void *ctx)
{
    qmgr_scan_timer = 0;
    if (qmgr_stopping)
        return;
    qmgr_scan_incoming();
    if (qmgr_deferred_due) {
        qmgr_deferred_due = false;
        qmgr_scan_deferred();
    }
    qmgr_deliver_schedule();
}

void qmgr_scan_soon(void)
{
    if (qmgr_scan_timer == 0)
        qmgr_scan_timer = event_timer(0, qmgr_scan, NULL);
}

static void qmgr_wake(void *ctx)
{
    qmgr_wake_timer = 0;
    qmgr_wake_when = 0;
    qmgr_deferred_due = true;
    qmgr_scan_soon();
}

void qmgr_wake_at(long long when)
{
    if (qmgr_wake_timer != 0 && qmgr_wake_when <= when)
        return;
    if (qmgr_wake_timer != 0)
        event_cancel(qmgr_wake_timer);
    double in = (double)(when - time(NULL));
    if (in < 0)
        in = 0;
    qmgr_wake_when = when;
    qmgr_wake_timer = event_timer(in + 0.05, qmgr_wake, NULL);
}

static void qmgr_periodic(void *ctx);

static double qmgr_incoming_period(void)
{
    double d = (double)var_time("queue_run_delay");
    return d < 10 ? (d < 1 ? 1 : d) : 10;
}

static void qmgr_periodic(void *ctx)
{
    static double last_deferred;
    double now = event_now();
    if (now - last_deferred >= (double)var_time("queue_run_delay") - 0.01) {
        last_deferred = now;
        qmgr_deferred_due = true;
    }
    qmgr_scan_soon();
    event_timer(qmgr_incoming_period(), qmgr_periodic, NULL);
}

/* Request bytes (docs/queue-commands.md): W (or anything else) = new mail
 * in incoming/; D = scan deferred/ now; F = flush: every deferred message
 * is due now, whatever its mtime. */
static void qmgr_trigger(int fd, int events, void *ctx)
{
    char b[64];
    ssize_t n;
    while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (b[i] == 'D' || b[i] == 'F')
                qmgr_deferred_due = true;
            if (b[i] == 'F')
                qmgr_flush_all = true;
        }
    }
    qmgr_scan_soon();
}

/* Crash recovery: what is in active/ was being delivered by a qmgr that
 * is gone; treat it as new. */
static void qmgr_recover(void)
{
    size_t n;
    char **v = qmgr_list(QUEUE_ACTIVE, &n);
    for (size_t i = 0; i < n; i++)
        qmgr_message_activate(QUEUE_ACTIVE, v[i]);
    qmgr_list_free(v, n);
}

static double qmgr_stop_deadline;

/* Graceful stop: start nothing new, let every delivery in flight report
 * and be marked, so a restart delivers nothing twice.  Messages stay in
 * active/ and are taken up at the next start. */
static void qmgr_stop(void)
{
    qmgr_stopping = true;
    qmgr_stop_deadline = event_now() + (double)var_time("local_delivery_timeout") + 60;
}

static bool qmgr_stopped(void)
{
    return qmgr_deliver_inflight() == 0 || event_now() > qmgr_stop_deadline;
}

int qmgr_service_main(int argc, char **argv)
{
    mail_service_init("qmgr");
    qmgr_queue_dir = var_path("queue_directory");
    if (queue_dirs_create(qmgr_queue_dir) < 0)
        msg_fatal("create queue directories in %s: %m", qmgr_queue_dir);
    if (chdir(qmgr_queue_dir) < 0)
        msg_fatal("chdir %s: %m", qmgr_queue_dir);
    event_init();

    int tfd = mail_trigger_listen(qmgr_queue_dir, "qmgr");
    if (tfd < 0)
        msg_fatal("bind %s/%s/qmgr: %m", qmgr_queue_dir, QUEUE_PUBLIC);
    event_add(tfd, EVENT_READ, qmgr_trigger, NULL);

    qmgr_recover();
    qmgr_deferred_due = true;
    qmgr_scan_soon();
    event_timer(qmgr_incoming_period(), qmgr_periodic, NULL);

    mail_service_hooks hooks = {.wait = 0.5, .stop = qmgr_stop, .stopped = qmgr_stopped};
    return mail_service_run(&hooks);
}
