/*
 * report_test - unit tests of the report's aggregation: the bounded top
 * lists (report_topk), the delay histogram (report_hist), the counting of
 * report_agg on crafted lines of each kind (table-driven: lines in, the
 * totals that must come out), its open-message table under growth and
 * removal, and the HTML escaping.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logtool/logline.h"
#include "logtool/report_agg.h"
#include "logtool/report_hist.h"
#include "logtool/report_html.h"
#include "logtool/report_topk.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/test.h"

/* ---- report_topk ------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t cap;
    const char *adds;           /* space-separated keys, in order */
    const char *want;           /* "key=count ..." by count, largest first */
    int exact;
    unsigned distinct;
} topk_cases[] = {
    {"empty", 4, "", "", 1, 0},
    {"counts and order", 4, "b a b c b a", "b=3 a=2 c=1", 1, 3},
    {"ties sort by key", 4, "z y x", "x=1 y=1 z=1", 1, 3},
    /* cap 2: c evicts the smallest (a, count 1) and inherits its count + 1 */
    {"eviction keeps the heavy hitter", 2, "b b b a c", "b=3 c=2", 0, 3},
    /* a, b fill it; c and d take over with count 2; e evicts one of them
     * (count 2 + 1) and then counts 4 more: 7, of which 2 may be error */
    {"a frequent late key stays", 2, "a b c d e e e e e", "e=7 c=2", 0, 5},
    {"long keys are cut", 4, "abcdefghijklmnop abcdefghijZZZ", "abcdefghij=2", 1, 1},
};

static void test_topk_table(void)
{
    for (size_t i = 0; i < sizeof(topk_cases) / sizeof(topk_cases[0]); i++) {
        test_current = topk_cases[i].name;
        report_topk *t = report_topk_new(topk_cases[i].cap, 10);
        char *adds = mem_strdup(topk_cases[i].adds);
        for (char *s = strtok(adds, " "); s; s = strtok(NULL, " "))
            report_topk_add(t, s, strlen(s), 1);
        mem_free(&adds);
        const report_topk_item *v[16];
        size_t k = report_topk_sorted(t, false, v, 16);
        buf *got = buf_new(1024);
        for (size_t j = 0; j < k; j++)
            buf_printf(got, "%s%.*s=%llu", j ? " " : "", (int)v[j]->keylen, v[j]->key,
                       (unsigned long long)v[j]->count);
        TEST_EQ_STR(buf_str(got), topk_cases[i].want);
        TEST_EQ_INT(t->exact, topk_cases[i].exact);
        if (topk_cases[i].exact)
            TEST_EQ_INT(report_topk_distinct(t), topk_cases[i].distinct);
        buf_free(&got);
        report_topk_free(&t);
        TEST_TRUE(t == NULL);
    }
}

static void test_topk_bytes_order(void)
{
    report_topk *t = report_topk_new(8, 64);
    report_topk_add(t, "small", 5, 10);
    report_topk_add(t, "small", 5, 10);
    report_topk_add(t, "big", 3, 5000);
    const report_topk_item *v[4];
    TEST_EQ_INT(report_topk_sorted(t, true, v, 4), 2);
    TEST_EQ_STR(v[0]->key, "big");
    TEST_EQ_INT(report_topk_sorted(t, false, v, 1), 1);
    TEST_EQ_STR(v[0]->key, "small");
    TEST_EQ_INT(v[0]->bytes, 20);
    report_topk_free(&t);
}

/* Past the table's size the distinct count comes from the sketch: within 5 %. */
static void test_topk_distinct_estimate(void)
{
    static const unsigned sizes[] = {1000, 20000, 200000};
    for (size_t i = 0; i < 3; i++) {
        report_topk *t = report_topk_new(100, 64);
        char key[32];
        for (unsigned j = 0; j < sizes[i]; j++) {
            int n = snprintf(key, sizeof(key), "user%u@example.org", j);
            report_topk_add(t, key, (size_t)n, 0);
            report_topk_add(t, key, (size_t)n, 0); /* repeats do not count */
        }
        double est = (double)report_topk_distinct(t);
        TEST_TRUE(fabs(est - sizes[i]) / sizes[i] < 0.05);
        TEST_EQ_INT(t->exact, 0);
        TEST_EQ_INT(t->n, 100);
        report_topk_free(&t);
    }
}

