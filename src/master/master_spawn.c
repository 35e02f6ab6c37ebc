/*
 * master_spawn - service processes; see master_spawn.h.
 *
 * Restart policy: a process that dies is started again at once, so a
 * single crash (or kill -9) costs only the connections it held.  One that
 * dies again within MASTER_SPAWN_FAST seconds of its start is throttled:
 * each further quick death doubles the wait, up to service_throttle_time
 * (Postfix's name; Postfix waits the whole time at once).  A process that
 * lived longer starts over with no wait.  This keeps a service that cannot
 * start (bad configuration, port taken) from spinning on two cores while
 * still recovering fast from a one-off crash.
 *
 * Logging follows Postfix's master: "warning: process PATH pid N killed by
 * signal N" and "warning: process PATH pid N exit status N".
 */
#include "master/master_spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "global/mail_conf.h"
#include "master/master_conf.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

#define MASTER_SPAWN_FAST 10.0  /* seconds: a death sooner is "quick" */

typedef struct master_proc {
    pid_t pid;         /* 0: not running */
    double started;
    int quick;         /* quick deaths in a row */
    uint64_t timer;    /* pending throttled restart */
    bool recycle;      /* we asked it to go: restart without a warning */
} master_proc;

typedef struct master_svc {
    char *name;
    int count;
    bool privileged;
    const master_listen *socks;
    master_proc *procs;
    int nprocs;        /* >= count: extra ones retire when they end */
} master_svc;

static master_svc *ms_svcs;
static size_t ms_nsvcs;
static char *ms_exe;
static int ms_exe_fd = -1;
static pid_t ms_master_pid;
static bool ms_drop;
static char *ms_owner;
static uid_t ms_uid;
static gid_t ms_gid;
static bool ms_stopping;

void master_spawn_init(const char *exe, bool drop, const char *owner,
                       uid_t uid, gid_t gid)
{
    mem_free(&ms_exe);
    ms_exe = mem_strdup(exe);
    /* The children exec this descriptor, not the path: after the drop to
     * mail_owner the path may lead through a directory only root can
     * enter (a checkout in /root), and every service should run the very
     * binary master runs, even when a rebuild has replaced the file. */
    if (ms_exe_fd >= 0)
        close(ms_exe_fd);
    ms_exe_fd = open(exe, O_PATH | O_CLOEXEC);
    if (ms_exe_fd < 0)
        msg_fatal("open %s: %m", exe);
    ms_drop = drop;
    mem_free(&ms_owner);
    ms_owner = mem_strdup(owner ? owner : "");
    ms_uid = uid;
    ms_gid = gid;
}

static master_svc *master_spawn_find(const char *name)
{
    for (size_t i = 0; i < ms_nsvcs; i++)
        if (strcmp(ms_svcs[i].name, name) == 0)
            return &ms_svcs[i];
    return NULL;
}

void master_spawn_service(const char *name, int count, bool privileged,
                          const master_listen *socks)
{
    master_svc *s = master_spawn_find(name);
    if (s == NULL) {
        ms_svcs = mem_realloc(ms_svcs, (ms_nsvcs + 1) * sizeof(*ms_svcs));
        s = &ms_svcs[ms_nsvcs++];
        memset(s, 0, sizeof(*s));
        s->name = mem_strdup(name);
    }
    s->privileged = privileged;
    s->socks = socks;
    s->count = count;
    if (count > s->nprocs) {
        s->procs = mem_realloc(s->procs, (size_t)count * sizeof(*s->procs));
        memset(s->procs + s->nprocs, 0,
               (size_t)(count - s->nprocs) * sizeof(*s->procs));
        s->nprocs = count;
    }
    /* Fewer processes now: the extra ones are asked to leave. */
    for (int i = count; i < s->nprocs; i++) {
        if (s->procs[i].pid > 0) {
            s->procs[i].recycle = true;
            kill(s->procs[i].pid, SIGTERM);
        }
        if (s->procs[i].timer) {
            event_cancel(s->procs[i].timer);
            s->procs[i].timer = 0;
        }
    }
}

/* Mark every descriptor from low up close-on-exec: close_range(2) where
 * the kernel has it (5.11), else each one /proc/self/fd lists. */
