/*
 * bounce_notify - send a message's notices: fork a child named "bounce",
 * read the bounce log, compose each notice (bounce_dsn) and commit it
 * through cleanup from the null sender, then remove the log; the parent
 * (qmgr) waits for it.  See bounce.h for the notices and log lines.
 *
 * Why a child and why waiting for it (docs/architecture.md): the notice
 * must be durable before qmgr removes the original, and composing one
 * reads message content, so a bug there must not take qmgr down.  A
 * notice costs one small file and its fsync; qmgr's event loop stands
 * still for that long, which is cheap next to the deliveries that led
 * to it.
 *
 * Loops (RFC 3461 section 6.2, RFC 5321 section 6.1): a notice is sent
 * from <>.  Mail from <> that fails goes to postmaster instead of a
 * sender, marked with the double_bounce attribute; when that one fails
 * too it is dropped with a log line.
 */
#include "bounce/bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounce/bounce_dsn.h"
#include "cleanup/cleanup.h"
#include "global/dsn_param.h"
#include "global/mail_conf.h"
#include "global/mail_trigger.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

/* A child that takes longer is stuck: it dies and the log stays. */
#define BOUNCE_CHILD_TIMEOUT 120

/* The original's content, read once. */
typedef struct bounce_msg {
    const char *queue_dir;
    const queue_msg *m;
    char *content;
    size_t content_len;
} bounce_msg;

static void bounce_notify_line(const char *line, size_t len, void *ctx)
{
    cleanup_line(ctx, line, len);
}

/* Read the original's content, at most limit octets. */
static char *bounce_notify_content(const char *path, const queue_msg *m,
                                   size_t limit, size_t *len_r)
{
    size_t n = m->content_len < limit ? m->content_len : limit;
    /* The same checks as every queue file open (queue_file_open). */
    int fd = queue_file_open(path, O_RDONLY, queue_file_owner(), NULL, NULL);
    if (fd < 0)
        return NULL;
    char *p = mem_alloc(n + 1);
    ssize_t got = pread(fd, p, n, m->content_off);
    close(fd);
    if (got < 0) {
        mem_free(&p);
        return NULL;
    }
    p[got] = '\0';
    *len_r = (size_t)got;
    return p;
}

