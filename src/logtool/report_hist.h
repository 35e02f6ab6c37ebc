/*
 * report_hist - a fixed-size log-scale histogram of durations (seconds) for
 * the report's delay percentiles.
 *
 * Storing every delay of a large log to sort it would make memory grow with
 * the log; this keeps about 1,200 counters instead.  Buckets grow by 2 %
 * from 1 ms to about 4 months, so a percentile read from it is within 2 %
 * of the true value (values under 1 ms count as 0).  The exact maximum,
 * minimum, sum and count are kept beside it.
 */
#ifndef POSTIE_LOGTOOL_REPORT_HIST_H
#define POSTIE_LOGTOOL_REPORT_HIST_H

#include <stdint.h>

#define REPORT_HIST_BUCKETS 1200

typedef struct report_hist {
    uint64_t n;
    double sum, max;
    uint64_t zero;                      /* values < 1 ms */
    uint64_t b[REPORT_HIST_BUCKETS];
} report_hist;

void report_hist_add(report_hist *h, double seconds);
/* The q-quantile (0 < q <= 1) in seconds; 0 when empty. */
double report_hist_quantile(const report_hist *h, double q);
/* Merge src into dst. */
void report_hist_merge(report_hist *dst, const report_hist *src);

#endif