static void master_spawn_cloexec_from(int low)
{
#ifdef CLOSE_RANGE_CLOEXEC
    if (close_range((unsigned)low, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        msg_error("open /proc/self/fd: %m");
        _exit(1);
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end == '\0' && end != de->d_name && fd >= low && fd != dirfd(d))
            fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(d);
}

/* In the child: never returns. */
static void master_spawn_exec(const master_svc *s)
{
    msg_refresh_pid();
    /* master blocks the signals it reads through signalfd; the mask and
     * ignored dispositions survive exec, so a service would be deaf. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    /* A reload can come while a service is still starting, before it has
     * a handler: ignored (the disposition survives exec) it does no harm,
     * where the default would kill the service. */
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);

    int n = s->socks ? (int)s->socks->n : 0;
    if (n > 256)
        n = 256;
    /* The binary's descriptor may sit where the sockets go: lift it out of
     * 3..3+n first (the placing below would close it). */
    int exe_fd = fcntl(ms_exe_fd, F_DUPFD_CLOEXEC, 3 + n);
    if (exe_fd < 0) {
        msg_error("%s: dup: %m", s->name);
        _exit(1);
    }
    /* The configuration master checked (master_conf.h), out of the way of
     * the sockets too; it is made inheritable once they are placed. */
    int conf_fd = -1;
    if (master_conf_fd() >= 0 &&
        (conf_fd = fcntl(master_conf_fd(), F_DUPFD_CLOEXEC, 3 + n)) < 0) {
        msg_error("%s: dup: %m", s->name);
        _exit(1);
    }
    if (n > 0) {
        /* Move the sockets out of 3..3+n first, so that placing them
         * cannot overwrite one that is still to be moved. */
        int tmp[256];
        for (int i = 0; i < n; i++) {
            tmp[i] = fcntl(s->socks->v[i].fd, F_DUPFD_CLOEXEC, 3 + n);
            if (tmp[i] < 0) {
                msg_error("%s: dup: %m", s->name);
                _exit(1);
            }
        }
        for (int i = 0; i < n; i++)
            if (dup2(tmp[i], 3 + i) < 0) { /* dup2 clears close-on-exec */
                msg_error("%s: dup2: %m", s->name);
                _exit(1);
            }
        char v[32];
        snprintf(v, sizeof(v), "%d", n);
        setenv("LISTEN_FDS", v, 1);
        snprintf(v, sizeof(v), "%d", (int)getpid());
        setenv("LISTEN_PID", v, 1);
    } else {
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
    }
    /* Nothing else master holds or inherited crosses the exec: its log,
     * the pid file lock, the other services' sockets, whatever the shell
     * or a supervisor left open (issue 14, item 7).  Only the sockets at
     * 3..3+n and the configuration below (made inheritable after this). */
    master_spawn_cloexec_from(3 + n);
    if (conf_fd >= 0) {
        char v[32];
        if (fcntl(conf_fd, F_SETFD, 0) < 0) {
            msg_error("%s: fcntl: %m", s->name);
            _exit(1);
        }
        snprintf(v, sizeof(v), "%d", conf_fd);
        setenv(MAIL_CONF_FD_ENV, v, 1);
    } else {
        unsetenv(MAIL_CONF_FD_ENV);
    }
    if (ms_drop && !s->privileged) {
        /* Group first: once the uid is gone, so is the right to change it. */
        if (setgid(ms_gid) < 0 || initgroups(ms_owner, ms_gid) < 0 ||
            setuid(ms_uid) < 0) {
            msg_error("%s: cannot change to user %s: %m", s->name, ms_owner);
            _exit(1);
        }
        if (setuid(0) == 0) {
            msg_error("%s: privileges could be regained; not starting", s->name);
            _exit(1);
        }
    }
    /* A service must not outlive master: orphans would keep the listening
     * sockets and the queue busy, and a new master could not bind.  Set
     * after the change of user, which clears it; exec keeps it.  If master
     * is already gone, its pid is no longer our parent. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != ms_master_pid)
        _exit(0);
    /* No exec from here on can gain privileges (setuid or setgid bits,
     * file capabilities): a compromised service cannot climb through a
     * setuid program.  Not for local: it runs the users' own programs
     * (.forward pipes, mailbox_command), and a vacation reply through
     * sendmail needs postdrop's setgid bit (docs/architecture.md). */
    if (strcmp(s->name, "local") != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        msg_error("%s: prctl(PR_SET_NO_NEW_PRIVS): %m", s->name);
        _exit(1);
    }
    char *argv[] = {(char *)"postie", (char *)"service", s->name, NULL};
    fexecve(exe_fd, argv, environ);
    msg_error("exec %s: %m", ms_exe);
    _exit(127);
}

