/*
 * report_out - write a report_agg as text (pflogsumm's layout, exact
 * numbers) or as JSON, and the small writers shared with report_html.
 *
 * What it does not do: count (report_agg) or draw charts (report_html).
 */
#ifndef POSTIE_LOGTOOL_REPORT_OUT_H
#define POSTIE_LOGTOOL_REPORT_OUT_H

#include <stddef.h>

#include "logtool/report_agg.h"
#include "util/buf.h"

/* What the writers need beside the aggregates. */
typedef struct report_out_opts {
    size_t topn;                /* rows per top list */
    const char *const *files;   /* the inputs, for the title */
    int nfiles;
} report_out_opts;

void report_out_text(const report_agg *a, const report_out_opts *o, buf *out);
void report_out_json(const report_agg *a, const report_out_opts *o, buf *out);

/* A JSON string literal (quotes included); bytes >= 0x80 pass through. */
void report_out_jstr(buf *out, const char *s, size_t n);
/* "2024-01-31 10:00:00" in the log's local time; "-" for an unknown time. */
void report_out_time(const report_agg *a, long long t, char *out, size_t max);
/* A recipient domain's deferrals, average and longest delay (pflogsumm's columns). */
void report_out_domain_extra(const report_agg *a, const report_topk_item *it,
                             uint64_t *defers_r, double *avg_r, double *max_r);
/* Names of the series, delays and their explanations. */
extern const char *const report_out_series[REPORT_S_COUNT];
extern const char *const report_out_delay_names[REPORT_D_COUNT];
extern const char *const report_out_delay_help[REPORT_D_COUNT];

#endif
