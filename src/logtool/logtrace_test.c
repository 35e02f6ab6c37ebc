/*
 * logtrace_test - the correlation engine on small scenarios: each case is a
 * list of log lines, a query, and the queue IDs (in output order) and
 * outcomes that trace must find.
 */
#include "logtool/logtrace.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/mem.h"
#include "util/test.h"

typedef struct logtrace_case {
    const char *name;
    const char *lines[16];
    const char *query;
    const char *want[4];        /* queue IDs, "" for a pseudo message */
    const char *outcome[4];
} logtrace_case;

#define PF "Mar  1 10:00:00 mx postfix/"

/* clang-format off */
static const logtrace_case logtrace_cases[] = {
    {"delivered with session",
     {PF "smtpd[10]: connect from a.example[192.0.2.1]",
      PF "smtpd[10]: 1111111111: client=a.example[192.0.2.1]",
      PF "cleanup[11]: 1111111111: message-id=<m1@a.example>",
      PF "qmgr[12]: 1111111111: from=<s@a.example>, size=10, nrcpt=1 (queue active)",
      PF "smtpd[10]: disconnect from a.example[192.0.2.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
      PF "local[13]: 1111111111: to=<u@mx>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)",
      PF "qmgr[12]: 1111111111: removed", NULL},
     "m1@a.example", {"1111111111", NULL}, {"delivered", NULL}},
    {"bounce line before the new message's lines",
     {PF "qmgr[12]: 2222222222: from=<s@a.example>, size=10, nrcpt=1 (queue active)",
      PF "local[13]: 2222222222: to=<x@mx>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=5.1.1, status=bounced (unknown user: \"x\")",
      PF "bounce[14]: 2222222222: sender non-delivery notification: 3333333333",
      PF "qmgr[12]: 2222222222: removed",
      PF "cleanup[11]: 3333333333: message-id=<b@mx>",
      PF "qmgr[12]: 3333333333: from=<>, size=99, nrcpt=1 (queue active)", NULL},
     "3333333333", {"2222222222", "3333333333", NULL}, {"bounced", "in the queue (no delivery logged yet)", NULL}},
    {"NOQUEUE reject keeps its session",
     {PF "smtpd[20]: connect from b.example[192.0.2.2]",
      PF "smtpd[20]: NOQUEUE: reject: RCPT from b.example[192.0.2.2]: 554 5.7.1 <v@far.example>: Relay access denied; from=<s@b.example> to=<v@far.example> proto=ESMTP helo=<b>",
      PF "smtpd[20]: disconnect from b.example[192.0.2.2] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", NULL},
     "v@far.example", {"", NULL}, {"rejected (never queued)", NULL}},
    {"qmail number reused after end msg",
     {"@4000000064c12d2536a8b5ac info msg 77: bytes 5 from <a@q> qp 1 uid 2",
      "@4000000064c12d2536a8b5ad starting delivery 1: msg 77 to local a@q",
      "@4000000064c12d2536a8b5ae delivery 1: success: did_1+0+0/",
      "@4000000064c12d2536a8b5af end msg 77",
      "@4000000064c12d2636a8b5ac info msg 77: bytes 6 from <a@q> qp 3 uid 2",
      "@4000000064c12d2636a8b5ad starting delivery 2: msg 77 to remote z@far",
      "@4000000064c12d2636a8b5ae delivery 2: deferral: Connection_refused/", NULL},
     "a@q", {"77", "77", NULL}, {"delivered", "deferred (still in the queue)", NULL}},
    {"no match",
     {PF "qmgr[12]: 4444444444: removed", NULL},
     "nobody@nowhere", {NULL}, {NULL}},
    {"postie pop3d session: login joined to its end, by user",
     {"Dec  7 13:20:13 vm postie/pop3d[29886]: pop3-login: Login: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=29885, session=<InMe91rrkJqpZUbF>",
      "Dec  7 13:20:14 vm postie/pop3d[29901]: pop3-login: Disconnected (auth failed, 1 attempts in 1 secs): user=<bob>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, session=<YOlnTa5jMifQXLz8>",
      "Dec  7 13:20:15 vm postie/pop3d[29885]: pop3(alice)<29885><InMe91rrkJqpZUbF>: Disconnected: Logged out top=0/0, retr=1/318, del=1/2, size=653",
      "Dec  7 13:20:16 vm postie/pop3d[29902]: pop3-login: Disconnected (auth failed, 3 attempts in 3 secs): user=<alice>, method=PLAIN, rip=192.0.2.66, lip=127.0.0.1, session=<p26DzuB74v43vfzr>", NULL},
     "alice", {"", "", NULL}, {"logged in, session ended", "login failed", NULL}},
    {"domain query",
     {PF "qmgr[12]: 5555555555: from=<s@Example.ORG>, size=10, nrcpt=1 (queue active)", NULL},
     "@example.org", {"5555555555", NULL}, {"in the queue (no delivery logged yet)", NULL}},
};
/* clang-format on */

