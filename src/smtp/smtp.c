/*
 * smtp - the service process of the smtp and lmtp agents: accepts
 * connections on queue/private/smtp (or lmtp) and forks one child per
 * request, as local does.
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

static void smtp_accept(int fd, int events, void *ctx)
{
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        /* qmgr sees the connection close and defers: nothing is lost. */
        msg_error("fork: %m");
        close(c);
        return;
    }
    if (pid == 0) {
        close(fd);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_IGN);
        signal(SIGCHLD, SIG_DFL);
        msg_refresh_pid();
        _exit(smtp_child(c, smtp_is_lmtp));
    }
    smtp_children++;
    close(c);
}

static void smtp_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        smtp_children--;
        if (WIFSIGNALED(status))
            msg_warn("delivery process %ld killed by signal %d", (long)pid,
                     WTERMSIG(status));
    }
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
    for (;;) {
        event_run_once(0.5);
        smtp_reap();
        if (mail_service_reload) {
            mail_service_reload = 0;
            mail_conf_reload();
        }
        if (mail_service_stop)
            break;
    }
    /* Stop taking requests; children in a conversation are stopped with
     * the service (qmgr defers what they had: at least once). */
    event_remove(smtp_listen_fd);
    close(smtp_listen_fd);
    double deadline = event_now() + 5;
    while (smtp_children > 0 && event_now() < deadline) {
        usleep(50000);
        smtp_reap();
    }
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
