/*
 * master - the process that runs the mail system; see master.h.
 *
 * Life of a master: find the instance (making what is missing), read
 * postie.conf, open the log, take the pid-file lock, bind the listening
 * sockets (while still root, if root), start the services, then wait in the
 * event loop for signals: SIGCHLD (restart the dead), SIGHUP (reload),
 * SIGTERM/SIGINT (stop all, wait, exit).  Signals arrive through a
 * signalfd, so every handler runs in the loop, never in signal context.
 *
 * master parses only postie.conf and never reads the network (DESIGN.md:
 * the only long-lived privileged process does as little as possible).
 * Its log lines carry the program name "master", as Postfix's do.
 */
#include "master/master.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/mail_users.h"
#include "master/master_accounts.h"
#include "master/master_conf.h"
#include "master/master_instance.h"
#include "master/master_listen.h"
#include "master/master_pid.h"
#include "master/master_spawn.h"
#include "util/conf.h"
#include "util/events.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

#define MASTER_DEFAULT_SERVE_DIR "postie-data"
/* serve by root, when ./postie-data is out of mail_owner's reach. */
#define MASTER_ROOT_SERVE_DIR "/var/lib/postie-serve"
#define MASTER_STOP_GRACE 10.0   /* seconds before SIGKILL at stop */

/* The services master knows how to run, in start order.  Only those that
 * this build has (master_set_services) are started. */
typedef struct master_known {
    const char *name;
    const char *listen_param;    /* NULL: no sockets */
    const char *count_param;     /* NULL: one process */
    bool privileged;             /* keeps root (switches per delivery) */
    const char *what;            /* for the serve banner */
} master_known;

static const master_known master_known_services[] = {
    {"qmgr", NULL, NULL, false, "queue manager"},
    {"local", NULL, NULL, true, "local delivery"},
    {"pickup", NULL, NULL, false, "local submission (sendmail)"},
    /* The smtp and lmtp delivery agents (src/smtp): unprivileged. */
    {"smtp", NULL, NULL, false, "SMTP delivery to other servers"},
    {"lmtp", NULL, NULL, false, "LMTP delivery to a mail store"},
    {"smtpd", "smtpd_listen", "smtpd_processes", false, "SMTP"},
    /* pop3d keeps root to switch to each mailbox's owner; its login
     * processes, which read the network, drop to pop3d_login_user. */
    {"pop3d", "pop3d_listen", NULL, true, "POP3"},
    {"pop3s", "pop3s_listen", NULL, true, "POP3 over TLS"},
    {"imapd", "imapd_listen", NULL, false, "IMAP"},
    {NULL, NULL, NULL, false, NULL},
};

#define MASTER_MAX_SERVICES 16

static const master_service_entry *master_services;
static master_listen master_socks[MASTER_MAX_SERVICES];
static int master_pidfd = -1;
static char *master_data_dir;
static bool master_stopping;
static int master_ready_fd = -1;
static uid_t master_uid = (uid_t)-1;   /* who the services run as */
static gid_t master_gid = (gid_t)-1;

void master_set_services(const master_service_entry *table)
{
    master_services = table;
}

static master_service_fn master_service_fn_of(const char *name)
{
    for (const master_service_entry *e = master_services; e && e->name; e++)
        if (strcmp(e->name, name) == 0)
            return e->fn;
    return NULL;
}

/* The service a parameter belongs to, when this build lacks it: a
 * listening service is named by its NAME_listen parameter (submission,
 * imapd), the others by master's table; their parameters share the
 * "NAME_" prefix.  NULL when the service is built or the name is no
 * service's. */
