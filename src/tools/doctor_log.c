/*
 * doctor_log - step 3's one pass over the mail log (and step 1's restart
 * lines): the lines of the last --since window, parsed by the log tool's
 * parser (logtool/logline), grouped by reason, each group with the log
 * tool's explanation (logtool/logexplain).
 *
 * Which service died: master's "process PATH pid N killed by signal S"
 * names the binary, which is postie for every service, so the pid is
 * matched against the pids of the service lines seen before it (the log
 * names each line's program and pid).
 *
 * Does not: read rotated files (the window is meant to be recent), or
 * follow a message (postie log trace does; the groups name one ID each).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "logtool/logexplain.h"
#include "logtool/logline.h"
#include "logtool/logreader.h"
#include "global/mail_conf.h"
#include "util/conf.h"
#include "tools/doctor.h"
#include "util/mem.h"

/* pid -> service, for the restart lines: a small direct-mapped table is
 * enough, the pids that matter are the few long-lived service processes
 * and a collision only costs a "?" in a name. */
#define DOCTOR_PIDS 4096
static const char *const doctor_log_services[] = {
    "qmgr", "local", "pickup", "smtp", "lmtp", "smtpd", "pop3d", "pop3s", "imapd", NULL,
};

typedef struct doctor_log_state {
    long pid[DOCTOR_PIDS];
    signed char svc[DOCTOR_PIDS];
    logline_ctx ctx;
    long long from;   /* window start, epoch seconds */
    doctor_log *lg;
} doctor_log_state;

static char *doctor_log_copy(logstr s)
{
    return s.p ? mem_strndup(s.p, s.n) : mem_strdup("");
}

static void doctor_log_group(doctor_groups *g, const logline *ll, logstr why,
                             const char *prefix)
{
    if (!logstr_set(why))
        why = ll->body;
    char *key0 = doctor_reason_key(why.p ? why.p : "", why.n);
    char *key = key0, *ex = doctor_log_copy(why);
    if (prefix != NULL) {
        key = mem_alloc(strlen(prefix) + strlen(key0) + 3);
        sprintf(key, "%s: %s", prefix, key0);
        char *ex2 = mem_alloc(strlen(prefix) + strlen(ex) + 3);
        sprintf(ex2, "%s: %s", prefix, ex);
        mem_free(&ex);
        ex = ex2;
    }
    char *id = doctor_log_copy(ll->queue_id);
    char *dsn = doctor_log_copy(ll->dsn);
    const logexplain_cause *c = logexplain_cause_find(ll);
    doctor_groups_add(g, key, ex, id, c ? c->cause : NULL,
                      c ? c->check : NULL, dsn);
    if (key != key0)
        mem_free(&key);
    mem_free(&key0);
    mem_free(&ex);
    mem_free(&id);
    mem_free(&dsn);
}

/* "process /usr/sbin/postie pid 123 killed by signal 9" */
static bool doctor_log_restart(doctor_log_state *st, const logline *ll)
{
    logstr t = ll->severity_text;
    if (t.n < 9 || memcmp(t.p, "process ", 8) != 0)
        return false;
    char *text = mem_strndup(t.p, t.n);
    char *p = strstr(text, " pid ");
    bool ok = false;
    if (p != NULL) {
        char *end;
        long pid = strtol(p + 5, &end, 10);
        if (end != p + 5 && *end == ' ' && pid > 0) {
            doctor_log *lg = st->lg;
            lg->restarts = mem_realloc(lg->restarts,
                                       (lg->nrestarts + 1) * sizeof(*lg->restarts));
            doctor_restart *r = &lg->restarts[lg->nrestarts++];
            r->pid = pid;
            r->how = mem_strdup(end + 1);
            r->time = ll->time;
            size_t k = (size_t)pid % DOCTOR_PIDS;
            r->service = mem_strdup(st->pid[k] == pid && st->svc[k] >= 0
                                        ? doctor_log_services[(int)st->svc[k]]
                                        : "?");
            ok = true;
        }
    }
    mem_free(&text);
    return ok;
}

