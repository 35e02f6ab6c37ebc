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
#define LOCAL_LOCK_FOREIGN_WAIT 2

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

/* Is this existing PATH.lock one to honour?  Only a regular file owned by
 * the recipient or root: a delivery (root's local, or local as the user)
 * or the user's own mail reader made it (Debian's setgid-mail
 * dotlockfile creates it as the user).  lstat, never stat: a symlink named
 * .lock must not lend its target's owner or age. */
static bool local_mbox_lock_ours(const struct stat *st, uid_t owner)
{
    return S_ISREG(st->st_mode) && (st->st_uid == owner || st->st_uid == 0);
}

/* Dotlock PATH.lock: O_EXCL create, retried.  The rule for a lock that is
 * already there (issue 14):
 *   - one of ours (local_mbox_lock_ours): honoured for LOCAL_LOCK_WAIT s;
 *     older than LOCAL_DOTLOCK_STALE (its own mtime, by lstat) it is
 *     taken as left by a crash and removed;
 *   - anything else -- not a regular file, or owned by another user -- was
 *     made by no one entitled to lock this mailbox (in a spool that is not
 *     world-writable only root and the mail group can create names).  It
 *     is removed when stale by the same rule, else honoured only for
 *     LOCAL_LOCK_FOREIGN_WAIT s (a real locker that raced us is done by
 *     then), after which the delivery is deferred naming it: a lock that
 *     another user keeps fresh cannot stall local for the whole delivery
 *     timeout, and a stranger's file is not removed unasked.
 * 0, or -1 with errno and why (a reason for the status text). */
static int local_mbox_dotlock(const char *lock, uid_t owner, char *why,
                              size_t whylen)
{
    /* Another delivery holds it for a few milliseconds, a mail reader for
     * longer: poll from 5 ms up, doubling to 250 ms, so a busy mailbox is
     * not slowed to four deliveries a second. */
    long wait_ns = 5000000;
    time_t start = time(NULL);
    time_t deadline = start + LOCAL_LOCK_WAIT;
    snprintf(why, whylen, "dotlock %s is held too long", lock);
    for (;;) {
        int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno != EEXIST) {
            int e = errno;
            snprintf(why, whylen, "dotlock %s", lock);
            errno = e;
            return -1;
        }
        struct stat st;
        if (lstat(lock, &st) == 0) {
            bool ours = local_mbox_lock_ours(&st, owner);
            /* Stale: removed and tried again at once (a name that cannot
             * be unlinked, a directory, falls through to the rule below). */
            if (time(NULL) - st.st_mtime > LOCAL_DOTLOCK_STALE && unlink(lock) == 0)
                continue;
            if (!ours && time(NULL) - start >= LOCAL_LOCK_FOREIGN_WAIT) {
                if (!S_ISREG(st.st_mode))
                    snprintf(why, whylen, "dotlock %s is not a regular file", lock);
                else
                    snprintf(why, whylen,
                             "dotlock %s is owned by uid %ld, not by the recipient",
                             lock, (long)st.st_uid);
                errno = 0;
                return -1;
            }
        }
        if (time(NULL) > deadline)
            break;
        struct timespec ts = {0, wait_ns};
        nanosleep(&ts, NULL);
        if (wait_ns < 250000000)
            wait_ns *= 2;
    }
    errno = 0;
    return -1;
}

/* Open the mailbox (Postfix's strict_mailbox_ownership, always on): an
 * existing one with O_NOFOLLOW | O_NONBLOCK (a FIFO must not block the
 * open), then fstat on the descriptor: a regular file, one link, owned by
 * the recipient -- someone else's file, even empty, is never taken over;
 * a missing one is created with O_EXCL (so it is the file we just made)
 * and only that one is given to chown_uid:chown_gid when chown_uid >= 0.
 * Reasons as Postfix's ("destination PATH is not owned by recipient"),
 * all 4.2.0: the administrator moves the file away and the retry works.
 * The descriptor, or -1 with *f filled. */
static int local_mbox_open(const char *path, uid_t owner, long chown_uid,
                           long chown_gid, local_fail *f)
{
    int flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    bool created = false;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 2; tries++) {
        fd = open(path, flags);
        if (fd >= 0 || errno != ENOENT)
            break;
        fd = open(path, flags | O_CREAT | O_EXCL, 0600);
        created = fd >= 0;
        if (fd < 0 && errno != EEXIST)
            break; /* EEXIST: made meanwhile; open it as an existing one */
    }
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            return local_mailbox_fail(f, 0, "4.2.0",
                                      "destination %s is a symbolic link", path);
        if (e == ENXIO || e == EISDIR) /* FIFO without reader, socket, directory */
            return local_mailbox_fail(f, 0, "4.2.0",
                                      "destination %s is not a regular file", path);
        return local_mailbox_fail(f, e, "4.2.0", "cannot update mailbox %s", path);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return local_mailbox_fail(f, e, "4.2.0", "cannot update mailbox %s", path);
    }
    const char *bad = NULL;
    char links[64];
    if (!S_ISREG(st.st_mode)) {
        bad = "is not a regular file";
    } else if (st.st_nlink != 1) {
        snprintf(links, sizeof(links), "has %ld hard links", (long)st.st_nlink);
        bad = links;
    } else if (created && chown_uid >= 0) {
        if (fchown(fd, (uid_t)chown_uid, (gid_t)chown_gid) < 0) {
            int e = errno;
            close(fd);
            return local_mailbox_fail(f, e, "4.2.0", "chown mailbox %s", path);
        }
    } else if (!created && st.st_uid != owner) {
        bad = "is not owned by recipient";
    }
    if (bad != NULL) {
        close(fd);
        return local_mailbox_fail(f, 0, "4.2.0", "destination %s %s", path, bad);
    }
    /* Writes to a regular file do not block anyway; the flag only kept a
     * FIFO from blocking the open. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

int local_mbox_deliver(const char *path, const local_msg *m, long uid,
                       long gid, local_fail *f)
{
    size_t ll = strlen(path) + 6;
    char *lock = mem_alloc(ll);
    snprintf(lock, ll, "%s.lock", path);
    int r = -1, fd = -1;
    bool locked = false;
    FILE *out = NULL;
    off_t orig = 0;
    /* The recipient: uid when given (root delivering into the spool),
     * else whoever we run as (we have become the mailbox owner). */
    uid_t owner = uid >= 0 ? (uid_t)uid : geteuid();
    char why[1200];
    if (local_mbox_dotlock(lock, owner, why, sizeof(why)) < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "cannot update mailbox %s: %s", path,
                           why);
        goto out;
    }
    locked = true;
    fd = local_mbox_open(path, owner, uid, gid, f);
    if (fd < 0)
        goto out;
    struct stat st;
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
