/*
 * logtool - "postie log": the dispatch of trace, explain, follow and report,
 * and the parts they share (which files to read, how to report bad input).
 *
 *   postie log trace [--json] [-v] [--unknown] QUERY [FILE...]
 *   postie log explain [--unknown] [FILE...]
 *   postie log follow [--idle SECONDS] [--from-start] [FILE]
 *   postie log report ...            (report.c)
 *
 * FILE "-" is stdin; gzip files are read directly; with no FILE the
 * configured maillog_file is read.  Exit codes (sysexits): 0 done, 1 trace
 * found nothing, 64 usage, 66 an input cannot be opened (missing,
 * directory), 74 a read error.
 *
 * What it does not do: parse (logline), correlate (logtrace), explain
 * (logexplain) or report (report.c).
 */
#include "logtool/logtool.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "logtool/logexplain.h"
#include "logtool/logline.h"
#include "logtool/logreader.h"
#include "logtool/logtrace.h"
#include "logtool/report.h"
#include "util/buf.h"
#include "util/mem.h"

#define LOGTOOL_OUT_MAX (64 * 1024 * 1024)

/* Counts over all inputs, for the closing line. */
typedef struct logtool_counts {
    unsigned long long lines, unknown, truncated, binary, other;
    int files_bad;
    int files_empty;
} logtool_counts;

typedef struct logtool_opts {
    bool json, verbose, list_unknown, from_start;
    double idle;                /* follow: stop after this many idle seconds */
    int year;                   /* for stamps without a year */
    const char *query;
    char **files;
    int nfiles;
} logtool_opts;

static void logtool_usage(void)
{
    fprintf(stderr,
            "usage: postie log trace [--json] [-v] [--unknown] [--year Y] QUEUEID|MESSAGE-ID|ADDRESS [FILE...]\n"
            "       postie log explain [--unknown] [--year Y] [FILE...]\n"
            "       postie log follow [--idle SECONDS] [--from-start] [FILE]\n"
            "       postie log report [--json|--html] [--top N] [--year Y] [FILE...]\n"
            "FILE may be - (stdin) or a .gz file; the default is the configured maillog_file.\n");
}

/* Flush what is buffered to stdout. */
static void logtool_flush(buf *out)
{
    if (out->len > 0) {
        fwrite(out->data, 1, out->len, stdout);
        buf_reset(out);
    }
    fflush(stdout);
}

static int logtool_parse_opts(int argc, char **argv, logtool_opts *o, bool want_query)
{
    memset(o, 0, sizeof(*o));
    o->idle = -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "--json") == 0)
            o->json = true;
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
            o->verbose = true;
        else if (strcmp(a, "--unknown") == 0)
            o->list_unknown = true;
        else if (strcmp(a, "--from-start") == 0)
            o->from_start = true;
        else if (strcmp(a, "--idle") == 0 && i + 1 < argc)
            o->idle = atof(argv[++i]);
        else if (strcmp(a, "--year") == 0 && i + 1 < argc)
            o->year = atoi(argv[++i]);
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            logtool_usage();
            return 0;
        } else {
            fprintf(stderr, "postie log %s: unknown option: %s\n", argv[0], a);
            logtool_usage();
            return 64;
        }
    }
    if (want_query) {
        if (i >= argc) {
            fprintf(stderr, "postie log trace: what to trace? give a queue ID, a Message-ID or an address\n");
            logtool_usage();
            return 64;
        }
        o->query = argv[i++];
        if (o->query[0] == '\0') {
            fprintf(stderr, "postie log trace: the query is empty\n");
            return 64;
        }
    }
    o->files = argv + i;
    o->nfiles = argc - i;
    return -1;
}

/* The configured log file, as the default input.  NULL: none configured. */
static char *logtool_default_file(void)
{
    mail_conf_read();
    const char *v = var_str("maillog_file");
    if (v == NULL || v[0] == '\0')
        return NULL;
    return var_path("maillog_file");
}

/* Open one input, or say clearly why not (and count it). */
static logreader *logtool_open(const char *cmd, const char *path, logtool_counts *c)
{
    const char *err = NULL;
    logreader *r = logreader_open(path, &err);
    if (r == NULL) {
        fprintf(stderr, "postie log %s: %s: %s\n", cmd, path, err ? err : strerror(errno));
        c->files_bad++;
    }
    return r;
}