/* "PATH: service smtpd: bad command startup -- throttling for ..." */
static bool doctor_log_throttle(doctor_log_state *st, const logline *ll)
{
    char *text = mem_strndup(ll->severity_text.p, ll->severity_text.n);
    char *p = strstr(text, "bad command startup -- throttling");
    char *s = strstr(text, ": service ");
    if (p != NULL) {
        st->lg->throttled++;
        if (s != NULL && s < p) {
            s += 10;
            size_t n = strcspn(s, ":");
            mem_free(&st->lg->throttled_service);
            st->lg->throttled_service = mem_strndup(s, n);
        }
    }
    mem_free(&text);
    return p != NULL;
}

static void doctor_log_line(doctor_log_state *st, const char *line, size_t len)
{
    logline ll;
    logline_parse(&st->ctx, line, len, &ll);
    if (ll.event == LOGE_UNKNOWN || ll.format == LOGF_OTHER)
        return;
    /* Every service line, in or before the window, names its pid. */
    if (ll.pid > 0 && ll.program.p != NULL) {
        for (int i = 0; doctor_log_services[i]; i++) {
            if (logstr_eq(ll.program, doctor_log_services[i])) {
                size_t k = (size_t)ll.pid % DOCTOR_PIDS;
                st->pid[k] = ll.pid;
                st->svc[k] = (signed char)i;
                break;
            }
        }
    }
    if (ll.time < 0 || ll.time < st->from)
        return;
    doctor_log *lg = st->lg;
    lg->lines++;
    char prog[64];
    snprintf(prog, sizeof(prog), "%.*s", (int)(ll.program.n < 60 ? ll.program.n : 60),
             ll.program.p ? ll.program.p : "?");
    switch (ll.event) {
    case LOGE_FATAL:
    case LOGE_PANIC:
        doctor_log_group(&lg->fatal, &ll, ll.severity_text, prog);
        break;
    case LOGE_WARNING:
        if (logstr_eq(ll.program, "master") &&
            (doctor_log_restart(st, &ll) || doctor_log_throttle(st, &ll)))
            break;
        doctor_log_group(&lg->warning, &ll, ll.severity_text, prog);
        break;
    case LOGE_DELIVERY:
    case LOGE_EXPIRED:
        if (ll.status == LOGS_DEFERRED || ll.status == LOGS_SOFTBOUNCE)
            doctor_log_group(&lg->deferred, &ll, ll.status_text, NULL);
        else if (ll.status == LOGS_BOUNCED || ll.status == LOGS_EXPIRED ||
                 ll.event == LOGE_EXPIRED)
            doctor_log_group(&lg->bounced, &ll, ll.status_text, NULL);
        break;
    case LOGE_REJECT:
        doctor_log_group(&lg->rejected, &ll, ll.reject_text, NULL);
        break;
    case LOGE_LOGIN:
        lg->logins++;
        break;
    case LOGE_LOGIN_FAIL:
    case LOGE_SASL_FAIL: {
        /* Dovecot with auth_verbose = yes logs a failure twice: the auth
         * process's "unknown user"/"Password mismatch" and the login
         * process's "Disconnected (auth failed, ...)".  Only the login
         * process's line (the one fail2ban counts) is counted here. */
        if (logline_is_auth_verbose(&ll))
            break;
        char *addr = doctor_log_copy(ll.client_addr);
        logstr u = logstr_set(ll.sasl_username) ? ll.sasl_username : ll.user;
        char *user = doctor_log_copy(u);
        /* One line per connection: "(auth failed, 3 attempts in 6 secs)"
         * says how many passwords were tried on it. */
        int tries = 1;
        const char *af = ll.body.p ? memmem(ll.body.p, ll.body.n, "auth failed, ", 13) : NULL;
        if (af != NULL) {
            /* The line is not NUL-terminated: digits up to its end only. */
            const char *q = (const char *)af + 13, *e = ll.body.p + ll.body.n;
            int v = 0;
            while (q < e && *q >= '0' && *q <= '9' && v <= 100)
                v = v * 10 + (*q++ - '0');
            tries = v > 0 && v <= 100 ? v : 1;
        }
        for (int i = 0; i < tries; i++) {
            doctor_groups_add(&lg->login_fail_addr, addr[0] ? addr : "?", addr, NULL, NULL,
                              NULL, NULL);
            doctor_groups_add(&lg->login_fail_user, user[0] ? user : "(none)", user, NULL,
                              NULL, NULL, NULL);
        }
        mem_free(&addr);
        mem_free(&user);
        break;
    }
    default:
        break;
    }
}