static const char *master_unbuilt_service(const char *param, char *svc, size_t len)
{
    if (master_services == NULL)
        return NULL; /* no table: nothing is known to be missing */
    for (const mail_conf_param *p = mail_conf_params; p->name; p++) {
        size_t nl = strlen(p->name);
        if (nl <= 7 || strcmp(p->name + nl - 7, "_listen") != 0)
            continue;
        size_t sl = nl - 7;
        if (sl >= len || strncmp(param, p->name, sl) != 0 || param[sl] != '_')
            continue;
        memcpy(svc, p->name, sl);
        svc[sl] = '\0';
        if (master_service_fn_of(svc) == NULL)
            return svc;
    }
    for (const master_known *k = master_known_services; k->name; k++) {
        size_t sl = strlen(k->name);
        if (sl < len && strncmp(param, k->name, sl) == 0 && param[sl] == '_' &&
            master_service_fn_of(k->name) == NULL) {
            memcpy(svc, k->name, sl + 1);
            return svc;
        }
    }
    return NULL;
}

int master_check_unbuilt(mail_conf_report_fn report, void *ctx)
{
    char *path = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
    conf *c = conf_load(path, NULL, NULL);
    int n = 0;
    for (size_t i = 0; c != NULL && i < c->n; i++) {
        char svc[64], text[300];
        /* Empty is "off": what the missing service is anyway. */
        const char *v = c->v[i].value;
        if (v[strspn(v, " \t,")] == '\0' ||
            master_unbuilt_service(c->v[i].name, svc, sizeof(svc)) == NULL)
            continue;
        snprintf(text, sizeof(text), "parameter %s: service %s is not built into "
                 "this postie", c->v[i].name, svc);
        report(path, c->v[i].line, text, ctx);
        n++;
    }
    conf_free(&c);
    mem_free(&path);
    return n;
}

int master_service_main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        /* The services of this build, for tests and the curious. */
        for (const master_service_entry *e = master_services; e && e->name; e++)
            if (e->fn != NULL)
                printf("%s\n", e->name);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: postie service NAME | --list\n");
        return 64;
    }
    master_service_fn fn = master_service_fn_of(argv[1]);
    if (fn == NULL) {
        fprintf(stderr, "postie service: %s is not part of this build\n", argv[1]);
        return 69;
    }
    return fn(argc - 1, argv + 1);
}

/* The binary's path, for log lines and the commands in the banner.
 * /proc/self/exe says " (deleted)" after a rebuild replaced the file. */
static char *master_exe(void)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
    if (n < 0)
        msg_fatal("readlink /proc/self/exe: %m");
    path[n] = '\0';
    const char *tag = " (deleted)";
    size_t tl = strlen(tag);
    if ((size_t)n > tl && strcmp(path + n - tl, tag) == 0)
        path[n - tl] = '\0';
    return mem_strdup(path);
}

/* ---- logging ---- */

static void master_logging(uid_t uid, gid_t gid, bool chown_log)
{
    msg_init("master");
    msg_set_syslog_name(var_str("syslog_name"));
    msg_set_hostname(var_str("myhostname"));
    msg_set_time_format(var_bool("maillog_file_rfc3339") ? MSG_TIME_RFC3339
                                                         : MSG_TIME_TRADITIONAL);
    char *path = var_path("maillog_file");
    if (*path == '\0') {
        msg_use_syslog();
    } else {
        /* Every service appends to this file as mail_owner: make it theirs
         * before they start (a root-owned 0640 file would lock them out). */
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd >= 0) {
            if (chown_log && fchown(fd, uid, gid) < 0)
                msg_warn("chown %s: %m", path);
            close(fd);
        }
        if (msg_open_file(path) < 0)
            msg_fatal("open maillog_file %s: %m", path);
    }
    mem_free(&path);
}

/* ---- the running master ---- */

static void master_stop_timeout(void *ctx)
{
    if (master_spawn_running() > 0) {
        msg_warn("services still running %.0fs after SIGTERM: sending SIGKILL",
                 MASTER_STOP_GRACE);
        master_spawn_signal(SIGKILL);
    }
}

static void master_begin_stop(int sig)
{
    if (master_stopping)
        return;
    master_stopping = true;
    msg_info("terminating on signal %d", sig);
    master_spawn_stop();
    event_timer(MASTER_STOP_GRACE, master_stop_timeout, NULL);
}

