/*
 * local_mbox - append one message to an mbox file; see local_mbox.h.
 */
#include "local/local_mbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"

#define LOCAL_DOTLOCK_STALE 300
#define LOCAL_LOCK_WAIT 60

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
    /* Another delivery holds it for a few milliseconds, a mail reader for
     * longer: poll from 5 ms up, doubling to 250 ms, so a busy mailbox is
     * not slowed to four deliveries a second. */
    long wait_ns = 5000000;
    time_t deadline = time(NULL) + LOCAL_LOCK_WAIT;
    for (;;) {
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
        if (time(NULL) > deadline)
            break;
        struct timespec ts = {0, wait_ns};
        nanosleep(&ts, NULL);
        if (wait_ns < 250000000)
            wait_ns *= 2;
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
