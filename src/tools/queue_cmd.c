/*
 * queue_cmd - "postie queue": list (mailq, postqueue -p, -j), show
 * (postcat -q), flush (postqueue -f), deliver (postqueue -i), and the
 * dispatch to delete/hold/release/requeue (queue_cmd_super.c, postsuper)
 * and shape (queue_cmd_shape.c, qshape).  "mailq" is the link name for
 * "postie queue list".
 *
 * Listing, showing and flushing are open to every user, as in Postfix (the
 * queue's permissions still decide what a user can read); changes are
 * reserved to root, the queue owner and queue_admin_group.
 *
 * Does not: deliver.  flush and deliver only make messages due and wake
 * qmgr, which decides.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "tools/queue_cmd.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

const char *queue_cmd_find(const char *queue_dir, const char *id,
                           char **path_r)
{
    for (const char *const *q = queue_cmd_queues; *q; q++) {
        char *dir = fs_join(queue_dir, *q);
        char *path = fs_join(dir, id);
        mem_free(&dir);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            *path_r = path;
            return *q;
        }
        mem_free(&path);
    }
    *path_r = NULL;
    return NULL;
}

bool queue_cmd_authorized(const char *queue_dir)
{
    uid_t euid = geteuid();
    if (euid == 0)
        return true;
    struct stat st;
    if (stat(queue_dir, &st) == 0 && st.st_uid == euid)
        return true;
    const char *name = var_str("queue_admin_group");
    if (*name == '\0')
        return false;
    struct group *gr = getgrnam(name);
    if (gr == NULL)
        return false;
    /* The real group and the supplementary groups, never the effective
     * group: run through the setgid helper, that is setgid_group. */
    if (getgid() == gr->gr_gid)
        return true;
    gid_t groups[256];
    int n = getgroups(256, groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == gr->gr_gid)
            return true;
    return false;
}

void queue_cmd_wake_qmgr(const char *queue_dir, const char *what)
{
    /* Like mail_trigger, but with a request byte qmgr acts on
     * (docs/queue-commands.md, "flush"). */
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/qmgr",
                     queue_dir, QUEUE_PUBLIC);
    if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    /* No qmgr listening (system stopped) is fine: it scans at start. */
    (void)!sendto(fd, what, strlen(what), 0, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
}

/* ---- list ---- */

void queue_cmd_showq_end(int fd, const char *error)
{
    char mark[600];
    int n = error ? snprintf(mark, sizeof(mark), "%cerror %s\n", '\0', error)
                  : snprintf(mark, sizeof(mark), "%cok\n", '\0');
    if (n >= (int)sizeof(mark)) {
        n = (int)sizeof(mark) - 1;
        mark[n - 1] = '\n';
    }
    (void)fs_write_all(fd, mark, (size_t)n);
}

/* The end mark after the NUL: "ok" or "error TEXT" (control characters
 * of TEXT become '?': it goes to a terminal). */
