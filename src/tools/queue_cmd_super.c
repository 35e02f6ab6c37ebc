/*
 * queue_cmd_super - "postie queue delete|hold|release|requeue": Postfix's
 * postsuper -d, -h, -H and -r, with its log lines ("ID: removed",
 * "ID: placed on hold", "ID: released from hold", "ID: requeued",
 * "Deleted: N messages", ...) under the program name postsuper.
 *
 * Safety while the system runs (docs/queue-commands.md, "Safety"):
 * - every change is one rename(2) or unlink(2) of a file in incoming/,
 *   deferred/, hold/ or maildrop/, so it either happened or not; when qmgr
 *   renamed the file first, ours fails with ENOENT and we look again;
 * - files in active/ are left alone: qmgr holds them, marks recipients in
 *   place by path, and would lose marks (or deliver twice) if a file moved
 *   under it.  Postfix's postsuper moves them and lets qmgr notice; postie
 *   says "being delivered, try again" instead, since an attempt is short;
 * - files in incoming/ with mode 0600 are still being written by cleanup
 *   and are left alone too;
 * - the changed directories are fsynced once at the end (each rename or
 *   unlink is atomic by itself; the fsync makes the result durable).
 *
 * Does not: parse message content, or check that IDs exist beyond
 * looking in the queue directories.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "bounce/bounce.h"
#include "global/mail_conf.h"
#include "tools/queue_cmd.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

typedef enum { SUPER_DELETE, SUPER_HOLD, SUPER_RELEASE, SUPER_REQUEUE } super_op;

typedef struct super_ctx {
    super_op op;
    const char *qdir;
    const char *const *queues;  /* where this operation looks */
    int done;                   /* messages changed */
    int busy;                   /* left alone in active/ */
    int status;                 /* exit status so far */
    bool dirty[8];              /* queue_cmd_queues entries changed */
} super_ctx;

/* Postfix's default queues per operation (postsuper(1)). */
static const char *const super_delete_queues[] = {
    QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL};
static const char *const super_hold_queues[] = {
    QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL};
static const char *const super_release_queues[] = {QUEUE_HOLD, NULL};
static const char *const super_requeue_queues[] = {
    QUEUE_HOLD, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, NULL};

static bool queue_cmd_super_is_queue(const char *s)
{
    for (const char *const *q = queue_cmd_queues; *q; q++)
        if (strcmp(*q, s) == 0)
            return true;
    return false;
}

static char *queue_cmd_super_path(const char *qdir, const char *queue,
                                  const char *id)
{
    char *dir = fs_join(qdir, queue);
    char *path = fs_join(dir, id);
    mem_free(&dir);
    return path;
}

/* Find id in one of the operation's queues: the queue, or NULL. */
static const char *queue_cmd_super_where(const super_ctx *c, const char *id)
{
    for (const char *const *q = c->queues; *q; q++) {
        char *path = queue_cmd_super_path(c->qdir, *q, id);
        struct stat st;
        int r = lstat(path, &st);
        mem_free(&path);
        if (r == 0 && S_ISREG(st.st_mode))
            return *q;
    }
    return NULL;
}

/* Remember a changed directory; they are fsynced once at the end. */
static void queue_cmd_super_dirty(super_ctx *c, const char *queue)
{
    for (size_t i = 0; queue_cmd_queues[i] && i < 8; i++)
        if (strcmp(queue_cmd_queues[i], queue) == 0)
            c->dirty[i] = true;
}

/* Move qdir/from/id to qdir/to/id (atomic: the message is in one place or
 * the other; the directories are made durable at the end). */
static int queue_cmd_super_move(super_ctx *c, const char *from, const char *to,
                                const char *id)
{
    const char *qdir = c->qdir;
    char *src = queue_cmd_super_path(qdir, from, id);
    char *dst = queue_cmd_super_path(qdir, to, id);
    /* rename(2) would replace an existing dst: IDs are unique on the host,
     * so that cannot happen unless the queue is already broken. */
    int r = rename(src, dst);
    int saved = errno;
    if (r == 0) {
        queue_cmd_super_dirty(c, from);
        queue_cmd_super_dirty(c, to);
    }
    mem_free(&src);
    mem_free(&dst);
    errno = saved;
    return r;
}

