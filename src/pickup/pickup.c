/*
 * pickup - maildrop/ into the queue; see pickup.h.
 *
 * Order of work for one file, and what a crash does at each step:
 *   1. check and read maildrop/NAME            (crash: nothing changed)
 *   2. cleanup writes incoming/ID and commits  (crash: incoming/ID is a
 *      mode-0600 leftover that qmgr removes; NAME is still in maildrop/)
 *   3. unlink maildrop/NAME, fsync maildrop/   (crash between 2 and 3: the
 *      message is in the queue and still in maildrop/, so it is taken
 *      twice: at least once, as docs/queue.md promises for every step)
 *   4. wake qmgr.
 * The scan runs on every wake-up from sendmail (public/pickup) and every
 * few seconds, since a wake-up is only a hint and local users may not be
 * able to send one.
 */
#include "pickup/pickup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup/cleanup.h"
#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "global/mail_trigger.h"
#include "global/queue_file.h"
#include "tools/queue_cmd.h"
#include "util/events.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/unix_bind.h"

/* A file that never got its read bits was abandoned by a crashed writer. */
#define PICKUP_STALE_SECONDS 3600
/* How often maildrop/ is scanned without a wake-up. */
#define PICKUP_SCAN_SECONDS 5.0

static char *pickup_path(const char *queue_dir, const char *dir, const char *name)
{
    char *d = fs_join(queue_dir, dir);
    char *p = fs_join(d, name);
    mem_free(&d);
    return p;
}

/* Keep a file we cannot take for a human, as qmgr does with corrupt/. */
static void pickup_corrupt(const char *queue_dir, const char *name, const char *why)
{
    char *from = pickup_path(queue_dir, QUEUE_MAILDROP, name);
    char *to = pickup_path(queue_dir, QUEUE_CORRUPT, name);
    msg_warn("maildrop/%s: %s: moved to %s/", name, why, QUEUE_CORRUPT);
    if (rename(from, to) < 0 && unlink(from) < 0 && errno != ENOENT)
        msg_error("remove %s: %m", from);
    mem_free(&from);
    mem_free(&to);
}

/* "user" becomes "user@myorigin" (Postfix's append_at_myorigin); the null
 * sender and qualified addresses stay as they are. */
static char *pickup_qualify(const char *addr)
{
    if (*addr == '\0' || strchr(addr, '@') != NULL)
        return mem_strdup(addr);
    const char *origin = var_str("myorigin");
    char *q = mem_alloc(strlen(addr) + strlen(origin) + 2);
    sprintf(q, "%s@%s", addr, origin);
    return q;
}

/* A display name as RFC 5322 section 3.4 allows it: as is when it is all
 * atoms, else a quoted string with '"' and '\\' escaped (section 3.2.4). */
static void pickup_display_name(char *out, size_t outlen, const char *name)
{
    bool plain = strpbrk(name, "()<>[]:;@\\,.\"") == NULL;
    size_t o = 0;
    if (!plain && o + 1 < outlen)
        out[o++] = '"';
    for (const char *p = name; *p && o + 3 < outlen; p++) {
        if (!plain && (*p == '"' || *p == '\\'))
            out[o++] = '\\';
        out[o++] = *p;
    }
    if (!plain && o + 1 < outlen)
        out[o++] = '"';
    out[o] = '\0';
}

/* Does the header section (up to the first empty line or non-header
 * line) have a From field?  RFC 5322 section 3.6 requires one. */
static bool pickup_has_from(const char *p, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        const char *line = p + pos;
        const char *nl = memchr(line, '\n', n - pos);
        size_t ll = nl ? (size_t)(nl - line) : n - pos;
        if (ll == 0)
            return false;
        if (line[0] != ' ' && line[0] != '\t') {
            size_t i = 0;
            while (i < ll && line[i] > ' ' && line[i] < 127 && line[i] != ':')
                i++;
            if (i == 0 || i >= ll || line[i] != ':')
                return false; /* the body begins */
            if (i == 4 && strncasecmp(line, "From", 4) == 0)
                return true;
        }
        pos += ll + 1;
    }
    return false;
}

/* Is this a file pickup may take?  Reasons to leave it: still being
 * written (not yet readable by others, postdrop.c), not a plain file, more than one link (a link to
 * another user's file would be sent in that user's name). */