/* Declare (or re-declare after reload) every service of this build. */
static int master_declare(bool reloading, char **err_r)
{
    int k = 0;
    for (const master_known *m = master_known_services; m->name; m++, k++) {
        if (master_service_fn_of(m->name) == NULL)
            continue;
        int count = 1;
        if (m->count_param) {
            long long c = var_int(m->count_param);
            count = c < 1 ? 1 : c > 64 ? 64 : (int)c;
        }
        const master_listen *socks = NULL;
        bool recycle = false;
        if (m->listen_param) {
            char *spec = master_listen_spec(m->listen_param);
            if (!reloading || strcmp(spec, master_socks[k].spec) != 0) {
                master_listen fresh;
                char *err = NULL;
                if (master_listen_reopen(m->listen_param,
                                         reloading ? &master_socks[k] : NULL,
                                         &fresh, &err) < 0) {
                    if (!reloading) {
                        *err_r = err;
                        mem_free(&spec);
                        return -1;
                    }
                    /* Keep serving on the old sockets rather than none. */
                    msg_warn("reload: %s: %s; keeping %s", m->name, err,
                             master_socks[k].spec);
                    mem_free(&err);
                } else {
                    if (reloading)
                        master_listen_close(&master_socks[k]);
                    master_socks[k] = fresh;
                    recycle = reloading;
                }
            }
            mem_free(&spec);
            if (master_socks[k].n == 0)
                continue; /* listens nowhere: not started */
            socks = &master_socks[k];
        }
        master_spawn_service(m->name, count, m->privileged, socks);
        if (recycle)
            master_spawn_recycle(m->name);
    }
    return 0;
}

/* Problems found at reload go to the log: the invoker of "postie reload"
 * is long gone, and the system keeps running on the old values. */
static void master_reload_report(const char *path, int line, const char *text,
                                 void *ctx)
{
    int *bad = ctx;
    if (strncmp(text, "unknown parameter:", 18) == 0)
        return;
    (*bad)++;
    msg_warn("%s, line %d: %s", path, line, text);
}

/* A parameter for a service this build lacks: said at reload, kept. */
static void master_unbuilt_log(const char *path, int line, const char *text,
                               void *ctx)
{
    msg_warn("%s, line %d: %s", path, line, text);
}

static void master_reload(void)
{
    int bad = 0;
    if (master_conf_load(master_reload_report, &bad) > 0) {
        msg_warn("reload refused: %d bad value%s in %s/%s; still running with "
                 "the previous configuration", bad, bad == 1 ? "" : "s",
                 mail_conf_dir(), MAIL_CONF_FILE);
        return;
    }
    /* maillog_file, syslog_name or the time format may have changed: the
     * reload line already goes where the services will write. */
    master_logging(master_uid, master_gid, geteuid() == 0);
    master_check_unbuilt(master_unbuilt_log, NULL);
    msg_info("reload -- version %s, configuration %s", POSTIE_VERSION,
             mail_conf_dir());
    char *err = NULL;
    master_declare(true, &err);
    mem_free(&err);
    master_spawn_signal(SIGHUP);
    master_spawn_start();
}

static void master_on_signal(int fd, int events, void *ctx)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            master_spawn_reap();
            break;
        case SIGHUP:
            if (!master_stopping)
                master_reload();
            break;
        case SIGTERM:
        case SIGINT:
            master_begin_stop((int)si.ssi_signo);
            break;
        }
    }
    if (master_stopping && master_spawn_running() == 0)
        event_stop();
}

/* "host:port" or "[v6]:port" of a listening socket as a client names it:
 * bare IPv6 address (smtplib wants it so; curl and mutt get the brackets
 * back from bracket_r), a wildcard reached through loopback. */
