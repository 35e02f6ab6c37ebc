/*
 * report - "postie log report [--json|--html] [--top N] [--year Y] [FILE...]":
 * what pflogsumm reports, and more, about whole mail logs.
 *
 * One pass over the inputs (files, "-" for stdin, gzip read directly; the
 * configured maillog_file by default): each line is parsed (logline) and
 * counted (report_agg); the output (report_out, report_html) is written
 * once at the end.  Memory is bounded by the open messages and the fixed
 * size of the aggregates, never by the size of the log.
 *
 * Exit codes (sysexits): 0 done, 64 usage, 66 an input cannot be opened
 * (missing, a directory; the others are still read), 74 a read error.
 */
#include "logtool/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/mail_conf.h"
#include "logtool/logline.h"
#include "logtool/logreader.h"
#include "logtool/report_agg.h"
#include "logtool/report_html.h"
#include "logtool/report_out.h"
#include "util/buf.h"
#include "util/mem.h"

#define REPORT_OUT_MAX (256 * 1024 * 1024)

static void report_usage(void)
{
    fprintf(stderr, "usage: postie log report [--json|--html] [--top N] [--year Y] [FILE...]\n"
                    "FILE may be - (stdin) or a .gz file; the default is the configured maillog_file.\n");
}

/* Read every line of one input into the aggregates.  Returns 0 or a sysexits code. */
static int report_read(report_agg *a, logline_ctx *ctx, const char *path)
{
    const char *err = NULL;
    logreader *r = logreader_open(path, &err);
    if (r == NULL) {
        fprintf(stderr, "postie log report: %s: %s\n", path, err ? err : strerror(errno));
        return 66;
    }
    const char *line;
    size_t len;
    int got;
    logline ll;
    while ((got = logreader_next(r, &line, &len, &err)) > 0) {
        logline_parse(ctx, line, len, &ll);
        report_agg_line(a, &ll, logreader_cut(r));
    }
    int rc = 0;
    if (got < 0) {
        fprintf(stderr, "postie log report: %s: read error: %s\n", path, err ? err : "?");
        rc = 74;
    }
    if (logreader_stats_get(r)->bytes == 0)
        fprintf(stderr, "postie log report: %s: the file is empty\n", path);
    logreader_close(&r);
    return rc;
}

int logtool_report_main(int argc, char **argv)
{
    bool json = false, html = false;
    long topn = 0;
    int year = 0, i = 1;
    for (; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--") == 0) {
            i++;
            break;
        }
        if (o[0] != '-' || strcmp(o, "-") == 0)
            break;
        if (strcmp(o, "--json") == 0)
            json = true;
        else if (strcmp(o, "--html") == 0)
            html = true;
        else if (strcmp(o, "--top") == 0 && i + 1 < argc)
            topn = strtol(argv[++i], NULL, 10);
        else if (strcmp(o, "--year") == 0 && i + 1 < argc)
            year = atoi(argv[++i]);
        else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
            report_usage();
            return 0;
        } else {
            fprintf(stderr, "postie log report: unknown option: %s\n", o);
            report_usage();
            return 64;
        }
    }
    if (json && html) {
        fprintf(stderr, "postie log report: choose one of --json and --html\n");
        return 64;
    }
    if (topn <= 0 || topn > REPORT_AGG_TOPK)
        topn = topn > REPORT_AGG_TOPK ? REPORT_AGG_TOPK : (json || html) ? 20 : 10;

    char *deflt = NULL;
    const char *one[1];
    const char *const *files = (const char *const *)(argv + i);
    int nfiles = argc - i;
    if (nfiles == 0) {
        mail_conf_read();
        const char *v = var_str("maillog_file");
        if (v == NULL || v[0] == '\0') {
            fprintf(stderr, "postie log report: no maillog_file is configured (logging goes to "
                            "syslog); name the log file\n");
            return 64;
        }
        deflt = var_path("maillog_file");
        one[0] = deflt;
        files = one;
        nfiles = 1;
    }

    logline_ctx ctx;
    logline_ctx_init(&ctx);
    if (year > 0)
        ctx.year = year;
    report_agg *a = report_agg_new(ctx.utcoff);
    int rc = 0, bad = 0;
    for (int f = 0; f < nfiles; f++) {
        int r = report_read(a, &ctx, files[f]);
        if (r != 0) {
            bad += r == 66;
            if (rc == 0 || r == 74)
                rc = r;
        }
    }
    if (bad == nfiles) {
        report_agg_free(&a);
        mem_free(&deflt);
        return rc;
    }

    report_out_opts oo = {.topn = (size_t)topn, .files = files, .nfiles = nfiles};
    buf *out = buf_new(REPORT_OUT_MAX);
    if (json)
        report_out_json(a, &oo, out);
    else if (html)
        report_html_write(a, &oo, out);
    else
        report_out_text(a, &oo, out);
    if (fwrite(out->data, 1, out->len, stdout) != out->len || fflush(stdout) != 0) {
        fprintf(stderr, "postie log report: write error: %s\n", strerror(errno));
        rc = 74;
    }
    buf_free(&out);
    report_agg_free(&a);
    mem_free(&deflt);
    return rc;
}