static int pickup_check(const char *queue_dir, const char *name, const char *path,
                        struct stat *st)
{
    if (lstat(path, st) < 0)
        return 0; /* gone: taken by an earlier scan, or deleted */
    if (!S_ISREG(st->st_mode)) {
        pickup_corrupt(queue_dir, name, "not a regular file");
        return 0;
    }
    if ((st->st_mode & S_IROTH) == 0) {
        if (time(NULL) - st->st_mtime > PICKUP_STALE_SECONDS) {
            msg_warn("maildrop/%s: removed incomplete file older than 1 hour", name);
            unlink(path);
        }
        return 0;
    }
    if (st->st_nlink != 1) {
        pickup_corrupt(queue_dir, name, "file has more than one link");
        return 0;
    }
    return 1;
}

/* Read the content of a checked maildrop file (open on fd) into memory. */
static char *pickup_content(int fd, const queue_msg *m)
{
    char *p = mem_alloc(m->content_len + 1);
    ssize_t got = pread(fd, p, m->content_len, m->content_off);
    if (got != (ssize_t)m->content_len) {
        mem_free(&p);
        return NULL;
    }
    p[m->content_len] = '\0';
    return p;
}

int pickup_file(const char *queue_dir, const char *name)
{
    if (!queue_id_valid(name))
        return 0; /* not a maildrop file: "." names and strays are left */
    char *path = pickup_path(queue_dir, QUEUE_MAILDROP, name);
    struct stat st;
    if (pickup_check(queue_dir, name, path, &st) <= 0) {
        mem_free(&path);
        return 0;
    }
    long long limit = var_int("message_size_limit");
    queue_msg *m = NULL;
    char *err = NULL;
    /* One descriptor for the checks, the envelope and the content, and the
     * file it names must be the one lstat saw: a swap in between (a link
     * planted by the submitter) is left for the next scan to judge. */
    struct stat fst;
    int fd = queue_file_open(path, O_RDONLY, QUEUE_FILE_ANY_OWNER, &fst, &err);
    if (fd >= 0 && (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)) {
        close(fd);
        mem_free(&path);
        return 0;
    }
    if (fd < 0 || queue_file_read(fd, path, &m, &err) < 0) {
        int e = errno;
        if (e == EINVAL)
            pickup_corrupt(queue_dir, name, err);
        else if (e != EPERM) /* EPERM: warned by queue_file_open */
            msg_warn("%s", err);
        mem_free(&err);
        mem_free(&path);
        if (fd >= 0)
            close(fd);
        return e == EINVAL || e == EPERM ? 0 : -1;
    }
    if (limit > 0 && (long long)m->content_len > limit) {
        pickup_corrupt(queue_dir, name, "message is larger than message_size_limit");
        queue_msg_free(&m);
        mem_free(&path);
        close(fd);
        return 0;
    }
    size_t todo = queue_msg_pending(m);
    char *content = todo ? pickup_content(fd, m) : NULL;
    close(fd);
    if (todo == 0 || content == NULL) {
        pickup_corrupt(queue_dir, name, todo == 0 ? "no recipients" : "content unreadable");
        queue_msg_free(&m);
        mem_free(&path);
        return 0;
    }

    char *sender = pickup_qualify(m->sender);
    cleanup *c = NULL;
    if (cleanup_open(queue_dir, sender, &c, &err) < 0) {
        msg_error("%s", err);
        mem_free(&err);
        mem_free(&sender);
        mem_free(&content);
        queue_msg_free(&m);
        mem_free(&path);
        return -1;
    }
    msg_info("%s: uid=%ld from=<%s>", cleanup_id(c), (long)st.st_uid, m->sender);
    char uid[32];
    snprintf(uid, sizeof(uid), "%ld", (long)st.st_uid);
    cleanup_attr(c, "uid", uid);
    cleanup_attr(c, "proto", "local");
    const char *full_name = queue_msg_attr(m, "full_name");
    if (full_name && *full_name)
        cleanup_attr(c, "full_name", full_name);
    for (size_t i = 0; i < m->nrcpt; i++) {
        if (m->rcpts[i].status != QUEUE_RCPT_TODO)
            continue;
        char *r = pickup_qualify(m->rcpts[i].addr);
        /* The address as the user wrote it is kept when qualifying changed
         * it, so that delivery logs orig_to=<root> as Postfix does. */
        bool changed = strcmp(r, m->rcpts[i].addr) != 0;
        cleanup_rcpt(c, r, changed ? m->rcpts[i].addr : NULL);
        mem_free(&r);
    }
    /* Local submission has no client: cleanup's Received names this host. */
    cleanup_begin(c, &(cleanup_client){.helo = NULL, .name = "localhost",
                                        .addr = "127.0.0.1", .proto = "local"});
    if (!pickup_has_from(content, m->content_len)) {
        /* RFC 5322 section 3.6.2: "Full Name <user@origin>", as Postfix
         * writes it from the sender and sendmail -F. */
        char line[2048];
        if (full_name && *full_name) {
            char shown[1100];
            pickup_display_name(shown, sizeof(shown), full_name);
            snprintf(line, sizeof(line), "From: %s <%s>", shown, *sender ? sender : "MAILER-DAEMON");
        } else
            snprintf(line, sizeof(line), "From: %s", *sender ? sender : "MAILER-DAEMON");
        cleanup_line(c, line, strlen(line));
    }
    for (size_t pos = 0; pos < m->content_len;) {
        const char *nl = memchr(content + pos, '\n', m->content_len - pos);
        size_t ll = nl ? (size_t)(nl - (content + pos)) : m->content_len - pos;
        cleanup_line(c, content + pos, ll);
        pos += ll + 1;
    }
    char *why = NULL;
    char id[QUEUE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", cleanup_id(c));
    int r = cleanup_commit(&c, &why);
    int ret;
    if (r == CLEANUP_OK) {
        /* Only now may the maildrop copy go: the queue file is durable. */
        if (unlink(path) < 0)
            msg_error("remove %s: %m", path);
        else
            fs_sync_parent(path);
        mail_trigger(queue_dir, "qmgr");
        ret = 1;
    } else if (r == CLEANUP_PERM) {
        char text[600];
        snprintf(text, sizeof(text), "rejected by cleanup: %s", why ? why : "?");
        pickup_corrupt(queue_dir, name, text);
        ret = 0;
    } else {
        msg_warn("maildrop/%s: %s: will try again", name, why ? why : "queue file write error");
        ret = -1;
    }
    mem_free(&why);
    mem_free(&sender);
    mem_free(&content);
    queue_msg_free(&m);
    mem_free(&path);
    return ret;
}

static int pickup_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int pickup_scan(const char *queue_dir)
{
    char *dir = fs_join(queue_dir, QUEUE_MAILDROP);
    DIR *d = opendir(dir);
    if (d == NULL) {
        msg_warn("open %s: %m", dir);
        mem_free(&dir);
        return 0;
    }
    mem_free(&dir);
    size_t n = 0, cap = 16;
    char **names = mem_alloc(cap * sizeof(*names));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap)
            names = mem_realloc(names, (cap *= 2) * sizeof(*names));
        names[n++] = mem_strdup(de->d_name);
    }
    closedir(d);
    /* Names begin with the submission time: oldest first. */
    qsort(names, n, sizeof(*names), pickup_cmp);
    int taken = 0;
    for (size_t i = 0; i < n; i++) {
        if (!mail_service_stopping() && pickup_file(queue_dir, names[i]) == 1)
            taken++;
        mem_free(&names[i]);
    }
    mem_free(&names);
    return taken;
}