/* Many evictions: the hash index must still find every tracked key. */
static void test_topk_index_survives_churn(void)
{
    report_topk *t = report_topk_new(256, 64);
    char key[32];
    for (unsigned j = 0; j < 100000; j++) {
        int n = j % 10 == 0 ? snprintf(key, sizeof(key), "k%u", j / 10 % 10)
                            : snprintf(key, sizeof(key), "unique%u", j);
        report_topk_add(t, key, (size_t)n, 0);
    }
    /* k0..k9 came 1000 times each, more than 100000 / 256: Space-Saving
     * guarantees they are in the table, at the head of the list. */
    const report_topk_item *v[10];
    TEST_EQ_INT(report_topk_sorted(t, false, v, 10), 10);
    for (int j = 0; j < 10; j++)
        TEST_TRUE(v[j]->keylen == 2 && v[j]->key[0] == 'k' && v[j]->count >= 1000);
    report_topk_free(&t);
}

/* ---- report_hist -------------------------------------------------------------- */

static void test_hist_quantiles(void)
{
    static const struct {
        const char *name;
        double base, step;
        int n;
        double q, want;
    } c[] = {
        {"all equal", 0.01, 0, 10, 0.5, 0.01},
        {"1..100 p50", 1, 1, 100, 0.5, 50},
        {"1..100 p90", 1, 1, 100, 0.9, 90},
        {"1..100 p99", 1, 1, 100, 0.99, 99},
        {"1..100 max", 1, 1, 100, 1.0, 100},
        {"zeros", 0, 0, 5, 0.9, 0},
        {"hours", 3600, 60, 50, 0.5, 3600 + 24 * 60},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        test_current = c[i].name;
        report_hist h = {0};
        for (int j = 0; j < c[i].n; j++)
            report_hist_add(&h, c[i].base + c[i].step * j);
        double got = report_hist_quantile(&h, c[i].q);
        TEST_TRUE(fabs(got - c[i].want) <= c[i].want * 0.021 + 1e-9);
        TEST_EQ_INT(h.n, c[i].n);
    }
    report_hist e = {0};
    TEST_TRUE(report_hist_quantile(&e, 0.5) == 0);
    report_hist_add(&e, -1);    /* not a delay */
    TEST_EQ_INT(e.n, 0);
}

/* ---- report_agg: lines in, totals out -------------------------------------------- */

#define P "Jan 10 10:00:00 mail postfix/"

static const char *const lines_postfix[] = {
    P "smtpd[100]: connect from mx.example.org[192.0.2.1]",
    P "smtpd[100]: 1A2B3C4D5E: client=mx.example.org[192.0.2.1]",
    P "cleanup[101]: 1A2B3C4D5E: message-id=<m1@example.org>",
    P "qmgr[102]: 1A2B3C4D5E: from=<Ann@Example.ORG>, size=1000, nrcpt=2 (queue active)",
    P "smtpd[100]: disconnect from mx.example.org[192.0.2.1] ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6",
    P "local[103]: 1A2B3C4D5E: to=<bob@example.net>, relay=local, delay=0.5, delays=0.1/0.1/0/0.3, dsn=2.0.0, status=sent (delivered to mailbox)",
    P "smtp[104]: 1A2B3C4D5E: to=<cy@far.test>, relay=none, delay=2, delays=0/0/2/0, dsn=4.4.1, status=deferred (connect to far.test[198.51.100.1]:25: Connection refused)",
    /* the retry: the qmgr line again (size not counted twice), deferred again */
    P "qmgr[102]: 1A2B3C4D5E: from=<Ann@Example.ORG>, size=1000, nrcpt=1 (queue active)",
    P "smtp[104]: 1A2B3C4D5E: to=<cy@far.test>, relay=none, delay=300, delays=298/0/2/0, dsn=4.4.1, status=deferred (connect to far.test[198.51.100.1]:25: Connection refused)",
    P "smtp[104]: 1A2B3C4D5E: to=<cy@far.test>, relay=far.test[198.51.100.1]:25, delay=600, delays=598/0/1/1, dsn=2.0.0, status=sent (250 ok)",
    P "qmgr[102]: 1A2B3C4D5E: removed",
    /* pickup, forwarded by an alias, and the copy delivered */
    P "pickup[105]: 2B3C4D5E6F: uid=0 from=<root>",
    P "qmgr[102]: 2B3C4D5E6F: from=<root@example.net>, size=300, nrcpt=1 (queue active)",
    P "local[103]: 2B3C4D5E6F: to=<fwd@example.net>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 3C4D5E6F7A)",
    P "qmgr[102]: 3C4D5E6F7A: from=<root@example.net>, size=350, nrcpt=1 (queue active)",
    P "smtp[104]: 3C4D5E6F7A: to=<z@far.test>, relay=far.test[198.51.100.1]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)",
    /* a bounce and its notification */
    P "local[103]: 2B3C4D5E6F: to=<nobody@example.net>, relay=local, delay=0, delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user: \"nobody\")",
    P "bounce[106]: 2B3C4D5E6F: sender non-delivery notification: 4D5E6F7A8B",
    P "qmgr[102]: 2B3C4D5E6F: removed",
    /* rejects, checks, problems */
    P "smtpd[100]: NOQUEUE: reject: RCPT from x.test[203.0.113.9]: 554 5.7.1 <v@other.test>: Relay access denied; from=<s@x.test> to=<v@other.test> proto=ESMTP helo=<x>",
    P "smtpd[100]: NOQUEUE: reject: RCPT from x.test[203.0.113.9]: 554 5.7.1 <w@other.test>: Relay access denied; from=<s@x.test> to=<w@other.test> proto=ESMTP helo=<x>",
    P "smtpd[100]: 5E6F7A8B9C: client=x.test[203.0.113.9]",
    P "cleanup[101]: 5E6F7A8B9C: hold: header Subject: hi from x.test[203.0.113.9]; from=<s@x.test> to=<a@example.net> proto=ESMTP helo=<x>: review",
    P "smtpd[100]: 6F7A8B9CAD: client=x.test[203.0.113.9]",
    P "cleanup[101]: 6F7A8B9CAD: discard: header Subject: spam from x.test[203.0.113.9]; from=<s@x.test> to=<a@example.net> proto=ESMTP helo=<x>: gone",
    P "qmgr[102]: 7A8B9CADBE: from=<a@example.net>, status=expired, returned to sender",
    P "smtpd[100]: warning: hostname x.test does not resolve to address 203.0.113.9",
    P "smtpd[100]: lost connection after DATA from x.test[203.0.113.9]",
    P "master[1]: fatal: bind 0.0.0.0 port 25: Address already in use",
    "this is not a mail log line",
};