static void master_banner_host(const char *label, char *host, size_t n,
                               const char **port_r, bool *v6_r)
{
    const char *colon = strrchr(label, ':');
    snprintf(host, n, "%.*s", (int)(colon - label), label);
    *port_r = colon + 1;
    *v6_r = false;
    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
        *v6_r = true;
    }
    if (strcmp(host, "0.0.0.0") == 0) {
        snprintf(host, n, "127.0.0.1");
    } else if (strcmp(host, "::") == 0) {
        snprintf(host, n, "::1");
    }
}

static void master_print_banner(const master_instance_report *r,
                                const char *exe)
{
    const char *dir = mail_conf_dir();
    printf("postie serve: instance %s%s\n", dir,
           r->created_dir ? " (made now)" : "");
    int k = 0;
    const char *smtp_label = NULL;
    const char *pop_label = NULL;
    for (const master_known *m = master_known_services; m->name; m++, k++) {
        if (master_service_fn_of(m->name) == NULL)
            continue;
        if (m->listen_param) {
            if (master_socks[k].n == 0)
                continue;
            char *labels = master_listen_labels(&master_socks[k]);
            printf("  %-7s %s on %s\n", m->name, m->what, labels);
            mem_free(&labels);
            if (strcmp(m->name, "smtpd") == 0)
                smtp_label = master_socks[k].v[0].label;
            if (strcmp(m->name, "pop3d") == 0)
                pop_label = master_socks[k].v[0].label;
        } else {
            printf("  %-7s %s\n", m->name, m->what);
        }
    }
    char *log = var_path("maillog_file");
    if (*log)
        printf("  log     %s\n", log);
    else
        printf("  log     syslog (facility mail)\n");
    mem_free(&log);
    char *users = var_path("mail_users_file");
    if (r->first_user) {
        printf("  user    %s, password %s (shown only now; change it: "
               "%s -c %s user passwd %s)\n",
               r->first_user, r->first_password, exe, dir, r->first_user);
    } else {
        printf("  users   %s (%s -c %s user list)\n", users, exe, dir);
    }
    mem_free(&users);
    if (r->serve_cert)
        printf("  tls     STARTTLS (smtpd) and STLS (pop3d) with the self-signed "
               "certificate %s%s\n", r->serve_cert, r->made_cert ? " (made now)" : "");
    char *to = r->first_user ? mem_strdup(r->first_user) : mail_users_first();
    if (to == NULL)
        to = mem_strdup("postmaster");
    char host[128];
    const char *port;
    bool v6;
    if (smtp_label != NULL) {
        master_banner_host(smtp_label, host, sizeof(host), &port, &v6);
        printf("send a first message:\n"
               "  swaks --server %s --port %s --to %s@localhost\n"
               "  python3 -c 'import smtplib; smtplib.SMTP(\"%s\", %s).sendmail("
               "\"you@localhost\", [\"%s@localhost\"], \"Subject: hello\\n\\nfirst message\\n\")'\n",
               host, port, to, host, port, to);
    }
    /* mail(1) of mailutils runs the sendmail it was built with (Postfix's
     * /usr/sbin/sendmail) and knows nothing of MAIL_CONFIG: its variable
     * "sendmail" names the mailer (a sendmail:// URL). */
    char *sm = mem_alloc(strlen(exe) + 16);
    const char *slash = strrchr(exe, '/');
    snprintf(sm, strlen(exe) + 16, "%.*ssendmail", (int)(slash ? slash - exe + 1 : 0), exe);
    if (access(sm, X_OK) == 0)
        printf("  echo hi | MAIL_CONFIG=%s mail -s hello -E 'set sendmail=sendmail://%s' "
               "%s@localhost\n", dir, sm, to);
    mem_free(&sm);
    const char *hm = var_str("home_mailbox");
    mail_user *u = NULL;
    if (*hm && hm[strlen(hm) - 1] == '/' && mail_users_find(to, &u, NULL) == 1) {
        char *home = mail_users_home(u);
        printf("  then look in %s/%snew/ (and the log)\n", home, hm);
        mem_free(&home);
    }
    mail_user_free(&u);
    if (pop_label != NULL) {
        /* RFC 1939: message 1 of the maildrop; RFC 2384: the pop:// URL.
         * The password is known only on the first start. */
        master_banner_host(pop_label, host, sizeof(host), &port, &v6);
        const char *pw = r->first_user ? r->first_password : "PASSWORD";
        printf("read it (POP3 on %s%s%s:%s, user %s):\n"
               "  curl -u %s:%s pop3://%s%s%s:%s/1\n"
               "  mutt -f pop://%s@%s%s%s:%s/\n",
               v6 ? "[" : "", host, v6 ? "]" : "", port, to,
               to, pw, v6 ? "[" : "", host, v6 ? "]" : "", port,
               to, v6 ? "[" : "", host, v6 ? "]" : "", port);
    }
    printf("stop: Ctrl-C, or %s -c %s stop\n", exe, dir);
    mem_free(&to);
    fflush(stdout);
}