static void queue_cmd_super_forget_reasons(const char *qdir, const char *id)
{
    char *path = queue_cmd_super_path(qdir, QUEUE_DEFER, id);
    if (unlink(path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", path);
    mem_free(&path);
}

/* Apply the operation to a message known to be in queue q.  1 done, 0 it
 * moved meanwhile (ENOENT), -1 failed. */
static int queue_cmd_super_apply(super_ctx *c, const char *q, const char *id)
{
    char *path = queue_cmd_super_path(c->qdir, q, id);
    struct stat st;
    if (lstat(path, &st) < 0) {
        mem_free(&path);
        return errno == ENOENT ? 0 : -1;
    }
    /* Being written by cleanup: not a message yet. */
    if (strcmp(q, QUEUE_INCOMING) == 0 && (st.st_mode & 0100) == 0) {
        mem_free(&path);
        errno = EBUSY;
        return -1;
    }
    int r = 0;
    switch (c->op) {
    case SUPER_DELETE:
        r = unlink(path);
        if (r == 0) {
            queue_cmd_super_dirty(c, q);
            queue_cmd_super_forget_reasons(c->qdir, id);
            /* Its notices go with it (bounce log, delay marker). */
            bounce_log_remove(c->qdir, id);
            msg_info("%s: removed", id);
        }
        break;
    case SUPER_HOLD:
        if (strcmp(q, QUEUE_HOLD) == 0)
            break; /* already on hold: nothing to do, nothing to log */
        r = queue_cmd_super_move(c, q, QUEUE_HOLD, id);
        if (r == 0)
            msg_info("%s: placed on hold", id);
        break;
    case SUPER_RELEASE:
        /* To deferred/ with mtime now: due at once (docs/queue.md). */
        r = queue_cmd_super_move(c, q, QUEUE_DEFERRED, id);
        if (r == 0) {
            char *dst = queue_cmd_super_path(c->qdir, QUEUE_DEFERRED, id);
            utimensat(AT_FDCWD, dst, NULL, AT_SYMLINK_NOFOLLOW);
            mem_free(&dst);
            msg_info("%s: released from hold", id);
        }
        break;
    case SUPER_REQUEUE:
        /* Back to incoming/ as a complete new message: qmgr reads it again
         * from scratch with the current configuration. */
        if (strcmp(q, QUEUE_INCOMING) != 0)
            r = queue_cmd_super_move(c, q, QUEUE_INCOMING, id);
        if (r == 0) {
            queue_cmd_super_forget_reasons(c->qdir, id);
            msg_info("%s: requeued", id);
        }
        break;
    }
    int saved = errno;
    mem_free(&path);
    if (r < 0) {
        errno = saved;
        return saved == ENOENT ? 0 : -1;
    }
    return 1;
}

/* One message by ID.  explicit: the user named it (report when absent). */
static void queue_cmd_super_one(super_ctx *c, const char *id, bool explicit)
{
    /* A few rounds: each ENOENT means qmgr moved it between our look and
     * our change; look again where it went. */
    for (int round = 0; round < 5; round++) {
        const char *q = queue_cmd_super_where(c, id);
        if (q == NULL)
            break;
        if (strcmp(q, QUEUE_ACTIVE) == 0) {
            c->busy++;
            /* With ALL this is counted and reported once at the end. */
            if (explicit) {
                fprintf(stderr, "postsuper: %s: being delivered (active queue), not changed: try again in a moment\n", id);
                c->status = c->status ? c->status : EX_TEMPFAIL;
            }
            return;
        }
        int r = queue_cmd_super_apply(c, q, id);
        if (r == 1) {
            c->done++;
            return;
        }
        if (r < 0 && errno == EBUSY) {
            /* Not a message yet: ALL means the messages there are. */
            if (explicit) {
                fprintf(stderr, "postsuper: %s: still being received, not changed\n", id);
                c->status = c->status ? c->status : EX_TEMPFAIL;
            }
            return;
        }
        if (r < 0) {
            msg_error("%s: %s/%s: %m", id, q, id);
            c->status = EX_IOERR;
            return;
        }
    }
    if (explicit) {
        fprintf(stderr, "postsuper: %s: no such message in the queue\n", id);
        if (c->status == 0)
            c->status = EX_NOINPUT;
    }
}

static int queue_cmd_super_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ALL: every message in the operation's queues (a snapshot of names). */
static void queue_cmd_super_all(super_ctx *c)
{
    for (const char *const *q = c->queues; *q; q++) {
        char *dir = fs_join(c->qdir, *q);
        DIR *d = opendir(dir);
        mem_free(&dir);
        if (d == NULL)
            continue;
        size_t n = 0, cap = 64;
        char **ids = mem_alloc(cap * sizeof(*ids));
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!queue_id_valid(de->d_name))
                continue;
            if (n == cap)
                ids = mem_realloc(ids, (cap *= 2) * sizeof(*ids));
            ids[n++] = mem_strdup(de->d_name);
        }
        closedir(d);
        qsort(ids, n, sizeof(*ids), queue_cmd_super_cmp);
        for (size_t i = 0; i < n; i++) {
            queue_cmd_super_one(c, ids[i], false);
            mem_free(&ids[i]);
        }
        mem_free(&ids);
    }
}