static doctor_log_state *doctor_log_start(long long now, long long since,
                                          doctor_log *lg)
{
    doctor_log_state *st = mem_zalloc(sizeof(*st));
    memset(st->svc, -1, sizeof(st->svc));
    logline_ctx_init(&st->ctx);
    st->from = now - since;
    st->lg = lg;
    return st;
}

static void doctor_log_finish(doctor_log *lg)
{
    doctor_groups_sort(&lg->fatal);
    doctor_groups_sort(&lg->warning);
    doctor_groups_sort(&lg->deferred);
    doctor_groups_sort(&lg->bounced);
    doctor_groups_sort(&lg->rejected);
    doctor_groups_sort(&lg->login_fail_addr);
    doctor_groups_sort(&lg->login_fail_user);
}

void doctor_log_scan_text(const char *text, long long now, long long since,
                          doctor_log *lg)
{
    memset(lg, 0, sizeof(*lg));
    doctor_log_state *st = doctor_log_start(now, since, lg);
    lg->have_file = true;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        doctor_log_line(st, p, n);
        p += n + (nl != NULL);
    }
    mem_free(&st);
    doctor_log_finish(lg);
}

void doctor_log_scan(const char *path, long long now, long long since,
                     doctor_log *lg)
{
    memset(lg, 0, sizeof(*lg));
    lg->path = mem_strdup(path ? path : "");
    if (path == NULL || *path == '\0') {
        lg->error = mem_strdup("maillog_file is empty: the log goes to syslog");
        return;
    }
    const char *err = NULL;
    logreader *r = logreader_open(path, &err);
    if (r == NULL) {
        lg->error_errno = errno;
        char text[600];
        snprintf(text, sizeof(text), "cannot open %s: %s", path, err ? err : "?");
        lg->error = mem_strdup(text);
        return;
    }
    lg->have_file = true;
    doctor_log_state *st = doctor_log_start(now, since, lg);
    const char *line;
    size_t len;
    int rc;
    while ((rc = logreader_next(r, &line, &len, &err)) > 0)
        doctor_log_line(st, line, len);
    if (rc < 0) {
        char text[600];
        snprintf(text, sizeof(text), "read error in %s: %s", path, err ? err : "?");
        lg->error = mem_strdup(text);
    }
    logreader_close(&r);
    mem_free(&st);
    doctor_log_finish(lg);
}

void doctor_log_free(doctor_log *lg)
{
    mem_free(&lg->path);
    mem_free(&lg->error);
    doctor_groups_free(&lg->fatal);
    doctor_groups_free(&lg->warning);
    doctor_groups_free(&lg->deferred);
    doctor_groups_free(&lg->bounced);
    doctor_groups_free(&lg->rejected);
    doctor_groups_free(&lg->login_fail_addr);
    doctor_groups_free(&lg->login_fail_user);
    for (size_t i = 0; i < lg->nrestarts; i++) {
        mem_free(&lg->restarts[i].service);
        mem_free(&lg->restarts[i].how);
    }
    mem_free(&lg->restarts);
    lg->nrestarts = 0;
    mem_free(&lg->throttled_service);
}

/* ---- step 3: what the window says ---- */

/* At most this many groups of each kind are shown; the rest are counted. */
#define DOCTOR_LOG_SHOW 5

