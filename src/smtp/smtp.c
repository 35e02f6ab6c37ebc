/*
 * smtp - the service process of the smtp and lmtp agents: accepts
 * connections on queue/private/smtp (or lmtp) and forks one child per
 * request, as local does, or hands the request to an idle child that
 * holds a connection to the same next hop (the connection cache below).
 *
 * Why a child per request: the child waits on the DNS and on remote
 * servers with long time limits (RFC 5321 section 4.5.3.2 asks for
 * minutes); in a process of its own it stalls no other delivery, and a
 * crash on a hostile reply loses only its own request (qmgr defers it).
 * Concurrency is qmgr's (default_process_limit and the per-destination
 * limits), so the parent takes whatever comes.
 *
 * Rights: runs as mail_owner (master drops it); needs no more.
 */
#include "smtp/smtp.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <strings.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "global/queue_file.h"
#include "smtp/smtp_int.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

static int smtp_listen_fd = -1;
static int smtp_children;
static bool smtp_is_lmtp;

static int smtp_bind(const char *queue_dir, const char *name)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/%s",
                     queue_dir, QUEUE_PRIVATE, name);
    if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
        msg_fatal("socket path too long: %s/%s/%s", queue_dir, QUEUE_PRIVATE,
                  name);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        msg_fatal("socket: %m");
    unlink(sun.sun_path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        msg_fatal("bind %s: %m", sun.sun_path);
    /* private/ admits only the queue owner; qmgr is that owner too. */
    chmod(sun.sun_path, 0666);
    if (listen(fd, 128) < 0)
        msg_fatal("listen %s: %m", sun.sun_path);
    return fd;
}

/* ---- control messages (smtp_int.h) ---- */

int smtp_ctl_send(int ctl, const void *p, size_t n, int fd)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = n};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&cm, 0, sizeof(cm));
        mh.msg_control = cm.space;
        mh.msg_controllen = sizeof(cm.space);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t w;
    do
        w = sendmsg(ctl, &mh, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    return w == (ssize_t)n ? 0 : -1;
}

ssize_t smtp_ctl_recv(int ctl, void *p, size_t max, int *fd_r)
{
    struct iovec iov = {.iov_base = p, .iov_len = max};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } cm;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = cm.space,
                        .msg_controllen = sizeof(cm.space)};
    *fd_r = -1;
    ssize_t n;
    do
        n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd_r, CMSG_DATA(c), sizeof(int));
    return n;
}

/* ---- the connection cache ----
 *
 * Postfix keeps idle SMTP connections in a separate process (scache) and
 * passes descriptors around; a TLS session cannot move that way.  Here the
 * child that holds the connection stays alive instead: after a request it
 * says "idle" on its control socket, and the parent hands it the next
 * request for the same next hop (the qmgr connection itself goes along,
 * so the child answers qmgr directly).  An idle child that gets nothing
 * within smtp_connection_cache_time_limit is told to quit (QUIT to the
 * server, exit).  The parent reads the request's text to learn the next
 * hop: qmgr's lines, bounded by DELIVER_REQUEST_MAX, the only thing it
 * parses, and it runs unprivileged. */

typedef struct smtp_child_rec {
    pid_t pid;
    int ctl;                   /* parent's end of the control socket */
    char *nexthop;             /* of the requests it serves */
    bool idle;
    double idle_since;
    struct smtp_child_rec *next;
} smtp_child_rec;

static smtp_child_rec *smtp_kids;

static void smtp_child_forget(smtp_child_rec *k)
{
    for (smtp_child_rec **pp = &smtp_kids; *pp; pp = &(*pp)->next)
        if (*pp == k) {
            *pp = k->next;
            break;
        }
    if (k->ctl >= 0) {
        event_remove(k->ctl);
        close(k->ctl);
    }
    mem_free(&k->nexthop);
    mem_free(&k);
}

static void smtp_ctl_read(int fd, int events, void *ctx)
{
    smtp_child_rec *k = ctx;
    char m[16];
    int afd;
    ssize_t n = smtp_ctl_recv(fd, m, sizeof(m), &afd);
    if (afd >= 0)
        close(afd); /* children send none */
    if (n <= 0) {
        /* The child ended (or broke its socket): forget it; the reaper
         * counts it. */
        smtp_child_forget(k);
        return;
    }
    if (m[0] == 'I') {
        k->idle = true;
        k->idle_since = event_now();
    }
}

/* Tell idle children past the time limit (all, when stopping) to quit. */
static void smtp_cache_expire(bool all)
{
    double limit = (double)var_time("smtp_connection_cache_time_limit");
    double now = event_now();
    smtp_child_rec *next;
    for (smtp_child_rec *k = smtp_kids; k; k = next) {
        next = k->next;
        if (k->idle && (all || now - k->idle_since >= limit)) {
            smtp_ctl_send(k->ctl, "Q", 1, -1);
            smtp_child_forget(k);
        }
    }
}

/* The next hop named in a request's text, or "" (a copy). */
static char *smtp_request_nexthop(const char *text)
{
    const char *p = strstr(text, "\nnexthop=");
    if (p == NULL)
        return mem_strdup("");
    p += 9;
    return mem_strndup(p, strcspn(p, "\n"));
}

