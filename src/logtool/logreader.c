/*
 * logreader - stream the lines of a log file, stdin or a gzip file.
 *
 * One large buffer (1 MiB) is filled with read(2) (or gzread for gzip
 * input) and lines are handed out as pointers into it, so the cost per line
 * is one memchr: no copy, no allocation.  A line longer than
 * LOGREADER_LINE_MAX is handed out cut to that length and the rest of it
 * dropped, so memory stays bounded whatever the input.
 *
 * gzip is recognised by its magic bytes, not the name.  stdin always goes
 * through zlib, which passes plain text through unchanged (we cannot peek
 * at a pipe without consuming it).
 *
 * What it does not do: parse, print, or decide what a bad line is beyond
 * its length (the parser flags binary lines).
 */
#include "logtool/logreader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/mem.h"

#define LOGREADER_BUF (1024 * 1024)

struct logreader {
    char *path;
    int fd;
    gzFile gz;              /* non-NULL: read through zlib */
    bool follow;
    bool eof;               /* the last read returned 0 */
    bool skipping;          /* dropping the rest of an over-long line */
    bool cut;               /* the last line handed out was cut */
    char *buf;
    size_t start, end;      /* unread bytes are buf[start, end) */
    dev_t dev;
    ino_t ino;
    off_t pos;              /* bytes read from fd (plain files) */
    logreader_stats st;
};

static int logreader_attach(logreader *r, int fd, const char **err_r)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        *err_r = strerror(errno);
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        *err_r = "is a directory, not a log file";
        errno = EISDIR;
        return -1;
    }
    r->fd = fd;
    r->dev = sb.st_dev;
    r->ino = sb.st_ino;
    r->pos = 0;
    r->gz = NULL;
    unsigned char magic[2];
    bool gzip = false;
    if (S_ISREG(sb.st_mode)) {
        gzip = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    } else {
        gzip = true; /* pipe / tty: zlib passes plain text through */
    }
    if (gzip) {
        int gfd = dup(fd);
        if (gfd < 0 || (r->gz = gzdopen(gfd, "rb")) == NULL) {
            if (gfd >= 0)
                close(gfd);
            *err_r = "cannot start gzip decoding";
            return -1;
        }
        gzbuffer(r->gz, 256 * 1024);
    }
    return 0;
}

logreader *logreader_open(const char *path, const char **err_r)
{
    int fd;
    if (strcmp(path, "-") == 0) {
        fd = dup(0);
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        *err_r = errno == ENOENT ? "no such file" : strerror(errno);
        return NULL;
    }
    logreader *r = mem_zalloc(sizeof(*r));
    if (logreader_attach(r, fd, err_r) != 0) {
        int saved = errno;
        close(fd);
        mem_free(&r);
        errno = saved;
        return NULL;
    }
    r->path = mem_strdup(path);
    r->buf = mem_alloc(LOGREADER_BUF);
    return r;
}

static void logreader_detach(logreader *r)
{
    if (r->gz != NULL) {
        gzclose(r->gz);
        r->gz = NULL;
    }
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

void logreader_close(logreader **rp)
{
    logreader *r = *rp;
    if (r == NULL)
        return;
    logreader_detach(r);
    mem_free(&r->buf);
    mem_free(&r->path);
    mem_free(rp);
}

/* Read more into the buffer: >0 bytes, 0 at EOF, -1 on error. */
static ssize_t logreader_fill(logreader *r, const char **err_r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    size_t room = LOGREADER_BUF - r->end;
    ssize_t n;
    if (r->fd < 0)
        return 0;
    if (r->gz != NULL) {
        int g = gzread(r->gz, r->buf + r->end, (unsigned)room);
        if (g < 0) {
            int e;
            *err_r = gzerror(r->gz, &e);
            return -1;
        }
        n = g;
        if (n == 0)
            gzclearerr(r->gz); /* follow: a growing file may go on */
    } else {
        do
            n = read(r->fd, r->buf + r->end, room);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            *err_r = strerror(errno);
            return -1;
        }
        r->pos += n;
    }
    r->end += (size_t)n;
    r->st.bytes += (unsigned long long)n;
    return n;
}

int logreader_next(logreader *r, const char **line_r, size_t *len_r,
                   const char **err_r)
{
    r->cut = false;
    for (;;) {
        char *s = r->buf + r->start;
        size_t avail = r->end - r->start;
        char *nl = avail ? memchr(s, '\n', avail) : NULL;
        if (nl != NULL) {
            size_t len = (size_t)(nl - s);
            r->start += len + 1;
            if (r->skipping) {
                r->skipping = false;
                continue;
            }
            if (len > LOGREADER_LINE_MAX) {
                len = LOGREADER_LINE_MAX;
                r->st.truncated++;
                r->cut = true;
            }
            r->st.lines++;
            *line_r = s;
            *len_r = len;
            return 1;
        }
        if (avail >= LOGREADER_LINE_MAX) {
            /* No newline within the maximum: hand out the head, drop the tail. */
            r->start = r->end;
            if (r->skipping)
                continue;
            r->skipping = true;
            r->st.truncated++;
            r->cut = true;
            r->st.lines++;
            *line_r = s;
            *len_r = LOGREADER_LINE_MAX;
            return 1;
        }
        ssize_t n = logreader_fill(r, err_r);
        if (n < 0)
            return -1;
        if (n > 0)
            continue;
        r->eof = true;
        if (r->follow || avail == 0)
            return 0;
        /* The last line has no newline: it may have been cut off. */
        r->start = r->end;
        if (r->skipping) {
            r->skipping = false;
            return 0;
        }
        r->st.truncated++;
        r->cut = true;
        r->st.lines++;
        *line_r = r->buf + r->end - avail;
        *len_r = avail;
        return 1;
    }
}

void logreader_set_follow(logreader *r, bool on) { r->follow = on; }

int logreader_check_rotation(logreader *r)
{
    struct stat sb;
    if (r->path == NULL || strcmp(r->path, "-") == 0)
        return 0;
    if (stat(r->path, &sb) != 0)
        return -1;
    if (sb.st_dev != r->dev || sb.st_ino != r->ino) {
        /* Rotated: the caller has drained the old file; take the new one
         * from its start. */
        int fd = open(r->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        const char *err;
        logreader_detach(r);
        r->start = r->end = 0;
        r->skipping = false;
        if (logreader_attach(r, fd, &err) != 0) {
            close(fd);
            return -1;
        }
        return 1;
    }
    if (r->gz == NULL && sb.st_size < r->pos) {
        /* Truncated in place (copytruncate): read again from the start. */
        if (lseek(r->fd, 0, SEEK_SET) == 0) {
            r->pos = 0;
            r->start = r->end = 0;
            r->skipping = false;
            return 1;
        }
    }
    return 0;
}

void logreader_seek_end(logreader *r)
{
    if (r->gz != NULL)
        return;
    off_t off = lseek(r->fd, 0, SEEK_END);
    if (off >= 0)
        r->pos = off;
    r->start = r->end = 0;
}

bool logreader_cut(const logreader *r) { return r->cut; }

const logreader_stats *logreader_stats_get(const logreader *r) { return &r->st; }

const char *logreader_path(const logreader *r) { return r->path; }