static void logtool_count(logtool_counts *c, const logline *ll, const logtool_opts *o,
                          const char *path, bool cut)
{
    c->lines++;
    if (cut || ll->truncated) {
        c->truncated++;
        if (o->list_unknown)
            fprintf(stderr, "%s: truncated line %llu: %.*s\n", path, c->lines,
                    (int)(ll->raw.n > 200 ? 200 : ll->raw.n), ll->raw.p);
    }
    if (ll->binary) {
        c->binary++;
        if (o->list_unknown)
            fprintf(stderr, "%s: binary line %llu skipped\n", path, c->lines);
    } else if (ll->event == LOGE_UNKNOWN) {
        c->unknown++;
        if (o->list_unknown)
            fprintf(stderr, "%s: unknown line %llu: %.*s\n", path, c->lines,
                    (int)(ll->raw.n > 200 ? 200 : ll->raw.n), ll->raw.p);
    } else if (ll->format == LOGF_OTHER)
        c->other++;
}

/* After an input: empty file and per-file truncation. */
static void logtool_after_file(const char *cmd, logreader *r, logtool_counts *c)
{
    const logreader_stats *st = logreader_stats_get(r);
    if (st->bytes == 0) {
        fprintf(stderr, "postie log %s: %s: the file is empty\n", cmd, logreader_path(r));
        c->files_empty++;
    }
}

static void logtool_summary(const char *cmd, const logtool_counts *c)
{
    fprintf(stderr, "postie log %s: %llu lines read, %llu not understood, %llu truncated, "
                    "%llu binary, %llu from other programs\n",
            cmd, c->lines, c->unknown, c->truncated, c->binary, c->other);
}

/*
 * Stamps without a year ("Mmm dd"): take the year of the first file's last
 * change, which is when its last line was written; the parser steps back a
 * year if the file starts in a later month (a log spanning New Year).
 */
static void logtool_year_from(const char *path, logline_ctx *ctx)
{
    struct stat sb;
    if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return;
    struct tm tm;
    localtime_r(&sb.st_mtime, &tm);
    ctx->year = tm.tm_year + 1900;
    ctx->ref_month = tm.tm_mon;
}

/* Run fn over every line of every input.  Returns 0 or an exit code. */
typedef void (*logtool_line_fn)(const logline *ll, void *ctx);

static int logtool_each(const char *cmd, const logtool_opts *o, logtool_counts *c,
                        logtool_line_fn fn, void *ctx)
{
    char *deflt = NULL;
    char *one[1];
    char **files = o->files;
    int nfiles = o->nfiles;
    if (nfiles == 0) {
        deflt = logtool_default_file();
        if (deflt == NULL) {
            fprintf(stderr, "postie log %s: no maillog_file is configured (logging goes to syslog); "
                            "name the log file\n", cmd);
            return 64;
        }
        one[0] = deflt;
        files = one;
        nfiles = 1;
    }
    int rc = 0;
    logline_ctx lctx;
    logline_ctx_init(&lctx);
    if (o->year > 0) {
        lctx.year = o->year;
        lctx.ref_month = -1;
    }
    for (int i = 0; i < nfiles; i++) {
        logreader *r = logtool_open(cmd, files[i], c);
        if (r == NULL) {
            rc = 66;
            continue;
        }
        if (i == 0 && o->year <= 0)
            logtool_year_from(files[i], &lctx);
        const char *line, *err = NULL;
        size_t len;
        int got;
        logline ll;
        while ((got = logreader_next(r, &line, &len, &err)) > 0) {
            logline_parse(&lctx, line, len, &ll);
            logtool_count(c, &ll, o, files[i], logreader_cut(r));
            fn(&ll, ctx);
        }
        if (got < 0) {
            fprintf(stderr, "postie log %s: %s: read error: %s\n", cmd, files[i], err);
            rc = 74;
        }
        logtool_after_file(cmd, r, c);
        logreader_close(&r);
    }
    mem_free(&deflt);
    return rc;
}

/* ---- trace ---------------------------------------------------------------- */

static void logtool_trace_line(const logline *ll, void *ctx)
{
    logtrace_line((logtrace *)ctx, ll);
}

/* Prints groups as they are finished (and at the end, the rest). */
typedef struct logtool_trace_out {
    buf *out;
    const logtool_opts *o;
    size_t printed;             /* messages so far */
} logtool_trace_out;

static void logtool_trace_head(logtool_trace_out *p)
{
    if (p->o->json && p->printed == 0) {
        buf_puts(p->out, "{\"query\":");
        logtrace_print_jstr(p->out, p->o->query, strlen(p->o->query));
        buf_puts(p->out, ",\"messages\":[");
    }
}

