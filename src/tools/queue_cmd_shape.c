/*
 * queue_cmd_shape - "postie queue shape": Postfix's qshape, the queue as a
 * table of domains by age.  Each row is a recipient domain (or sender
 * domain with -s), each column an age bucket in minutes; the first bucket
 * ends at -t minutes (5), each next one at twice the previous, the last
 * one has no end (-b buckets, 10).  Recipient rows count recipients still
 * to deliver; sender rows count messages.  Rows are sorted by total, the
 * largest first, under a TOTAL row.
 *
 * Does not: aggregate parent domains (qshape -p) or wrap wide tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>

#include "global/mail_conf.h"
#include "tools/queue_cmd.h"
#include "util/mem.h"

#define SHAPE_MAX_BUCKETS 32

typedef struct shape_row {
    char *domain;
    long counts[SHAPE_MAX_BUCKETS];
    long total;
} shape_row;

typedef struct shape_ctx {
    bool by_sender;
    int nbuckets;
    long minutes;
    long long now_usec;
    shape_row *rows;
    size_t nrows;
    shape_row total;
} shape_ctx;

static int queue_cmd_shape_bucket(const shape_ctx *c, long long arrival_usec)
{
    long long age_min = (c->now_usec - arrival_usec) / 60000000LL;
    long limit = c->minutes;
    for (int b = 0; b < c->nbuckets - 1; b++, limit *= 2)
        if (age_min < limit)
            return b;
    return c->nbuckets - 1;
}

static void queue_cmd_shape_add(shape_ctx *c, const char *addr, int bucket)
{
    const char *at = strrchr(addr, '@');
    const char *dom = at ? at + 1 : *addr ? "localhost" : "MAILER-DAEMON";
    char lower[256];
    size_t n = 0;
    for (; dom[n] && n < sizeof(lower) - 1; n++)
        lower[n] = (char)((dom[n] >= 'A' && dom[n] <= 'Z') ? dom[n] + 32 : dom[n]);
    lower[n] = '\0';
    shape_row *row = NULL;
    for (size_t i = 0; i < c->nrows && row == NULL; i++)
        if (strcmp(c->rows[i].domain, lower) == 0)
            row = &c->rows[i];
    if (row == NULL) {
        c->rows = mem_realloc(c->rows, (c->nrows + 1) * sizeof(*c->rows));
        row = &c->rows[c->nrows++];
        memset(row, 0, sizeof(*row));
        row->domain = mem_strdup(lower);
    }
    row->counts[bucket]++;
    row->total++;
    c->total.counts[bucket]++;
    c->total.total++;
}

static int queue_cmd_shape_visit(const queue_cmd_entry *e, void *ctx)
{
    shape_ctx *c = ctx;
    int b = queue_cmd_shape_bucket(c, e->msg->arrival_usec);
    if (c->by_sender) {
        queue_cmd_shape_add(c, e->msg->sender, b);
        return 0;
    }
    for (size_t i = 0; i < e->msg->nrcpt; i++)
        if (e->msg->rcpts[i].status == QUEUE_RCPT_TODO)
            queue_cmd_shape_add(c, e->msg->rcpts[i].addr, b);
    return 0;
}

static int queue_cmd_shape_cmp(const void *a, const void *b)
{
    const shape_row *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->domain, y->domain);
}

static void queue_cmd_shape_print_row(const shape_ctx *c, const int *w,
                                      int dw, const shape_row *r)
{
    printf("%*s %*ld", dw, r->domain, w[0], r->total);
    for (int b = 0; b < c->nbuckets; b++)
        printf(" %*ld", w[b + 1], r->counts[b]);
    putchar('\n');
}

int queue_cmd_shape_main(int argc, char **argv)
{
    shape_ctx c = {.nbuckets = 10, .minutes = 5};
    const char *queues[8] = {0};
    int nq = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0) {
            c.by_sender = true;
        } else if ((strcmp(argv[i], "-b") == 0 || strcmp(argv[i], "-t") == 0) && i + 1 < argc) {
            long v = strtol(argv[i + 1], NULL, 10);
            if (argv[i][1] == 'b' && v >= 2 && v <= SHAPE_MAX_BUCKETS)
                c.nbuckets = (int)v;
            else if (argv[i][1] == 't' && v >= 1 && v <= 1000000)
                c.minutes = v;
            else {
                fprintf(stderr, "qshape: bad value for %s: %s\n", argv[i], argv[i + 1]);
                return EX_USAGE;
            }
            i++;
        } else if (argv[i][0] != '-' && nq < 7) {
            bool known = false;
            for (const char *const *q = queue_cmd_queues; *q; q++)
                if (strcmp(*q, argv[i]) == 0)
                    known = true;
            if (!known) {
                fprintf(stderr, "qshape: unknown queue: %s\n", argv[i]);
                return EX_USAGE;
            }
            queues[nq++] = argv[i];
        } else {
            fprintf(stderr, "usage: postie queue shape [-s] [-b buckets] [-t minutes] [queue...]\n");
            return EX_USAGE;
        }
    }
    if (nq == 0) { /* qshape's default: what is moving now */
        queues[0] = QUEUE_INCOMING;
        queues[1] = QUEUE_ACTIVE;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    c.now_usec = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
    c.total.domain = "TOTAL";
    char *qdir = var_path("queue_directory");
    int r = queue_cmd_list_walk(qdir, queues, queue_cmd_shape_visit, &c);
    mem_free(&qdir);
    if (r < 0) {
        fprintf(stderr, "qshape: cannot read the queue\n");
        return EX_UNAVAILABLE;
    }
    qsort(c.rows, c.nrows, sizeof(*c.rows), queue_cmd_shape_cmp);

    /* Column headers: T, then each bucket's upper limit, the last "N+". */
    char heads[SHAPE_MAX_BUCKETS + 1][24];
    int w[SHAPE_MAX_BUCKETS + 1];
    snprintf(heads[0], sizeof(heads[0]), "T");
    long limit = c.minutes;
    for (int b = 0; b < c.nbuckets; b++) {
        if (b < c.nbuckets - 1) {
            snprintf(heads[b + 1], sizeof(heads[b + 1]), "%ld", limit);
            limit *= 2;
        } else {
            snprintf(heads[b + 1], sizeof(heads[b + 1]), "%ld+", limit / 2);
        }
    }
    for (int k = 0; k <= c.nbuckets; k++) {
        char num[24];
        long v = k == 0 ? c.total.total : c.total.counts[k - 1];
        int nw = snprintf(num, sizeof(num), "%ld", v);
        int hw = (int)strlen(heads[k]);
        w[k] = nw > hw ? nw : hw;
        if (w[k] < 2)
            w[k] = 2;
    }
    int dw = 30;
    for (size_t i = 0; i < c.nrows; i++)
        if ((int)strlen(c.rows[i].domain) > dw)
            dw = (int)strlen(c.rows[i].domain);
    printf("%*s %*s", dw, "", w[0], heads[0]);
    for (int b = 0; b < c.nbuckets; b++)
        printf(" %*s", w[b + 1], heads[b + 1]);
    putchar('\n');
    queue_cmd_shape_print_row(&c, w, dw, &c.total);
    for (size_t i = 0; i < c.nrows; i++) {
        queue_cmd_shape_print_row(&c, w, dw, &c.rows[i]);
        mem_free(&c.rows[i].domain);
    }
    mem_free(&c.rows);
    return 0;
}