static void doctor_log_show(doctor_check *c, const char *what,
                            const doctor_groups *g)
{
    for (size_t i = 0; i < g->n && i < DOCTOR_LOG_SHOW; i++) {
        const doctor_group *e = &g->v[i];
        doctor_detail(c, "%s x%lu: %s%s%s%s", what, e->count, e->example,
                      e->dsn[0] ? " [dsn " : "", e->dsn, e->dsn[0] ? "]" : "");
        if (e->id[0])
            doctor_detail(c, "  e.g. %s: %s log trace %s", e->id, doctor_postie(), e->id);
        if (e->cause != NULL)
            doctor_detail(c, "  likely cause: %s; check: %s", e->cause, e->check);
    }
    if (g->n > DOCTOR_LOG_SHOW)
        doctor_detail(c, "... and %zu other %s reasons", g->n - DOCTOR_LOG_SHOW, what);
}

void doctor_log_check(doctor_report *r, doctor_facts *f, long long since)
{
    doctor_log *lg = &f->log;
    char win[32];
    doctor_age(since, win, sizeof(win));
    doctor_check *c = doctor_add(r, 3, "log");
    if (!lg->have_file && lg->error_errno == EACCES) {
        doctor_set(c, DOCTOR_WARN, "run doctor as root (or as the log's owner) to read it",
                   "%s", lg->error ? lg->error : "the log cannot be read");
        return;
    }
    if (!lg->have_file && lg->path[0]) {
        doctor_set(c, f->master > 0 ? DOCTOR_FAIL : DOCTOR_WARN,
                   f->master > 0 ? doctor_tmp("master runs but its log is gone: was it moved "
                                              "away?  %s reload opens it again",
                                              doctor_postie())
                                 : "master makes it at its start (step 1)",
                   "%s", lg->error ? lg->error : "no log file");
        return;
    }
    if (!lg->have_file) {
        doctor_set(c, DOCTOR_WARN,
                   doctor_tmp("read the system log: journalctl --since \"1 hour ago\" | grep "
                              "postie; or set maillog_file in postie.conf, then %s reload",
                              doctor_postie()),
                   "%s", lg->error ? lg->error : "no log file");
        return;
    }
    if (lg->error)
        doctor_set(c, DOCTOR_WARN, NULL, "%s", lg->error);
    doctor_detail(c, "%s: %lu lines in the last %s", lg->path, lg->lines, win);
    unsigned long nf = doctor_groups_total(&lg->fatal);
    unsigned long nw = doctor_groups_total(&lg->warning);
    if (nf > 0) {
        const doctor_group *e = &lg->fatal.v[0];
        doctor_set(c, DOCTOR_FAIL,
                   e->check ? e->check
                            : doctor_tmp("read the lines around it: %s log explain | less; "
                                         "fix the cause, then %s config check and reload",
                                         doctor_postie(), doctor_postie()),
                   "%lu fatal/panic line%s in the last %s: %s", nf,
                   nf == 1 ? "" : "s", win, e->example);
    } else if (nw > 0) {
        const doctor_group *e = &lg->warning.v[0];
        doctor_set(c, DOCTOR_WARN,
                   e->check ? e->check
                            : doctor_tmp("%s log explain shows each line in words", doctor_postie()),
                   "%lu warning%s in the last %s, most often: %s", nw,
                   nw == 1 ? "" : "s", win, e->example);
    } else if (lg->lines == 0) {
        doctor_set(c, DOCTOR_OK, NULL, "no log lines in the last %s (quiet, or not logging)",
                   win);
    } else {
        doctor_set(c, DOCTOR_OK, NULL, "no fatal, panic or warning lines in the last %s", win);
    }
    doctor_log_show(c, "fatal", &lg->fatal);
    doctor_log_show(c, "warning", &lg->warning);

    doctor_check *d = doctor_add(r, 3, "deliveries");
    unsigned long nd = doctor_groups_total(&lg->deferred);
    unsigned long nb = doctor_groups_total(&lg->bounced);
    unsigned long nr = doctor_groups_total(&lg->rejected);
    if (nd > 0) {
        const doctor_group *e = &lg->deferred.v[0];
        const char *next;
        next = doctor_tmp("%s log trace %s shows its path; fix the cause (above), then %s "
                          "queue flush", doctor_postie(), e->id[0] ? e->id : "ID",
                          doctor_postie());
        doctor_set(d, DOCTOR_WARN, next,
                   "%lu deferral%s in the last %s, most often (%lux): %s", nd,
                   nd == 1 ? "" : "s", win, e->count, e->example);
    }
    if (nb > 0) {
        const doctor_group *e = &lg->bounced.v[0];
        const char *next;
        next = doctor_tmp("%s log trace %s shows its path and the bounce sent", doctor_postie(),
                          e->id[0] ? e->id : "ID");
        doctor_set(d, DOCTOR_WARN, next, "%lu bounce%s in the last %s, most often (%lux): %s",
                   nb, nb == 1 ? "" : "s", win, e->count, e->example);
    }
    if (nd == 0 && nb == 0)
        doctor_set(d, DOCTOR_OK, NULL, "no deferrals or bounces in the last %s%s", win,
                   nr ? "; some rejects (below)" : "");
    doctor_log_show(d, "deferred", &lg->deferred);
    doctor_log_show(d, "bounced", &lg->bounced);
    /* Rejects are the server doing its job; they are shown, not judged. */
    doctor_log_show(d, "rejected", &lg->rejected);
}

