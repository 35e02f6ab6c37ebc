/*
 * local_mailbox - Maildir and mbox writers; see local_mailbox.h.
 *
 * DSN codes (RFC 3463): a mailbox that is full (EDQUOT, EFBIG) is 4.2.2,
 * a file system that is full 4.3.1, any other write or lock problem 4.2.0
 * (mailbox) or 4.3.0 (system): all temporary, so qmgr retries and an
 * administrator can fix permissions or space in the meantime.  A mailbox
 * that is not a plain file is 5.2.0 would be defensible; we defer (4.2.0)
 * so the administrator can look before any mail is returned.
 */
#include "local/local_mailbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"

#define LOCAL_COPY_BUF 65536
#define LOCAL_DOTLOCK_STALE 300
#define LOCAL_LOCK_WAIT 60

static int local_mailbox_fail(local_fail *f, int err, const char *dsn_other,
                              const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int local_mailbox_fail(local_fail *f, int err, const char *dsn_other,
                              const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (err == EDQUOT || err == EFBIG)
        f->dsn = "4.2.2";
    else if (err == ENOSPC)
        f->dsn = "4.3.1";
    else
        f->dsn = dsn_other;
    if (err != 0) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof(text) - n, ": %s", strerror(err));
    }
    f->text = mem_strdup(text);
    return -1;
}

/* Maildir names must not hold '/' or ':' (maildir(5)): the host part is
 * escaped the way Courier and Dovecot do it. */
char *local_maildir_name(long long arrival_sec, const char *id, int index,
                         const char *target, size_t size)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    char esc[1024];
    size_t n = 0;
    for (const char *p = host; *p && n + 5 < sizeof(esc); p++) {
        if (*p == '/')
            n += (size_t)snprintf(esc + n, sizeof(esc) - n, "\\057");
        else if (*p == ':')
            n += (size_t)snprintf(esc + n, sizeof(esc) - n, "\\072");
        else
            esc[n++] = *p;
    }
    esc[n] = '\0';
    /* FNV-1a of the target: one name per (message, recipient, mailbox),
     * stable across retries. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++) {
        unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
        h = (h ^ c) * 16777619u;
    }
    char *name = mem_alloc(strlen(esc) + strlen(id) + 96);
    sprintf(name, "%lld.%s_%d_%08x.%s,S=%zu", arrival_sec, id, index, h, esc,
            size);
    return name;
}

/* Copy the message (prepend, then content) to fd. */
static int local_mailbox_copy(int out, const local_msg *m)
{
    if (fs_write_all(out, m->prepend, strlen(m->prepend)) < 0)
        return -1;
    char *b = mem_alloc(LOCAL_COPY_BUF);
    off_t off = m->off;
    size_t left = m->len;
    int r = 0;
    while (left > 0) {
        size_t want = left < LOCAL_COPY_BUF ? left : LOCAL_COPY_BUF;
        ssize_t n = pread(m->fd, b, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the queue file is shorter than it says */
            r = -1;
            break;
        }
        if (fs_write_all(out, b, (size_t)n) < 0) {
            r = -1;
            break;
        }
        off += n;
        left -= (size_t)n;
    }
    mem_free(&b);
    return r;
}