static const char *const lines_exim[] = {
    "2024-01-10 10:00:00 1rN1aB-000123-Ab <= ann@example.org H=mx.example.org [192.0.2.1] P=esmtp S=2000 id=x@y",
    "2024-01-10 10:00:01 1rN1aB-000123-Ab => bob@example.net R=local_user T=local_delivery",
    "2024-01-10 10:00:01 1rN1aB-000123-Ab ** cy@example.net R=local_user T=local_delivery: mailbox is full",
    "2024-01-10 10:00:01 1rN1aC-000124-Bc <= <> R=1rN1aB-000123-Ab U=Debian-exim P=local S=1500 T=\"Mail delivery failed\"",
    "2024-01-10 10:00:01 1rN1aB-000123-Ab Completed",
    "2024-01-10 10:00:02 H=x.test [203.0.113.9] F=<s@x.test> rejected RCPT <v@other.test>: relay not permitted",
};

typedef struct agg_want {
    unsigned long long received, delivered, forwarded, deferred, deferrals, bounced, expired,
        rejected, held, discarded, notifications, bytes_received, bytes_delivered, warnings,
        fatals, unknown, lost, connects;
} agg_want;

static const struct {
    const char *name;
    const char *const *lines;
    size_t n;
    agg_want want;
} agg_cases[] = {
    {"postfix", lines_postfix, sizeof(lines_postfix) / sizeof(lines_postfix[0]),
     {.received = 4, .delivered = 3, .forwarded = 1, .deferred = 1, .deferrals = 2,
      .bounced = 1, .expired = 1, .rejected = 2, .held = 1, .discarded = 1,
      .notifications = 1, .bytes_received = 1300, .bytes_delivered = 2350, .warnings = 1,
      .fatals = 1, .unknown = 1, .lost = 1, .connects = 1}},
    {"exim", lines_exim, sizeof(lines_exim) / sizeof(lines_exim[0]),
     {.received = 1, .delivered = 1, .bounced = 1, .rejected = 1, .notifications = 1,
      .bytes_received = 2000, .bytes_delivered = 2000}},
};

static report_agg *agg_run(const char *const *lines, size_t n)
{
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    ctx.year = 2024;
    ctx.utcoff = 0;
    report_agg *a = report_agg_new(0);
    logline ll;
    for (size_t i = 0; i < n; i++) {
        logline_parse(&ctx, lines[i], strlen(lines[i]), &ll);
        report_agg_line(a, &ll, false);
    }
    return a;
}