static void logtool_trace_group(logtool_trace_out *p, logtrace_msg **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        logtool_trace_head(p);
        if (p->o->json) {
            if (p->printed > 0)
                buf_putc(p->out, ',');
            logtrace_print_json(v[i], p->out);
        } else {
            if (p->printed > 0)
                buf_puts(p->out, i > 0 ? "\n  --- linked message ---\n\n" : "\n");
            logtrace_print_text(v[i], p->o->verbose, p->out);
        }
        p->printed++;
        if (p->out->len > 1024 * 1024)
            logtool_flush(p->out);
    }
}

static void logtool_trace_emit(logtrace *t, logtrace_msg **v, size_t n, void *ctx)
{
    logtool_trace_group(ctx, v, n);
}

static int logtool_trace(int argc, char **argv)
{
    logtool_opts o;
    int rc = logtool_parse_opts(argc, argv, &o, true);
    if (rc >= 0)
        return rc;
    logtool_counts c = {0};
    logtrace *t = logtrace_new(o.query);
    logtool_trace_out p = {buf_new(LOGTOOL_OUT_MAX), &o, 0};
    /* Finished groups are printed on the way: memory stays bounded even
     * when the query matches much of the log. */
    logtrace_set_emit(t, logtool_trace_emit, &p);
    rc = logtool_each("trace", &o, &c, logtool_trace_line, t);
    if (rc == 64 || (rc == 66 && c.files_bad >= (o.nfiles > 0 ? o.nfiles : 1))) {
        logtool_flush(p.out);
        buf_free(&p.out);
        logtrace_free(&t);
        return rc;
    }
    logtrace_msg **v;
    size_t n = logtrace_matched(t, &v);
    /* The rest, group by group (the array keeps a group's members adjacent). */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j]->group == v[i]->group)
            j++;
        logtool_trace_group(&p, v + i, j - i);
        i = j;
    }
    if (o.json) {
        logtool_trace_head(&p);
        buf_printf(p.out, "],\"lines\":%llu,\"unknown\":%llu,\"truncated\":%llu,\"binary\":%llu,"
                          "\"other\":%llu}\n",
                   c.lines, c.unknown, c.truncated, c.binary, c.other);
    } else if (p.printed == 0)
        fprintf(stderr, "postie log trace: nothing matches %s\n", o.query);
    logtool_flush(p.out);
    buf_free(&p.out);
    mem_free(&v);
    const logtrace_stats *ts = logtrace_stats_get(t);
    if (ts->evicted_open > 0)
        fprintf(stderr, "postie log trace: %llu unfinished messages were dropped to bound memory\n",
                ts->evicted_open);
    logtool_summary("trace", &c);
    logtrace_free(&t);
    if (rc != 0)
        return rc;
    return p.printed > 0 ? 0 : 1;
}

/* ---- explain --------------------------------------------------------------- */

typedef struct logtool_explain_ctx {
    buf *out;
} logtool_explain_ctx;

static void logtool_explain_line(const logline *ll, void *ctx)
{
    logtool_explain_ctx *x = ctx;
    buf_printf(x->out, "%.*s\n", (int)ll->raw.n, ll->raw.p);
    logexplain_line(ll, x->out);
    buf_putc(x->out, '\n');
    if (x->out->len > 1024 * 1024)
        logtool_flush(x->out);
}

static int logtool_explain(int argc, char **argv)
{
    logtool_opts o;
    int rc = logtool_parse_opts(argc, argv, &o, false);
    if (rc >= 0)
        return rc;
    logtool_counts c = {0};
    logtool_explain_ctx x = {buf_new(LOGTOOL_OUT_MAX)};
    rc = logtool_each("explain", &o, &c, logtool_explain_line, &x);
    logtool_flush(x.out);
    buf_free(&x.out);
    if (rc != 64 && !(rc == 66 && c.files_bad >= (o.nfiles > 0 ? o.nfiles : 1)))
        logtool_summary("explain", &c);
    return rc;
}

/* ---- follow ---------------------------------------------------------------- */

typedef struct logtool_follow_ctx {
    buf *out;
    logtrace *t;
} logtool_follow_ctx;

static void logtool_follow_done(logtrace *t, logtrace_msg *m, void *ctx)
{
    logtool_follow_ctx *f = ctx;
    buf_puts(f->out, "== finished: ");
    logtrace_print_text(m, false, f->out);
    buf_putc(f->out, '\n');
}

