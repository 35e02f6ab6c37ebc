/*
 * mail_service - common service start-up and the service loop; see
 * mail_service.h.
 */
#include "global/mail_service.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

/* Until every service runs mail_service_run: the handlers of the old
 * polling loops. */
volatile sig_atomic_t mail_service_stop;
volatile sig_atomic_t mail_service_reload;

static int ms_sigfd = -1;      /* SIGHUP, SIGTERM, SIGINT; -1 before run */
static bool ms_stop;           /* a stop was read from ms_sigfd */
static bool ms_reload;         /* a reload was read and not yet done */
static pid_t ms_master;        /* our parent at start: master */

static void mail_service_on_term(int sig)
{
    mail_service_stop = 1;
}

static void mail_service_on_hup(int sig)
{
    mail_service_reload = 1;
}

static void mail_service_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

/* In every child a service forks (pthread_atfork): what a service child
 * had before signals went through the loop.  SIGHUP is ignored because a
 * reload is the service's, not its children's (and a terminal's hangup
 * under "postie serve" must not cut a delivery short). */
static void mail_service_atfork_child(void)
{
    if (ms_sigfd >= 0) {
        close(ms_sigfd); /* the parent's copy stays in its epoll set */
        ms_sigfd = -1;
    }
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigset_t set;
    mail_service_sigset(&set);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Hold the three signals for the signalfd.  Blocked first, then given the
 * default disposition: master starts a service with SIGHUP ignored (a
 * reload during its start-up must not kill it), and an ignored signal is
 * discarded, never pending, so signalfd would not see it. */
static void mail_service_block(void)
{
    if (ms_sigfd >= 0)
        return;
    sigset_t set;
    mail_service_sigset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    /* What the old handlers saw before the block. */
    if (mail_service_stop)
        ms_stop = true;
    if (mail_service_reload)
        ms_reload = true;
    mail_service_stop = mail_service_reload = 0;
    ms_sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (ms_sigfd < 0)
        msg_fatal("signalfd: %m");
    if (pthread_atfork(NULL, NULL, mail_service_atfork_child) != 0)
        msg_fatal("pthread_atfork failed");
}

static void mail_service_read_signals(void)
{
    struct signalfd_siginfo si;
    while (ms_sigfd >= 0 && read(ms_sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP)
            ms_reload = true;
        else
            ms_stop = true;
    }
}

static void mail_service_on_signal(int fd, int events, void *ctx)
{
    mail_service_read_signals();
}

bool mail_service_stopping(void)
{
    mail_service_read_signals();
    return ms_stop || mail_service_stop;
}

int mail_service_run(const mail_service_hooks *h)
{
    mail_service_block();
    event_add(ms_sigfd, EVENT_READ, mail_service_on_signal, NULL);
    bool stopping = false;
    for (;;) {
        if (ms_reload) {
            ms_reload = false;
            mail_conf_reload();
            if (h->reload != NULL)
                h->reload();
        }
        if (h->turn != NULL)
            h->turn();
        if (h->watch_master && ms_master > 1 && getppid() != ms_master)
            ms_stop = true;
        if (ms_stop && !stopping) {
            stopping = true;
            if (h->stop != NULL)
                h->stop();
        }
        if (stopping && (h->stopped == NULL || h->stopped()))
            break;
        event_run_once(h->wait);
    }
    event_remove(ms_sigfd);
    return 0;
}

static void mail_service_logging(const char *name, bool command)
{
    msg_init(name);
    msg_set_syslog_name(var_str("syslog_name"));
    msg_set_hostname(var_str("myhostname"));
    msg_set_time_format(var_bool("maillog_file_rfc3339") ? MSG_TIME_RFC3339
                                                         : MSG_TIME_TRADITIONAL);
    char *path = var_path("maillog_file");
    if (*path == '\0') {
        msg_use_syslog();
    } else if (msg_open_file(path) < 0) {
        if (!command)
            msg_fatal("open maillog_file %s: %m", path);
        msg_stderr_only(); /* a command still works; it just cannot log */
    }
    mem_free(&path);
    msg_set_stderr(command);
}

void mail_service_init(const char *name)
{
    ms_master = getppid();
    mail_conf_read();
    mail_service_logging(name, false);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = mail_service_on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = mail_service_on_hup;
    sigaction(SIGHUP, &sa, NULL);
}

void mail_command_init(const char *name)
{
    mail_conf_read();
    mail_service_logging(name, true);
}

int mail_service_listen_fds(int *first_r)
{
    const char *s = getenv("LISTEN_FDS");
    *first_r = 3;
    if (s == NULL)
        return 0;
    int n = atoi(s);
    return n > 0 ? n : 0;
}
