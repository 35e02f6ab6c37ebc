/*
 * postdrop - write one submission into maildrop/, in-process for sendmail
 * or as the setgid helper "postdrop" (Postfix's postdrop(1)).
 *
 * The file is a queue file (docs/queue.md) whose ID record is its name, so
 * mailq lists maildrop entries like any others.  It is made mode 0600,
 * written, fsynced, then set to mode 0404: pickup takes only files that
 * others may read, so it never sees half a message, and a file left at
 * 0600 by a crash is removed by pickup after an hour.  The file belongs to
 * the submitting user; that owner is the uid pickup logs.  0404 and not
 * 0444: pickup reads it as "other" (it owns the directory, not the file),
 * while another user who runs the setgid helper is in the file's group and
 * so cannot read someone else's message.
 *
 * As the setgid helper, the only privilege is the group that may write
 * maildrop/ (setgid_group): the helper reads its input completely and
 * checks it before it creates anything, and pickup checks it again, since
 * everything in maildrop/ comes from local users.
 *
 * Does not: add headers or qualify addresses (pickup does), or decide who
 * may submit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "global/mail_trigger.h"
#include "tools/queue_cmd.h"
#include "tools/sendmail.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

/* Envelope fields end at a line end; a TAB would split a recipient record
 * into address and original recipient (docs/queue.md). */
static bool postdrop_clean(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n\t") == NULL;
}

char *postdrop_stream(const postdrop_msg *m, size_t *len_r)
{
    size_t head = strlen(m->sender) + 64 + (m->full_name ? strlen(m->full_name) : 0);
    for (size_t i = 0; i < m->nrcpt; i++)
        head += strlen(m->rcpts[i]) + 3;
    char *out = mem_alloc(head + m->content_len + 1);
    size_t n = (size_t)sprintf(out, "F %s\n", m->sender);
    if (m->full_name)
        n += (size_t)sprintf(out + n, "N %s\n", m->full_name);
    for (size_t i = 0; i < m->nrcpt; i++)
        n += (size_t)sprintf(out + n, "R %s\n", m->rcpts[i]);
    n += (size_t)sprintf(out + n, "C %zu\n", m->content_len);
    memcpy(out + n, m->content, m->content_len);
    n += m->content_len;
    out[n] = '\0';
    *len_r = n;
    return out;
}

int postdrop_parse(const char *data, size_t len, postdrop_msg *m,
                   const char **why_r)
{
    memset(m, 0, sizeof(*m));
    m->rcpts = mem_zalloc(sizeof(*m->rcpts));
    size_t pos = 0;
    bool have_f = false;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (nl == NULL || nl - (data + pos) < 2 || data[pos + 1] != ' ') {
            *why_r = "malformed envelope record";
            goto bad;
        }
        size_t vlen = (size_t)(nl - data) - pos - 2;
        if (memchr(data + pos + 2, '\0', vlen) != NULL) {
            *why_r = "NUL byte in an envelope field";
            goto bad;
        }
        char *val = mem_strndup(data + pos + 2, vlen);
        char type = data[pos];
        pos = (size_t)(nl - data) + 1;
        if (type == 'C') {
            char *end;
            unsigned long long n = strtoull(val, &end, 10);
            bool ok = *val != '\0' && *end == '\0' && n == len - pos;
            mem_free(&val);
            if (!ok) {
                *why_r = "content length does not match";
                goto bad;
            }
            if (!have_f || m->nrcpt == 0) {
                *why_r = have_f ? "no recipients" : "no sender";
                goto bad;
            }
            m->content = data + pos;
            m->content_len = (size_t)n;
            return 0;
        }
        if (!postdrop_clean(val) || strlen(val) > 2048) {
            mem_free(&val);
            *why_r = "bad character or length in an envelope field";
            goto bad;
        }
        if (type == 'F' && !have_f) {
            m->sender = val;
            have_f = true;
        } else if (type == 'N' && m->full_name == NULL) {
            m->full_name = val;
        } else if (type == 'R') {
            m->rcpts = mem_realloc(m->rcpts, (m->nrcpt + 2) * sizeof(*m->rcpts));
            m->rcpts[m->nrcpt++] = val;
            m->rcpts[m->nrcpt] = NULL;
        } else {
            mem_free(&val);
            *why_r = "unexpected envelope record";
            goto bad;
        }
    }
    *why_r = "no content record";
bad:
    postdrop_msg_free(m);
    return -1;
}

void postdrop_msg_free(postdrop_msg *m)
{
    mem_free(&m->sender);
    mem_free(&m->full_name);
    for (size_t i = 0; m->rcpts && i < m->nrcpt; i++)
        mem_free(&m->rcpts[i]);
    mem_free(&m->rcpts);
    m->nrcpt = 0;
}

static char *postdrop_err(const char *what, const char *path)
{
    char text[1200];
    snprintf(text, sizeof(text), "%s %s: %s", what, path, strerror(errno));
    return mem_strdup(text);
}

