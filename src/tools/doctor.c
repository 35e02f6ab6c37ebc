/*
 * doctor - the command line, the report and its two outputs; see doctor.h.
 *
 * The checks run in the guide's order because later steps stand on earlier
 * facts: the queue step names the domains the DNS step looks up, the
 * service step says who the mailboxes should belong to.  The log is read
 * once, before the first step, because the service step needs its restart
 * lines and the log step everything else.
 */
#include "tools/doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/mem.h"

/* ---- the report ---- */

static char *doctor_vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *doctor_vfmt(const char *fmt, va_list ap)
{
    buf *b = buf_new(8192);
    buf_vprintf(b, fmt, ap);
    char *s = mem_strdup(b->data);
    buf_free(&b);
    return s;
}

const char *doctor_postie(void)
{
    static char *cmd;
    if (cmd == NULL) {
        cmd = mem_alloc(strlen(mail_conf_dir()) + 16);
        sprintf(cmd, "postie -c %s", mail_conf_dir());
    }
    return cmd;
}

const char *doctor_tmp(const char *fmt, ...)
{
    static char *ring[8];
    static unsigned next;
    char **slot = &ring[next++ % 8];
    mem_free(slot);
    va_list ap;
    va_start(ap, fmt);
    *slot = doctor_vfmt(fmt, ap);
    va_end(ap);
    return *slot;
}

doctor_check *doctor_add(doctor_report *r, int step, const char *name)
{
    r->v = mem_realloc(r->v, (r->n + 1) * sizeof(*r->v));
    doctor_check *c = mem_zalloc(sizeof(*c));
    r->v[r->n++] = c;
    c->step = step;
    c->name = mem_strdup(name);
    c->status = DOCTOR_OK;
    c->finding = mem_strdup("");
    c->next = mem_strdup("");
    return c;
}

void doctor_set(doctor_check *c, enum doctor_status s, const char *next,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = doctor_vfmt(fmt, ap);
    va_end(ap);
    /* The worst finding is the one line a reader sees: a later, milder
     * one must not cover it, but it is not lost either. */
    if (s < c->status || (s == c->status && c->finding[0] && s != DOCTOR_OK)) {
        if (s != DOCTOR_OK)
            doctor_detail(c, "also (%s): %s", doctor_status_name(s), text);
        mem_free(&text);
        return;
    }
    c->status = s;
    mem_free(&c->finding);
    c->finding = text;
    mem_free(&c->next);
    c->next = mem_strdup(next ? next : "");
}

void doctor_detail(doctor_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->details = mem_realloc(c->details, (c->ndetails + 1) * sizeof(char *));
    c->details[c->ndetails++] = doctor_vfmt(fmt, ap);
    va_end(ap);
}

int doctor_exit(const doctor_report *r)
{
    int worst = DOCTOR_OK;
    for (size_t i = 0; i < r->n; i++)
        if ((int)r->v[i]->status > worst)
            worst = (int)r->v[i]->status;
    return worst;
}

void doctor_report_free(doctor_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        doctor_check *c = r->v[i];
        mem_free(&c->name);
        mem_free(&c->finding);
        mem_free(&c->next);
        for (size_t j = 0; j < c->ndetails; j++)
            mem_free(&c->details[j]);
        mem_free(&c->details);
        mem_free(&r->v[i]);
    }
    mem_free(&r->v);
    r->n = 0;
}

/* The guide's words for its steps; doctor's step 6 looks at the
 * configuration where the guide looks at the firewall (doctor.md says
 * why). */
const char *doctor_step_title(int step)
{
    static const char *const t[] = {
        "?",
        "Check service status",
        "Review mail queue",
        "Examine logs",
        "Test connectivity",
        "Verify DNS",
        "Check configuration, relay and permissions",
        "Test authentication",
    };
    return step >= 1 && step <= 7 ? t[step] : t[0];
}

const char *doctor_status_name(enum doctor_status s)
{
    return s == DOCTOR_FAIL ? "fail" : s == DOCTOR_WARN ? "warn" : "ok";
}