static int queue_cmd_showq_mark(char *mark, size_t len, char *why, size_t whylen)
{
    if (len == 0 || mark[len - 1] != '\n') {
        snprintf(why, whylen, "malformed showq server response (end mark cut short)");
        return QUEUE_SHOWQ_BROKEN;
    }
    mark[len - 1] = '\0';
    if (strcmp(mark, "ok") == 0)
        return 0;
    if (strncmp(mark, "error ", 6) == 0) {
        for (char *p = mark; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        snprintf(why, whylen, "%s", mark + 6);
        return QUEUE_SHOWQ_FAILED;
    }
    snprintf(why, whylen, "malformed showq server response (unknown end mark)");
    return QUEUE_SHOWQ_BROKEN;
}

int queue_cmd_showq(const char *queue_dir, bool json, char *why, size_t whylen)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/showq", queue_dir,
                     QUEUE_PUBLIC);
    if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return QUEUE_SHOWQ_DOWN;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return QUEUE_SHOWQ_DOWN;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return QUEUE_SHOWQ_DOWN;
    }
    const char *req = json ? "json\n" : "text\n";
    if (fs_write_all(fd, req, strlen(req)) < 0) {
        snprintf(why, whylen, "write to the showq service: %s", strerror(errno));
        close(fd);
        return QUEUE_SHOWQ_BROKEN;
    }
    /* The hello line first: without it the service never ran the lister
     * (an old pickup, or one that failed before it could say so). */
    char hello[sizeof(QUEUE_SHOWQ_HELLO)];
    size_t got = 0;
    while (got < sizeof(hello) - 1) {
        ssize_t r = read(fd, hello + got, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (hello[got++] == '\n')
            break;
    }
    hello[got] = '\0';
    if (strcmp(hello, QUEUE_SHOWQ_HELLO) != 0) {
        snprintf(why, whylen, "malformed showq server response (%s)",
                 got == 0 ? "no answer" : "no protocol greeting");
        close(fd);
        return QUEUE_SHOWQ_BROKEN;
    }
    /* The listing up to the NUL goes out as it comes (a big queue is not
     * held in memory); what follows the NUL is the end mark. */
    char chunk[8192];
    char mark[600];
    size_t marklen = 0;
    bool in_mark = false;
    int r = 0;
    for (;;) {
        ssize_t m = read(fd, chunk, sizeof(chunk));
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0) {
            snprintf(why, whylen, "read from the showq service: %s", strerror(errno));
            r = QUEUE_SHOWQ_BROKEN;
            break;
        }
        if (m == 0)
            break;
        const char *data = chunk;
        size_t len = (size_t)m;
        if (!in_mark) {
            const char *nul = memchr(chunk, '\0', len);
            size_t body = nul ? (size_t)(nul - chunk) : len;
            if (body > 0 && fs_write_all(1, chunk, body) < 0) {
                snprintf(why, whylen, "write the listing: %s", strerror(errno));
                r = QUEUE_SHOWQ_BROKEN;
                break;
            }
            if (nul == NULL)
                continue;
            in_mark = true;
            data = nul + 1;
            len -= body + 1;
        }
        /* A mark longer than the buffer is no mark of this protocol. */
        if (len > sizeof(mark) - 1 - marklen)
            len = sizeof(mark) - 1 - marklen;
        memcpy(mark + marklen, data, len);
        marklen += len;
    }
    close(fd);
    if (r != 0)
        return r;
    if (!in_mark) {
        snprintf(why, whylen, "malformed showq server response (the listing "
                 "ended before its end mark: the lister died)");
        return QUEUE_SHOWQ_BROKEN;
    }
    return queue_cmd_showq_mark(mark, marklen, why, whylen);
}

/* A fatal diagnostic that returns the exit status instead of exiting:
 * postqueue's statuses (sysexits) tell scripts what went wrong. */
static int queue_cmd_fatal_status(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int queue_cmd_fatal_status(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(msg_program(), "fatal: ", fmt, ap);
    va_end(ap);
    return status;
}

int queue_cmd_showq_fail(int r, const char *queue_dir, const char *why)
{
    const char *name = var_str("mail_name");
    if (r == QUEUE_SHOWQ_FAILED)
        return queue_cmd_fatal_status(EX_UNAVAILABLE, "Queue report unavailable - "
                                      "%s showq service: %s", name, why);
    if (r == QUEUE_SHOWQ_BROKEN)
        return queue_cmd_fatal_status(EX_SOFTWARE, "Queue report unavailable - %s",
                                      why);
    /* Not reached.  Postfix: do not call the system down when the user
     * only lacks the permission to reach the socket. */
    if (errno == EACCES || errno == EPERM)
        return queue_cmd_fatal_status(EX_NOPERM, "Queue report unavailable - "
                                      "this user may neither read the queue %s nor "
                                      "connect to the %s showq service (%s/%s/showq: %m)",
                                      queue_dir, name, queue_dir, QUEUE_PUBLIC);
    return queue_cmd_fatal_status(EX_UNAVAILABLE, "Queue report unavailable - mail "
                                  "system is down (Connect to the %s showq service: %m)",
                                  name);
}

/* The queue is not ours to read (a system install, a user): ask pickup's
 * showq through public/, directly or through the setgid helper that may
 * enter public/ (docs/architecture.md, "Local submission").  Whatever
 * fails is said and gives a non-zero status: an empty stdout with status
 * 0 would read as an empty queue. */
static int queue_cmd_list_remote(const char *qdir, bool json)
{
    fflush(stdout);
    char why[600];
    int r = queue_cmd_showq(qdir, json, why, sizeof(why));
    if (r != QUEUE_SHOWQ_DOWN)
        return r == 0 ? 0 : queue_cmd_showq_fail(r, qdir, why);
    int connect_errno = errno;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            slash[1] = '\0';
        char *helper = fs_join(self, "postdrop");
        if (access(helper, X_OK) == 0) {
            fflush(stderr);
            pid_t pid = fork();
            if (pid == 0) {
                execl(helper, "postdrop", "--showq", json ? "json" : "text", (char *)NULL);
                _exit(127);
            }
            int st = 0;
            while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            mem_free(&helper);
            /* The helper says itself what went wrong; only a helper that
             * did not run leaves it to us. */
            if (pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) != 127)
                return WEXITSTATUS(st);
        } else {
            mem_free(&helper);
        }
    }
    errno = connect_errno;
    return queue_cmd_showq_fail(QUEUE_SHOWQ_DOWN, qdir, NULL);
}