int postdrop_store(const char *queue_dir, const postdrop_msg *m,
                   char id_r[QUEUE_ID_SIZE], char **err_r)
{
    if (!postdrop_clean(m->sender) || (m->full_name && !postdrop_clean(m->full_name))) {
        errno = EINVAL;
        *err_r = mem_strdup("line break or TAB in the sender or full name");
        return -1;
    }
    for (size_t i = 0; i < m->nrcpt; i++) {
        if (!postdrop_clean(m->rcpts[i]) || m->rcpts[i][0] == '\0') {
            errno = EINVAL;
            *err_r = mem_strdup("empty recipient, or line break or TAB in a recipient");
            return -1;
        }
    }
    char *dir = fs_join(queue_dir, QUEUE_MAILDROP);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long sec = tv.tv_sec, usec = tv.tv_usec;
    char *path = NULL;
    int fd = -1;
    /* The same naming as queue_file_create: a name taken by a message of
     * the same microsecond steps to the next. */
    for (int tries = 0; tries < 1000; tries++) {
        snprintf(id_r, QUEUE_ID_SIZE, "%07llX%05llX", sec & 0xFFFFFFF, usec);
        mem_free(&path);
        path = fs_join(dir, id_r);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        if (++usec == 1000000) {
            usec = 0;
            sec++;
        }
    }
    if (fd < 0) {
        *err_r = postdrop_err("create a file in", dir);
        mem_free(&dir);
        mem_free(&path);
        return -1;
    }
    /* The envelope in queue-file records, then the content as is. */
    buf *b = buf_new(64 * 1024 * 1024);
    buf_printf(b, "V 1\nT %lld\nI %s\nF %s\n", (long long)tv.tv_sec * 1000000 + tv.tv_usec,
               id_r, m->sender);
    if (m->full_name)
        buf_printf(b, "A full_name=%s\n", m->full_name);
    buf_printf(b, "A uid=%ld\n", (long)getuid());
    for (size_t i = 0; i < m->nrcpt; i++)
        buf_printf(b, "R %c %zu %s\n", QUEUE_RCPT_TODO, i, m->rcpts[i]);
    buf_printf(b, "C %020zu\n", m->content_len);
    int r = fs_write_all(fd, b->data, b->len);
    buf_free(&b);
    if (r == 0)
        r = fs_write_all(fd, m->content, m->content_len);
    if (r == 0)
        r = fs_write_all(fd, "\nE\n", 3);
    /* Complete only when durable: fsync, then the read bits pickup waits
     * for, then fsync again for the mode and the directory for the name. */
    if (r == 0)
        r = fsync(fd);
    if (r == 0)
        r = fchmod(fd, 0404);
    if (r == 0)
        r = fsync(fd);
    /* The name must survive a power cut too.  The setgid helper may not
     * read maildrop/ (mode 1730), so it cannot open the directory to fsync
     * it; syncfs(2) on the file's file system covers the entry as well. */
    if (r == 0 && fs_sync_dir(dir) < 0)
        r = errno == EACCES ? syncfs(fd) : -1;
    if (r < 0) {
        *err_r = postdrop_err("write", path);
        int saved = errno;
        close(fd);
        unlink(path);
        errno = saved;
        mem_free(&dir);
        mem_free(&path);
        return -1;
    }
    close(fd);
    mem_free(&dir);
    mem_free(&path);
    mail_trigger(queue_dir, "pickup");
    return 0;
}

/* The helper: read the stream from standard input, store it, print the
 * maildrop ID.  Exit codes are sysexits, for sendmail to pass on. */
int postdrop_main(int argc, char **argv)
{
    /* Setgid, the helper opens no log file: maillog_file comes from a
     * configuration the caller may choose ($MAIL_CONFIG), and a file
     * opened with setgid_group's rights could be made inside maildrop/.
     * Its diagnostics go to the caller's stderr. */
    if (getegid() != getgid()) {
        mail_conf_read();
        msg_init("postdrop");
        msg_stderr_only();
    } else {
        mail_command_init("postdrop");
    }
    /* mailq for a user: the helper's group may enter public/ to reach
     * pickup's showq service (Postfix's postqueue is setgid for this). */
    if (argc == 3 && strcmp(argv[1], "--showq") == 0) {
        char *qdir = var_path("queue_directory");
        char why[600];
        int r = queue_cmd_showq(qdir, strcmp(argv[2], "json") == 0, why, sizeof(why));
        /* The caller (queue_cmd.c) leaves the words to us. */
        if (r != 0)
            r = queue_cmd_showq_fail(r, qdir, why);
        mem_free(&qdir);
        return r;
    }
    long long limit = var_int("message_size_limit");
    /* Envelope records on top of the content: recipients are bounded by
     * smtpd_recipient_limit-sized lists, far below a megabyte each. */
    size_t max = (size_t)(limit > 0 ? limit : 10240000) + 4 * 1024 * 1024;
    buf *in = buf_new(max);
    char chunk[65536];
    ssize_t n;
    while ((n = read(0, chunk, sizeof(chunk))) > 0) {
        if (buf_append(in, chunk, (size_t)n) < 0) {
            fprintf(stderr, "postdrop: message too large\n");
            buf_free(&in);
            return EX_DATAERR;
        }
    }
    if (n < 0) {
        fprintf(stderr, "postdrop: read standard input: %s\n", strerror(errno));
        buf_free(&in);
        return EX_IOERR;
    }
    postdrop_msg m;
    const char *why;
    if (postdrop_parse(in->data, in->len, &m, &why) < 0) {
        fprintf(stderr, "postdrop: malformed input: %s\n", why);
        buf_free(&in);
        return EX_DATAERR;
    }
    char *qdir = var_path("queue_directory");
    char id[QUEUE_ID_SIZE];
    char *err = NULL;
    int status = 0;
    if (postdrop_store(qdir, &m, id, &err) < 0) {
        fprintf(stderr, "postdrop: %s\n", err);
        status = errno == EINVAL ? EX_DATAERR : EX_TEMPFAIL;
        mem_free(&err);
    } else {
        printf("%s\n", id);
    }
    mem_free(&qdir);
    postdrop_msg_free(&m);
    buf_free(&in);
    return status;
}
