/*
 * local_deliver - one request, in its own child: read it, open the queue
 * file, resolve the recipient, deliver to each target with the right
 * rights, log each delivery, answer qmgr.
 *
 * Rights (docs/architecture.md): when started as root, the queue file is
 * opened first (it lives in a directory only the queue owner may enter),
 * then each Maildir delivery runs in a grandchild that has become the
 * mailbox owner: a system user's uid/gid, a virtual user's uid/gid from
 * the users file, or mail_owner.  mbox files in mail_spool_directory are
 * written as root (the spool directory is 2775 root:mail, like /var/mail:
 * global/mail_spool.h), opened with O_NOFOLLOW and checked for owner and
 * link count; a new one is made with O_EXCL and given to its user.  The
 * queue file is opened once with queue_file_open's checks.  Forwarding
 * writes a new queue file as the owner of the queue.  Without root
 * everything runs as the invoking user.
 *
 * Reply: any target deferred -> the recipient is deferred (4.x; Maildir
 * names make the repeat harmless for the targets already delivered);
 * else any failed -> 5.x; else 2.0.0.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "global/deliver_log.h"
#include "global/deliver_request.h"
#include "global/dsn_param.h"
#include "global/mail_conf.h"
#include "global/mail_trigger.h"
#include "global/mail_spool.h"
#include "global/mail_users.h"
#include "global/queue_file.h"
#include "local/local_int.h"
#include "local/local_maildir.h"
#include "local/local_mbox.h"
#include "local/local_resolve.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

typedef struct local_deliver_result {
    char dsn[16];
    char text[1024];
} local_deliver_result;

typedef struct local_deliver_ctx {
    const deliver_request *req;
    const deliver_rcpt *rcpt;
    queue_msg *m;
    int qfd;
    char *headers;      /* the message's header section, for loop checks */
} local_deliver_ctx;

static void local_deliver_set(local_deliver_result *res, const char *dsn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void local_deliver_set(local_deliver_result *res, const char *dsn, const char *fmt, ...)
{
    snprintf(res->dsn, sizeof(res->dsn), "%s", dsn);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->text, sizeof(res->text), fmt, ap);
    va_end(ap);
}

static void local_deliver_log(const local_deliver_ctx *c, const char *to,
                      const local_deliver_result *res)
{
    deliver_stats st = {
        .arrival = c->req->arrival,
        .active = c->req->active,
        .handoff = c->req->handoff,
    };
    deliver_log(c->req->id, to, c->rcpt->addr, "local", &st, res->dsn,
                deliver_dsn_status(res->dsn), res->text);
}

/* ---- rights ---- */

/* The owner of the virtual mail store: mail_owner, or, when that user does
 * not exist, whoever owns the queue. */
static void local_deliver_owner_lookup(long *uid_r, long *gid_r)
{
    struct passwd *pw = getpwnam(var_str("mail_owner"));
    if (pw != NULL) {
        *uid_r = (long)pw->pw_uid;
        *gid_r = (long)pw->pw_gid;
        return;
    }
    struct stat st;
    if (stat(local_queue_dir, &st) == 0) {
        *uid_r = (long)st.st_uid;
        *gid_r = (long)st.st_gid;
    } else {
        *uid_r = *gid_r = 0;
    }
}

/* mail_owner as local_deliver_init found it in the parent, so that each
 * child does not go through NSS (nsswitch.conf, passwd) again. */
static bool local_deliver_owner_known;
static long local_deliver_owner_uid, local_deliver_owner_gid;

static void local_deliver_owner(long *uid_r, long *gid_r)
{
    if (!local_deliver_owner_known) {
        local_deliver_owner_lookup(uid_r, gid_r);
        return;
    }
    *uid_r = local_deliver_owner_uid;
    *gid_r = local_deliver_owner_gid;
}

void local_deliver_init(void)
{
    /* The zone for log lines, parsed once here rather than in each child
     * at its first line. */
    tzset();
    local_deliver_owner_lookup(&local_deliver_owner_uid, &local_deliver_owner_gid);
    local_deliver_owner_known = true;
    (void)queue_file_owner(); /* found once here, for every child */
}

