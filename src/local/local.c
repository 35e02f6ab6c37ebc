/*
 * local - the service process: accepts connections on queue/private/local
 * and forks one child per request; see local.h.
 *
 * The parent parses nothing at all: the child reads the request, so a bad
 * request can only crash a child.  The parent keeps root (when started as
 * root) because each child must become a different mailbox owner; that is
 * why it does so little.  Concurrency is qmgr's business (its limits), so
 * the parent accepts whatever comes.
 */
#include "local/local.h"

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
#include "local/local_int.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/unix_bind.h"

char *local_queue_dir;
static int local_listen_fd = -1;
static int local_children;

static int local_bind(const char *queue_dir)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s/local",
                     queue_dir, QUEUE_PRIVATE);
    if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
        msg_fatal("socket path too long: %s/%s/local", queue_dir, QUEUE_PRIVATE);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        msg_fatal("socket: %m");
    /* private/ itself admits only the queue owner; the socket may be
     * open to all behind it (qmgr runs as mail_owner, we may be root). */
    if (unix_bind(fd, &sun, 0666) < 0)
        msg_fatal("bind %s: %m", sun.sun_path);
    if (listen(fd, 128) < 0)
        msg_fatal("listen %s: %m", sun.sun_path);
    return fd;
}

static void local_accept(int fd, int events, void *ctx)
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
        _exit(local_deliver_child(c));
    }
    local_children++;
    close(c);
}

static void local_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        local_children--;
        if (WIFSIGNALED(status))
            msg_warn("delivery process %ld killed by signal %d", (long)pid,
                     WTERMSIG(status));
    }
}

static void local_reload(void)
{
    local_deliver_init(); /* mail_owner may have changed */
}

int local_service_main(int argc, char **argv)
{
    mail_service_init("local");
    char *queue_dir = var_path("queue_directory");
    if (queue_dirs_create(queue_dir) < 0)
        msg_fatal("create queue directories in %s: %m", queue_dir);
    local_queue_dir = queue_dir;
    local_deliver_init();
    event_init();
    int first;
    if (mail_service_listen_fds(&first) > 0)
        local_listen_fd = first; /* bound by master */
    else
        local_listen_fd = local_bind(queue_dir);
    fcntl(local_listen_fd, F_SETFL,
          fcntl(local_listen_fd, F_GETFL) | O_NONBLOCK);
    event_add(local_listen_fd, EVENT_READ, local_accept, NULL);

    mail_service_hooks hooks = {.wait = 0.5, .turn = local_reap, .reload = local_reload};
    mail_service_run(&hooks);
    /* Stop taking requests; let the children finish their mailbox writes
     * and answer qmgr (which is waiting for them to stop cleanly). */
    event_remove(local_listen_fd);
    close(local_listen_fd);
    double deadline = event_now() + (double)var_time("local_delivery_timeout");
    while (local_children > 0 && event_now() < deadline) {
        usleep(50000);
        local_reap();
    }
    return 0;
}