void doctor_print_text(FILE *out, const doctor_report *r)
{
    int step = 0;
    for (size_t i = 0; i < r->n; i++) {
        const doctor_check *c = r->v[i];
        if (c->step != step) {
            step = c->step;
            fprintf(out, "\n%d. %s\n", step, doctor_step_title(step));
        }
        fprintf(out, "  [%-4s] %-12s %s\n", doctor_status_name(c->status),
                c->name, c->finding);
        for (size_t j = 0; j < c->ndetails; j++)
            fprintf(out, "                      %s\n", c->details[j]);
        if (c->next[0])
            fprintf(out, "                      next: %s\n", c->next);
    }
    size_t n[3] = {0, 0, 0};
    for (size_t i = 0; i < r->n; i++)
        n[r->v[i]->status]++;
    int worst = doctor_exit(r);
    fprintf(out, "\n%s: %zu ok, %zu warning%s, %zu failure%s\n",
            worst == DOCTOR_FAIL   ? "FAIL: fix the failures first, top down"
            : worst == DOCTOR_WARN ? "WARN: it works, but look at the warnings"
                                   : "OK: nothing wrong found",
            n[0], n[1], n[1] == 1 ? "" : "s", n[2], n[2] == 1 ? "" : "s");
}

/* Length of a well-formed UTF-8 sequence at p (RFC 3629), 0 if not. */
static size_t doctor_utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || p[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong three- and four-byte forms, surrogates, past U+10FFFF. */
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* Log texts carry whatever bytes clients sent: a JSON reader must get
 * valid UTF-8, so a byte that is not part of a character becomes '?'. */
static void doctor_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p >= 0x80) {
            size_t n = doctor_utf8_len(p);
            if (n == 0) {
                fputc('?', out);
                p++;
            } else {
                fwrite(p, 1, n, out);
                p += n;
            }
            continue;
        }
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
        p++;
    }
    fputc('"', out);
}

void doctor_print_json(FILE *out, const doctor_report *r, const char *dir,
                       long long since)
{
    fprintf(out, "{\"instance\": ");
    doctor_json_str(out, dir);
    fprintf(out, ", \"since\": %lld, \"status\": \"%s\", \"exit\": %d, \"checks\": [",
            since, doctor_status_name((enum doctor_status)doctor_exit(r)),
            doctor_exit(r));
    for (size_t i = 0; i < r->n; i++) {
        const doctor_check *c = r->v[i];
        fprintf(out, "%s\n  {\"step\": %d, \"title\": ", i ? "," : "", c->step);
        doctor_json_str(out, doctor_step_title(c->step));
        fprintf(out, ", \"name\": ");
        doctor_json_str(out, c->name);
        fprintf(out, ", \"status\": \"%s\", \"finding\": ",
                doctor_status_name(c->status));
        doctor_json_str(out, c->finding);
        fprintf(out, ", \"next\": ");
        doctor_json_str(out, c->next);
        fprintf(out, ", \"details\": [");
        for (size_t j = 0; j < c->ndetails; j++) {
            if (j)
                fputs(", ", out);
            doctor_json_str(out, c->details[j]);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n]}\n");
}

/* ---- groups ---- */

void doctor_groups_add(doctor_groups *g, const char *key, const char *example,
                       const char *id, const char *cause, const char *check,
                       const char *dsn)
{
    for (size_t i = 0; i < g->n; i++) {
        if (strcmp(g->v[i].key, key) == 0) {
            g->v[i].count++;
            return;
        }
    }
    /* A flood of distinct texts must not grow without bound: past this
     * many groups the rest are counted under one. */
    if (g->n >= 200) {
        key = "(other reasons)";
        for (size_t i = 0; i < g->n; i++)
            if (strcmp(g->v[i].key, key) == 0) {
                g->v[i].count++;
                return;
            }
    }
    g->v = mem_realloc(g->v, (g->n + 1) * sizeof(*g->v));
    doctor_group *e = &g->v[g->n++];
    e->key = mem_strdup(key);
    e->example = mem_strdup(example ? example : key);
    e->id = mem_strdup(id ? id : "");
    e->cause = cause ? mem_strdup(cause) : NULL;
    e->check = check ? mem_strdup(check) : NULL;
    e->dsn = mem_strdup(dsn ? dsn : "");
    e->count = 1;
}

static int doctor_groups_order(const void *a, const void *b)
{
    const doctor_group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

void doctor_groups_sort(doctor_groups *g)
{
    if (g->n > 1)
        qsort(g->v, g->n, sizeof(*g->v), doctor_groups_order);
}

unsigned long doctor_groups_total(const doctor_groups *g)
{
    unsigned long t = 0;
    for (size_t i = 0; i < g->n; i++)
        t += g->v[i].count;
    return t;
}

void doctor_groups_free(doctor_groups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        mem_free(&g->v[i].key);
        mem_free(&g->v[i].example);
        mem_free(&g->v[i].id);
        mem_free(&g->v[i].cause);
        mem_free(&g->v[i].check);
        mem_free(&g->v[i].dsn);
    }
    mem_free(&g->v);
    g->n = 0;
}