/*
 * Failed logins by address and by user.  Many from one address is a
 * password-guessing run: the limiter (pop3d_auth_attempt_limit) only
 * bounds the tries per connection and a robot reconnects, so the fix is
 * to ban the address (fail2ban's jail on this log, or a firewall rule).
 */
void doctor_log_logins(doctor_report *r, doctor_facts *f, long long since)
{
    doctor_log *lg = &f->log;
    if (!lg->have_file)
        return;
    char win[32];
    doctor_age(since, win, sizeof(win));
    doctor_check *c = doctor_add(r, 3, "logins");
    unsigned long nf = doctor_groups_total(&lg->login_fail_addr);
    /* Not var_int: a bad value is config check's to report, not a reason
     * for the doctor to exit. */
    long long limit = conf_parse_int(var_str("pop3d_auth_attempt_limit"));
    if (nf == 0) {
        doctor_set(c, DOCTOR_OK, NULL, "%lu login%s, no failed login in the last %s",
                   lg->logins, lg->logins == 1 ? "" : "s", win);
        return;
    }
    const doctor_group *top = &lg->login_fail_addr.v[0];
    if (top->count >= DOCTOR_LOGIN_GUESSES)
        doctor_set(c, DOCTOR_WARN,
                   doctor_tmp("password guessing from %s: ban it with fail2ban's jail for "
                              "postie's log (contrib/fail2ban: enable the jail, point logpath "
                              "at %s) or a firewall rule; pop3d_auth_attempt_limit = %lld "
                              "bounds the tries per connection only, and strong passwords "
                              "(%s user passwd NAME) make guessing useless",
                              top->key, lg->path, limit, doctor_postie()),
                   "%lu failed logins from %s in the last %s (%lu in all, %lu successful "
                   "logins): a password-guessing run",
                   top->count, top->key, win, nf, lg->logins);
    else
        doctor_set(c, DOCTOR_OK, NULL,
                   "%lu failed login%s in the last %s, at most %lu from one address "
                   "(under %d: mistyped passwords, not guessing)",
                   nf, nf == 1 ? "" : "s", win, top->count, DOCTOR_LOGIN_GUESSES);
    for (size_t i = 0; i < lg->login_fail_addr.n && i < DOCTOR_LOG_SHOW; i++)
        doctor_detail(c, "failed logins from %s: %lu", lg->login_fail_addr.v[i].key,
                      lg->login_fail_addr.v[i].count);
    for (size_t i = 0; i < lg->login_fail_user.n && i < DOCTOR_LOG_SHOW; i++)
        doctor_detail(c, "failed logins as user %s: %lu", lg->login_fail_user.v[i].key,
                      lg->login_fail_user.v[i].count);
    doctor_detail(c, "limiter: pop3d_auth_attempt_limit = %lld failed logins per connection, "
                     "then the connection is closed", limit);
}