static void test_agg_table(void)
{
    for (size_t i = 0; i < sizeof(agg_cases) / sizeof(agg_cases[0]); i++) {
        test_current = agg_cases[i].name;
        report_agg *a = agg_run(agg_cases[i].lines, agg_cases[i].n);
        const agg_want *w = &agg_cases[i].want;
        TEST_EQ_INT(a->lines, agg_cases[i].n);
        TEST_EQ_INT(a->received, w->received);
        TEST_EQ_INT(a->delivered, w->delivered);
        TEST_EQ_INT(a->forwarded, w->forwarded);
        TEST_EQ_INT(a->deferred, w->deferred);
        TEST_EQ_INT(a->deferrals, w->deferrals);
        TEST_EQ_INT(a->bounced, w->bounced);
        TEST_EQ_INT(a->expired, w->expired);
        TEST_EQ_INT(a->rejected, w->rejected);
        TEST_EQ_INT(a->held, w->held);
        TEST_EQ_INT(a->discarded, w->discarded);
        TEST_EQ_INT(a->notifications, w->notifications);
        TEST_EQ_INT(a->bytes_received, w->bytes_received);
        TEST_EQ_INT(a->bytes_delivered, w->bytes_delivered);
        TEST_EQ_INT(a->n_warnings, w->warnings);
        TEST_EQ_INT(a->n_fatals, w->fatals);
        TEST_EQ_INT(a->unknown, w->unknown);
        TEST_EQ_INT(a->lost, w->lost);
        TEST_EQ_INT(a->connects, w->connects);
        report_agg_free(&a);
        TEST_TRUE(a == NULL);
    }
}

/* Details of the Postfix case: names, reasons, delays, per hour. */
static void test_agg_postfix_details(void)
{
    report_agg *a = agg_run(lines_postfix, sizeof(lines_postfix) / sizeof(lines_postfix[0]));
    const report_topk_item *v[8];
    /* The domain is lower-cased, the local part kept (pflogsumm's default). */
    /* Only messages received in the log count as senders: Ann and root
     * (the held and discarded ones never reached the queue manager). */
    TEST_EQ_INT(report_topk_sorted(a->senders, false, v, 8), 2);
    TEST_EQ_STR(v[0]->key, "Ann@example.org");
    TEST_EQ_INT(report_topk_sorted(a->reject_reasons, false, v, 8), 1);
    TEST_EQ_STR(v[0]->key, "554 5.7.1 Relay access denied");
    TEST_EQ_INT(v[0]->count, 2);
    TEST_EQ_INT(report_topk_sorted(a->defer_reasons, false, v, 8), 1);
    TEST_EQ_STR(v[0]->key, "connect to far.test[198.51.100.1]:25: Connection refused");
    TEST_EQ_INT(report_topk_sorted(a->relays, false, v, 8), 2);
    TEST_EQ_STR(v[0]->key, "far.test[198.51.100.1]");
    /* Per recipient domain: sent count, delays, and deferrals apart. */
    const report_topk_item *far = report_topk_lookup(a->recipient_domains, "far.test", 8);
    TEST_TRUE(far != NULL);
    if (far != NULL) {
        TEST_EQ_INT(far->count, 2);
        TEST_TRUE(far->dmax == 600 && far->dsum == 601);
    }
    const report_topk_item *fard = report_topk_lookup(a->defer_domains, "far.test", 8);
    TEST_TRUE(fard != NULL && fard->count == 2 && fard->dmax == 300);
    TEST_TRUE(report_topk_lookup(a->defer_domains, "example.net", 11) == NULL);
    TEST_EQ_INT(a->delay[REPORT_D_TOTAL].n, 3);
    TEST_TRUE(a->delay[REPORT_D_TOTAL].max == 600);
    TEST_TRUE(a->delay[REPORT_D_A].max == 598);
    TEST_EQ_INT(a->hour[10][REPORT_S_RECEIVED], 4);
    TEST_EQ_INT(a->hour[10][REPORT_S_DEFERRED], 2);
    TEST_EQ_INT(a->ndays, 1);
    TEST_EQ_INT(a->days[0].ymd, 20240110);
    TEST_EQ_INT(a->commands, 6);
    TEST_EQ_INT(report_agg_pct(a, a->rejected), 33);   /* 2 of 3+2+1 */
    /* Open at the end: the held message (it may be released) and the
     * forwarded copy (its "removed" is not in the log). */
    TEST_EQ_INT(a->msgs_n, 2);
    report_agg_free(&a);
}