static void test_logtrace_cases(void)
{
    for (size_t c = 0; c < sizeof(logtrace_cases) / sizeof(logtrace_cases[0]); c++) {
        const logtrace_case *tc = &logtrace_cases[c];
        logtrace *t = logtrace_new(tc->query);
        logline_ctx ctx;
        logline_ctx_init(&ctx);
        for (int i = 0; tc->lines[i]; i++) {
            logline ll;
            logline_parse(&ctx, tc->lines[i], strlen(tc->lines[i]), &ll);
            logtrace_line(t, &ll);
        }
        logtrace_msg **v;
        size_t n = logtrace_matched(t, &v);
        int before = test_failures;
        size_t want = 0;
        while (tc->want[want])
            want++;
        TEST_EQ_INT(n, want);
        for (size_t i = 0; i < n && i < want; i++) {
            TEST_EQ_STR(v[i]->pseudo ? "" : v[i]->qid, tc->want[i]);
            TEST_EQ_STR(logtrace_print_outcome(v[i]), tc->outcome[i]);
        }
        if (test_failures != before)
            fprintf(stderr, "  in case: %s\n", tc->name);
        mem_free(&v);
        logtrace_free(&t);
    }
}

/* Memory stays bounded: finished, unmatched messages are dropped; a
 * matched one survives whatever follows. */
static void test_logtrace_caps(void)
{
    logtrace *t = logtrace_new("0000000001");
    logtrace_set_caps(t, 5, 3);
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    char line[256];
    for (int i = 1; i <= 100; i++) {
        logline ll;
        snprintf(line, sizeof(line), PF "qmgr[1]: %010d: from=<a@b>, size=1, nrcpt=1 (queue active)", i);
        logline_parse(&ctx, line, strlen(line), &ll);
        logtrace_line(t, &ll);
        if (i % 2 == 0) {
            snprintf(line, sizeof(line), PF "qmgr[1]: %010d: removed", i);
            logline_parse(&ctx, line, strlen(line), &ll);
            logtrace_line(t, &ll);
        }
    }
    const logtrace_stats *st = logtrace_stats_get(t);
    TEST_TRUE(st->open <= 5);
    TEST_TRUE(st->done_kept <= 3);
    TEST_EQ_INT(st->messages, 100);
    TEST_TRUE(st->evicted_open > 0);
    logtrace_msg **v;
    size_t n = logtrace_matched(t, &v);
    TEST_EQ_INT(n, 1);
    if (n == 1)
        TEST_EQ_STR(v[0]->qid, "0000000001");
    mem_free(&v);
    logtrace_free(&t);
}

static size_t logtrace_test_emitted;

static void logtrace_test_emit(logtrace *t, logtrace_msg **v, size_t n, void *ctx)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i]->done)
            TEST_FAIL_AT("emitted an unfinished message %s", v[i]->qid);
    logtrace_test_emitted += n;
}

/* A query that matches everything: finished groups are handed out on the
 * way, so only the finished-list cap of them is held at any time. */
static void test_logtrace_emit(void)
{
    logtrace *t = logtrace_new("a@b");
    logtrace_set_caps(t, 1000, 10);
    logtrace_set_emit(t, logtrace_test_emit, NULL);
    logtrace_test_emitted = 0;
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    char line[256];
    for (int i = 1; i <= 100; i++) {
        logline ll;
        snprintf(line, sizeof(line), PF "qmgr[1]: %010d: from=<a@b>, size=1, nrcpt=1 (queue active)", i);
        logline_parse(&ctx, line, strlen(line), &ll);
        logtrace_line(t, &ll);
        snprintf(line, sizeof(line), PF "qmgr[1]: %010d: removed", i);
        logline_parse(&ctx, line, strlen(line), &ll);
        logtrace_line(t, &ll);
    }
    logtrace_msg **v;
    size_t n = logtrace_matched(t, &v);
    TEST_EQ_INT(logtrace_test_emitted, 90);
    TEST_EQ_INT(n, 10);
    mem_free(&v);
    logtrace_free(&t);
}

static void test_logtrace_json(void)
{
    logtrace *t = logtrace_new("6666666666");
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    const char *l = PF "smtp[1]: 6666666666: to=<q\"uote@x>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to x[192.0.2.9]:25: Connection refused)";
    logline ll;
    logline_parse(&ctx, l, strlen(l), &ll);
    logtrace_line(t, &ll);
    logtrace_msg **v;
    size_t n = logtrace_matched(t, &v);
    TEST_EQ_INT(n, 1);
    buf *out = buf_new(1 << 20);
    if (n == 1)
        logtrace_print_json(v[0], out);
    TEST_TRUE(strstr(buf_str(out), "\"to\":\"q\\\"uote@x\"") != NULL);
    TEST_TRUE(strstr(buf_str(out), "\"in_queue\":true") != NULL);
    TEST_TRUE(strstr(buf_str(out), "\"delays_dominant\":\"c\"") != NULL);
    buf_free(&out);
    mem_free(&v);
    logtrace_free(&t);
}

int main(void)
{
    TEST_RUN(test_logtrace_cases);
    TEST_RUN(test_logtrace_caps);
    TEST_RUN(test_logtrace_emit);
    TEST_RUN(test_logtrace_json);
    return test_done();
}
