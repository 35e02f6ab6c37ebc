/*
 * queue_file - write, read and mark queue files; see queue_file.h and
 * docs/queue.md (format, states, crash guarantees).
 *
 * Writer: records are buffered in memory and written in large pieces; a
 * write error is remembered and reported by commit, which is the only place
 * where the caller must look.  Commit writes the end marker, patches the
 * content length in place, sets mode 0700 ("complete"), fsyncs the file,
 * then fsyncs incoming/ so that the name survives a power cut.  Only after
 * that may the client hear 250.
 *
 * Reader: reads the envelope records line by line up to the content record,
 * then checks the end marker by seeking past the content, so a 10 MB message
 * costs qmgr a few small reads.
 */
#include "global/queue_file.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

#define QUEUE_FILE_WBUF (64 * 1024)
#define QUEUE_RECORD_MAX (64 * 1024)
#define QUEUE_LEN_DIGITS 20
#define QUEUE_END_MARKER "\nE\n"

struct queue_file {
    char id[QUEUE_ID_SIZE];
    char *path;
    char *dir;
    int fd;
    int error;          /* first errno of a failed write, sticky */
    off_t pos;          /* bytes written or buffered so far */
    off_t len_off;      /* offset of the content length digits */
    off_t content_start;
    size_t content_len;
    long long arrival;
    int nrcpt;
    bool in_content;
    buf *wbuf;
};

/* "<what> <path>: <strerror>" as a new string for an err_r. */
static char *queue_strerr(const char *what, const char *path, int err)
{
    char text[1024];
    snprintf(text, sizeof(text), "%s %s: %s", what, path, strerror(err));
    return mem_strdup(text);
}

int queue_dirs_create(const char *queue_dir)
{
    static const char *const dirs[] = {
        QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED,
        QUEUE_HOLD, QUEUE_CORRUPT, QUEUE_DEFER, QUEUE_PUBLIC, QUEUE_PRIVATE,
    };
    if (fs_mkdirs(queue_dir, 0755) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *p = fs_join(queue_dir, dirs[i]);
        /* maildrop is writable by the postdrop group (issue 3). */
        int r = fs_mkdirs(p, strcmp(dirs[i], QUEUE_MAILDROP) == 0 ? 0730 : 0700);
        mem_free(&p);
        if (r < 0)
            return -1;
    }
    return 0;
}

bool queue_id_valid(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (!isxdigit((unsigned char)id[n]) || islower((unsigned char)id[n]))
            return false;
    return n >= 10 && n <= QUEUE_ID_LEN;
}

/* ---- writer ---- */

static void queue_file_flush(queue_file *qf)
{
    if (qf->wbuf->len == 0)
        return;
    if (qf->error == 0 && fs_write_all(qf->fd, qf->wbuf->data, qf->wbuf->len) < 0)
        qf->error = errno;
    buf_reset(qf->wbuf);
}

static void queue_file_put(queue_file *qf, const void *p, size_t n)
{
    qf->pos += (off_t)n;
    if (qf->wbuf->len + n > QUEUE_FILE_WBUF)
        queue_file_flush(qf);
    if (n >= QUEUE_FILE_WBUF) {
        if (qf->error == 0 && fs_write_all(qf->fd, p, n) < 0)
            qf->error = errno;
        return;
    }
    buf_append(qf->wbuf, p, n);
}