/* Everything after the configuration is read; returns the exit status.
 * ready_fd >= 0 (daemon): write "ok" there once running. */
/* Who the services run as: mail_owner when we are root, else unchanged.
 * serve makes the accounts that are missing (master_accounts.h). */
static void master_identity(bool serve)
{
    const char *owner = var_str("mail_owner");
    if (geteuid() == 0) {
        char *err = NULL;
        if (serve && (master_accounts_ensure_user(owner, "mail_owner", &err) < 0 ||
                      master_accounts_ensure_user(var_str("pop3d_login_user"),
                                                  "pop3d_login_user", &err) < 0))
            msg_fatal("%s", err);
        struct passwd *pw = getpwnam(owner);
        if (pw == NULL)
            msg_fatal("mail_owner \"%s\" is not a user of this system: create "
                      "it (useradd --system --home-dir /nonexistent --shell "
                      "/usr/sbin/nologin %s) or set mail_owner in %s/%s",
                      owner, owner, mail_conf_dir(), MAIL_CONF_FILE);
        if (pw->pw_uid == 0)
            msg_fatal("mail_owner \"%s\" has user ID 0: it must be an "
                      "unprivileged user", owner);
        master_uid = pw->pw_uid;
        master_gid = pw->pw_gid;
    }
}

static int master_run(bool serve, master_instance_report *rep)
{
    char *exe = master_exe();
    bool root = geteuid() == 0;
    uid_t uid = master_uid;
    gid_t gid = master_gid;
    const char *owner = var_str("mail_owner");
    master_logging(uid, gid, root);
    msg_set_stderr(true); /* until started: the invoker sees what failed */

    char *err = NULL;
    master_data_dir = var_path("data_directory");
    pid_t other = 0;
    master_pidfd = master_pid_lock(master_data_dir, &other);
    if (master_pidfd == -2)
        msg_fatal("the mail system is already running (pid %d, configuration %s)",
                  (int)other, mail_conf_dir());
    if (master_pidfd < 0)
        msg_fatal("lock %s/%s: %m", master_data_dir, MASTER_PID_FILE);

    /* Signals first, so that none is lost between the first fork and the
     * loop; the children unblock them before exec. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        msg_fatal("signalfd: %m");
    event_init();
    event_add(sfd, EVENT_READ, master_on_signal, NULL);

    master_spawn_init(exe, root, owner, uid, gid);
    if (master_declare(false, &err) < 0) {
        if (strstr(err, "in use") != NULL)
            msg_fatal("%s (another mail server? choose other ports with the "
                      "*_listen parameters in %s/%s)", err, mail_conf_dir(),
                      MAIL_CONF_FILE);
        msg_fatal("%s", err);
    }
    if (!serve) {
        /* Everything that can fail at start has been checked while the
         * invoker still sees stderr.  Let go of its terminal (or pipe)
         * before the services inherit it: they would hold it open. */
        msg_set_stderr(false);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2)
                close(null);
        }
    }
    msg_info("daemon started -- version %s, configuration %s", POSTIE_VERSION,
             mail_conf_dir());
    master_spawn_start();

    if (serve) {
        master_print_banner(rep, exe);
    } else if (master_ready_fd >= 0) {
        (void)!write(master_ready_fd, "ok\n", 3);
        close(master_ready_fd);
        master_ready_fd = -1;
    }
    master_instance_report_free(rep);
    event_loop();
    master_pid_remove(master_data_dir, master_pidfd);
    mem_free(&exe);
    return 0;
}