static int local_maildir_mkdirs(const char *dir)
{
    static const char *const sub[] = {"tmp", "new", "cur"};
    for (int i = 0; i < 3; i++) {
        char *p = fs_join(dir, sub[i]);
        int r = fs_mkdirs(p, 0700);
        mem_free(&p);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Is NAME, or NAME:2,FLAGS, in cur/? */
static bool local_maildir_in_cur(const char *dir, const char *name)
{
    char *curd = fs_join(dir, "cur");
    DIR *d = opendir(curd);
    mem_free(&curd);
    if (d == NULL)
        return false;
    size_t n = strlen(name);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = strncmp(e->d_name, name, n) == 0 &&
                (e->d_name[n] == '\0' || e->d_name[n] == ':');
    closedir(d);
    return found;
}

int local_maildir_deliver(const char *dir, const char *name,
                          const local_msg *m, bool look_in_cur,
                          local_fail *f)
{
    char *tmpd = fs_join(dir, "tmp");
    char *newd = fs_join(dir, "new");
    char *tmp = fs_join(tmpd, name);
    char *dst = fs_join(newd, name);
    int r = -1;
    struct stat st;
    if (stat(dst, &st) == 0 ||
        (look_in_cur && local_maildir_in_cur(dir, name))) {
        r = 0; /* delivered before a crash took qmgr's mark with it */
        goto out;
    }
    if (stat(newd, &st) < 0 && local_maildir_mkdirs(dir) < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "create maildir %s", dir);
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "create maildir file %s", tmp);
        goto out;
    }
    if (local_mailbox_copy(fd, m) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "write maildir file %s", tmp);
        goto out;
    }
    if (close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "write maildir file %s", tmp);
        goto out;
    }
    /* link, not rename: it fails with EEXIST instead of replacing a copy
     * a reader may already hold (maildir(5)). */
    if (link(tmp, dst) < 0 && errno != EEXIST) {
        int e = errno;
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "link maildir file %s", dst);
        goto out;
    }
    unlink(tmp);
    if (fs_sync_dir(newd) < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "sync maildir %s", newd);
        goto out;
    }
    r = 0;
out:
    mem_free(&tmpd);
    mem_free(&newd);
    mem_free(&tmp);
    mem_free(&dst);
    return r;
}

/* ---- mbox ---- */

int local_mbox_quote(FILE *in, size_t len, FILE *out)
{
    char *line = NULL;
    size_t cap = 0;
    size_t left = len;
    bool last_lf = true;
    while (left > 0) {
        ssize_t n = getline(&line, &cap, in);
        if (n <= 0) {
            free(line);
            errno = EIO; /* the queue file is shorter than it says */
            return -1;
        }
        size_t use = (size_t)n > left ? left : (size_t)n;
        left -= use;
        size_t gt = 0;
        while (gt < use && line[gt] == '>')
            gt++;
        if (use - gt >= 5 && memcmp(line + gt, "From ", 5) == 0)
            fputc('>', out);
        fwrite(line, 1, use, out);
        last_lf = line[use - 1] == '\n';
    }
    free(line);
    if (!last_lf)
        fputc('\n', out);
    return ferror(out) ? -1 : 0;
}

static void local_mbox_alarm(int sig)
{
    (void)sig; /* interrupts F_SETLKW */
}

/* Dotlock PATH.lock: O_EXCL create, retried for LOCAL_LOCK_WAIT s; a lock
 * older than LOCAL_DOTLOCK_STALE is taken as left by a crash. */
static int local_mbox_dotlock(const char *lock)
{
    for (int tries = 0; tries < LOCAL_LOCK_WAIT * 4; tries++) {
        int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno != EEXIST)
            return -1;
        struct stat st;
        if (stat(lock, &st) == 0 && time(NULL) - st.st_mtime > LOCAL_DOTLOCK_STALE)
            unlink(lock);
        struct timespec ts = {0, 250000000};
        nanosleep(&ts, NULL);
    }
    errno = EAGAIN;
    return -1;
}