/* A record value may not contain a line end or NUL: it would forge records. */
static bool queue_file_clean(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static int queue_file_record(queue_file *qf, char type, const char *a,
                             const char *b)
{
    if (qf->in_content)
        msg_panic("queue_file_record: record '%c' after content", type);
    if (!queue_file_clean(a) || (b && !queue_file_clean(b))) {
        errno = EINVAL;
        return -1;
    }
    char head[2] = {type, ' '};
    queue_file_put(qf, head, 2);
    queue_file_put(qf, a, strlen(a));
    if (b != NULL)
        queue_file_put(qf, b, strlen(b));
    queue_file_put(qf, "\n", 1);
    return 0;
}

int queue_file_create(const char *queue_dir, queue_file **qf_r, char **err_r)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long sec = tv.tv_sec, usec = tv.tv_usec;
    char *dir = fs_join(queue_dir, QUEUE_INCOMING);
    char *path = NULL;
    int fd = -1;
    char id[QUEUE_ID_SIZE];
    for (int tries = 0; tries < 1000; tries++) {
        snprintf(id, sizeof(id), "%07llX%05llX", sec & 0xFFFFFFF, usec);
        mem_free(&path);
        path = fs_join(dir, id);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        /* Taken by a message that arrived in the same microsecond. */
        if (++usec == 1000000) {
            usec = 0;
            sec++;
        }
    }
    if (fd < 0) {
        *err_r = queue_strerr("create queue file in", dir, errno);
        mem_free(&dir);
        mem_free(&path);
        return -1;
    }
    queue_file *qf = mem_zalloc(sizeof(*qf));
    memcpy(qf->id, id, sizeof(id));
    qf->path = path;
    qf->dir = dir;
    qf->fd = fd;
    qf->arrival = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
    qf->wbuf = buf_new(QUEUE_FILE_WBUF);
    char num[32];
    snprintf(num, sizeof(num), "%lld", qf->arrival);
    queue_file_record(qf, 'V', "1", NULL);
    queue_file_record(qf, 'T', num, NULL);
    queue_file_record(qf, 'I', qf->id, NULL);
    *qf_r = qf;
    return 0;
}

const char *queue_file_id(const queue_file *qf) { return qf->id; }
long long queue_file_arrival(const queue_file *qf) { return qf->arrival; }
int queue_file_nrcpt(const queue_file *qf) { return qf->nrcpt; }
size_t queue_file_content_size(const queue_file *qf) { return qf->content_len; }

int queue_file_sender(queue_file *qf, const char *sender)
{
    return queue_file_record(qf, 'F', sender, NULL);
}

int queue_file_attr(queue_file *qf, const char *name, const char *value)
{
    if (strchr(name, '=') != NULL) {
        errno = EINVAL;
        return -1;
    }
    buf *b = buf_new(QUEUE_RECORD_MAX);
    int r = -1;
    if (buf_printf(b, "%s=", name) == 0)
        r = queue_file_record(qf, 'A', b->data, value);
    else
        errno = E2BIG;
    buf_free(&b);
    return r;
}

int queue_file_rcpt(queue_file *qf, const char *addr, const char *orcpt)
{
    if (strchr(addr, '\t') != NULL || (orcpt && strchr(orcpt, '\t'))) {
        errno = EINVAL;
        return -1;
    }
    buf *b = buf_new(QUEUE_RECORD_MAX);
    int r = -1;
    if (buf_printf(b, "%c %d %s%s%s", QUEUE_RCPT_TODO, qf->nrcpt, addr,
                   orcpt ? "\t" : "", orcpt ? orcpt : "") == 0)
        r = queue_file_record(qf, 'R', b->data, NULL);
    else
        errno = E2BIG;
    buf_free(&b);
    if (r == 0)
        qf->nrcpt++;
    return r;
}

int queue_file_content_begin(queue_file *qf)
{
    char rec[QUEUE_LEN_DIGITS + 4];
    snprintf(rec, sizeof(rec), "C %0*d\n", QUEUE_LEN_DIGITS, 0);
    qf->len_off = qf->pos + 2;
    queue_file_put(qf, rec, strlen(rec));
    qf->content_start = qf->pos;
    qf->in_content = true;
    return 0;
}

int queue_file_content(queue_file *qf, const void *p, size_t n)
{
    if (!qf->in_content)
        msg_panic("queue_file_content: no content record");
    queue_file_put(qf, p, n);
    qf->content_len += n;
    return qf->error ? -1 : 0;
}