/* --dir DIR for serve and start; -c and $MAIL_CONFIG otherwise. */
static const char *master_dir_arg(int argc, char **argv, const char *cmd,
                                  bool *bad)
{
    const char *dir = NULL;
    *bad = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(argv[i], "--dir=", 6) == 0) {
            dir = argv[i] + 6;
        } else {
            fprintf(stderr, "usage: postie %s [--dir DIR]\n", cmd);
            *bad = true;
        }
    }
    return dir;
}

/* The instance of start, stop, status and reload without -c or
 * $MAIL_CONFIG: the system one when it is there, else the one serve makes
 * in the current directory, so that a normal user's "postie start" works
 * with the embedded defaults and "postie status" finds it again. */
static const char *master_default_dir(void)
{
    const char *env = getenv("MAIL_CONFIG");
    if (env != NULL && *env)
        return env;
    if (access(MAIL_CONF_DEFAULT_DIR "/" MAIL_CONF_FILE, F_OK) == 0)
        return MAIL_CONF_DEFAULT_DIR;
    return MASTER_DEFAULT_SERVE_DIR;
}

/* A value that does not parse would make each service fatal at start and
 * master would restart them in a throttled loop: refuse to start instead,
 * naming file and line as "postie config check" does.  Unknown names are
 * only warned about (by mail_conf_read), as Postfix does. */
static void master_check_report(const char *path, int line, const char *text,
                                void *ctx)
{
    int *bad = ctx;
    if (strncmp(text, "unknown parameter:", 18) == 0)
        return;
    (*bad)++;
    if (line > 0)
        fprintf(stderr, "postie: %s:%d: %s\n", path, line, text);
    else
        fprintf(stderr, "postie: %s: %s\n", path, text);
}

/* Make the instance's directory and configuration, then read it.
 * serve: make missing accounts; implicit: the directory was not named
 * (--dir, $MAIL_CONFIG), so serve may pick another one.  Returns false
 * when serve should start over in MASTER_ROOT_SERVE_DIR. */
static bool master_prepare(const char *dir, master_instance_report *rep,
                           bool serve, bool implicit)
{
    char *err = NULL;
    if (master_instance_conf(dir, rep, &err) < 0) {
        fprintf(stderr, "postie: %s\n", err);
        exit(1);
    }
    mail_conf_set_dir(dir);
    /* Children and the commands printed in the banner find it this way. */
    setenv("MAIL_CONFIG", mail_conf_dir(), 1);
    int bad = 0;
    if (master_conf_load(master_check_report, &bad) > 0) {
        fprintf(stderr, "postie: not starting: fix %s/%s first (postie config check)\n",
                mail_conf_dir(), MAIL_CONF_FILE);
        exit(1);
    }
    master_identity(serve);
    /* The services run as mail_owner and read the instance by its path: a
     * checkout in /root (mode 700) is out of their reach, and every service
     * would die at start and be restarted in a loop.  serve without a named
     * directory moves to one they can reach; otherwise stop and say why. */
    char *blocker = NULL;
    if (master_uid != (uid_t)-1 &&
        !master_accounts_reachable(mail_conf_dir(), master_uid, master_gid, &blocker)) {
        if (serve && implicit) {
            printf("postie serve: %s is out of reach of mail_owner %s (%s is closed to "
                   "it): the instance is %s instead\n", mail_conf_dir(),
                   var_str("mail_owner"), blocker, MASTER_ROOT_SERVE_DIR);
            mem_free(&blocker);
            if (rep->created_conf) {
                /* Made a moment ago, for nothing: leave no litter. */
                char *made = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
                unlink(made);
                mem_free(&made);
                if (rep->created_dir)
                    rmdir(mail_conf_dir());
            }
            memset(rep, 0, sizeof(*rep));
            return false;
        }
        fprintf(stderr, "postie: not starting: mail_owner %s cannot reach %s (%s is "
                "closed to it); use a directory it can enter\n",
                var_str("mail_owner"), mail_conf_dir(), blocker);
        exit(1);
    }
    if (master_instance_dirs(master_uid, master_gid, rep, &err) < 0) {
        fprintf(stderr, "postie: %s\n", err);
        exit(1);
    }
    if (serve)
        master_instance_tls(master_uid, master_gid, rep); /* TLS out of the box */
    return true;
}

