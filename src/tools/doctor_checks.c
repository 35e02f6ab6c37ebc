/*
 * doctor_checks - the steps that look at processes and files: 1 service
 * status, 2 the queue, 6 configuration and permissions, 7 users and
 * mailboxes.  See doctor.h.
 *
 * Who should own what follows master_instance.c: the queue and virtual
 * mailboxes belong to the user the services run as (mail_owner under a
 * root master, else master's own user); a user with a uid in the users
 * file gets its mailbox written as that uid.
 *
 * Does not: repair.  "postie start" already repairs missing directories
 * and owners; doctor says when that, or a chown, is the fix.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "global/mail_aliases.h"
#include "global/mail_conf.h"
#include "global/mail_users.h"
#include "global/mynetworks.h"
#include "global/queue_file.h"
#include "master/master.h"
#include "master/master_pid.h"
#include "smtpd/smtpd_check.h"
#include "tools/doctor.h"
#include "tools/queue_cmd.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"

/*
 * The services this build has.  main.c's table is the authority but is
 * private to it; the same weak references give the same answer here (an
 * entry that is not linked in is NULL), so doctor does not call a service
 * missing that this build never had.
 */
int smtpd_service_main(int argc, char **argv);
int qmgr_service_main(int argc, char **argv);
int local_service_main(int argc, char **argv);
int pickup_service_main(int argc, char **argv);
int smtp_service_main(int argc, char **argv);
int lmtp_service_main(int argc, char **argv);
int pop3d_service_main(int argc, char **argv);
int imapd_service_main(int argc, char **argv);
#pragma weak smtpd_service_main
#pragma weak qmgr_service_main
#pragma weak local_service_main
#pragma weak pickup_service_main
#pragma weak smtp_service_main
#pragma weak lmtp_service_main
#pragma weak pop3d_service_main
#pragma weak imapd_service_main

typedef struct doctor_checks_svc {
    const char *name;
    int (*fn)(int, char **);
} doctor_checks_svc;

static const doctor_checks_svc doctor_checks_svcs[] = {
    {"qmgr", qmgr_service_main},   {"local", local_service_main},
    {"pickup", pickup_service_main}, {"smtp", smtp_service_main},
    {"lmtp", lmtp_service_main},   {"smtpd", smtpd_service_main},
    {"pop3d", pop3d_service_main}, {"pop3s", pop3d_service_main},
    {"imapd", imapd_service_main},
    {NULL, NULL},
};

bool doctor_checks_in_build(const char *service)
{
    for (const doctor_checks_svc *s = doctor_checks_svcs; s->name; s++)
        if (strcmp(s->name, service) == 0)
            return s->fn != NULL;
    return false;
}

/* The line of a parameter in postie.conf, 0 when it is not set there. */
static int doctor_checks_conf_line(const char *name)
{
    char *path = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
    conf *c = conf_load(path, NULL, NULL);
    mem_free(&path);
    const conf_entry *e = c ? conf_find(c, name) : NULL;
    int line = e ? e->line : 0;
    conf_free(&c);
    return line;
}

/* ---- step 1: services ---- */

/* Master's children that run a service ("postie service NAME"), with
 * their pids and start times (epoch seconds). */
typedef struct doctor_checks_child {
    char name[32];
    long pid;
    double started;  /* 0: unknown */
    bool taken;      /* already named as a dead one's successor */
} doctor_checks_child;

static long long doctor_checks_boot_time(void)
{
    char *stat = fs_read_file("/proc/stat", 1 << 20, NULL);
    const char *b = stat ? strstr(stat, "\nbtime ") : NULL;
    long long t = b ? atoll(b + 7) : 0;
    mem_free(&stat);
    return t;
}

static doctor_checks_child *doctor_checks_children(pid_t master, size_t *n_r)
{
    doctor_checks_child *v = NULL;
    size_t n = 0;
    long long boot = doctor_checks_boot_time();
    long hz = sysconf(_SC_CLK_TCK);
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char *end;
        long p = strtol(de->d_name, &end, 10);
        if (*end != '\0' || p <= 0)
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%ld/stat", p);
        char *stat = fs_read_file(path, 4096, NULL);
        if (stat == NULL)
            continue;
        /* "pid (comm) state ppid ... starttime(22)": comm may hold
         * anything, so count the fields after the last ')'. */
        const char *rp = strrchr(stat, ')');
        int ppid = -1;
        unsigned long long start = 0;
        bool child = rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == master;
        if (child) {
            const char *q = rp + 1;
            for (int field = 3; field < 22 && q; field++) {
                q = strchr(q + 1, ' ');
            }
            if (q)
                start = strtoull(q + 1, NULL, 10);
        }
        mem_free(&stat);
        if (!child)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", p);
        size_t len = 0;
        char *cmd = fs_read_file(path, 4096, &len);
        if (cmd == NULL)
            continue;
        const char *a1 = strlen(cmd) + 1 < len ? cmd + strlen(cmd) + 1 : "";
        const char *a2 = *a1 && a1 + strlen(a1) + 1 < cmd + len ? a1 + strlen(a1) + 1 : "";
        if (strcmp(a1, "service") == 0 && *a2) {
            v = mem_realloc(v, (n + 1) * sizeof(*v));
            snprintf(v[n].name, sizeof(v[n].name), "%s", a2);
            v[n].pid = p;
            v[n].started = hz > 0 && boot > 0 ? (double)boot + (double)start / (double)hz : 0;
            v[n].taken = false;
            n++;
        }
        mem_free(&cmd);
    }
    if (d != NULL)
        closedir(d);
    *n_r = n;
    return v;
}

/* A death whose pid never logged a line: the service master started in
 * its place, a moment later, is the best witness of which one it was. */