typedef struct queue_cmd_list_ctx {
    queue_cmd_fmt fmt;
    bool json;
} queue_cmd_list_ctx;

static int queue_cmd_list_visit(const queue_cmd_entry *e, void *ctx)
{
    queue_cmd_list_ctx *c = ctx;
    if (c->json)
        queue_cmd_list_json(&c->fmt, e);
    else
        queue_cmd_list_text(&c->fmt, e);
    return 0;
}

/* server: run by pickup's showq child for a user who cannot read the
 * queue; the answer is framed (queue_cmd.h) and never asks showq again
 * (that would be pickup asking itself). */
static int queue_cmd_list(bool json, bool server)
{
    char *qdir = var_path("queue_directory");
    if (server)
        fputs(QUEUE_SHOWQ_HELLO, stdout);
    char *probe = fs_join(qdir, QUEUE_DEFERRED);
    int readable = access(probe, R_OK | X_OK);
    int probe_errno = errno;
    mem_free(&probe);
    if (readable < 0 && probe_errno == EACCES && !server) {
        int r = queue_cmd_list_remote(qdir, json);
        mem_free(&qdir);
        return r;
    }
    queue_cmd_list_ctx c = {.fmt = {.out = stdout}, .json = json};
    int r = readable < 0 && probe_errno == EACCES
                ? (errno = EACCES, -1)
                : queue_cmd_list_walk(qdir, NULL, queue_cmd_list_visit, &c);
    if (r < 0) {
        /* Postfix's postqueue says the same when the system was never set
         * up: a clear message, EX_UNAVAILABLE. */
        char text[600];
        snprintf(text, sizeof(text), "cannot read the queue %s: %s", qdir,
                 strerror(errno));
        if (server) {
            fflush(stdout);
            queue_cmd_showq_end(1, text);
        }
        fprintf(stderr, "%s: %s\n", msg_program(), text);
        mem_free(&qdir);
        return EX_UNAVAILABLE;
    }
    if (!json)
        queue_cmd_list_text_end(&c.fmt);
    mem_free(&qdir);
    if (fflush(stdout) != 0)
        return EX_IOERR;
    if (server)
        queue_cmd_showq_end(1, NULL);
    return 0;
}

int mailq_main(int argc, char **argv)
{
    mail_command_init("postqueue");
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "-v") != 0 && strcmp(argv[i], "-p") != 0) {
            fprintf(stderr, "usage: mailq [-j]\n");
            return EX_USAGE;
        }
    }
    return queue_cmd_list(json, false);
}

/* ---- show (postcat -q) ---- */

#define QUEUE_SHOW_ENVELOPE 1
#define QUEUE_SHOW_HEADERS 2
#define QUEUE_SHOW_BODY 4

static void queue_cmd_show_time(const char *label, long long usec)
{
    time_t t = (time_t)(usec / 1000000);
    struct tm tm;
    char when[64];
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
    printf("%s: %s\n", label, when);
}