int master_serve_main(int argc, char **argv)
{
    bool bad;
    const char *dir = master_dir_arg(argc, argv, "serve", &bad);
    bool implicit = false;
    if (bad)
        return 64;
    if (dir == NULL) {
        const char *env = getenv("MAIL_CONFIG");
        implicit = !(env && *env);
        dir = implicit ? MASTER_DEFAULT_SERVE_DIR : env;
    }
    master_instance_report rep;
    memset(&rep, 0, sizeof(rep));
    if (!master_prepare(dir, &rep, true, implicit))
        master_prepare(MASTER_ROOT_SERVE_DIR, &rep, true, false);
    return master_run(true, &rep);
}

int master_start_main(int argc, char **argv)
{
    bool bad;
    const char *dir = master_dir_arg(argc, argv, "start", &bad);
    if (bad)
        return 64;
    if (dir == NULL)
        dir = master_default_dir();
    master_instance_report rep;
    memset(&rep, 0, sizeof(rep));
    master_prepare(dir, &rep, false, false);
    char *data = var_path("data_directory");
    pid_t pid = master_pid_running(data);
    mem_free(&data);
    if (pid > 0) {
        fprintf(stderr, "postie: the mail system is already running (pid %d)\n",
                (int)pid);
        return 1;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        perror("postie: pipe");
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child < 0) {
        perror("postie: fork");
        return 1;
    }
    if (child > 0) {
        /* Wait until the daemon has bound its sockets (or failed: it told
         * the terminal why on stderr before the pipe closed). */
        close(pfd[1]);
        char ok[4] = "";
        ssize_t n;
        while ((n = read(pfd[0], ok, 3)) < 0 && errno == EINTR)
            ;
        close(pfd[0]);
        if (n < 2 || strncmp(ok, "ok", 2) != 0) {
            fprintf(stderr, "postie: the mail system did not start (see above and the log)\n");
            return 1;
        }
        if (rep.first_user)
            printf("postie: made user %s with password %s (shown only now)\n",
                   rep.first_user, rep.first_password);
        printf("postie: the mail system is running (configuration %s)\n",
               mail_conf_dir());
        return 0;
    }
    /* Child: a new session without a terminal; fork again so the daemon is
     * not a session leader and can never acquire one. */
    close(pfd[0]);
    setsid();
    pid_t grand = fork();
    if (grand < 0)
        _exit(1);
    if (grand > 0)
        _exit(0);
    if (chdir("/") < 0)
        _exit(1);
    umask(022);
    master_ready_fd = pfd[1];
    exit(master_run(false, &rep));
}

static pid_t master_find_running(const char *cmd)
{
    mail_conf_set_dir(master_default_dir());
    mail_conf_read();
    char *data = var_path("data_directory");
    pid_t pid = master_pid_running(data);
    mem_free(&data);
    if (pid <= 0)
        fprintf(stderr, "postie: the mail system is not running (configuration %s)\n",
                mail_conf_dir());
    return pid;
}