static void doctor_checks_restart_guess(doctor_restart *r, doctor_checks_child *kids, size_t n)
{
    if (strcmp(r->service, "?") != 0 || r->time < 0)
        return;
    /* The log's second is cut, not rounded, and the start times derive
     * from the boot time in whole seconds: each may be up to a second
     * early.  A successor starts within that of the death, or later by
     * the throttle wait; the first processes started long before. */
    double slack = 5;
    long long thr = conf_parse_time(var_str("service_throttle_time"), 's');
    if (thr > 0)
        slack += (double)thr;
    doctor_checks_child *best = NULL;
    for (size_t i = 0; i < n; i++) {
        double dt = kids[i].started - (double)r->time;
        if (kids[i].started == 0 || kids[i].taken || dt < -1.0 || dt > slack)
            continue;
        if (best == NULL || dt < best->started - (double)r->time)
            best = &kids[i];
    }
    if (best != NULL) {
        best->taken = true;
        mem_free(&r->service);
        char name[64];
        snprintf(name, sizeof(name), "%s", best->name);
        r->service = mem_strdup(name);
    }
}

static uid_t doctor_checks_proc_uid(pid_t pid, gid_t *gid_r, bool *ok_r)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    char *s = fs_read_file(path, 65536, NULL);
    *ok_r = false;
    uid_t uid = 0;
    if (s != NULL) {
        char *u = strstr(s, "\nUid:"), *g = strstr(s, "\nGid:");
        unsigned long a, b;
        if (u && g && sscanf(u + 5, "%lu", &a) == 1 && sscanf(g + 5, "%lu", &b) == 1) {
            uid = (uid_t)a;
            *gid_r = (gid_t)b;
            *ok_r = true;
        }
        mem_free(&s);
    }
    return uid;
}

/* Who the services run as: mail_owner under root, else master's user. */
static void doctor_checks_service_user(doctor_facts *f)
{
    bool ok = false;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (f->master > 0) {
        uid = doctor_checks_proc_uid(f->master, &gid, &ok);
        if (!ok)
            return;
    }
    if (uid == 0) {
        struct passwd *pw = getpwnam(var_str("mail_owner"));
        if (pw == NULL)
            return;
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    f->service_uid = uid;
    f->service_gid = gid;
    f->service_uid_known = true;
}

void doctor_checks_service(doctor_report *r, doctor_facts *f)
{
    char *data = var_path("data_directory");
    char *pidfile = fs_join(data, MASTER_PID_FILE);
    f->master = master_pid_running(data);
    doctor_check *c = doctor_add(r, 1, "master");
    const char *next;
    if (f->master <= 0) {
        bool stale = access(pidfile, F_OK) == 0;
        next = doctor_tmp("start it: %s start (or %s serve in the foreground "
                 "to watch it); then %s status", doctor_postie(), doctor_postie(), doctor_postie());
        doctor_set(c, DOCTOR_FAIL, next, "master is not running%s: no mail is received "
                   "or delivered", stale ? " (its pid file is left from a master that died)" : "");
        doctor_detail(c, "pid file %s: %s", pidfile,
                      stale ? "present, but nobody holds its lock" : "absent");
        if (f->log.fatal.n > 0)
            doctor_detail(c, "the log's last words include: %s", f->log.fatal.v[0].example);
    } else if (kill(f->master, 0) < 0 && errno == ESRCH) {
        doctor_set(c, DOCTOR_FAIL, "look for a master in another pid namespace (container)",
                   "the pid file is locked, but pid %d is not a process here", (int)f->master);
    } else {
        size_t nkids = 0;
        doctor_checks_child *kids = doctor_checks_children(f->master, &nkids);
        f->running = mem_zalloc((nkids + 1) * sizeof(char *));
        for (size_t i = 0; i < nkids; i++)
            f->running[i] = mem_strdup(kids[i].name);
        for (size_t i = 0; i < f->log.nrestarts; i++)
            doctor_checks_restart_guess(&f->log.restarts[i], kids, nkids);
        mem_free(&kids);
        char list[1024] = "";
        size_t used = 0;
        for (const doctor_checks_svc *s = doctor_checks_svcs; s->name; s++) {
            int k = 0;
            for (char **p = f->running; *p; p++)
                k += strcmp(*p, s->name) == 0;
            if (k == 0)
                continue;
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? " " : "", s->name);
            if (w > 0 && (size_t)w < sizeof(list) - used)
                used += (size_t)w;
            if (k > 1) {
                w = snprintf(list + used, sizeof(list) - used, "(%d)", k);
                if (w > 0 && (size_t)w < sizeof(list) - used)
                    used += (size_t)w;
            }
        }
        doctor_set(c, DOCTOR_OK, NULL, "master runs, pid %d; services: %s", (int)f->master,
                   used ? list : "none");
        doctor_detail(c, "pid file %s, locked by pid %d", pidfile, (int)f->master);
        for (const doctor_checks_svc *s = doctor_checks_svcs; s->name; s++) {
            if (s->fn == NULL)
                continue;
            /* A listening service without addresses is off on purpose. */
            const char *lp = doctor_net_listen_param(s->name);
            if (lp != NULL) {
                char **v = var_list(lp);
                bool off = v[0] == NULL;
                conf_free_list(&v);
                if (off)
                    continue;
            }
            bool up = false;
            for (char **p = f->running; *p && !up; p++)
                up = strcmp(*p, s->name) == 0;
            if (!up) {
                next = doctor_tmp("master restarts a dead service: wait a "
                         "moment and run doctor again; if it stays away, %s stop; %s start",
                         doctor_postie(), doctor_postie());
                doctor_set(c, DOCTOR_WARN, next, "master runs, but %s is not running", s->name);
            }
        }
    }
    doctor_checks_service_user(f);

    /* Recent deaths, from master's own warnings in the log window. */
    doctor_check *d = doctor_add(r, 1, "restarts");
    if (!f->log.have_file) {
        doctor_set(d, DOCTOR_OK, NULL, "not known: no log file to read (see step 3)");
    } else if (f->log.throttled > 0) {
        const char *svc = f->log.throttled_service ? f->log.throttled_service : "?";
        next = doctor_tmp("see why it dies at start: %s service %s (it prints the "
                 "reason on stderr); %s config check", doctor_postie(), svc, doctor_postie());
        doctor_set(d, DOCTOR_FAIL, next, "%s keeps dying at start: master throttles it (%lu "
                   "time%s in the log window)", svc, f->log.throttled,
                   f->log.throttled == 1 ? "" : "s");
    }
    if (f->log.nrestarts > 0) {
        const doctor_restart *last = &f->log.restarts[f->log.nrestarts - 1];
        next = doctor_tmp("read its last lines: grep '%s\\[%ld\\]' %s; a core or "
                 "\"signal 9\" from the OOM killer shows in dmesg", last->service, last->pid,
                 f->log.path);
        doctor_set(d, DOCTOR_WARN, next, "%zu service process%s died in the log window, "
                   "last: %s pid %ld %s", f->log.nrestarts,
                   f->log.nrestarts == 1 ? "" : "es", last->service, last->pid, last->how);
        for (size_t i = 0; i < f->log.nrestarts && i < 10; i++)
            doctor_detail(d, "%s pid %ld %s", f->log.restarts[i].service,
                          f->log.restarts[i].pid, f->log.restarts[i].how);
    } else if (f->log.have_file && f->log.throttled == 0) {
        doctor_set(d, DOCTOR_OK, NULL, "no service died in the log window");
    }
    mem_free(&pidfile);
    mem_free(&data);
}