int queue_file_commit(queue_file **qfp, char **err_r)
{
    queue_file *qf = *qfp;
    if (!qf->in_content)
        queue_file_content_begin(qf);
    queue_file_put(qf, QUEUE_END_MARKER, strlen(QUEUE_END_MARKER));
    queue_file_flush(qf);
    char len[QUEUE_LEN_DIGITS + 1];
    snprintf(len, sizeof(len), "%0*zu", QUEUE_LEN_DIGITS, qf->content_len);
    if (qf->error == 0 &&
        pwrite(qf->fd, len, QUEUE_LEN_DIGITS, qf->len_off) != QUEUE_LEN_DIGITS)
        qf->error = errno ? errno : EIO;
    /* Mode 0700 marks the file complete; the fsync below makes the data,
     * the length and the mode durable together. */
    if (qf->error == 0 && fchmod(qf->fd, 0700) < 0)
        qf->error = errno;
    if (qf->error == 0 && fsync(qf->fd) < 0)
        qf->error = errno;
    if (qf->error == 0 && fs_sync_dir(qf->dir) < 0)
        qf->error = errno;
    if (qf->error != 0) {
        *err_r = queue_strerr("write queue file", qf->path, qf->error);
        queue_file_abort(qfp);
        return -1;
    }
    close(qf->fd);
    mem_free(&qf->path);
    mem_free(&qf->dir);
    buf_free(&qf->wbuf);
    mem_free(qfp);
    return 0;
}

