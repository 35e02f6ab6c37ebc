/*
 * deliver_log_test - Postfix's delay number format and the delivery line.
 */
#include "global/deliver_log.h"

#include "util/buf.h"
#include "util/test.h"

static void test_deliver_log_tv_table(void)
{
    static const struct {
        long long usec;
        const char *want;
    } cases[] = {
        {0, "0"},
        {1, "0"},
        {4999, "0"},          /* below half the 0.01 resolution */
        {5000, "0.01"},       /* rounds up */
        {10000, "0.01"},
        {80000, "0.08"},
        {84999, "0.08"},
        {85000, "0.09"},
        {100000, "0.1"},      /* trailing zero dropped */
        {123456, "0.12"},
        {125000, "0.13"},     /* half up */
        {990000, "0.99"},
        {995000, "1"},        /* carries into the seconds */
        {999999, "1"},
        {1000000, "1"},
        {1040000, "1"},       /* 1..9 s: one decimal, 1.04 -> 1 */
        {1050000, "1.1"},
        {1250000, "1.3"},
        {9940000, "9.9"},
        {9950000, "10"},
        {10000000, "10"},
        {10499999, "10"},     /* from 10 s on: whole seconds */
        {10500000, "11"},
        {345678901, "346"},
        {-5, "0"},            /* clock jumped back */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf *b = buf_new(64);
        deliver_log_tv(b, cases[i].usec, 2, 2);
        TEST_EQ_STR(buf_str(b), cases[i].want);
        buf_free(&b);
    }
}

static void test_deliver_log_tv_resolution(void)
{
    static const struct {
        long long usec;
        int sig, max;
        const char *want;
    } cases[] = {
        {123456, 2, 0, "0"},
        {623456, 2, 0, "1"},
        {123456, 2, 1, "0.1"},
        {1234, 2, 6, "0.0012"},
        {1234, 3, 6, "0.00123"},
        {12345, 6, 6, "0.012345"},
        {2500000, 1, 2, "3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf *b = buf_new(64);
        deliver_log_tv(b, cases[i].usec, cases[i].sig, cases[i].max);
        TEST_EQ_STR(buf_str(b), cases[i].want);
        buf_free(&b);
    }
}

static void test_deliver_log_line_of_the_seed(void)
{
    /* The local line of the issue: delay=0.1, delays=0.08/0.01/0/0.01. */
    deliver_stats st = {
        .arrival = 1000000000000000LL,
        .active = 1000000000080000LL,
        .handoff = 1000000000090000LL,
        .done = 1000000000100000LL,
    };
    buf *b = buf_new(1024);
    deliver_log_format(b, "3F2A91C07B", "bob@example.org", NULL, "local", &st,
                       "2.0.0", "sent", "delivered to maildir");
    TEST_EQ_STR(buf_str(b),
                "3F2A91C07B: to=<bob@example.org>, relay=local, delay=0.1, "
                "delays=0.08/0.01/0/0.01, dsn=2.0.0, status=sent "
                "(delivered to maildir)");
    buf_free(&b);
}

static void test_deliver_log_orig_to(void)
{
    deliver_stats st = {.arrival = 5000000, .active = 5000000,
                        .handoff = 5000000, .done = 5000000};
    static const struct {
        const char *to, *orig, *want;
    } cases[] = {
        {"bob@x", NULL, "ID: to=<bob@x>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (ok)"},
        {"bob@x", "", "ID: to=<bob@x>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (ok)"},
        {"bob@x", "BOB@x", "ID: to=<bob@x>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (ok)"},
        {"bob@x", "team@x", "ID: to=<bob@x>, orig_to=<team@x>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (ok)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf *b = buf_new(1024);
        deliver_log_format(b, "ID", cases[i].to, cases[i].orig, "local", &st,
                           "2.0.0", "sent", "ok");
        TEST_EQ_STR(buf_str(b), cases[i].want);
        buf_free(&b);
    }
}

static void test_deliver_log_missing_stages(void)
{
    /* Deferred by qmgr before any agent: b takes the rest; c, d are 0. */
    deliver_stats st = {.arrival = 0, .active = 2000000, .done = 14000000};
    buf *b = buf_new(1024);
    deliver_log_format(b, "ID", "a@b", NULL, "none", &st, "4.3.0", "deferred",
                       "x");
    TEST_EQ_STR(buf_str(b), "ID: to=<a@b>, relay=none, delay=14, "
                            "delays=2/12/0/0, dsn=4.3.0, status=deferred (x)");
    buf_free(&b);
    /* With a connection set-up time (smtp). */
    deliver_stats s2 = {.arrival = 1000000, .active = 1010000,
                        .handoff = 1020000, .conn_done = 1520000,
                        .done = 3000000};
    b = buf_new(1024);
    deliver_log_format(b, "ID", "a@b", NULL, "mx[1.2.3.4]:25", &s2, "2.0.0",
                       "sent", "250 ok");
    TEST_EQ_STR(buf_str(b), "ID: to=<a@b>, relay=mx[1.2.3.4]:25, delay=2, "
                            "delays=0.01/0.01/0.5/1.5, dsn=2.0.0, "
                            "status=sent (250 ok)");
    buf_free(&b);
}

int main(void)
{
    TEST_RUN(test_deliver_log_tv_table);
    TEST_RUN(test_deliver_log_tv_resolution);
    TEST_RUN(test_deliver_log_line_of_the_seed);
    TEST_RUN(test_deliver_log_orig_to);
    TEST_RUN(test_deliver_log_missing_stages);
    return test_done();
}