/* Copy the content, or only its header or body part (the header ends at
 * the first empty line, RFC 5322 section 2.1). */
static int queue_cmd_show_content(const char *path, const queue_msg *m,
                                  int parts)
{
    /* The same checks as every queue file open (queue_file_open); maildrop
     * files belong to their submitters. */
    int fd = queue_file_open(path, O_RDONLY,
                             strstr(path, "/" QUEUE_MAILDROP "/") ? QUEUE_FILE_ANY_OWNER
                                                                  : queue_file_owner(),
                             NULL, NULL);
    FILE *fp = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (fp == NULL || fseeko(fp, m->content_off, SEEK_SET) != 0) {
        if (fp)
            fclose(fp);
        else if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t left = m->content_len;
    bool in_header = true, at_bol = true;
    char line[8192];
    while (left > 0 && fgets(line, (int)(left + 1 < sizeof(line) ? left + 1 : sizeof(line)), fp)) {
        size_t n = strlen(line);
        left -= n;
        bool was_header = in_header;
        if (in_header && at_bol && line[0] == '\n')
            in_header = false;
        at_bol = n > 0 && line[n - 1] == '\n';
        if ((was_header && (parts & QUEUE_SHOW_HEADERS)) ||
            (!was_header && (parts & QUEUE_SHOW_BODY)))
            fwrite(line, 1, n, stdout);
    }
    fclose(fp);
    return 0;
}

static int queue_cmd_show(int argc, char **argv)
{
    int parts = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        for (const char *o = argv[i] + 1; *o; o++) {
            if (*o == 'e')
                parts |= QUEUE_SHOW_ENVELOPE;
            else if (*o == 'h')
                parts |= QUEUE_SHOW_HEADERS;
            else if (*o == 'b')
                parts |= QUEUE_SHOW_BODY;
            else if (*o == 'q')
                ; /* postcat -q habit: the argument is a queue ID anyway */
            else {
                fprintf(stderr, "usage: postie queue show [-e] [-h] [-b] ID...\n");
                return EX_USAGE;
            }
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: postie queue show [-e] [-h] [-b] ID...\n");
        return EX_USAGE;
    }
    if (parts == 0)
        parts = QUEUE_SHOW_ENVELOPE | QUEUE_SHOW_HEADERS | QUEUE_SHOW_BODY;
    char *qdir = var_path("queue_directory");
    int status = 0;
    for (; i < argc; i++) {
        const char *id = argv[i];
        if (!queue_id_valid(id)) {
            fprintf(stderr, "postcat: invalid queue ID: %s\n", id);
            status = EX_DATAERR;
            continue;
        }
        char *path;
        const char *queue = queue_cmd_find(qdir, id, &path);
        queue_msg *m = NULL;
        char *err = NULL;
        if (queue == NULL) {
            fprintf(stderr, "postcat: %s: no such message in the queue\n", id);
            status = EX_NOINPUT;
            continue;
        }
        if (queue_msg_read(path, &m, &err) < 0) {
            fprintf(stderr, "postcat: %s\n", err);
            mem_free(&err);
            mem_free(&path);
            status = EX_NOINPUT;
            continue;
        }
        char **why = queue_cmd_list_reasons(qdir, m);
        if (parts & QUEUE_SHOW_ENVELOPE) {
            printf("*** ENVELOPE RECORDS %s/%s ***\n", queue, id);
            printf("message_size: %16zu\n", m->content_len);
            queue_cmd_show_time("message_arrival_time", m->arrival_usec);
            for (size_t a = 0; a < m->nattr; a++)
                printf("named_attribute: %s=%s\n", m->attrs[a].name, m->attrs[a].value);
            printf("sender: %s\n", m->sender);
            for (size_t r = 0; r < m->nrcpt; r++) {
                const queue_rcpt *rc = &m->rcpts[r];
                if (rc->orcpt)
                    printf("original_recipient: %s\n", rc->orcpt);
                printf("%s: %s\n", rc->status == QUEUE_RCPT_TODO ? "recipient" : "done_recipient",
                       rc->addr);
            }
        }
        if (parts & (QUEUE_SHOW_HEADERS | QUEUE_SHOW_BODY)) {
            printf("*** MESSAGE CONTENTS %s/%s ***\n", queue, id);
            fflush(stdout);
            if (queue_cmd_show_content(path, m, parts) < 0) {
                fprintf(stderr, "postcat: %s: %s\n", path, strerror(errno));
                status = EX_NOINPUT;
            }
        }
        if (parts & QUEUE_SHOW_ENVELOPE) {
            /* postie's addition to postcat's sections: where each
             * recipient stands, with qmgr's last deferral reason. */
            printf("*** RECIPIENT STATUS %s/%s ***\n", queue, id);
            for (size_t r = 0; r < m->nrcpt; r++) {
                const queue_rcpt *rc = &m->rcpts[r];
                const char *st = rc->status == QUEUE_RCPT_DONE     ? "delivered"
                               : rc->status == QUEUE_RCPT_FAILED ? "failed"
                               : why[r]                          ? "deferred"
                                                                 : "to do";
                printf("%s: %s%s%s%s\n", rc->addr, st, why[r] ? " (" : "",
                       why[r] ? why[r] : "", why[r] ? ")" : "");
            }
        }
        printf("*** MESSAGE FILE END %s/%s ***\n", queue, id);
        queue_cmd_list_free_reasons(&why, m->nrcpt);
        queue_msg_free(&m);
        mem_free(&path);
    }
    mem_free(&qdir);
    return status;
}

/* ---- flush, deliver (postqueue -f, -i) ---- */

/*
 * Make deferred/ID due now.  qmgr takes incoming/ at every wake-up, but
 * looks at deferred/ only on its timers (the file's mtime is the next
 * attempt, docs/queue.md).  So the way that works with qmgr as it is: move
 * the complete file to incoming/ (one rename, as requeue does; qmgr would
 * take it from deferred/ to active/ the same way), after setting its mtime
 * to now for a qmgr that honours the "F"/"D" request (docs/queue-commands.md).
 * Needs write access to the queue; others can only send the request.
 * Returns 0, or -1 with errno (ENOENT: qmgr took it meanwhile).
 */
static int queue_cmd_make_due(const char *qdir, const char *id)
{
    char *dir = fs_join(qdir, QUEUE_DEFERRED);
    char *from = fs_join(dir, id);
    mem_free(&dir);
    dir = fs_join(qdir, QUEUE_INCOMING);
    char *to = fs_join(dir, id);
    mem_free(&dir);
    int r = utimensat(AT_FDCWD, from, NULL, AT_SYMLINK_NOFOLLOW);
    if (r == 0)
        r = rename(from, to);
    int saved = errno;
    mem_free(&from);
    mem_free(&to);
    errno = saved;
    return r;
}

/* After make_due: one fsync per directory, not per message (each rename is
 * atomic; this makes the moves durable). */
static void queue_cmd_sync_due(const char *qdir)
{
    static const char *const dirs[] = {QUEUE_DEFERRED, QUEUE_INCOMING};
    for (size_t i = 0; i < 2; i++) {
        char *dir = fs_join(qdir, dirs[i]);
        (void)fs_sync_dir(dir);
        mem_free(&dir);
    }
}

static int queue_cmd_flush(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: postie queue flush\n");
        return EX_USAGE;
    }
    char *qdir = var_path("queue_directory");
    struct stat st;
    if (stat(qdir, &st) < 0) {
        fprintf(stderr, "postqueue: cannot read the queue %s: %s\n", qdir, strerror(errno));
        mem_free(&qdir);
        return EX_UNAVAILABLE;
    }
    char *dir = fs_join(qdir, QUEUE_DEFERRED);
    DIR *d = access(dir, W_OK) == 0 ? opendir(dir) : NULL;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL)
        if (queue_id_valid(de->d_name))
            (void)queue_cmd_make_due(qdir, de->d_name); /* ENOENT: qmgr has it */
    if (d != NULL) {
        closedir(d);
        queue_cmd_sync_due(qdir);
    }
    mem_free(&dir);
    queue_cmd_wake_qmgr(qdir, "F");
    mem_free(&qdir);
    return 0;
}