/* Enqueue one notice to rcpt; logs "ID: WHO NOTICE: NEWID".  0 or -1. */
static int bounce_notify_send(bounce_msg *bm, bounce_dsn *d, bool double_bounce,
                              const char *who, const char *notice)
{
    cleanup *c;
    char *err = NULL;
    if (cleanup_open(bm->queue_dir, "", &c, &err) < 0) {
        msg_error("%s: cannot create %s %s: %s", bm->m->id, who, notice, err);
        mem_free(&err);
        return -1;
    }
    cleanup_attr(c, "proto", "local");
    if (double_bounce)
        cleanup_attr(c, BOUNCE_ATTR_DOUBLE, "yes");
    /* The notice itself asks for no notices (RFC 3461 section 6.2 forbids
     * them for <> anyway; this keeps the queue file saying so). */
    cleanup_attr(c, "dsn_notify.0", "NEVER");
    cleanup_rcpt(c, d->to, NULL);
    char id[QUEUE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", cleanup_id(c));
    cleanup_begin(c, &(cleanup_client){.name = "localhost", .uid = -1});
    bounce_dsn_compose(d, bounce_notify_line, c);
    char *why = NULL;
    if (cleanup_commit(&c, &why) != CLEANUP_OK) {
        msg_error("%s: cannot enqueue %s %s: %s", bm->m->id, who, notice,
                  why ? why : "error");
        mem_free(&why);
        return -1;
    }
    msg_info("%s: %s %s: %s", bm->m->id, who, notice, id);
    return 0;
}

static void bounce_notify_fill(bounce_msg *bm, bounce_dsn *d, enum bounce_kind kind)
{
    const queue_msg *m = bm->m;
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    d->myhostname = var_str("myhostname");
    d->queue_id = m->id;
    d->sender = m->sender;
    d->to = m->sender;
    d->envid = queue_msg_attr(m, "dsn_envid");
    d->arrival_sec = m->arrival_usec / 1000000;
    d->now_sec = (long long)time(NULL);
    d->content = bm->content ? bm->content : "";
    d->content_len = bm->content ? bm->content_len : 0;
    const char *ret = queue_msg_attr(m, "dsn_ret");
    /* RFC 3461 section 4.3: without RET the choice is ours; the headers
     * are enough to recognise a message and reveal less. */
    d->full = ret != NULL && strcasecmp(ret, "FULL") == 0 &&
              m->content_len <= (size_t)var_int("bounce_size_limit");
}

/* One parsed log record. */
typedef struct bounce_rec {
    int index;
    char *action, *dsn, *text;
} bounce_rec;

static size_t bounce_notify_find(const queue_msg *m, int index)
{
    for (size_t i = 0; i < m->nrcpt; i++)
        if (m->rcpts[i].index == index)
            return i;
    return m->nrcpt;
}

/* The log, last record per recipient, in recipient order: recs[ri]. */
static bounce_rec *bounce_notify_read_log(const char *path, const queue_msg *m)
{
    bounce_rec *recs = mem_zalloc((m->nrcpt + 1) * sizeof(*recs));
    char *text = fs_read_file(path, 16 << 20, NULL);
    if (text == NULL)
        return recs;
    for (char *line = text, *next; *line; line = next) {
        next = strchr(line, '\n');
        if (next == NULL)
            break; /* a torn last record: its recipient was not marked */
        *next++ = '\0';
        char *f[4];
        f[0] = line;
        int nf = 1;
        for (char *p = line; *p && nf < 4; p++)
            if (*p == '\t') {
                *p = '\0';
                f[nf++] = p + 1;
            }
        if (nf < 4)
            continue;
        size_t ri = bounce_notify_find(m, atoi(f[0]));
        if (ri == m->nrcpt)
            continue;
        bounce_rec *r = &recs[ri];
        mem_free(&r->action);
        mem_free(&r->dsn);
        mem_free(&r->text);
        r->index = m->rcpts[ri].index;
        r->action = mem_strdup(f[1]);
        r->dsn = mem_strdup(f[2]);
        r->text = mem_strdup(f[3]);
    }
    mem_free(&text);
    return recs;
}

static int bounce_notify_log(bounce_msg *bm)
{
    const queue_msg *m = bm->m;
    char *path = mem_alloc(strlen(bm->queue_dir) + 64);
    sprintf(path, "%s/%s/%s", bm->queue_dir, QUEUE_BOUNCE, m->id);
    bounce_rec *recs = bounce_notify_read_log(path, m);
    bounce_dsn_rcpt *failed = mem_zalloc((m->nrcpt + 1) * sizeof(*failed));
    bounce_dsn_rcpt *good = mem_zalloc((m->nrcpt + 1) * sizeof(*good));
    size_t nfailed = 0, ngood = 0;
    bool null_sender = m->sender[0] == '\0';
    for (size_t i = 0; i < m->nrcpt; i++) {
        const bounce_rec *r = &recs[i];
        const queue_rcpt *q = &m->rcpts[i];
        if (r->action == NULL)
            continue;
        bounce_dsn_rcpt one = {.addr = q->addr, .orcpt = q->orcpt,
                               .action = r->action, .status = r->dsn,
                               .text = r->text};
        /* A record counts only if qmgr's view agrees: a recipient that
         * was tried again after a crash and then delivered has a stale
         * "failed" record. */
        if (strcmp(r->action, BOUNCE_FAILED) == 0 && q->status == QUEUE_RCPT_FAILED) {
            if (null_sender || bounce_wants(m, i, DSN_NOTIFY_FAILURE))
                failed[nfailed++] = one;
        } else if (strcmp(r->action, BOUNCE_FAILED) != 0 &&
                   q->status == QUEUE_RCPT_DONE &&
                   bounce_wants(m, i, DSN_NOTIFY_SUCCESS)) {
            good[ngood++] = one;
        }
    }
    int ret = 0;
    bounce_dsn d;
    if (nfailed > 0) {
        bounce_notify_fill(bm, &d, BOUNCE_KIND_FAILURE);
        d.rcpts = failed;
        d.nrcpt = nfailed;
        if (!null_sender) {
            ret |= bounce_notify_send(bm, &d, false, "sender", "non-delivery notification");
        } else if (queue_msg_attr(m, BOUNCE_ATTR_DOUBLE) != NULL) {
            /* A notice to postmaster that failed: reporting it would
             * loop.  Postfix's words. */
            msg_info("%s: undeliverable postmaster notification discarded", m->id);
        } else {
            d.to_postmaster = true;
            d.to = "postmaster";
            d.full = false;
            ret |= bounce_notify_send(bm, &d, true, "postmaster", "non-delivery notification");
        }
    }
    if (ngood > 0 && ret == 0) {
        bounce_notify_fill(bm, &d, BOUNCE_KIND_SUCCESS);
        d.rcpts = good;
        d.nrcpt = ngood;
        ret |= bounce_notify_send(bm, &d, false, "sender", "delivery status notification");
    }
    if (ret == 0 && unlink(path) < 0 && errno != ENOENT) {
        msg_error("%s: remove %s: %m", m->id, path);
        ret = -1;
    }
    for (size_t i = 0; i < m->nrcpt; i++) {
        mem_free(&recs[i].action);
        mem_free(&recs[i].dsn);
        mem_free(&recs[i].text);
    }
    mem_free(&recs);
    mem_free(&failed);
    mem_free(&good);
    mem_free(&path);
    return ret;
}

/* The delay notice: recipients still to do, with the reasons of this
 * pass (defer_text lines "ADDR TAB DSN TAB TEXT"). */
static int bounce_notify_delay(bounce_msg *bm, const char *defer_text)
{
    const queue_msg *m = bm->m;
    if (m->sender[0] == '\0' || bounce_delay_sent(bm->queue_dir, m->id))
        return 0;
    bounce_dsn_rcpt *rs = mem_zalloc((m->nrcpt + 1) * sizeof(*rs));
    char *copy = mem_strdup(defer_text ? defer_text : "");
    size_t n = 0;
    for (size_t i = 0; i < m->nrcpt; i++) {
        const queue_rcpt *q = &m->rcpts[i];
        if (q->status != QUEUE_RCPT_TODO || !bounce_wants(m, i, DSN_NOTIFY_DELAY))
            continue;
        rs[n] = (bounce_dsn_rcpt){.addr = q->addr, .orcpt = q->orcpt,
                                  .action = "delayed", .status = "4.0.0",
                                  .text = NULL};
        /* Its reason: the line for its address (the first will do). */
        size_t alen = strlen(q->addr);
        for (char *l = copy; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
            if (strncmp(l, q->addr, alen) == 0 && l[alen] == '\t') {
                char *dsn = l + alen + 1;
                char *tab = strchr(dsn, '\t');
                char *nl = strchr(dsn, '\n');
                if (tab && (!nl || tab < nl)) {
                    *tab = '\0';
                    if (nl)
                        *nl = '\0';
                    rs[n].status = dsn;
                    rs[n].text = tab + 1;
                }
                break;
            }
        }
        n++;
    }
    int ret = 0;
    if (n > 0) {
        bounce_dsn d;
        bounce_notify_fill(bm, &d, BOUNCE_KIND_DELAY);
        d.rcpts = rs;
        d.nrcpt = n;
        d.retry_until = d.arrival_sec + var_time("maximal_queue_lifetime");
        ret = bounce_notify_send(bm, &d, false, "sender", "delay notification");
    }
    if (ret == 0) {
        /* Sent (or nobody wanted one): never again for this message. */
        char *mark = mem_alloc(strlen(bm->queue_dir) + 64);
        sprintf(mark, "%s/%s/%s.delay", bm->queue_dir, QUEUE_BOUNCE, m->id);
        char *dir = fs_join(bm->queue_dir, QUEUE_BOUNCE);
        fs_mkdirs(dir, 0700);
        mem_free(&dir);
        if (fs_write_atomic(mark, "", 0, 0600) < 0)
            msg_warn("%s: write %s: %m", m->id, mark);
        mem_free(&mark);
    }
    mem_free(&copy);
    mem_free(&rs);
    return ret;
}

static int bounce_notify_child(const char *queue_dir, const queue_msg *m,
                               int what, const char *defer_text)
{
    bounce_msg bm = {.queue_dir = queue_dir, .m = m};
    char *path = mem_alloc(strlen(queue_dir) + 64);
    sprintf(path, "%s/%s/%s", queue_dir, QUEUE_ACTIVE, m->id);
    /* All of it only when it may be returned in full; else the header
     * section, which is within the first megabyte. */
    const char *rv = queue_msg_attr(m, "dsn_ret");
    size_t limit = 1 << 20;
    if (rv != NULL && strcasecmp(rv, "FULL") == 0 &&
        m->content_len <= (size_t)var_int("bounce_size_limit"))
        limit = m->content_len;
    bm.content = bounce_notify_content(path, m, limit, &bm.content_len);
    mem_free(&path);
    if (bm.content == NULL) {
        msg_error("%s: cannot read the message for its notice: %m", m->id);
        return -1;
    }
    int ret = 0;
    if (what & BOUNCE_NOTIFY_LOG)
        ret |= bounce_notify_log(&bm);
    if (what & BOUNCE_NOTIFY_DELAY)
        ret |= bounce_notify_delay(&bm, defer_text);
    mem_free(&bm.content);
    mail_trigger(queue_dir, "qmgr");
    return ret;
}

int bounce_notify(const char *queue_dir, const queue_msg *m, int what,
                  const char *defer_text)
{
    pid_t pid = fork();
    if (pid < 0) {
        msg_error("%s: fork for a delivery status notification: %m", m->id);
        return -1;
    }
    if (pid == 0) {
        /* The child must not run the parent's handlers or timers. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        alarm(BOUNCE_CHILD_TIMEOUT);
        msg_init("bounce");
        int r = bounce_notify_child(queue_dir, m, what, defer_text);
        _exit(r == 0 ? 0 : 1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            msg_error("%s: wait for the bounce child: %m", m->id);
            return -1;
        }
    }
    if (WIFSIGNALED(status))
        msg_warn("%s: bounce child died with signal %d", m->id, WTERMSIG(status));
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