int master_stop_main(int argc, char **argv)
{
    pid_t pid = master_find_running("stop");
    if (pid <= 0)
        return 1;
    if (kill(pid, SIGTERM) < 0) {
        fprintf(stderr, "postie: kill %d: %s\n", (int)pid, strerror(errno));
        return 1;
    }
    /* Return when it is gone, so "stop; start" works in a script. */
    char *data = var_path("data_directory");
    int rc = 1;
    for (int i = 0; i < (int)(MASTER_STOP_GRACE * 10) + 50; i++) {
        if (master_pid_running(data) == 0) {
            rc = 0;
            break;
        }
        usleep(100000);
    }
    mem_free(&data);
    if (rc == 0)
        printf("postie: the mail system is stopped\n");
    else
        fprintf(stderr, "postie: master pid %d did not stop\n", (int)pid);
    return rc;
}

static void master_unbuilt_stderr(const char *path, int line, const char *text,
                                  void *ctx)
{
    fprintf(stderr, "postie: warning: %s:%d: %s\n", path, line, text);
}

int master_reload_main(int argc, char **argv)
{
    pid_t pid = master_find_running("reload");
    if (pid <= 0)
        return 1;
    /* master would refuse it too, but only in the log: say it here. */
    int bad = 0;
    mail_conf_check(master_check_report, &bad);
    if (bad > 0) {
        fprintf(stderr, "postie: not reloading: fix %s/%s first (postie config check)\n",
                mail_conf_dir(), MAIL_CONF_FILE);
        return 1;
    }
    master_check_unbuilt(master_unbuilt_stderr, NULL);
    if (kill(pid, SIGHUP) < 0) {
        fprintf(stderr, "postie: kill %d: %s\n", (int)pid, strerror(errno));
        return 1;
    }
    printf("postie: refreshing the mail system\n");
    return 0;
}

/* The service a child of master runs, from its command line. */
static bool master_child_service(pid_t pid, pid_t parent, char *name, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *stat = fs_read_file(path, 4096, NULL);
    if (stat == NULL)
        return false;
    /* "pid (comm) state ppid ...": comm may hold spaces, so look after ')'. */
    const char *rp = strrchr(stat, ')');
    int ppid = -1;
    if (rp == NULL || sscanf(rp + 1, " %*c %d", &ppid) != 1 || ppid != parent) {
        mem_free(&stat);
        return false;
    }
    mem_free(&stat);
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    size_t len = 0;
    char *cmd = fs_read_file(path, 4096, &len);
    if (cmd == NULL)
        return false;
    /* argv is NUL-separated: postie service NAME */
    const char *a1 = strlen(cmd) + 1 < len ? cmd + strlen(cmd) + 1 : "";
    const char *a2 = strlen(a1) && a1 + strlen(a1) + 1 < cmd + len
                         ? a1 + strlen(a1) + 1 : "";
    bool ok = strcmp(a1, "service") == 0;
    snprintf(name, n, "%s", ok ? a2 : "?");
    mem_free(&cmd);
    return ok;
}

int master_status_main(int argc, char **argv)
{
    pid_t pid = master_find_running("status");
    if (pid <= 0)
        return 1;
    printf("postie: the mail system is running: master pid %d, configuration %s\n",
           (int)pid, mail_conf_dir());
    /* The services, from /proc: master keeps no state file to go stale. */
    for (const master_known *m = master_known_services; m->name; m++) {
        char pids[512] = "";
        size_t used = 0;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            char *end;
            long p = strtol(de->d_name, &end, 10);
            char name[64];
            if (*end != '\0' || p <= 0 ||
                !master_child_service((pid_t)p, pid, name, sizeof(name)) ||
                strcmp(name, m->name) != 0)
                continue;
            int w = snprintf(pids + used, sizeof(pids) - used, "%s%ld",
                             used ? " " : "", p);
            if (w > 0 && (size_t)w < sizeof(pids) - used)
                used += (size_t)w;
        }
        if (d != NULL)
            closedir(d);
        if (used > 0)
            printf("  %-7s pid %s\n", m->name, pids);
    }
    return 0;
}