typedef void (*local_deliver_fn)(void *ctx, local_deliver_result *res);

static bool local_deliver_root(void)
{
    return geteuid() == 0;
}

/* Set when the current job is this child's last privileged act (one
 * mailbox target): the child then drops its own rights for good instead of
 * forking a grandchild, which saves a fork per ordinary delivery. */
static bool local_deliver_in_place;

/* The connection to qmgr while this child may still send "release"
 * (docs/architecture.md, the delivery protocol): set only for a request of
 * one recipient that resolves to one mailbox, the case in which the child
 * has nothing left to do for the request once that Maildir write only
 * waits for the disk.  -1 otherwise, and after the line is sent. */
static int local_deliver_release_fd = -1;

static int local_deliver_drop(long uid, long gid)
{
    gid_t g = (gid_t)gid;
    if (setgroups(1, &g) < 0 || setgid(g) < 0 || setuid((uid_t)uid) < 0 ||
        getuid() != (uid_t)uid || (uid != 0 && setuid(0) == 0))
        return -1;
    return 0;
}

/* Run fn as uid:gid in a grandchild, or here when no change is needed.
 * The grandchild's result comes back through a pipe as "DSN TEXT". */
static void local_deliver_as(long uid, long gid, local_deliver_fn fn, void *ctx,
                     local_deliver_result *res)
{
    if (!local_deliver_root() || uid < 0 || (uid == 0 && gid == 0)) {
        fn(ctx, res);
        return;
    }
    if (local_deliver_in_place) {
        local_deliver_in_place = false;
        if (local_deliver_drop(uid, gid) < 0)
            local_deliver_set(res, "4.3.0", "cannot change to uid %ld: %s", uid,
                      strerror(errno));
        else
            fn(ctx, res);
        return;
    }
    int p[2];
    if (pipe(p) < 0) {
        local_deliver_set(res, "4.3.0", "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        local_deliver_set(res, "4.3.0", "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0) {
        close(p[0]);
        /* One of several jobs of the request: the parent child has more
         * to do, so the slot stays taken until the results. */
        local_deliver_release_fd = -1;
        local_deliver_result r;
        if (local_deliver_drop(uid, gid) < 0) {
            local_deliver_set(&r, "4.3.0", "cannot change to uid %ld: %s", uid,
                      strerror(errno));
        } else {
            fn(ctx, &r);
        }
        char out[sizeof(r.dsn) + sizeof(r.text) + 2];
        int n = snprintf(out, sizeof(out), "%s %s", r.dsn, r.text);
        fs_write_all(p[1], out, (size_t)n);
        _exit(0);
    }
    close(p[1]);
    char in[sizeof(res->dsn) + sizeof(res->text) + 2];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(p[0], in + got, sizeof(in) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(p[0]);
    in[got] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char *sp = strchr(in, ' ');
    if (got == 0 || sp == NULL) {
        local_deliver_set(res, "4.3.0", "delivery process died");
        return;
    }
    *sp = '\0';
    if ((size_t)(sp - in) >= sizeof(res->dsn) || !deliver_dsn_valid(in)) {
        local_deliver_set(res, "4.3.0", "delivery process gave a bad result");
        return;
    }
    memcpy(res->dsn, in, (size_t)(sp - in) + 1);
    snprintf(res->text, sizeof(res->text), "%s", sp + 1);
}

/* ---- headers ---- */

static char *local_deliver_headers(const local_deliver_ctx *c)
{
    size_t max = (size_t)var_int("header_size_limit");
    size_t n = c->m->content_len < max ? c->m->content_len : max;
    char *h = mem_alloc(n + 1);
    ssize_t got = pread(c->qfd, h, n, c->m->content_off);
    h[got > 0 ? got : 0] = '\0';
    char *end = strstr(h, "\n\n");
    if (end)
        end[1] = '\0';
    return h;
}

/* Does a Delivered-To: header already name addr?  Then this message has
 * been here before for that address: a forwarding loop (Postfix's rule). */
static bool local_deliver_looped(const char *headers, const char *addr)
{
    size_t al = strlen(addr);
    for (const char *p = headers; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 13 && strncasecmp(p, "Delivered-To:", 13) == 0) {
            const char *v = p + 13;
            size_t vl = len - 13;
            while (vl > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
            }
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\r'))
                vl--;
            if (vl == al && strncasecmp(v, addr, al) == 0)
                return true;
        }
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* ---- mailboxes ---- */

typedef struct local_deliver_box_job {
    char *path;          /* Maildir directory or mbox file */
    char *name;          /* Maildir file name; NULL for mbox */
    bool retry;          /* look for an earlier copy in cur/ too */
    local_msg msg;
} local_deliver_box_job;


/* Tell qmgr that this delivery now only waits for its fsyncs, so that it
 * may start the next one to the same recipient (its concurrency slot is
 * free); the result line follows once the delivery is durable.  A failed
 * write is ignored: the result line then fails the same way and qmgr
 * defers, which is safe. */
static void local_deliver_release(void *ctx)
{
    if (local_deliver_release_fd < 0)
        return;
    (void)fs_write_all(local_deliver_release_fd, DELIVER_REPLY_RELEASE "\n",
                       sizeof(DELIVER_REPLY_RELEASE));
    local_deliver_release_fd = -1;
}

static void local_deliver_box_run(void *ctx, local_deliver_result *res)
{
    local_deliver_box_job *j = ctx;
    local_fail f = {0};
    int r = j->name ? local_maildir_deliver(j->path, j->name, &j->msg,
                                            j->retry, local_deliver_release,
                                            NULL, &f)
                    : local_mbox_deliver(j->path, &j->msg, -1, -1, &f);
    if (r == 0)
        local_deliver_set(res, "2.0.0", j->name ? "delivered to maildir"
                                        : "delivered to mailbox");
    else {
        local_deliver_set(res, f.dsn, "%s", f.text);
        mem_free(&f.text);
    }
}

/* Make a virtual user's home (the store is ours to lay out): parents
 * traversable, the home itself private to its owner. */
static int local_deliver_home(const char *home, long uid, long gid)
{
    struct stat st;
    if (stat(home, &st) == 0)
        return 0;
    char *copy = mem_strdup(home);
    int r = fs_mkdirs(dirname(copy), 0755);
    mem_free(&copy);
    if (r < 0 || (mkdir(home, 0700) < 0 && errno != EEXIST))
        return -1;
    if (local_deliver_root() && uid >= 0 && chown(home, (uid_t)uid, (gid_t)gid) < 0)
        return -1;
    return 0;
}

static void local_deliver_mailbox(const local_deliver_ctx *c, const local_target *t,
                          local_deliver_result *res)
{
    mail_user *u = NULL;
    char *why = NULL;
    int r = mail_users_find(t->user, &u, &why);
    if (r <= 0) {
        if (r < 0)
            local_deliver_set(res, "4.3.0", "user lookup failed: %s", why);
        else
            local_deliver_set(res, "5.1.1", "unknown user: \"%s\"", t->user);
        mem_free(&why);
        return;
    }
    long uid = -1, gid = -1;
    if (local_deliver_root()) {
        if (u->system) {
            uid = u->uid;
            gid = u->gid;
        } else if (u->uid > 0) {
            uid = u->uid;
            gid = u->gid >= 0 ? u->gid : u->uid;
        } else {
            local_deliver_owner(&uid, &gid);
        }
    }
    char *home = mail_users_home(u);
    const char *hm = var_str("home_mailbox");
    buf *pre = buf_new(8192);
    buf_printf(pre, "Return-Path: <%s>\nDelivered-To: %s\n", c->req->sender,
               t->addr);
    local_deliver_box_job j = {
        .retry = c->req->retry,
        .msg = {.fd = c->qfd, .off = c->m->content_off,
                .len = c->m->content_len, .prepend = buf_str(pre),
                .sender = c->req->sender},
    };
    size_t hl = strlen(hm);
    if (hl > 0 && hm[hl - 1] == '/') {
        if (!u->system && local_deliver_home(home, uid, gid) < 0) {
            local_deliver_set(res, "4.2.0", "create home directory %s: %s", home,
                      strerror(errno));
            goto out;
        }
        j.path = mem_alloc(strlen(home) + hl + 2);
        sprintf(j.path, "%s/%.*s", home, (int)(hl - 1), hm);
        j.name = local_maildir_name(c->m->arrival_usec / 1000000, c->req->id,
                                    c->rcpt->index, t->addr,
                                    pre->len + c->m->content_len);
        local_deliver_as(uid, gid, local_deliver_box_run, &j, res);
    } else if (hl == 0) {
        char *spool = var_path("mail_spool_directory");
        if (mail_spool_make(spool) < 0) {
            local_deliver_set(res, "4.3.0", "create mail spool directory %s: %s", spool,
                      strerror(errno));
            mem_free(&spool);
            goto out;
        }
        j.path = fs_join(spool, u->name);
        mem_free(&spool);
        local_fail f = {0};
        if (local_mbox_deliver(j.path, &j.msg, uid, gid, &f) == 0) {
            local_deliver_set(res, "2.0.0", "delivered to mailbox");
        } else {
            local_deliver_set(res, f.dsn, "%s", f.text);
            mem_free(&f.text);
        }
    } else {
        /* home_mailbox = Mailbox: an mbox file in the home, written as
         * the user. */
        j.path = mem_alloc(strlen(home) + hl + 2);
        sprintf(j.path, "%s/%s", home, hm);
        local_deliver_as(uid, gid, local_deliver_box_run, &j, res);
    }
out:
    mem_free(&j.path);
    mem_free(&j.name);
    buf_free(&pre);
    mem_free(&home);
    mail_user_free(&u);
}

/* ---- forwarding ---- */

typedef struct local_deliver_fwd_job {
    const local_deliver_ctx *c;
    const local_targets *t;
} local_deliver_fwd_job;

static void local_deliver_fwd_run(void *ctx, local_deliver_result *res)
{
    local_deliver_fwd_job *j = ctx;
    const local_deliver_ctx *c = j->c;
    queue_file *qf;
    char *err = NULL;
    if (queue_file_create(local_queue_dir, &qf, &err) < 0) {
        local_deliver_set(res, "4.3.0", "cannot forward: %s", err ? err : "queue");
        mem_free(&err);
        return;
    }
    /* The original sender stays the sender (no owner- alias support):
     * failures of the forwarded copy go back where the original would. */
    queue_file_sender(qf, c->req->sender);
    queue_file_attr(qf, "proto", "local-forward");
    /* An alias, not a list (same sender), so the copy keeps the DSN
     * parameters (RFC 3461 section 6.2.7): ENVID and RET as they were,
     * for each new recipient the original's NOTIFY without SUCCESS
     * (qmgr reports this step as "expanded"; dsn_param_notify_forwarded)
     * and its ORCPT, or the original recipient as one when none was
     * given, so that a later notice names the address the sender used. */
    const char *envid = queue_msg_attr(c->m, "dsn_envid");
    if (envid != NULL)
        queue_file_attr(qf, "dsn_envid", envid);
    const char *ret = queue_msg_attr(c->m, "dsn_ret");
    if (ret != NULL)
        queue_file_attr(qf, "dsn_ret", ret);
    char name[48], bits[40];
    snprintf(name, sizeof(name), "dsn_notify.%d", c->rcpt->index);
    int notify = dsn_param_notify_forwarded(
        dsn_param_notify_attr(queue_msg_attr(c->m, name)));
    dsn_param_notify_format(notify, bits, sizeof(bits));
    char *orcpt = NULL;
    if (c->rcpt->orcpt != NULL) {
        orcpt = mem_strdup(c->rcpt->orcpt);
    } else {
        orcpt = mem_alloc(strlen(c->rcpt->addr) + 8);
        sprintf(orcpt, "rfc822;%s", c->rcpt->addr);
    }
    for (size_t i = 0; i < j->t->n; i++) {
        if (j->t->v[i].kind != LOCAL_T_FORWARD)
            continue;
        if (notify != 0) { /* keyed by the new index (dsn_param.h) */
            snprintf(name, sizeof(name), "dsn_notify.%d", queue_file_nrcpt(qf));
            queue_file_attr(qf, name, bits);
        }
        queue_file_rcpt(qf, j->t->v[i].addr, orcpt);
    }
    mem_free(&orcpt);
    queue_file_content_begin(qf);
    char dt[1200];
    int n = snprintf(dt, sizeof(dt), "Delivered-To: %s\n", c->rcpt->addr);
    queue_file_content(qf, dt, (size_t)n);
    char *b = mem_alloc(65536);
    off_t off = c->m->content_off;
    size_t left = c->m->content_len;
    int bad = 0;
    while (left > 0 && !bad) {
        ssize_t got = pread(c->qfd, b, left < 65536 ? left : 65536, off);
        if (got <= 0) {
            bad = 1;
            break;
        }
        bad = queue_file_content(qf, b, (size_t)got) < 0;
        off += got;
        left -= (size_t)got;
    }
    mem_free(&b);
    if (bad) {
        queue_file_abort(&qf);
        local_deliver_set(res, "4.3.0", "cannot forward: error copying message");
        return;
    }
    char id[QUEUE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", queue_file_id(qf));
    if (queue_file_commit(&qf, &err) < 0) {
        local_deliver_set(res, "4.3.0", "cannot forward: %s", err ? err : "commit");
        mem_free(&err);
        return;
    }
    const char *mid = queue_msg_attr(c->m, "message_id");
    if (mid != NULL)
        msg_info_as("cleanup", "%s: message-id=%s", id, mid);
    mail_trigger(local_queue_dir, "qmgr");
    local_deliver_set(res, "2.0.0", "forwarded as %s", id);
}

/* ---- the request ---- */

static void local_deliver_worst(local_deliver_result *agg, const local_deliver_result *r)
{
    /* Deferred beats failed beats sent (see the header). */
    int rank_new = r->dsn[0] == '4' ? 3 : r->dsn[0] == '5' ? 2 : 1;
    int rank_old = agg->dsn[0] == '4' ? 3 : agg->dsn[0] == '5' ? 2
                   : agg->dsn[0] == '2' ? 1 : 0;
    if (rank_new > rank_old)
        *agg = *r;
}

static void local_deliver_rcpt(const deliver_request *req,
                               const deliver_rcpt *rcpt, local_deliver_result *agg)
{
    local_deliver_ctx c = {.req = req, .rcpt = rcpt, .qfd = -1};
    local_deliver_result res;
    memset(agg, 0, sizeof(*agg));
    char *path = mem_alloc(strlen(local_queue_dir) + 64);
    sprintf(path, "%s/%s/%s", local_queue_dir, QUEUE_ACTIVE, req->id);
    char *err = NULL;
    /* Opened once, checked on the descriptor, read from it: the same file
     * for the envelope and the content (queue_file_open says why). */
    c.qfd = queue_file_open(path, O_RDONLY, queue_file_owner(), NULL, &err);
    if (c.qfd < 0 || queue_file_read(c.qfd, path, &c.m, &err) < 0) {
        local_deliver_set(agg, "4.3.0", "cannot read queue file: %s", err);
        mem_free(&err);
        local_deliver_log(&c, rcpt->addr, agg);
        if (c.qfd >= 0)
            close(c.qfd);
        mem_free(&path);
        return;
    }
    const queue_rcpt *qr = NULL;
    for (size_t i = 0; i < c.m->nrcpt; i++)
        if (c.m->rcpts[i].index == rcpt->index)
            qr = &c.m->rcpts[i];
    if (qr == NULL || strcmp(qr->addr, rcpt->addr) != 0) {
        local_deliver_set(agg, "4.3.0", "recipient not in queue file");
        local_deliver_log(&c, rcpt->addr, agg);
        goto out;
    }
    c.headers = local_deliver_headers(&c);

    local_targets t;
    char *why = NULL;
    if (local_resolve(rcpt->addr, &t, &why) < 0) {
        local_deliver_set(agg, "4.3.0", "%s", why ? why : "lookup failure");
        mem_free(&why);
        local_deliver_log(&c, rcpt->addr, agg);
        goto out;
    }
    size_t nfwd = 0;
    local_deliver_in_place = t.n == 1 && t.v[0].kind == LOCAL_T_MAILBOX;
    if (!local_deliver_in_place)
        local_deliver_release_fd = -1;
    for (size_t i = 0; i < t.n; i++) {
        local_target *tg = &t.v[i];
        switch (tg->kind) {
        case LOCAL_T_FAIL:
            local_deliver_set(&res, tg->dsn, "%s", tg->text);
            break;
        case LOCAL_T_MAILBOX:
            if (local_deliver_looped(c.headers, tg->addr))
                local_deliver_set(&res, "5.4.6", "mail forwarding loop for %s",
                          tg->addr);
            else
                local_deliver_mailbox(&c, tg, &res);
            break;
        case LOCAL_T_FORWARD:
            if (local_deliver_looped(c.headers, rcpt->addr)) {
                local_deliver_set(&res, "5.4.6", "mail forwarding loop for %s",
                          rcpt->addr);
                break;
            }
            nfwd++;
            continue; /* one new message for all, below */
        }
        local_deliver_log(&c, tg->addr, &res);
        local_deliver_worst(agg, &res);
    }
    if (nfwd > 0) {
        long uid = -1, gid = -1;
        struct stat st;
        char *inc = fs_join(local_queue_dir, QUEUE_INCOMING);
        if (local_deliver_root() && stat(inc, &st) == 0) {
            uid = (long)st.st_uid;
            gid = (long)st.st_gid;
        }
        mem_free(&inc);
        local_deliver_fwd_job j = {.c = &c, .t = &t};
        local_deliver_as(uid, gid, local_deliver_fwd_run, &j, &res);
        for (size_t i = 0; i < t.n; i++)
            if (t.v[i].kind == LOCAL_T_FORWARD)
                local_deliver_log(&c, t.v[i].addr, &res);
        local_deliver_worst(agg, &res);
    }
    local_targets_free(&t);
out:
    if (c.qfd >= 0)
        close(c.qfd);
    mem_free(&c.headers);
    queue_msg_free(&c.m);
    mem_free(&path);
}

int local_deliver_child(int fd)
{
    alarm((unsigned)var_time("local_delivery_timeout"));
    buf *in = buf_new(DELIVER_REQUEST_MAX);
    char tmp[4096];
    for (;;) {
        if (in->len >= 2 && memcmp(in->data + in->len - 2, "\n\n", 2) == 0)
            break;
        ssize_t n = read(fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || buf_append(in, tmp, (size_t)n) < 0) {
            msg_warn("bad or incomplete request from qmgr");
            return 1;
        }
    }
    deliver_request *req;
    const char *why;
    if (deliver_request_parse(in->data, in->len, &req, &why) < 0) {
        msg_warn("bad request from qmgr: %s", why);
        return 1;
    }
    buf_free(&in);
    buf *out = buf_new(DELIVER_REPLY_MAX * 16);
    if (req->nrcpt == 1)
        local_deliver_release_fd = fd;
    for (size_t i = 0; i < req->nrcpt; i++) {
        local_deliver_result res;
        local_deliver_rcpt(req, &req->rcpts[i], &res);
        deliver_reply_format(out, req->rcpts[i].index, res.dsn, res.text);
    }
    fs_write_all(fd, out->data, out->len);
    close(fd);
    buf_free(&out);
    deliver_request_free(&req);
    return 0;
}