void queue_file_abort(queue_file **qfp)
{
    queue_file *qf = *qfp;
    if (qf == NULL)
        return;
    close(qf->fd);
    if (unlink(qf->path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", qf->path);
    mem_free(&qf->path);
    mem_free(&qf->dir);
    buf_free(&qf->wbuf);
    mem_free(qfp);
}

/* ---- reader ---- */

static int queue_msg_corrupt(queue_msg **mp, char **err_r, const char *path,
                             const char *why)
{
    char text[1200];
    snprintf(text, sizeof(text), "%s: corrupt queue file: %s", path, why);
    *err_r = mem_strdup(text);
    queue_msg_free(mp);
    errno = EINVAL;
    return -1;
}

static void queue_msg_add_attr(queue_msg *m, const char *rec)
{
    const char *eq = strchr(rec, '=');
    m->attrs = mem_realloc(m->attrs, (m->nattr + 1) * sizeof(*m->attrs));
    m->attrs[m->nattr].name = mem_strndup(rec, eq ? (size_t)(eq - rec) : strlen(rec));
    m->attrs[m->nattr].value = mem_strdup(eq ? eq + 1 : "");
    m->nattr++;
}

/* "R <st> <idx> <addr>[\t<orcpt>]" with the status byte at line_off + 2. */
static bool queue_msg_add_rcpt(queue_msg *m, char *rec, off_t line_off)
{
    char st = rec[0];
    if (st != QUEUE_RCPT_TODO && st != QUEUE_RCPT_DONE && st != QUEUE_RCPT_FAILED)
        return false;
    if (rec[1] != ' ')
        return false;
    char *end;
    long idx = strtol(rec + 2, &end, 10);
    if (end == rec + 2 || *end != ' ' || idx < 0)
        return false;
    char *addr = end + 1;
    char *tab = strchr(addr, '\t');
    if (tab != NULL)
        *tab = '\0';
    m->rcpts = mem_realloc(m->rcpts, (m->nrcpt + 1) * sizeof(*m->rcpts));
    queue_rcpt *r = &m->rcpts[m->nrcpt++];
    r->addr = mem_strdup(addr);
    r->orcpt = tab ? mem_strdup(tab + 1) : NULL;
    r->status = st;
    r->index = (int)idx;
    r->status_off = line_off + 2;
    return true;
}

/* ---- safe open ---- */

static bool queue_file_owner_known;
static uid_t queue_file_owner_uid;

void queue_file_owner_set(uid_t uid)
{
    queue_file_owner_uid = uid;
    queue_file_owner_known = true;
}

uid_t queue_file_owner(void)
{
    if (queue_file_owner_known)
        return queue_file_owner_uid;
    uid_t uid = geteuid();
    if (uid == 0) {
        /* root (local, the tools): the queue is mail_owner's, and the
         * owner of queue_directory says who that is without NSS.  When it
         * cannot be stat'ed, nothing can be read anyway. */
        char *q = var_path("queue_directory");
        struct stat st;
        if (stat(q, &st) == 0)
            uid = st.st_uid;
        mem_free(&q);
    }
    queue_file_owner_set(uid);
    return uid;
}

/* Refuse an unsafe file: the warning is Postfix's mail_open_ok wording
 * ("PATH: uid N: file has N links"); the caller only sees EPERM. */
static int queue_file_unsafe(int fd, const char *path, long uid,
                             const char *why, char **err_r)
{
    char text[1200];
    snprintf(text, sizeof(text), "%s: uid %ld: %s", path, uid, why);
    msg_warn("%s", text);
    if (err_r != NULL)
        *err_r = mem_strdup(text);
    if (fd >= 0)
        close(fd);
    errno = EPERM;
    return -1;
}

int queue_file_open(const char *path, int flags, uid_t owner,
                    struct stat *st_r, char **err_r)
{
    /* O_NOFOLLOW: a symlink fails with ELOOP instead of being followed;
     * O_NONBLOCK: a FIFO or device opens at once and fails the check. */
    int fd = open(path, (flags & O_ACCMODE) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat ls;
        if (e == ELOOP && lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode))
            return queue_file_unsafe(-1, path, (long)ls.st_uid,
                                     "is a symbolic link", err_r);
        if (err_r != NULL)
            *err_r = queue_strerr("open", path, e);
        errno = e;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        if (err_r != NULL)
            *err_r = queue_strerr("fstat", path, e);
        close(fd);
        errno = e;
        return -1;
    }
    char why[128];
    if (!S_ISREG(st.st_mode))
        return queue_file_unsafe(fd, path, (long)st.st_uid,
                                 "not a regular file", err_r);
    if (st.st_nlink != 1) {
        snprintf(why, sizeof(why), "file has %ld links", (long)st.st_nlink);
        return queue_file_unsafe(fd, path, (long)st.st_uid, why, err_r);
    }
    if (owner != QUEUE_FILE_ANY_OWNER && st.st_uid != owner) {
        snprintf(why, sizeof(why), "not owned by the queue owner (uid %ld)",
                 (long)owner);
        return queue_file_unsafe(fd, path, (long)st.st_uid, why, err_r);
    }
    if (st_r != NULL)
        *st_r = st;
    return fd;
}

/* Is path a file of maildrop/ (QUEUE_FILE_ANY_OWNER)? */
static bool queue_file_in_maildrop(const char *path)
{
    const char *base = strrchr(path, '/');
    if (base == NULL)
        return false;
    size_t n = strlen(QUEUE_MAILDROP);
    return (size_t)(base - path) >= n && memcmp(base - n, QUEUE_MAILDROP, n) == 0 &&
           (base - path == (ptrdiff_t)n || base[-(ptrdiff_t)n - 1] == '/');
}

int queue_msg_read(const char *path, queue_msg **m_r, char **err_r)
{
    *m_r = NULL;
    uid_t owner = queue_file_in_maildrop(path) ? QUEUE_FILE_ANY_OWNER
                                               : queue_file_owner();
    int fd = queue_file_open(path, O_RDONLY, owner, NULL, err_r);
    if (fd < 0)
        return -1;
    int r = queue_file_read(fd, path, m_r, err_r);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int queue_file_read(int fd, const char *path, queue_msg **m_r, char **err_r)
{
    *m_r = NULL;
    /* A stream of its own on a duplicate: the caller keeps fd, and reads
     * with pread, so the shared offset does not matter. */
    int dfd = dup(fd);
    FILE *fp = dfd >= 0 ? fdopen(dfd, "r") : NULL;
    if (fp == NULL) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        *err_r = queue_strerr("read", path, e);
        errno = e;
        return -1;
    }
    if (fseeko(fp, 0, SEEK_SET) != 0) {
        int e = errno;
        fclose(fp);
        *err_r = queue_strerr("read", path, e);
        errno = e;
        return -1;
    }
    queue_msg *m = mem_zalloc(sizeof(*m));
    char *line = NULL;
    size_t cap = 0;
    off_t off = 0;
    bool have_v = false, have_t = false, have_i = false, have_f = false;
    bool have_c = false;
    const char *why = NULL;
    ssize_t n;
    while (!have_c && (n = getline(&line, &cap, fp)) > 0) {
        off_t line_off = off;
        off += n;
        if (n > QUEUE_RECORD_MAX || line[n - 1] != '\n') {
            why = "record too long or truncated";
            break;
        }
        line[n - 1] = '\0';
        if (n < 3 || line[1] != ' ') {
            why = "malformed record";
            break;
        }
        char *val = line + 2;
        switch (line[0]) {
        case 'V':
            if (strcmp(val, "1") != 0)
                why = "unknown format version";
            have_v = true;
            break;
        case 'T':
            m->arrival_usec = strtoll(val, NULL, 10);
            have_t = true;
            break;
        case 'I':
            snprintf(m->id, sizeof(m->id), "%s", val);
            have_i = true;
            break;
        case 'F':
            mem_free(&m->sender);
            m->sender = mem_strdup(val);
            have_f = true;
            break;
        case 'A':
            queue_msg_add_attr(m, val);
            break;
        case 'R':
            if (!queue_msg_add_rcpt(m, val, line_off))
                why = "malformed recipient record";
            break;
        case 'C': {
            char *end;
            unsigned long long len = strtoull(val, &end, 10);
            if (*end != '\0' || strlen(val) != QUEUE_LEN_DIGITS)
                why = "malformed content record";
            m->content_len = (size_t)len;
            m->content_off = off;
            have_c = true;
            break;
        }
        default:
            why = "unknown record type";
        }
        if (why != NULL)
            break;
    }
    free(line);
    if (why == NULL && !(have_v && have_t && have_i && have_f && have_c))
        why = "missing records";
    if (why == NULL) {
        /* The end marker must follow the content exactly, then EOF. */
        char tail[sizeof(QUEUE_END_MARKER) + 1];
        if (fseeko(fp, m->content_off + (off_t)m->content_len, SEEK_SET) != 0 ||
            fread(tail, 1, sizeof(tail), fp) != strlen(QUEUE_END_MARKER) ||
            memcmp(tail, QUEUE_END_MARKER, strlen(QUEUE_END_MARKER)) != 0)
            why = "no end marker after the content";
    }
    fclose(fp);
    if (why != NULL)
        return queue_msg_corrupt(&m, err_r, path, why);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, m->id) != 0)
        return queue_msg_corrupt(&m, err_r, path, "queue ID does not match the file name");
    *m_r = m;
    return 0;
}