static int queue_cmd_deliver(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: postie queue deliver ID...\n");
        return EX_USAGE;
    }
    char *qdir = var_path("queue_directory");
    int status = 0;
    for (int i = 1; i < argc; i++) {
        const char *id = argv[i];
        char *path = NULL;
        const char *queue = queue_id_valid(id) ? queue_cmd_find(qdir, id, &path) : NULL;
        if (!queue_id_valid(id)) {
            fprintf(stderr, "postqueue: invalid queue ID: %s\n", id);
            status = EX_DATAERR;
        } else if (queue == NULL) {
            fprintf(stderr, "postqueue: %s: no such message in the queue\n", id);
            status = EX_NOINPUT;
        } else if (strcmp(queue, QUEUE_HOLD) == 0) {
            fprintf(stderr, "postqueue: %s: message is on hold (postie queue release first)\n", id);
            status = EX_UNAVAILABLE;
        } else if (strcmp(queue, QUEUE_DEFERRED) == 0 && queue_cmd_make_due(qdir, id) < 0 &&
                   errno != ENOENT) {
            fprintf(stderr, "postqueue: %s: %s\n", path, strerror(errno));
            status = EX_NOPERM;
        }
        mem_free(&path);
    }
    if (access(qdir, W_OK) == 0)
        queue_cmd_sync_due(qdir);
    queue_cmd_wake_qmgr(qdir, "D");
    mem_free(&qdir);
    return status;
}