/* IDs from standard input, separated by white space (postsuper -d -). */
static void queue_cmd_super_stdin(super_ctx *c)
{
    char tok[64];
    int n = 0, ch;
    do {
        ch = getchar();
        if (ch == EOF || isspace(ch)) {
            if (n > 0) {
                tok[n] = '\0';
                if (queue_id_valid(tok)) {
                    queue_cmd_super_one(c, tok, true);
                } else {
                    fprintf(stderr, "postsuper: invalid queue ID: %s\n", tok);
                    c->status = EX_DATAERR;
                }
            }
            n = 0;
        } else if (n < (int)sizeof(tok) - 1) {
            tok[n++] = (char)ch;
        }
    } while (ch != EOF);
}

int queue_cmd_super_main(const char *opname, int argc, char **argv)
{
    super_ctx c = {0};
    const char *done_text;
    if (strcmp(opname, "delete") == 0) {
        c.op = SUPER_DELETE;
        c.queues = super_delete_queues;
        done_text = "Deleted";
    } else if (strcmp(opname, "hold") == 0) {
        c.op = SUPER_HOLD;
        c.queues = super_hold_queues;
        done_text = "Placed on hold";
    } else if (strcmp(opname, "release") == 0) {
        c.op = SUPER_RELEASE;
        c.queues = super_release_queues;
        done_text = "Released from hold";
    } else {
        c.op = SUPER_REQUEUE;
        c.queues = super_requeue_queues;
        done_text = "Requeued";
    }
    if (argc < 2) {
        fprintf(stderr, "usage: postie queue %s ID...|ALL|- [QUEUE]\n", opname);
        return EX_USAGE;
    }
    /* A trailing queue name narrows the search (postsuper -d ALL deferred). */
    const char *one[2] = {NULL, NULL};
    int last = argc - 1;
    if (argc >= 3 && queue_cmd_super_is_queue(argv[last])) {
        one[0] = argv[last];
        c.queues = one;
        last--;
        /* A maildrop file has not been through cleanup yet (no queue ID of
         * its own, no headers added): it may be deleted, but moved into
         * the queue proper it would skip pickup. */
        if (strcmp(one[0], QUEUE_MAILDROP) == 0 && c.op != SUPER_DELETE) {
            fprintf(stderr, "postsuper: %s: only delete works on the maildrop queue\n", opname);
            return EX_USAGE;
        }
    }
    for (int i = 1; i <= last; i++) {
        if (strcmp(argv[i], "ALL") != 0 && strcmp(argv[i], "-") != 0 &&
            !queue_id_valid(argv[i])) {
            fprintf(stderr, "postsuper: invalid queue ID: %s\n", argv[i]);
            return EX_DATAERR;
        }
    }
    char *qdir = var_path("queue_directory");
    c.qdir = qdir;
    struct stat st;
    if (stat(qdir, &st) < 0) {
        fprintf(stderr, "postsuper: cannot read the queue %s: %s\n", qdir, strerror(errno));
        mem_free(&qdir);
        return EX_UNAVAILABLE;
    }
    if (!queue_cmd_authorized(qdir)) {
        fprintf(stderr, "postsuper: permission denied: changing the queue is reserved to root, "
                        "the owner of %s and the queue_admin_group\n", qdir);
        mem_free(&qdir);
        return EX_NOPERM;
    }
    for (int i = 1; i <= last; i++) {
        if (strcmp(argv[i], "ALL") == 0)
            queue_cmd_super_all(&c);
        else if (strcmp(argv[i], "-") == 0)
            queue_cmd_super_stdin(&c);
        else
            queue_cmd_super_one(&c, argv[i], true);
    }
    /* One fsync per changed directory, not per message: each rename or
     * unlink is atomic, so a crash before this leaves every message whole
     * in its old or its new place; this only makes the change durable. */
    for (size_t i = 0; queue_cmd_queues[i] && i < 8; i++) {
        if (c.dirty[i]) {
            char *dir = fs_join(qdir, queue_cmd_queues[i]);
            if (fs_sync_dir(dir) < 0)
                msg_warn("fsync %s: %m", dir);
            mem_free(&dir);
        }
    }
    if (c.done > 0)
        msg_info("%s: %d message%s", done_text, c.done, c.done == 1 ? "" : "s");
    if (c.busy > 0)
        fprintf(stderr, "postsuper: %d message%s in the active queue left alone (being delivered)\n",
                c.busy, c.busy == 1 ? "" : "s");
    /* qmgr learns of released and requeued mail now, not at its next scan. */
    if (c.done > 0 && c.op == SUPER_RELEASE)
        queue_cmd_wake_qmgr(qdir, "D");
    if (c.done > 0 && c.op == SUPER_REQUEUE)
        queue_cmd_wake_qmgr(qdir, "W");
    mem_free(&qdir);
    return c.status;
}