/* ---- showq: the queue listing for users who cannot read the queue ----
 *
 * pickup runs as mail_owner for as long as the system runs, so it also
 * answers "mailq" for everyone, as Postfix's showq service does: a stream
 * socket public/showq; the client writes "text\n" or "json\n"; a child
 * runs "postie queue list" with the connection as its standard output and
 * exits.  A child per request: a slow reader never stalls pickup.  What a
 * user may see is what mailq shows anyway (Postfix shows it to all). */

static int pickup_showq_listen(const char *queue_dir)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/showq", queue_dir,
                     QUEUE_PUBLIC);
    if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* Who reaches public/ may ask (docs/architecture.md). */
    if (unix_bind(fd, &sun, 0666) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void pickup_showq_child(int conn)
{
    char req[16];
    size_t got = 0;
    alarm(10); /* a client that never asks costs one child for 10 s */
    while (got < sizeof(req) - 1) {
        ssize_t r = read(conn, req + got, 1);
        if (r <= 0 || req[got] == '\n')
            break;
        got++;
    }
    req[got] = '\0';
    alarm(0);
    int devnull = open("/dev/null", O_RDWR);
    dup2(conn, 1);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 2);
    }
    bool json = strcmp(req, "json") == 0;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        n = snprintf(self, sizeof(self), "/proc/self/exe");
    self[n] = '\0';
    /* A rebuild replaced the binary: the path names the new one. */
    char *del = strstr(self, " (deleted)");
    if (del != NULL && del[10] == '\0')
        *del = '\0';
    char *dir = mem_strdup(mail_conf_dir());
    char *args[] = {(char *)"postie", (char *)"-c", dir,
                    (char *)"queue", (char *)"list", (char *)"--showq-server",
                    json ? (char *)"--json" : NULL, NULL};
    execv(self, args);
    /* The path may be closed to mail_owner (a build under a mode-700
     * home): the running binary itself is still there for us to run. */
    int path_errno = errno;
    execv("/proc/self/exe", args);
    /* Say so, in the protocol's frame: silence would read as an empty
     * queue to the user (tools/queue_cmd.h). */
    errno = path_errno;
    msg_warn("showq: cannot run %s: %m", self);
    char why[sizeof(self) + 200];
    snprintf(why, sizeof(why), "cannot run %s: %s", self, strerror(path_errno));
    (void)fs_write_all(1, QUEUE_SHOWQ_HELLO, strlen(QUEUE_SHOWQ_HELLO));
    queue_cmd_showq_end(1, why);
    _exit(1);
}