static bool doctor_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

static bool doctor_is_hex_upper(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

char *doctor_reason_key(const char *text, size_t n)
{
    buf *b = buf_new(n * 2 + 16);
    for (size_t i = 0; i < n;) {
        /* A queue ID (10+ upper-case hex digits standing alone). */
        size_t j = i;
        while (j < n && doctor_is_hex_upper(text[j]))
            j++;
        bool alone = (i == 0 || !doctor_alnum(text[i - 1])) &&
                     (j == n || !doctor_alnum(text[j]));
        if (j - i >= 10 && alone) {
            buf_puts(b, "ID");
            i = j;
            continue;
        }
        if (text[i] >= '0' && text[i] <= '9') {
            buf_putc(b, 'N');
            while (i < n && text[i] >= '0' && text[i] <= '9')
                i++;
            continue;
        }
        buf_putc(b, text[i]);
        i++;
    }
    char *s = mem_strdup(b->data);
    buf_free(&b);
    return s;
}

/* ---- helpers ---- */

void doctor_age(long long s, char *out, size_t n)
{
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, n, "%llds", s);
    else if (s < 3600)
        snprintf(out, n, "%lldm", s / 60);
    else if (s < 86400 && s % 3600 < 60)
        snprintf(out, n, "%lldh", s / 3600);
    else if (s < 86400)
        snprintf(out, n, "%lldh %lldm", s / 3600, s % 3600 / 60);
    else if (s % 86400 < 3600)
        snprintf(out, n, "%lldd", s / 86400);
    else
        snprintf(out, n, "%lldd %lldh", s / 86400, s % 86400 / 3600);
}

/* ---- the command ---- */

static int doctor_usage(void)
{
    fprintf(stderr, "usage: postie doctor [--json] [--since DURATION] [--timeout SECONDS]\n"
                    "  DURATION: 30m, 1h (default), 2d; the log window of step 3\n");
    return 64;
}

int doctor_main(int argc, char **argv)
{
    bool json = false;
    long long since = 3600;
    double timeout = 5.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            since = conf_parse_time(argv[++i], 's');
            if (since <= 0) {
                fprintf(stderr, "postie doctor: --since %s: not a duration (30m, 1h, 2d)\n",
                        argv[i]);
                return 64;
            }
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;
            timeout = strtod(argv[++i], &end);
            if (*end || timeout <= 0 || timeout > 120) {
                fprintf(stderr, "postie doctor: --timeout %s: seconds, 0 < N <= 120\n",
                        argv[i]);
                return 64;
            }
        } else {
            return doctor_usage();
        }
    }
    /* Unknown names and bad values are step 6's findings; the reader's
     * own warnings on stderr would only repeat them out of order. */
    fflush(stderr);
    int saved = dup(2);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0)
        dup2(null, 2);
    mail_conf_read();
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (null >= 0)
        close(null);

    doctor_report r = {NULL, 0};
    doctor_facts f;
    memset(&f, 0, sizeof(f));
    f.timeout = timeout;
    char *log = var_path("maillog_file");
    doctor_log_scan(log, (long long)time(NULL), since, &f.log);
    mem_free(&log);

    doctor_checks_service(&r, &f);
    doctor_checks_queue(&r, &f);
    doctor_log_check(&r, &f, since);
    doctor_log_logins(&r, &f, since);
    doctor_net_listeners(&r, &f);
    doctor_net_dns(&r, &f);
    doctor_checks_config(&r, &f);
    doctor_checks_auth(&r, &f);

    if (json) {
        doctor_print_json(stdout, &r, mail_conf_dir(), since);
    } else {
        char when[64];
        time_t now = time(NULL);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
        printf("postie doctor: instance %s, %s, log window %llds\n",
               mail_conf_dir(), when, since);
        doctor_print_text(stdout, &r);
    }
    int rc = doctor_exit(&r);
    doctor_report_free(&r);
    doctor_log_free(&f.log);
    doctor_groups_free(&f.dest_domains);
    for (char **p = f.running; p && *p; p++)
        mem_free(p);
    mem_free(&f.running);
    return rc;
}