/* The open-message table grows, shrinks and keeps every live entry. */
static void test_agg_message_table(void)
{
    report_agg *a = report_agg_new(0);
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    logline ll;
    char line[300];
    unsigned long long want = 0;
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        int n = snprintf(line, sizeof(line), P "qmgr[1]: %05X%05X: from=<a@b.c>, size=%d, nrcpt=1 (queue active)",
                         i, i * 7, i + 1);
        logline_parse(&ctx, line, (size_t)n, &ll);
        report_agg_line(a, &ll, false);
    }
    TEST_EQ_INT(a->msgs_n, N);
    for (int i = 0; i < N; i += 2) {
        int n = snprintf(line, sizeof(line), P "qmgr[1]: %05X%05X: removed", i, i * 7);
        logline_parse(&ctx, line, (size_t)n, &ll);
        report_agg_line(a, &ll, false);
    }
    TEST_EQ_INT(a->msgs_n, N / 2);
    for (int i = 1; i < N; i += 2) {
        int n = snprintf(line, sizeof(line), P "local[2]: %05X%05X: to=<x@y.z>, relay=local, delay=0, "
                                               "delays=0/0/0/0, dsn=2.0.0, status=sent (ok)",
                         i, i * 7);
        logline_parse(&ctx, line, (size_t)n, &ll);
        report_agg_line(a, &ll, false);
        want += (unsigned long long)(i + 1);
    }
    TEST_EQ_INT(a->bytes_delivered, want);
    TEST_EQ_INT(a->no_size, 0);
    report_agg_free(&a);
}

/* Null senders are grouped under the client's domain, as pflogsumm does. */
static void test_agg_null_sender_domain(void)
{
    /* Expected values checked against pflogsumm 1.1.5's rule. */
    static const struct {
        const char *client, *want;
    } c[] = {
        {"mx1.mail.example.com[192.0.2.1]", "example.com"},
        {"smtp.example.co.uk[192.0.2.2]", "example.co.uk"},
        {"relay.example.org.uk[192.0.2.4]", "example.org.uk"},
        {"a.b.co.uk[192.0.2.6]", "b.co.uk"},
        {"example.co.uk[192.0.2.7]", "example.co.uk"},
        {"mail.example.de[192.0.2.8]", "mail.example.de"},
        {"mail.example.info[192.0.2.9]", "mail.example.info"},
        {"x.y.abc.de[192.0.2.10]", "y.abc.de"},
        {"Example.COM[192.0.2.11]", "Example.COM"},
        {"unknown[192.0.2.3]", "192.0.2.3"},
        {"localhost[127.0.0.1]", "localhost"},
        {"MX.Example.NET[192.0.2.5]", "example.net"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        test_current = c[i].client;
        char l1[200], l2[200];
        snprintf(l1, sizeof(l1), P "smtpd[1]: 0A0B0C0D0E: client=%s", c[i].client);
        snprintf(l2, sizeof(l2), P "qmgr[2]: 0A0B0C0D0E: from=<>, size=10, nrcpt=1 (queue active)");
        const char *const lines[] = {l1, l2};
        report_agg *a = agg_run(lines, 2);
        const report_topk_item *v[2];
        TEST_EQ_INT(report_topk_sorted(a->sender_domains, false, v, 2), 1);
        TEST_EQ_STR(v[0]->key, c[i].want);
        TEST_EQ_INT(report_topk_sorted(a->senders, false, v, 2), 1);
        TEST_EQ_STR(v[0]->key, "<>");
        report_agg_free(&a);
    }
}

static void test_html_escape(void)
{
    static const struct {
        const char *in, *want;
    } c[] = {
        {"plain", "plain"},
        {"<script>&\"'", "&lt;script&gt;&amp;&quot;&#39;"},
        {"a\x01\x7f" "b", "a??b"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        buf *b = buf_new(256);
        report_html_esc(b, c[i].in, strlen(c[i].in));
        TEST_EQ_STR(buf_str(b), c[i].want);
        buf_free(&b);
    }
}

int main(void)
{
    TEST_RUN(test_topk_table);
    TEST_RUN(test_topk_bytes_order);
    TEST_RUN(test_topk_distinct_estimate);
    TEST_RUN(test_topk_index_survives_churn);
    TEST_RUN(test_hist_quantiles);
    TEST_RUN(test_agg_table);
    TEST_RUN(test_agg_postfix_details);
    TEST_RUN(test_agg_message_table);
    TEST_RUN(test_agg_null_sender_domain);
    TEST_RUN(test_html_escape);
    return test_done();
}