const char *queue_msg_attr(const queue_msg *m, const char *name)
{
    for (size_t i = 0; i < m->nattr; i++)
        if (strcmp(m->attrs[i].name, name) == 0)
            return m->attrs[i].value;
    return NULL;
}

int queue_file_mark(int fd, const queue_rcpt *r, char status)
{
    if (pwrite(fd, &status, 1, r->status_off) != 1 || fsync(fd) < 0)
        return -1;
    return 0;
}

int queue_msg_mark(const char *path, const queue_rcpt *r, char status)
{
    int fd = queue_file_open(path, O_WRONLY, queue_file_owner(), NULL, NULL);
    if (fd < 0)
        return -1;
    int ret = queue_file_mark(fd, r, status);
    int saved = errno;
    close(fd);
    errno = saved;
    return ret;
}

size_t queue_msg_pending(const queue_msg *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nrcpt; i++)
        if (m->rcpts[i].status == QUEUE_RCPT_TODO)
            n++;
    return n;
}

void queue_msg_free(queue_msg **mp)
{
    queue_msg *m = *mp;
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nattr; i++) {
        mem_free(&m->attrs[i].name);
        mem_free(&m->attrs[i].value);
    }
    for (size_t i = 0; i < m->nrcpt; i++) {
        mem_free(&m->rcpts[i].addr);
        mem_free(&m->rcpts[i].orcpt);
    }
    mem_free(&m->attrs);
    mem_free(&m->rcpts);
    mem_free(&m->sender);
    mem_free(mp);
}