/* Read the whole request (it ends with an empty line).  qmgr writes it
 * at once after connecting; a few seconds bound a broken one. */
static ssize_t smtp_read_request(int c, char *in, size_t max)
{
    size_t got = 0;
    double deadline = event_now() + 5;
    for (;;) {
        if (got >= 2 && memcmp(in + got - 2, "\n\n", 2) == 0)
            return (ssize_t)got;
        if (got >= max - 1 || event_now() > deadline)
            return -1;
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(c, in + got, max - 1 - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
        in[got] = '\0';
    }
}

static void smtp_accept(int fd, int events, void *ctx)
{
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    char *in = mem_alloc(SMTP_CTL_MAX);
    in[0] = 'J';
    ssize_t len = smtp_read_request(c, in + 1, SMTP_CTL_MAX - 1);
    if (len < 0) {
        /* qmgr sees the connection close and defers: nothing is lost. */
        msg_warn("bad or incomplete request from qmgr");
        close(c);
        mem_free(&in);
        return;
    }
    char *hop = smtp_request_nexthop(in + 1);
    /* An idle child with a session to this next hop takes it. */
    for (smtp_child_rec *k = smtp_kids; k; k = k->next) {
        if (!k->idle || strcasecmp(k->nexthop, hop) != 0)
            continue;
        k->idle = false;
        if (smtp_ctl_send(k->ctl, in, (size_t)len + 1, c) == 0) {
            close(c);
            mem_free(&hop);
            mem_free(&in);
            return;
        }
        smtp_child_forget(k); /* it is gone: a new child below */
        break;
    }
    int sv[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        sv[0] = sv[1] = -1; /* no reuse for this one */
    pid_t pid = fork();
    if (pid < 0) {
        msg_error("fork: %m");
        close(c);
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        mem_free(&hop);
        mem_free(&in);
        return;
    }
    if (pid == 0) {
        close(fd);
        if (sv[0] >= 0)
            close(sv[0]);
        /* Not the other children's control sockets (CLOEXEC does not
         * help across fork). */
        for (smtp_child_rec *k = smtp_kids; k; k = k->next)
            close(k->ctl);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_IGN);
        signal(SIGCHLD, SIG_DFL);
        msg_refresh_pid();
        _exit(smtp_child(c, in + 1, (size_t)len, sv[1], smtp_is_lmtp));
    }
    smtp_children++;
    close(c);
    mem_free(&in);
    if (sv[0] < 0) {
        mem_free(&hop);
        return;
    }
    close(sv[1]);
    smtp_child_rec *k = mem_zalloc(sizeof(*k));
    k->pid = pid;
    k->ctl = sv[0];
    k->nexthop = hop;
    k->next = smtp_kids;
    smtp_kids = k;
    event_add(k->ctl, EVENT_READ, smtp_ctl_read, k);
}

static void smtp_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        smtp_children--;
        /* Its record may outlive it until its control socket's end of
         * file is read: never signal a pid that may be someone else's. */
        for (smtp_child_rec *k = smtp_kids; k; k = k->next)
            if (k->pid == pid)
                k->pid = 0;
        if (WIFSIGNALED(status))
            msg_warn("delivery process %ld killed by signal %d", (long)pid,
                     WTERMSIG(status));
    }
}

/* Every turn: idle children past their time go, ended ones are counted. */
static void smtp_turn(void)
{
    smtp_cache_expire(false);
    smtp_reap();
}

static int smtp_main(const char *name)
{
    mail_service_init(name);
    smtp_is_lmtp = strcmp(name, "lmtp") == 0;
    char *queue_dir = var_path("queue_directory");
    if (queue_dirs_create(queue_dir) < 0)
        msg_fatal("create queue directories in %s: %m", queue_dir);
    smtp_queue_dir = queue_dir;
    event_init();
    int first;
    if (mail_service_listen_fds(&first) > 0)
        smtp_listen_fd = first; /* bound by master */
    else
        smtp_listen_fd = smtp_bind(queue_dir, name);
    fcntl(smtp_listen_fd, F_SETFL, fcntl(smtp_listen_fd, F_GETFL) | O_NONBLOCK);
    event_add(smtp_listen_fd, EVENT_READ, smtp_accept, NULL);
    mail_service_hooks hooks = {.wait = 0.25, .turn = smtp_turn};
    mail_service_run(&hooks);
    /* Stop taking requests; idle children QUIT; those in a conversation
     * get a few seconds to finish, then are stopped with the service
     * (qmgr delivers what they had again at the next start: at least
     * once, docs/queue.md). */
    event_remove(smtp_listen_fd);
    close(smtp_listen_fd);
    smtp_cache_expire(true);
    double deadline = event_now() + 5;
    while (smtp_children > 0 && event_now() < deadline) {
        usleep(50000);
        smtp_reap();
    }
    for (smtp_child_rec *k = smtp_kids; k; k = k->next)
        if (k->pid > 0)
            kill(k->pid, SIGTERM);
    return 0;
}

int smtp_service_main(int argc, char **argv)
{
    return smtp_main("smtp");
}

int lmtp_service_main(int argc, char **argv)
{
    return smtp_main("lmtp");
}