/* ---- dispatch ---- */

static void queue_cmd_usage(void)
{
    fprintf(stderr,
            "usage: postie queue COMMAND\n"
            "  list [--json]              the queue, as mailq (postqueue -p / -j)\n"
            "  show [-e|-h|-b] ID...      one message (postcat -q)\n"
            "  flush                      retry deferred mail now (postqueue -f)\n"
            "  deliver ID...              retry one message now (postqueue -i)\n"
            "  delete ID...|ALL|- [QUEUE] remove messages (postsuper -d)\n"
            "  hold ID...|ALL|- [QUEUE]   put on hold (postsuper -h)\n"
            "  release ID...|ALL|-        release from hold (postsuper -H)\n"
            "  requeue ID...|ALL|- [QUEUE] requeue (postsuper -r)\n"
            "  shape [-s] [-b N] [-t MIN] [QUEUE...]  domains by age (qshape)\n");
}

int queue_main(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "list";
    if (strcmp(sub, "list") == 0 || strcmp(sub, "--json") == 0 || strcmp(sub, "-j") == 0) {
        mail_command_init("postqueue");
        bool json = strcmp(sub, "list") != 0, server = false;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
                json = true;
            } else if (strcmp(argv[i], "--showq-server") == 0) {
                server = true; /* pickup's showq child (pickup.c) */
            } else {
                queue_cmd_usage();
                return EX_USAGE;
            }
        }
        return queue_cmd_list(json, server);
    }
    if (strcmp(sub, "show") == 0 || strcmp(sub, "cat") == 0) {
        mail_command_init("postcat");
        return queue_cmd_show(argc - 1, argv + 1);
    }
    if (strcmp(sub, "flush") == 0) {
        mail_command_init("postqueue");
        return queue_cmd_flush(argc - 1, argv + 1);
    }
    if (strcmp(sub, "deliver") == 0) {
        mail_command_init("postqueue");
        return queue_cmd_deliver(argc - 1, argv + 1);
    }
    if (strcmp(sub, "delete") == 0 || strcmp(sub, "hold") == 0 ||
        strcmp(sub, "release") == 0 || strcmp(sub, "requeue") == 0) {
        mail_command_init("postsuper");
        return queue_cmd_super_main(sub, argc - 1, argv + 1);
    }
    if (strcmp(sub, "shape") == 0) {
        mail_command_init("qshape");
        return queue_cmd_shape_main(argc - 1, argv + 1);
    }
    if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0) {
        queue_cmd_usage();
        return 0;
    }
    fprintf(stderr, "postie queue: unknown command: %s\n", sub);
    queue_cmd_usage();
    return EX_USAGE;
}