/* ---- step 2: the queue ---- */

static void doctor_checks_disk(doctor_report *r);

static const char *const doctor_checks_queue_dirs[] = {
    QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_CORRUPT,
    NULL,
};

typedef struct doctor_checks_queue_walk {
    long long now_usec;
    unsigned long count[6];
    long long oldest[6];          /* arrival, usec; 0 none */
    char oldest_id[6][QUEUE_ID_SIZE];
    doctor_groups reasons;
    doctor_facts *f;
} doctor_checks_queue_walk;

static int doctor_checks_queue_index(const char *queue)
{
    for (int i = 0; doctor_checks_queue_dirs[i]; i++)
        if (strcmp(doctor_checks_queue_dirs[i], queue) == 0)
            return i;
    return 0;
}

static int doctor_checks_queue_visit(const queue_cmd_entry *e, void *ctx)
{
    doctor_checks_queue_walk *w = ctx;
    int q = doctor_checks_queue_index(e->queue);
    w->count[q]++;
    if (w->oldest[q] == 0 || e->msg->arrival_usec < w->oldest[q]) {
        w->oldest[q] = e->msg->arrival_usec;
        snprintf(w->oldest_id[q], QUEUE_ID_SIZE, "%s", e->id);
    }
    if (strcmp(e->queue, QUEUE_DEFERRED) != 0)
        return 0;
    for (size_t i = 0; i < e->msg->nrcpt; i++) {
        const queue_rcpt *rc = &e->msg->rcpts[i];
        if (rc->status != QUEUE_RCPT_TODO)
            continue;
        const char *why = e->reasons && e->reasons[i] ? e->reasons[i] : "(no reason recorded)";
        char *key = doctor_reason_key(why, strlen(why));
        doctor_groups_add(&w->reasons, key, why, e->id, NULL, NULL, NULL);
        mem_free(&key);
        const char *at = strrchr(rc->addr, '@');
        if (at != NULL && at[1]) {
            char dom[256];
            size_t n = 0;
            for (const char *p = at + 1; *p && n < sizeof(dom) - 1; p++)
                dom[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            dom[n] = '\0';
            doctor_groups_add(&w->f->dest_domains, dom, dom, e->id, NULL, NULL, NULL);
        }
    }
    return 0;
}

/* Files in a queue directory (what the walk may skip: corrupt ones). */
static long doctor_checks_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

void doctor_checks_queue(doctor_report *r, doctor_facts *f)
{
    char *qdir = var_path("queue_directory");
    doctor_check *c = doctor_add(r, 2, "queue");
    doctor_checks_queue_walk w;
    memset(&w, 0, sizeof(w));
    w.f = f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w.now_usec = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    const char *next;
    /* The walk skips a directory it cannot open (with a warning of its
     * own): "empty" would then be a lie, so look first. */
    int n = 0;
    errno = 0;
    for (int i = 0; doctor_checks_queue_dirs[i] && n == 0; i++) {
        char *sub = fs_join(qdir, doctor_checks_queue_dirs[i]);
        DIR *dd = opendir(sub);
        if (dd != NULL)
            closedir(dd);
        else if (errno == EACCES)
            n = -1;
        mem_free(&sub);
    }
    if (n == 0)
        n = queue_cmd_list_walk(qdir, NULL, doctor_checks_queue_visit, &w);
    if (n < 0) {
        int e = errno;
        next = doctor_tmp(e == EACCES ? "run doctor as root or as the queue's "
                 "owner (mail_owner)" : "%s start makes the queue directories", doctor_postie());
        doctor_set(c, e == EACCES ? DOCTOR_WARN : DOCTOR_FAIL, next,
                   "cannot read the queue %s: %s", qdir, strerror(e));
        mem_free(&qdir);
        doctor_groups_free(&w.reasons);
        doctor_checks_disk(r);
        return;
    }
    char *cdir = fs_join(qdir, QUEUE_CORRUPT);
    long corrupt = doctor_checks_count_files(cdir);
    mem_free(&cdir);
    w.count[5] = corrupt > 0 ? (unsigned long)corrupt : 0;
    unsigned long total = 0;
    long long oldest = 0;
    char oldest_id[QUEUE_ID_SIZE] = "";
    for (int i = 0; i < 5; i++) {
        total += w.count[i];
        if (w.oldest[i] && (oldest == 0 || w.oldest[i] < oldest)) {
            oldest = w.oldest[i];
            snprintf(oldest_id, sizeof(oldest_id), "%s", w.oldest_id[i]);
        }
    }
    doctor_detail(c, "%s: maildrop %lu, incoming %lu, active %lu, deferred %lu, hold %lu, "
                  "corrupt %lu", qdir, w.count[0], w.count[1], w.count[2], w.count[3],
                  w.count[4], w.count[5]);
    char age[32];
    doctor_age(oldest ? (w.now_usec - oldest) / 1000000 : 0, age, sizeof(age));
    if (total == 0)
        doctor_set(c, DOCTOR_OK, NULL, "the queue is empty");
    else
        doctor_set(c, DOCTOR_OK, NULL, "%lu message%s queued, oldest %s (%s)", total,
                   total == 1 ? "" : "s", age, oldest_id);
    if (w.count[5] > 0) {
        next = doctor_tmp("see why: grep corrupt %s; look at the files in "
                 "%s/corrupt and remove them when understood", f->log.path, qdir);
        doctor_set(c, DOCTOR_WARN, next, "%lu file%s in corrupt/: mail that could not be read",
                   w.count[5], w.count[5] == 1 ? "" : "s");
    }
    if (w.count[4] > 0) {
        next = doctor_tmp("%s queue list; %s queue release ID (or ALL) when it "
                 "may go", doctor_postie(), doctor_postie());
        doctor_set(c, DOCTOR_WARN, next, "%lu message%s on hold: it waits for you, not for "
                   "a retry", w.count[4], w.count[4] == 1 ? "" : "s");
    }
    long long now = w.now_usec;
    if (f->master > 0 && w.oldest[0] && now - w.oldest[0] > 60LL * 1000000) {
        doctor_age((now - w.oldest[0]) / 1000000, age, sizeof(age));
        doctor_set(c, DOCTOR_WARN, "pickup should take it within seconds: see step 1 and "
                   "grep pickup in the log", "maildrop/ holds mail for %s (%s): pickup is "
                   "not taking it", age, w.oldest_id[0]);
    }
    if (f->master > 0 && w.oldest[1] && now - w.oldest[1] > 300LL * 1000000) {
        doctor_age((now - w.oldest[1]) / 1000000, age, sizeof(age));
        doctor_set(c, DOCTOR_WARN, "qmgr should take it within seconds: see step 1 and grep "
                   "qmgr in the log", "incoming/ holds mail for %s (%s): qmgr is not taking "
                   "it", age, w.oldest_id[1]);
    }
    if (f->master <= 0 && total > 0)
        doctor_detail(c, "nothing moves while master is stopped; it resumes at the next start");

    /* Deferred mail and why (qmgr's defer/ID records, as mailq shows). */
    doctor_check *d = doctor_add(r, 2, "deferred");
    f->deferred = w.count[3];
    doctor_groups_sort(&w.reasons);
    if (w.count[3] == 0) {
        doctor_set(d, DOCTOR_OK, NULL, "no deferred mail");
    } else {
        const doctor_group *g = w.reasons.n ? &w.reasons.v[0] : NULL;
        doctor_age((now - w.oldest[3]) / 1000000, age, sizeof(age));
        next = doctor_tmp("%s queue list; %s log trace %s; fix the cause, then %s "
                 "queue flush", doctor_postie(), doctor_postie(), g ? g->id : w.oldest_id[3], doctor_postie());
        doctor_set(d, DOCTOR_WARN, next, "%lu deferred message%s, oldest %s; most common "
                   "reason (%lu recipient%s): %s", w.count[3], w.count[3] == 1 ? "" : "s",
                   age, g ? g->count : 0, g && g->count == 1 ? "" : "s",
                   g ? g->example : "(none recorded)");
        for (size_t i = 0; i < w.reasons.n && i < 5; i++)
            doctor_detail(d, "x%lu %s (e.g. %s)", w.reasons.v[i].count,
                          w.reasons.v[i].example, w.reasons.v[i].id);
        if (w.reasons.n > 5)
            doctor_detail(d, "... and %zu other reasons", w.reasons.n - 5);
    }
    doctor_groups_sort(&f->dest_domains);
    doctor_groups_free(&w.reasons);
    mem_free(&qdir);
    doctor_checks_disk(r);
}

/* Free space where mail is written: the queue, the mailboxes, the log.
 * A full disk is the seed's "insufficient storage": smtpd answers 452,
 * deliveries defer with 4.3.0 / 4.2.0. */
static void doctor_checks_disk(doctor_report *r)
{
    doctor_check *c = doctor_add(r, 2, "disk");
    static const char *const params[] = {
        "queue_directory", "virtual_mailbox_base", "mail_spool_directory", "maillog_file", NULL,
    };
    unsigned long fsids[4];
    size_t nfs = 0;
    doctor_set(c, DOCTOR_OK, NULL, "enough free space where mail is written");
    for (int i = 0; params[i]; i++) {
        char *path = var_path(params[i]);
        struct statvfs sv;
        /* The log file: its directory's file system. */
        if (*path && strcmp(params[i], "maillog_file") == 0) {
            char *slash = strrchr(path, '/');
            if (slash != NULL && slash != path)
                *slash = '\0';
        }
        if (*path == '\0' || statvfs(path, &sv) < 0) {
            mem_free(&path);
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < nfs; k++)
            seen = seen || fsids[k] == sv.f_fsid;
        if (seen) {
            mem_free(&path);
            continue;
        }
        fsids[nfs++] = sv.f_fsid;
        unsigned long long avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
        unsigned long long total = (unsigned long long)sv.f_blocks * sv.f_frsize;
        enum doctor_status st = doctor_checks_disk_status(avail, total);
        /* Out of inodes is as full as out of blocks: each message is a file. */
        if (sv.f_files > 0 && st == DOCTOR_OK)
            st = sv.f_favail < sv.f_files / 100 ? DOCTOR_FAIL
               : sv.f_favail < sv.f_files / 20 ? DOCTOR_WARN : DOCTOR_OK;
        doctor_detail(c, "%s (%s): %llu MB free of %llu MB, %llu of %llu inodes free", path,
                      params[i], avail >> 20, total >> 20, (unsigned long long)sv.f_favail,
                      (unsigned long long)sv.f_files);
        if (st != DOCTOR_OK)
            doctor_set(c, st, doctor_tmp("df -h %s; df -i %s; make room (old logs, a big "
                                         "mailbox), then %s queue flush", path, path,
                                         doctor_postie()),
                       "%s: %llu MB free of %llu MB: mail %s", path, avail >> 20, total >> 20,
                       st == DOCTOR_FAIL ? "is refused or deferred now" : "will be refused soon");
        mem_free(&path);
    }
}

/* ---- step 6: configuration, relay, permissions ---- */

typedef struct doctor_checks_problems {
    doctor_check *c;
    int n;
    char *first;
} doctor_checks_problems;

static void doctor_checks_problem(const char *path, int line, const char *text, void *ctx)
{
    doctor_checks_problems *p = ctx;
    char where[1200];
    if (line > 0)
        snprintf(where, sizeof(where), "%s:%d: %s", path, line, text);
    else
        snprintf(where, sizeof(where), "%s: %s", path, text);
    if (p->n++ == 0)
        p->first = mem_strdup(where);
    if (p->n <= 20)
        doctor_detail(p->c, "%s", where);
}

/* A parameter of a service this build lacks: listed as a warning. */
static void doctor_checks_unbuilt(const char *path, int line, const char *text, void *ctx)
{
    char warn[600];
    snprintf(warn, sizeof(warn), "warning: %s", text);
    doctor_checks_problem(path, line, warn, ctx);
}

static void doctor_checks_alias_problem(const char *path, int line, const char *text, void *ctx)
{
    /* A missing alias file is an empty map, as config check says. */
    if (line == 0 && strstr(text, strerror(ENOENT)) != NULL)
        return;
    doctor_checks_problem(path, line, text, ctx);
}

static void doctor_checks_relay(doctor_report *r)
{
    doctor_check *c = doctor_add(r, 6, "relay");
    char **nets = var_list("mynetworks");
    const char *next;
    int line = doctor_checks_conf_line("mynetworks");
    char where[1300];
    snprintf(where, sizeof(where), "%s/%s%s%d", mail_conf_dir(), MAIL_CONF_FILE,
             line ? ":" : "", line);
    if (!line)
        snprintf(where, sizeof(where), "the default");
    doctor_set(c, DOCTOR_OK, NULL, "relay is closed: mynetworks = %s", var_str("mynetworks"));
    for (char **p = nets; *p; p++) {
        enum doctor_status s = doctor_checks_network_width(*p);
        if (s == DOCTOR_FAIL) {
            next = doctor_tmp("narrow mynetworks (%s) to the networks you trust, "
                     "e.g. 127.0.0.0/8 [::1]/128 and your LAN; then %s reload", where,
                     doctor_postie());
            doctor_set(c, DOCTOR_FAIL, next, "open relay: mynetworks contains %s, the whole "
                       "Internet may send mail anywhere through this host", *p);
        } else if (s == DOCTOR_WARN) {
            next = doctor_tmp("is all of %s yours?  Narrow mynetworks (%s) if not",
                     *p, where);
            doctor_set(c, DOCTOR_WARN, next, "mynetworks contains the wide network %s: every "
                       "host in it may relay", *p);
        }
    }
    mynetworks *m = NULL;
    char *err = NULL;
    if (mynetworks_parse(nets, &m, &err) < 0) {
        next = doctor_tmp("fix mynetworks (%s); %s config check", where, doctor_postie());
        doctor_set(c, DOCTOR_WARN, next, "mynetworks: %s (the entry is ignored)", err ? err : "bad entry");
    }
    mem_free(&err);
    mynetworks_free(&m);
    conf_free_list(&nets);
    char **relay = var_list("smtpd_relay_restrictions");
    char **rcpt = var_list("smtpd_recipient_restrictions");
    int closed = doctor_checks_relay_closed(relay);
    if (closed < 0)
        closed = doctor_checks_relay_closed(rcpt);
    doctor_detail(c, "smtpd_relay_restrictions = %s", var_str("smtpd_relay_restrictions"));
    if (closed != 1) {
        next = doctor_tmp("put reject_unauth_destination after permit_mynetworks, "
                 "permit_sasl_authenticated in smtpd_relay_restrictions; then %s reload",
                 doctor_postie());
        doctor_set(c, DOCTOR_FAIL, next, "open relay: %s", closed == 0
                   ? "a plain permit comes before reject_unauth_destination"
                   : "no reject_unauth_destination in smtpd_relay_restrictions or "
                     "smtpd_recipient_restrictions");
    }
    conf_free_list(&relay);
    conf_free_list(&rcpt);
}

/* May uid/gid write (and enter) this directory?  Supplementary groups
 * are not known for another user; the owner and group cover postie's
 * own layouts. */
static bool doctor_checks_can_write(const struct stat *st, uid_t uid, gid_t gid)
{
    if (uid == 0)
        return true;
    if (st->st_uid == uid)
        return (st->st_mode & S_IWUSR) && (!S_ISDIR(st->st_mode) || (st->st_mode & S_IXUSR));
    if (st->st_gid == gid)
        return (st->st_mode & S_IWGRP) && (!S_ISDIR(st->st_mode) || (st->st_mode & S_IXGRP));
    return (st->st_mode & S_IWOTH) && (!S_ISDIR(st->st_mode) || (st->st_mode & S_IXOTH));
}

static const char *doctor_checks_user_name(uid_t uid, char *out, size_t n)
{
    struct passwd *pw = getpwuid(uid);
    if (pw != NULL)
        snprintf(out, n, "%s", pw->pw_name);
    else
        snprintf(out, n, "uid %lu", (unsigned long)uid);
    return out;
}

static void doctor_checks_perms(doctor_report *r, doctor_facts *f)
{
    doctor_check *c = doctor_add(r, 6, "permissions");
    const char *next;
    char who[64], has[64];
    char *qdir = var_path("queue_directory");
    struct stat st;
    int problems = 0;
    if (!f->service_uid_known) {
        doctor_detail(c, "who the services run as is not known (mail_owner = %s is no user?)",
                      var_str("mail_owner"));
    } else {
        doctor_checks_user_name(f->service_uid, who, sizeof(who));
        doctor_detail(c, "the services run as %s", who);
    }
    static const char *const subs[] = {
        QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_CORRUPT,
        QUEUE_DEFER, QUEUE_MAILDROP, QUEUE_PUBLIC, QUEUE_PRIVATE, NULL,
    };
    if (stat(qdir, &st) < 0) {
        next = doctor_tmp("%s start makes it", doctor_postie());
        doctor_set(c, DOCTOR_FAIL, next, "queue_directory %s: %s", qdir, strerror(errno));
        problems++;
    } else {
        for (int i = 0; subs[i]; i++) {
            char *p = fs_join(qdir, subs[i]);
            struct stat s2;
            if (stat(p, &s2) < 0) {
                next = doctor_tmp("%s start (or stop; start) makes the missing "
                         "queue directories", doctor_postie());
                doctor_set(c, DOCTOR_FAIL, next, "%s: %s", p, strerror(errno));
                problems++;
            } else if (f->service_uid_known && !doctor_checks_can_write(&s2, f->service_uid,
                                                                f->service_gid)) {
                next = doctor_tmp("chown -R %s %s (postie start as root does it too)",
                         who, qdir);
                doctor_set(c, DOCTOR_FAIL, next, "%s is owned by %s, mode %04o: %s cannot "
                           "write it", p, doctor_checks_user_name(s2.st_uid, has, sizeof(has)),
                           (unsigned)(s2.st_mode & 07777), who);
                problems++;
            } else if (i < 6 && (s2.st_mode & 0007)) {
                next = doctor_tmp("chmod o-rwx %s", p);
                doctor_set(c, DOCTOR_WARN, next, "%s is open to every local user (mode %04o): "
                           "mail there is private", p, (unsigned)(s2.st_mode & 07777));
                problems++;
            }
            mem_free(&p);
        }
    }
    char *log = var_path("maillog_file");
    if (*log) {
        if (stat(log, &st) < 0) {
            doctor_set(c, DOCTOR_WARN, "master creates it at start: is master running (step 1)?",
                       "maillog_file %s: %s", log, strerror(errno));
            problems++;
        } else if (st.st_mode & 0002) {
            next = doctor_tmp("chmod o-w %s", log);
            doctor_set(c, DOCTOR_WARN, next, "the log %s is writable by every user: anyone can "
                       "forge log lines", log);
            problems++;
        }
    }
    mem_free(&log);
    if (problems == 0)
        doctor_set(c, DOCTOR_OK, NULL, "the queue (%s) and the log are in order", qdir);
    mem_free(&qdir);
}

void doctor_checks_config(doctor_report *r, doctor_facts *f)
{
    doctor_check *c = doctor_add(r, 6, "config");
    char *conf_path = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
    bool missing = access(conf_path, F_OK) < 0 && errno == ENOENT;
    mem_free(&conf_path);
    if (missing) {
        doctor_set(c, DOCTOR_FAIL, doctor_tmp("point -c (or MAIL_CONFIG) at the instance's "
                                              "directory; postie serve --dir %s makes a new "
                                              "one there", mail_conf_dir()),
                   "no %s in %s: not an instance (wrong -c or MAIL_CONFIG?)", MAIL_CONF_FILE,
                   mail_conf_dir());
        doctor_checks_relay(r);
        doctor_checks_perms(r, f);
        return;
    }
    doctor_checks_problems p = {c, 0, NULL};
    mail_conf_check(doctor_checks_problem, &p);
    const char *next;
    /* The other files config check reads, whatever the values above: these
     * readers take values as text, so a bad number is not fatal to them
     * (config_cmd.c), and every problem shows in one run. */
    size_t entries = 0;
    mail_aliases_check(doctor_checks_alias_problem, &p, &entries);
    smtpd_check_config(doctor_checks_problem, &p);
    /* Parameters of services this build lacks: a warning, with the rest. */
    doctor_checks_problems u = {c, 0, NULL};
    master_check_unbuilt(doctor_checks_unbuilt, &u);
    if (u.n > 0)
        doctor_set(c, DOCTOR_WARN, doctor_tmp("remove the parameter%s from %s/%s (or leave "
                   "%s unused), then %s reload", u.n == 1 ? "" : "s", mail_conf_dir(),
                   MAIL_CONF_FILE, u.n == 1 ? "it" : "them", doctor_postie()),
                   "%d parameter%s for a service this postie does not have, first: %s", u.n,
                   u.n == 1 ? "" : "s", u.first);
    mem_free(&u.first);
    if (p.n > 0) {
        next = doctor_tmp("fix %s, then %s config check and %s reload",
                 p.first, doctor_postie(), doctor_postie());
        /* The fix names file and line already: keep the hint short. */
        next = doctor_tmp("fix the line%s above, then %s config check; %s reload",
                 p.n == 1 ? "" : "s", doctor_postie(), doctor_postie());
        doctor_set(c, DOCTOR_FAIL, next, "%d problem%s, first: %s", p.n, p.n == 1 ? "" : "s",
                   p.first);
    } else if (u.n == 0) {
        doctor_set(c, DOCTOR_OK, NULL, "%s config check finds nothing wrong", doctor_postie());
    }
    mem_free(&p.first);
    doctor_checks_relay(r);
    doctor_checks_perms(r, f);
}

/* ---- step 7: users and mailboxes ---- */

/* Does local run as root (master does, or would: we are root)? */
static bool doctor_checks_local_root(const doctor_facts *f)
{
    if (f->master > 0) {
        gid_t g;
        bool ok = false;
        uid_t uid = doctor_checks_proc_uid(f->master, &g, &ok);
        if (ok)
            return uid == 0;
    }
    return geteuid() == 0;
}

/* mbox delivery (home_mailbox empty): the spool must not be
 * world-writable, or any user can make another's mailbox before its first
 * mail or hold its lock (mail_spool.h, docs/local.md "The spool"). */
static void doctor_checks_spool(doctor_check *c, const doctor_facts *f, int *bad)
{
    if (*var_str("home_mailbox") != '\0')
        return;
    char *spool = var_path("mail_spool_directory");
    struct stat st;
    if (stat(spool, &st) == 0 && (st.st_mode & S_IWOTH)) {
        (*bad)++;
        /* The rule of mail_spool.h for the instance (not for whoever
         * runs the doctor). */
        const char *next = !doctor_checks_local_root(f)
                               ? doctor_tmp("chmod 700 %s", spool)
                           : getgrnam("mail") != NULL
                               ? doctor_tmp("chown root:mail %s && chmod 2775 %s", spool, spool)
                               : doctor_tmp("chown root:root %s && chmod 755 %s", spool, spool);
        doctor_set(c, DOCTOR_FAIL, next, "mail_spool_directory %s is writable by every user "
                   "(mode %04o): anyone can make another user's mailbox before its first mail, "
                   "or hold its lock", spool, (unsigned)(st.st_mode & 07777));
    }
    mem_free(&spool);
}

static void doctor_checks_mailbox(doctor_check *c, doctor_facts *f, const mail_user *u,
                                 int *bad, int *fresh)
{
    const char *next;
    char who[64], has[64];
    const char *hm = var_str("home_mailbox");
    char *box;
    bool maildir = *hm && hm[strlen(hm) - 1] == '/';
    if (*hm) {
        char *home = mail_users_home(u);
        box = fs_join(home, hm);
        mem_free(&home);
        /* "Maildir/" names a directory: paths under it without "//". */
        size_t bl = strlen(box);
        while (bl > 1 && box[bl - 1] == '/')
            box[--bl] = '\0';
    } else {
        char *spool = var_path("mail_spool_directory");
        box = fs_join(spool, u->name);
        mem_free(&spool);
    }
    bool known = u->uid >= 0 || f->service_uid_known;
    uid_t uid = u->uid >= 0 ? (uid_t)u->uid : f->service_uid;
    gid_t gid = u->gid >= 0 ? (gid_t)u->gid : u->uid >= 0 ? (gid_t)-1 : f->service_gid;
    struct stat st;
    if (stat(box, &st) < 0) {
        if (errno == ENOENT) {
            /* Delivery makes it, parents too, as the delivery user: the
             * nearest directory that exists must let that user in. */
            char *up = mem_strdup(box);
            struct stat sa;
            char *slash;
            while ((slash = strrchr(up, '/')) != NULL && slash != up) {
                *slash = '\0';
                if (stat(up, &sa) == 0)
                    break;
            }
            /* An mbox in the spool is made by root's local (O_EXCL, then
             * given to the user): the spool need not be the user's. */
            bool by_root = !*hm && doctor_checks_local_root(f);
            if (known && !by_root && stat(up, &sa) == 0 &&
                !doctor_checks_can_write(&sa, uid, gid)) {
                (*bad)++;
                doctor_checks_user_name(uid, who, sizeof(who));
                doctor_set(c, DOCTOR_FAIL, doctor_tmp("chown %s %s (or make the mailbox "
                                                      "for it)", who, up),
                           "%s: %s does not exist, and delivery (as %s) cannot make it: "
                           "%s is not writable for it", u->name, box, who, up);
            } else {
                (*fresh)++;
                doctor_detail(c, "%s: %s not made yet (the first delivery makes it)", u->name,
                              box);
            }
            mem_free(&up);
        } else {
            (*bad)++;
            doctor_set(c, DOCTOR_FAIL, "check the directories above it: ls -ld each",
                       "%s: %s: %s", u->name, box, strerror(errno));
        }
        mem_free(&box);
        return;
    }
    if (!known) {
        doctor_detail(c, "%s: %s (owner not checked: the delivery user is unknown)", u->name, box);
        mem_free(&box);
        return;
    }
    doctor_checks_user_name(uid, who, sizeof(who));
    const char *subs[] = {"", "tmp", "new", "cur", NULL};
    for (int i = 0; subs[i] && (maildir || i == 0); i++) {
        char *p = *subs[i] ? fs_join(box, subs[i]) : mem_strdup(box);
        struct stat s2;
        /* An mbox is judged as local opens it: a link is not followed. */
        if ((maildir ? stat(p, &s2) : lstat(p, &s2)) < 0) {
            if (i > 0) {
                (*bad)++;
                next = doctor_tmp("mkdir -m 700 %s && chown %s %s", p, who, p);
                doctor_set(c, DOCTOR_WARN, next, "%s: Maildir %s lacks %s/", u->name, box,
                           subs[i]);
            }
        } else if (maildir && !S_ISDIR(s2.st_mode)) {
            (*bad)++;
            next = doctor_tmp("move it away and make the directory: mv %s %s.bad && "
                              "mkdir -m 700 %s && chown %s %s", p, p, p, who, p);
            doctor_set(c, DOCTOR_FAIL, next, "%s: %s is not a directory: every delivery to "
                       "this Maildir fails", u->name, p);
            mem_free(&p);
            break;
        } else if (!maildir && (!S_ISREG(s2.st_mode) || s2.st_nlink != 1)) {
            (*bad)++;
            next = doctor_tmp("move it away (the next delivery makes a new one): mv %s %s.bad",
                              p, p);
            doctor_set(c, DOCTOR_FAIL, next, "%s: %s is not a regular file with one link: "
                       "every delivery to it is deferred", u->name, p);
            mem_free(&p);
            break;
        } else if (uid != 0 && s2.st_uid != uid) {
            (*bad)++;
            next = doctor_tmp("chown -R %s %s", who, box);
            doctor_set(c, DOCTOR_FAIL, next, "%s: %s belongs to %s, but delivery writes it as "
                       "%s", u->name, p, doctor_checks_user_name(s2.st_uid, has, sizeof(has)), who);
            mem_free(&p);
            break;
        } else if (!doctor_checks_can_write(&s2, uid, gid)) {
            (*bad)++;
            next = doctor_tmp("chmod u+rwx %s (Maildir directories are 700)", p);
            doctor_set(c, DOCTOR_FAIL, next, "%s: %s is not writable by its owner %s (mode "
                       "%04o): delivery fails", u->name, p, who, (unsigned)(s2.st_mode & 07777));
            mem_free(&p);
            break;
        }
        mem_free(&p);
    }
    mem_free(&box);
}

void doctor_checks_auth(doctor_report *r, doctor_facts *f)
{
    doctor_check *c = doctor_add(r, 7, "users");
    char **src = var_list("mail_user_source");
    bool file = false, sys = false;
    for (char **p = src; *p; p++) {
        file = file || strcmp(*p, "file") == 0;
        sys = sys || strcmp(*p, "system") == 0;
    }
    conf_free_list(&src);
    const char *next;
    if (!file) {
        doctor_set(c, DOCTOR_OK, NULL, "users are the system's (mail_user_source = %s): "
                   "getent passwd NAME tests one", var_str("mail_user_source"));
        return;
    }
    char *path = var_path("mail_users_file");
    struct stat st;
    size_t len = 0;
    char *text = fs_read_file(path, 64 << 20, &len);
    if (text == NULL) {
        int e = errno;
        next = doctor_tmp(e == ENOENT ? "add one: %s user add NAME"
                 : "run doctor as root, or fix the file's rights (root:mail_owner 0640)",
                 doctor_postie());
        doctor_set(c, e == ENOENT && sys ? DOCTOR_OK : e == EACCES ? DOCTOR_WARN : DOCTOR_FAIL, next,
                   "the users file %s: %s%s", path, strerror(e),
                   e == ENOENT ? ": nobody can log in, no virtual user gets mail" : "");
        mem_free(&path);
        return;
    }
    if (stat(path, &st) == 0 && (st.st_mode & 0004)) {
        next = doctor_tmp("chmod o-r %s", path);
        doctor_set(c, DOCTOR_WARN, next, "%s is readable by every local user: the password "
                   "hashes in it can be cracked offline", path);
    }
    mail_user **users = NULL;
    size_t nusers = 0;
    int lineno = 0, bad = 0;
    for (char *line = text, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        lineno++;
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = '\0';
        if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
            continue;
        mail_user *u = NULL;
        char *why = NULL;
        if (mail_users_parse_line(line, &u, &why) < 0) {
            bad++;
            next = doctor_tmp("fix %s line %d (name:{SHA512-CRYPT}hash:uid:gid::home); "
                     "%s user passwd NAME writes a good hash", path, lineno, doctor_postie());
            doctor_set(c, DOCTOR_FAIL, next, "%s:%d: %s: that user cannot log in or get mail",
                       path, lineno, why ? why : "bad line");
            mem_free(&why);
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < nusers && !dup; i++)
            dup = strcmp(users[i]->name, u->name) == 0;
        if (dup) {
            next = doctor_tmp("remove one of them: %s user del %s removes the first",
                     doctor_postie(), u->name);
            doctor_set(c, DOCTOR_WARN, next, "%s:%d: user %s is defined again (the first "
                       "definition wins)", path, lineno, u->name);
            mail_user_free(&u);
            continue;
        }
        if (u->password == NULL || u->password[0] == '\0')
            doctor_detail(c, "%s has no password: it gets mail but cannot log in", u->name);
        users = mem_realloc(users, (nusers + 1) * sizeof(*users));
        users[nusers++] = u;
    }
    mem_free(&text);
    if (nusers == 0 && bad == 0) {
        next = doctor_tmp("%s user add NAME", doctor_postie());
        doctor_set(c, DOCTOR_WARN, next, "%s holds no user: nobody can log in", path);
    } else {
        doctor_set(c, DOCTOR_OK, NULL, "%s: %zu user%s, well-formed", path, nusers,
                   nusers == 1 ? "" : "s");
    }

    doctor_check *m = doctor_add(r, 7, "mailboxes");
    int mbad = 0, fresh = 0;
    doctor_checks_spool(m, f, &mbad);
    for (size_t i = 0; i < nusers; i++)
        doctor_checks_mailbox(m, f, users[i], &mbad, &fresh);
    if (mbad == 0)
        doctor_set(m, DOCTOR_OK, NULL, "%zu mailbox%s in order%s", nusers - (size_t)fresh,
                   nusers - (size_t)fresh == 1 ? "" : "es",
                   fresh ? " (some not made yet: the first delivery does it)" : "");
    for (size_t i = 0; i < nusers; i++)
        mail_user_free(&users[i]);
    mem_free(&users);
    mem_free(&path);
}

/* ---- pure helpers ---- */

enum doctor_status doctor_checks_network_width(const char *entry)
{
    char a[128];
    size_t n = strlen(entry);
    if (n >= sizeof(a))
        return DOCTOR_OK;
    /* "[::1]/128" and "::1/128" are the same network. */
    if (entry[0] == '[') {
        const char *rb = strchr(entry, ']');
        if (rb == NULL)
            return DOCTOR_OK;
        snprintf(a, sizeof(a), "%.*s%s", (int)(rb - entry - 1), entry + 1, rb + 1);
    } else {
        snprintf(a, sizeof(a), "%s", entry);
    }
    char *slash = strchr(a, '/');
    if (slash == NULL)
        return DOCTOR_OK; /* one host */
    *slash = '\0';
    char *end;
    long len = strtol(slash + 1, &end, 10);
    if (*end != '\0' || len < 0)
        return DOCTOR_OK; /* config check reports it */
    bool v6 = strchr(a, ':') != NULL;
    if (len == 0)
        return DOCTOR_FAIL;
    if (!v6 && strncmp(a, "127.", 4) == 0)
        return DOCTOR_OK; /* loopback is this host */
    if ((!v6 && len < 16) || (v6 && len < 32))
        return DOCTOR_WARN;
    return DOCTOR_OK;
}

enum doctor_status doctor_checks_disk_status(unsigned long long avail, unsigned long long total)
{
    if (total == 0)
        return DOCTOR_OK;
    if (avail < 50ULL << 20 || avail < total / 100)
        return DOCTOR_FAIL;
    if (avail < 500ULL << 20 || avail < total / 10)
        return DOCTOR_WARN;
    return DOCTOR_OK;
}

int doctor_checks_relay_closed(char *const *list)
{
    for (size_t i = 0; list && list[i]; i++) {
        const char *e = list[i];
        if (strcmp(e, "reject_unauth_destination") == 0 ||
            strcmp(e, "defer_unauth_destination") == 0 || strcmp(e, "reject") == 0 ||
            strcmp(e, "defer") == 0)
            return 1;
        if (strcmp(e, "permit") == 0)
            return 0;
    }
    return -1;
}