/* A problem worth showing at once. */
static bool logtool_follow_problem(const logline *ll)
{
    switch (ll->event) {
    case LOGE_DELIVERY:
        return ll->status == LOGS_DEFERRED || ll->status == LOGS_BOUNCED ||
               ll->status == LOGS_EXPIRED || ll->status == LOGS_SOFTBOUNCE;
    case LOGE_REJECT: case LOGE_EXPIRED: case LOGE_WARNING: case LOGE_ERROR:
    case LOGE_FATAL: case LOGE_PANIC: case LOGE_SASL_FAIL: case LOGE_LOGIN_FAIL:
    case LOGE_HOLD:
        return true;
    default:
        return false;
    }
}

static void logtool_follow_line(const logline *ll, logtool_follow_ctx *f)
{
    if (logtool_follow_problem(ll)) {
        buf_printf(f->out, "!! %s: %.*s\n", logexplain_step(ll), (int)ll->raw.n, ll->raw.p);
        if (ll->dsn.p != NULL) {
            buf_puts(f->out, "   dsn ");
            if (logexplain_dsn(ll->dsn, f->out) != 0)
                buf_printf(f->out, "%.*s", (int)ll->dsn.n, ll->dsn.p);
            buf_putc(f->out, '\n');
        }
        const logexplain_cause *c = logexplain_cause_find(ll);
        if (c != NULL)
            buf_printf(f->out, "   likely cause: %s\n   check: %s\n", c->cause, c->check);
    }
    logtrace_line(f->t, ll);
}

static double logtool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int logtool_follow(int argc, char **argv)
{
    logtool_opts o;
    int rc = logtool_parse_opts(argc, argv, &o, false);
    if (rc >= 0)
        return rc;
    if (o.nfiles > 1) {
        fprintf(stderr, "postie log follow: follows one file\n");
        return 64;
    }
    char *path = o.nfiles == 1 ? mem_strdup(o.files[0]) : logtool_default_file();
    if (path == NULL) {
        fprintf(stderr, "postie log follow: no maillog_file is configured; name the log file\n");
        return 64;
    }
    logtool_counts c = {0};
    logreader *r = logtool_open("follow", path, &c);
    if (r == NULL) {
        mem_free(&path);
        return 66;
    }
    logreader_set_follow(r, true);
    if (!o.from_start)
        logreader_seek_end(r);
    logtool_follow_ctx f = {buf_new(LOGTOOL_OUT_MAX), logtrace_new(NULL)};
    logtrace_set_done(f.t, logtool_follow_done, &f);
    logtrace_set_caps(f.t, 200000, 1000);
    logline_ctx lctx;
    logline_ctx_init(&lctx);
    if (o.year > 0) {
        lctx.year = o.year;
        lctx.ref_month = -1;
    }
    double last = logtool_now();
    rc = 0;
    for (;;) {
        const char *line, *err = NULL;
        size_t len;
        int got;
        bool any = false;
        while ((got = logreader_next(r, &line, &len, &err)) > 0) {
            logline ll;
            logline_parse(&lctx, line, len, &ll);
            logtool_count(&c, &ll, &o, path, logreader_cut(r));
            logtool_follow_line(&ll, &f);
            any = true;
            if (f.out->len > 64 * 1024)
                logtool_flush(f.out);
        }
        logtool_flush(f.out);
        if (got < 0) {
            fprintf(stderr, "postie log follow: %s: read error: %s\n", path, err);
            rc = 74;
            break;
        }
        if (any)
            last = logtool_now();
        int rot = logreader_check_rotation(r);
        if (rot == 1) {
            fprintf(stderr, "postie log follow: %s was rotated or truncated; reading the new file\n", path);
            last = logtool_now();
            continue;
        }
        if (o.idle >= 0 && logtool_now() - last >= o.idle)
            break;
        /* A plain file cannot be polled for growth: sleep a little. */
        poll(NULL, 0, 200);
    }
    logtool_flush(f.out);
    buf_free(&f.out);
    logtrace_free(&f.t);
    logreader_close(&r);
    mem_free(&path);
    logtool_summary("follow", &c);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------------- */

int logtool_main(int argc, char **argv)
{
    if (argc < 2) {
        logtool_usage();
        return 64;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "trace") == 0)
        return logtool_trace(argc - 1, argv + 1);
    if (strcmp(sub, "explain") == 0)
        return logtool_explain(argc - 1, argv + 1);
    if (strcmp(sub, "follow") == 0)
        return logtool_follow(argc - 1, argv + 1);
    if (strcmp(sub, "report") == 0)
        return logtool_report_main(argc - 1, argv + 1);
    if (strcmp(sub, "help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
        logtool_usage();
        return 0;
    }
    fprintf(stderr, "postie log: unknown command: %s\n", sub);
    logtool_usage();
    return 64;
}
