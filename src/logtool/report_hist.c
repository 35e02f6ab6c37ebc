/*
 * report_hist - log-scale duration histogram with about 2 % resolution.
 * See report_hist.h.
 *
 * Bucket i (i >= 0) holds values in [1ms * 1.02^i, 1ms * 1.02^(i+1)); a
 * quantile is reported as the geometric middle of its bucket, clamped to
 * the exact maximum, so a log whose delays are all "0.01" says 0.01.
 */
#include "logtool/report_hist.h"

#include <math.h>

#define REPORT_HIST_MIN 0.001
#define REPORT_HIST_GROWTH 1.02

static int report_hist_index(double v)
{
    double i = floor(log(v / REPORT_HIST_MIN) / log(REPORT_HIST_GROWTH));
    if (i < 0)
        return 0;
    if (i >= REPORT_HIST_BUCKETS)
        return REPORT_HIST_BUCKETS - 1;
    return (int)i;
}

void report_hist_add(report_hist *h, double v)
{
    if (!(v >= 0)) /* NaN or negative: not a delay */
        return;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
    if (v < REPORT_HIST_MIN)
        h->zero++;
    else
        h->b[report_hist_index(v)]++;
}

double report_hist_quantile(const report_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    /* The rank of the wanted value, 1-based: "nearest rank". */
    uint64_t rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    if (rank <= h->zero)
        return 0;
    uint64_t seen = h->zero;
    for (int i = 0; i < REPORT_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            double lo = REPORT_HIST_MIN * pow(REPORT_HIST_GROWTH, i);
            double mid = lo * sqrt(REPORT_HIST_GROWTH);
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}

void report_hist_merge(report_hist *dst, const report_hist *src)
{
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->zero += src->zero;
    for (int i = 0; i < REPORT_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
}
