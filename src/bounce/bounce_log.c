/*
 * bounce_log - the per-message bounce log, queue/bounce/ID: one line per
 * recipient result that needs a notice,
 *
 *   INDEX TAB ACTION TAB DSN TAB TEXT LF     e.g. "1\tfailed\t5.1.1\tunknown user: \"x\""
 *
 * appended with O_APPEND and fsynced before qmgr marks the recipient, so
 * a recipient marked B (or D with NOTIFY=SUCCESS) always has its record
 * (docs/queue.md, "Bounces").  A record may be repeated after a crash
 * (the recipient was tried again); the last one for an index counts.
 * queue/bounce/ID.delay marks "the delay notice was sent".
 *
 * Does not: compose notices (bounce_dsn) or decide anything.
 */
#include "bounce/bounce.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/dsn_param.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"

/* A reason longer than this is cut: the notice folds and cuts it anyway. */
#define BOUNCE_LOG_TEXT_MAX 2000

static char *bounce_log_path(const char *queue_dir, const char *id,
                             const char *suffix)
{
    size_t n = strlen(queue_dir) + strlen(id) + strlen(suffix) + 16;
    char *p = mem_alloc(n);
    snprintf(p, n, "%s/%s/%s%s", queue_dir, QUEUE_BOUNCE, id, suffix);
    return p;
}

int bounce_log_append(const char *queue_dir, const char *id, int index,
                      const char *action, const char *dsn, const char *text)
{
    char *path = bounce_log_path(queue_dir, id, "");
    bool fresh = access(path, F_OK) < 0;
    if (fresh) {
        /* The directory is ours; made on first use (an instance created
         * before bounce existed has none). */
        char *dir = fs_join(queue_dir, QUEUE_BOUNCE);
        fs_mkdirs(dir, 0700);
        mem_free(&dir);
    }
    buf *b = buf_new(BOUNCE_LOG_TEXT_MAX + 128);
    buf_printf(b, "%d\t%s\t%s\t", index, action, dsn);
    size_t at = b->len;
    buf_printf(b, "%.*s", BOUNCE_LOG_TEXT_MAX, text);
    /* Tabs and line ends would forge fields or records. */
    for (size_t i = at; i < b->len; i++)
        if ((unsigned char)b->data[i] < 32 || b->data[i] == 127)
            b->data[i] = '?';
    buf_putc(b, '\n');
    int ret = -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (fs_write_all(fd, b->data, b->len) == 0 && fsync(fd) == 0 &&
            (!fresh || fs_sync_parent(path) == 0))
            ret = 0;
        int saved = errno;
        close(fd);
        errno = saved;
    }
    buf_free(&b);
    mem_free(&path);
    return ret;
}

bool bounce_log_exists(const char *queue_dir, const char *id)
{
    char *path = bounce_log_path(queue_dir, id, "");
    bool r = access(path, F_OK) == 0;
    mem_free(&path);
    return r;
}

bool bounce_delay_sent(const char *queue_dir, const char *id)
{
    char *path = bounce_log_path(queue_dir, id, ".delay");
    bool r = access(path, F_OK) == 0;
    mem_free(&path);
    return r;
}

void bounce_log_remove(const char *queue_dir, const char *id)
{
    char *path = bounce_log_path(queue_dir, id, "");
    unlink(path);
    mem_free(&path);
    path = bounce_log_path(queue_dir, id, ".delay");
    unlink(path);
    mem_free(&path);
}

bool bounce_wants(const queue_msg *m, size_t ri, int kind)
{
    if (m->sender[0] == '\0')
        return false; /* RFC 3461 section 6.2: never to <> */
    char name[48];
    snprintf(name, sizeof(name), "dsn_notify.%d", m->rcpts[ri].index);
    return dsn_param_notify_wants(dsn_param_notify_attr(queue_msg_attr(m, name)),
                                  kind);
}

int bounce_log_expire(const char *queue_dir, const char *id,
                      const queue_rcpt *r, const char *defer_text)
{
    /* The reason of this pass's deferral is the best explanation of why
     * the message is returned (Postfix reports it the same way); without
     * one, RFC 3463's "delivery time expired". */
    char dsn[16] = "4.4.7";
    const char *why = "delivery time expired";
    char *copy = mem_strdup(defer_text ? defer_text : "");
    size_t alen = strlen(r->addr);
    for (char *l = copy; *l;) {
        char *nl = strchr(l, '\n');
        if (nl != NULL)
            *nl = '\0';
        char *tab = strncmp(l, r->addr, alen) == 0 && l[alen] == '\t'
                        ? strchr(l + alen + 1, '\t')
                        : NULL;
        if (tab != NULL && tab - (l + alen + 1) < (long)sizeof(dsn)) {
            snprintf(dsn, sizeof(dsn), "%.*s", (int)(tab - (l + alen + 1)), l + alen + 1);
            why = tab + 1;
            break;
        }
        if (nl == NULL)
            break;
        l = nl + 1;
    }
    int ret = bounce_log_append(queue_dir, id, r->index, BOUNCE_FAILED, dsn, why);
    mem_free(&copy);
    return ret;
}