int local_mbox_deliver(const char *path, const local_msg *m, long uid,
                       long gid, local_fail *f)
{
    char *lock = mem_alloc(strlen(path) + 6);
    sprintf(lock, "%s.lock", path);
    int r = -1, fd = -1;
    bool locked = false;
    FILE *out = NULL;
    off_t orig = 0;
    if (local_mbox_dotlock(lock) < 0) {
        local_mailbox_fail(f, errno, "4.2.0",
                           "cannot update mailbox %s: dotlock %s", path, lock);
        goto out;
    }
    locked = true;
    /* O_NOFOLLOW and the checks below: a mailbox replaced by a link or a
     * directory must not make us write elsewhere. */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "cannot update mailbox %s", path);
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        local_mailbox_fail(f, 0, "4.2.0",
                           "cannot update mailbox %s: not a regular file with "
                           "one link",
                           path);
        goto out;
    }
    if (uid >= 0 && st.st_size == 0 && st.st_uid != (uid_t)uid)
        if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0) {
            local_mailbox_fail(f, errno, "4.2.0", "chown mailbox %s", path);
            goto out;
        }
    if (uid >= 0 && st.st_uid != (uid_t)uid && st.st_size > 0) {
        local_mailbox_fail(f, 0, "4.2.0",
                           "cannot update mailbox %s: owned by uid %ld, not %ld",
                           path, (long)st.st_uid, uid);
        goto out;
    }
    /* The wait for the lock is bounded by its own alarm; the caller's
     * (the whole delivery's time limit) is put back afterwards. */
    struct sigaction sa = {.sa_handler = local_mbox_alarm}, old;
    sigaction(SIGALRM, &sa, &old);
    time_t t0 = time(NULL);
    unsigned outer = alarm(LOCAL_LOCK_WAIT);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int lr = fcntl(fd, F_SETLKW, &fl);
    int le = errno;
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    if (outer > 0) {
        time_t spent = time(NULL) - t0;
        alarm(outer > (unsigned)spent ? outer - (unsigned)spent : 1);
    }
    if (lr < 0) {
        local_mailbox_fail(f, le, "4.2.0", "cannot update mailbox %s: lock",
                           path);
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "cannot update mailbox %s", path);
        goto out;
    }
    orig = st.st_size;

    /* The entry is built in memory and written with one write(2), so an
     * error can never leave buffered bytes to land after the truncate. */
    char *mem = NULL;
    size_t memlen = 0;
    out = open_memstream(&mem, &memlen);
    FILE *in = NULL;
    int qfd = dup(m->fd);
    if (qfd >= 0 && lseek(qfd, m->off, SEEK_SET) >= 0)
        in = fdopen(qfd, "r");
    if (out == NULL || in == NULL) {
        int e = errno;
        if (in)
            fclose(in);
        else if (qfd >= 0)
            close(qfd);
        local_mailbox_fail(f, e, "4.3.0", "cannot update mailbox %s", path);
        goto out;
    }
    time_t now = time(NULL);
    char date[64];
    struct tm tm;
    localtime_r(&now, &tm);
    /* asctime(3) layout, as every mbox reader expects after "From ". */
    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
    fprintf(out, "From %s  %s\n", *m->sender ? m->sender : "MAILER-DAEMON",
            date);
    fputs(m->prepend, out);
    int qr = local_mbox_quote(in, m->len, out);
    int qe = errno;
    fclose(in);
    fputc('\n', out); /* the empty line that ends a message in mbox */
    if (qr < 0 || fflush(out) != 0) {
        local_mailbox_fail(f, qr < 0 ? qe : errno, "4.3.0",
                           "cannot update mailbox %s: reading message", path);
        fclose(out);
        out = NULL;
        free(mem);
        goto out;
    }
    fclose(out);
    out = NULL;
    if (fs_write_all(fd, mem, memlen) < 0 || fsync(fd) < 0) {
        int e = errno;
        /* No partial message: back to the old size. */
        if (ftruncate(fd, orig) == 0)
            fsync(fd);
        free(mem);
        local_mailbox_fail(f, e, "4.2.0",
                           "cannot update mailbox %s: error writing message",
                           path);
        goto out;
    }
    free(mem);
    r = 0;
out:
    if (out)
        fclose(out);
    if (fd >= 0)
        close(fd); /* drops the fcntl lock */
    if (locked)
        unlink(lock);
    mem_free(&lock);
    return r;
}