static void master_spawn_one(master_svc *s, int i)
{
    master_proc *p = &s->procs[i];
    /* Output buffered by the parent must not be written twice. */
    fflush(stdout);
    fflush(stderr);
    ms_master_pid = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        msg_warn("fork: %m");
        return;
    }
    if (pid == 0)
        master_spawn_exec(s);
    p->pid = pid;
    p->started = event_now();
    p->recycle = false;
}

void master_spawn_start(void)
{
    if (ms_stopping)
        return;
    for (size_t i = 0; i < ms_nsvcs; i++) {
        master_svc *s = &ms_svcs[i];
        for (int j = 0; j < s->count; j++)
            if (s->procs[j].pid == 0 && s->procs[j].timer == 0)
                master_spawn_one(s, j);
    }
}

static void master_spawn_throttled(void *ctx)
{
    master_proc *p = ctx;
    p->timer = 0;
    master_spawn_start();
}

/* Decide when the slot's next process starts. */
static void master_spawn_schedule(master_svc *s, int i, bool unexpected)
{
    master_proc *p = &s->procs[i];
    if (ms_stopping || i >= s->count)
        return;
    double lived = event_now() - p->started;
    if (!unexpected || lived >= MASTER_SPAWN_FAST) {
        p->quick = 0;
        return; /* master_spawn_start picks it up now */
    }
    p->quick++;
    if (p->quick < 2)
        return;
    double wait = 0.5;
    for (int k = 2; k < p->quick && wait < 1e6; k++)
        wait *= 2;
    double max = (double)var_time("service_throttle_time");
    if (wait > max)
        wait = max;
    if (wait <= 0)
        return;
    /* Postfix's words ("bad command startup -- throttling"), so that the
     * greps and tools that know them know this line too. */
    msg_warn("%s: service %s: bad command startup -- throttling for %gs "
             "(ended %d times in a row within %.0fs of its start)",
             ms_exe, s->name, wait, p->quick, MASTER_SPAWN_FAST);
    p->timer = event_timer(wait, master_spawn_throttled, p);
}

void master_spawn_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < ms_nsvcs; i++) {
            master_svc *s = &ms_svcs[i];
            for (int j = 0; j < s->nprocs; j++) {
                master_proc *p = &s->procs[j];
                if (p->pid != pid)
                    continue;
                bool expected = ms_stopping || p->recycle;
                bool bad = false;
                if (WIFSIGNALED(status)) {
                    bad = !(expected && WTERMSIG(status) == SIGTERM);
                    if (bad)
                        msg_warn("process %s pid %d killed by signal %d",
                                 ms_exe, (int)pid, WTERMSIG(status));
                } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
                    bad = true;
                    msg_warn("process %s pid %d exit status %d", ms_exe,
                             (int)pid, WEXITSTATUS(status));
                }
                p->pid = 0;
                master_spawn_schedule(s, j, !expected || bad);
            }
        }
    }
    master_spawn_start();
}

void master_spawn_signal(int sig)
{
    for (size_t i = 0; i < ms_nsvcs; i++)
        for (int j = 0; j < ms_svcs[i].nprocs; j++)
            if (ms_svcs[i].procs[j].pid > 0)
                kill(ms_svcs[i].procs[j].pid, sig);
}

void master_spawn_recycle(const char *name)
{
    master_svc *s = master_spawn_find(name);
    if (s == NULL)
        return;
    for (int j = 0; j < s->nprocs; j++) {
        if (s->procs[j].pid > 0) {
            s->procs[j].recycle = true;
            kill(s->procs[j].pid, SIGTERM);
        }
    }
}

void master_spawn_stop(void)
{
    ms_stopping = true;
    for (size_t i = 0; i < ms_nsvcs; i++)
        for (int j = 0; j < ms_svcs[i].nprocs; j++)
            if (ms_svcs[i].procs[j].timer) {
                event_cancel(ms_svcs[i].procs[j].timer);
                ms_svcs[i].procs[j].timer = 0;
            }
    master_spawn_signal(SIGTERM);
}

int master_spawn_running(void)
{
    int n = 0;
    for (size_t i = 0; i < ms_nsvcs; i++)
        for (int j = 0; j < ms_svcs[i].nprocs; j++)
            if (ms_svcs[i].procs[j].pid > 0)
                n++;
    return n;
}