/* Listings at once: a user who opens connections and never reads costs
 * at most this many processes (each lives at most 10 s before it execs). */
#define PICKUP_SHOWQ_MAX 10
static int pickup_showq_children;

/* Reap finished showq children (called from the main loop). */
static void pickup_showq_reap(void)
{
    while (pickup_showq_children > 0 && waitpid(-1, NULL, WNOHANG) > 0)
        pickup_showq_children--;
}

static void pickup_showq_accept(int fd, int events, void *ctx)
{
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return;
    pickup_showq_reap();
    if (pickup_showq_children >= PICKUP_SHOWQ_MAX) {
        msg_warn("showq: %d listings running: request refused", pickup_showq_children);
        close(conn);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* The child execs at once; clear close-on-exec for the client. */
        int fl = fcntl(conn, F_GETFD);
        fcntl(conn, F_SETFD, fl & ~FD_CLOEXEC);
        pickup_showq_child(conn);
    }
    if (pid < 0)
        msg_warn("showq: fork: %m");
    else
        pickup_showq_children++;
    close(conn);
}

static bool pickup_wanted;

static void pickup_trigger(int fd, int events, void *ctx)
{
    mail_trigger_drain(fd);
    pickup_wanted = true;
}

static char *pickup_qdir;
static double pickup_last;

/* Every turn: finished showq children go; a scan when woken or every
 * PICKUP_SCAN_SECONDS. */
static void pickup_turn(void)
{
    pickup_showq_reap();
    double now = event_now();
    if (pickup_wanted || now - pickup_last >= PICKUP_SCAN_SECONDS) {
        pickup_wanted = false;
        pickup_last = now;
        pickup_scan(pickup_qdir);
    }
}

int pickup_service_main(int argc, char **argv)
{
    mail_service_init("pickup");
    char *qdir = var_path("queue_directory");
    if (queue_dirs_create(qdir) < 0)
        msg_fatal("create queue directories in %s: %m", qdir);
    event_init();
    int tfd = mail_trigger_listen(qdir, "pickup");
    if (tfd < 0)
        msg_warn("bind %s/%s/pickup: %m (scanning every %.0f s only)", qdir, QUEUE_PUBLIC,
                 PICKUP_SCAN_SECONDS);
    else
        event_add(tfd, EVENT_READ, pickup_trigger, NULL);
    int sfd = pickup_showq_listen(qdir);
    if (sfd < 0)
        msg_warn("bind %s/%s/showq: %m (mailq only for who can read the queue)", qdir,
                 QUEUE_PUBLIC);
    else
        event_add(sfd, EVENT_READ, pickup_showq_accept, NULL);
    /* What waited in maildrop/ while postie was stopped goes first. */
    pickup_wanted = true;
    pickup_qdir = qdir;
    mail_service_hooks hooks = {.wait = 1.0, .turn = pickup_turn};
    mail_service_run(&hooks);
    mem_free(&qdir);
    return 0;
}
