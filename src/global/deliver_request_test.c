/*
 * deliver_request_test - the qmgr <-> agent protocol: round trip, bad
 * requests refused, reply lines, DSN codes.
 */
#include "global/deliver_request.h"

#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/test.h"

static void test_deliver_request_round_trip(void)
{
    deliver_request r = {.sender = (char[]){"alice@example.org"},
                         .nexthop = (char[]){"example.org"},
                         .arrival = 1763913600123456LL,
                         .active = 1763913600200000LL,
                         .handoff = 1763913600210000LL,
                         .retry = 1};
    strcpy(r.id, "3F2A91C07B12");
    deliver_request_add_rcpt(&r, 0, "bob@example.org", NULL);
    deliver_request_add_rcpt(&r, 7, "\"john doe\"@example.org",
                             "rfc822;john@example.org");
    buf *b = buf_new(DELIVER_REQUEST_MAX);
    TEST_EQ_INT(deliver_request_format(b, &r), 0);
    TEST_EQ_STR(buf_str(b), "id=3F2A91C07B12\nsender=alice@example.org\n"
                            "nexthop=example.org\narrival=1763913600123456\n"
                            "active=1763913600200000\nhandoff=1763913600210000\n"
                            "retry=1\n"
                            "rcpt=0 bob@example.org\n"
                            "rcpt=7 \"john doe\"@example.org\n"
                            "orcpt=7 rfc822;john@example.org\n\n");
    deliver_request *p = NULL;
    const char *why = NULL;
    TEST_EQ_INT(deliver_request_parse(b->data, b->len, &p, &why), 0);
    if (p) {
        TEST_EQ_STR(p->id, "3F2A91C07B12");
        TEST_EQ_STR(p->sender, "alice@example.org");
        TEST_EQ_INT(p->arrival, 1763913600123456LL);
        TEST_EQ_INT(p->nrcpt, 2);
        TEST_EQ_INT(p->retry, 1);
        TEST_EQ_STR(p->rcpts[1].addr, "\"john doe\"@example.org");
        TEST_EQ_STR(p->rcpts[1].orcpt, "rfc822;john@example.org");
        TEST_TRUE(p->rcpts[0].orcpt == NULL);
    }
    deliver_request_free(&p);
    for (size_t i = 0; i < r.nrcpt; i++) {
        mem_free(&r.rcpts[i].addr);
        mem_free(&r.rcpts[i].orcpt);
    }
    mem_free(&r.rcpts);
    buf_free(&b);
}

static void test_deliver_request_refuses_bad_input(void)
{
    static const struct { const char *text; int ok; } cases[] = {
        {"id=3F2A91C07B12\nsender=\nrcpt=0 a@b\n\n", 1},
        {"id=3F2A91C07B12\nsender=\nrcpt=0 a@b\nfuture=thing\n\n", 1},
        {"id=3F2A91C07B12\nsender=\nrcpt=0 a@b\n", 0},          /* no end */
        {"id=3F2A91C07B12\nsender=\n\n", 0},                    /* no rcpt */
        {"id=../../etc/pass\nsender=\nrcpt=0 a@b\n\n", 0},      /* not an ID */
        {"id=3f2a91c07b12\nsender=\nrcpt=0 a@b\n\n", 0},        /* lower case */
        {"id=3F2A91C07B12\nsender=a\tb\nrcpt=0 a@b\n\n", 0},    /* control */
        {"id=3F2A91C07B12\nsender=\nrcpt=x a@b\n\n", 0},
        {"id=3F2A91C07B12\nsender=\nrcpt=-1 a@b\n\n", 0},
        {"id=3F2A91C07B12\nsender=\nrcpt=0 a@b\norcpt=1 x\n\n", 0},
        {"id=3F2A91C07B12\nsender=\nrcpt=0 a@b\narrival=12x\n\n", 0},
        {"garbage\n\n", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        deliver_request *p = NULL;
        const char *why = NULL;
        int r = deliver_request_parse(cases[i].text, strlen(cases[i].text), &p, &why);
        TEST_EQ_INT(r == 0, cases[i].ok);
        deliver_request_free(&p);
    }
    /* A NUL byte inside a line. */
    const char nul[] = "id=3F2A91C07B12\nsender=a\0b\nrcpt=0 a@b\n\n";
    deliver_request *p = NULL;
    const char *why = NULL;
    TEST_EQ_INT(deliver_request_parse(nul, sizeof(nul) - 1, &p, &why), -1);
}

static void test_deliver_reply_lines(void)
{
    buf *b = buf_new(1024);
    deliver_reply_format(b, 3, "4.2.0", "cannot\nwrite");
    TEST_EQ_STR(buf_str(b), "3 4.2.0 cannot?write\n");
    buf_free(&b);
    static const struct { const char *line; int ok, idx; const char *dsn, *text; } cases[] = {
        {"0 2.0.0 delivered to maildir", 1, 0, "2.0.0", "delivered to maildir"},
        {"12 5.1.1 unknown user: \"x\"", 1, 12, "5.1.1", "unknown user: \"x\""},
        {"0 4.3.0", 1, 0, "4.3.0", ""},
        {"0 3.0.0 what", 0, 0, NULL, NULL},
        {"0 2.0 short", 0, 0, NULL, NULL},
        {"0 2.0.0000 long", 0, 0, NULL, NULL},
        {"x 2.0.0 ok", 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int idx = -1;
        char dsn[16] = "";
        const char *text = NULL;
        int r = deliver_reply_parse(cases[i].line, &idx, dsn, &text);
        TEST_EQ_INT(r == 0, cases[i].ok);
        if (r == 0) {
            TEST_EQ_INT(idx, cases[i].idx);
            TEST_EQ_STR(dsn, cases[i].dsn);
            TEST_EQ_STR(text, cases[i].text);
        }
    }
    TEST_EQ_STR(deliver_dsn_status("2.0.0"), "sent");
    TEST_EQ_STR(deliver_dsn_status("4.2.2"), "deferred");
    TEST_EQ_STR(deliver_dsn_status("5.4.6"), "bounced");
}

/* The optional "dead=" line: round trip, what counts as one, and that a
 * result line or "release" is never taken for one (old replies stay
 * valid). */
static void test_deliver_dead_line(void)
{
    buf *b = buf_new(1024);
    deliver_dead_format(b, "4.4.1",
                        "connect to mx[127.0.0.1]:25: Connection\nrefused");
    TEST_EQ_STR(buf_str(b),
                "dead=4.4.1 connect to mx[127.0.0.1]:25: Connection?refused\n");
    buf_free(&b);
    static const struct { const char *line; int r; const char *dsn, *text; } cases[] = {
        {"dead=4.4.1 connect to mx[127.0.0.1]:25: Connection refused", 1,
         "4.4.1", "connect to mx[127.0.0.1]:25: Connection refused"},
        {"dead=4.4.3 Host or domain name not found", 1, "4.4.3",
         "Host or domain name not found"},
        {"dead=4.4.1", 1, "4.4.1", ""},
        {"dead=5.4.4 no such domain", -1, NULL, NULL},  /* permanent: no */
        {"dead=2.0.0 fine", -1, NULL, NULL},
        {"dead=4.4 short", -1, NULL, NULL},
        {"dead= text", -1, NULL, NULL},
        {"dead=", -1, NULL, NULL},
        {"0 4.4.1 connect to mx: Connection refused", 0, NULL, NULL},
        {"release", 0, NULL, NULL},
        {"dead 4.4.1 x", 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char dsn[16] = "";
        const char *text = NULL;
        int r = deliver_dead_parse(cases[i].line, dsn, &text);
        TEST_EQ_INT(r, cases[i].r);
        if (r == 1) {
            TEST_EQ_STR(dsn, cases[i].dsn);
            TEST_EQ_STR(text, cases[i].text);
        }
    }
}

/* The optional "dsn_passed=" line: round trip, and that no other line
 * (a result, "release", "dead=") is taken for one. */
static void test_deliver_dsn_passed_line(void)
{
    buf *b = buf_new(64);
    deliver_dsn_passed_format(b, 7);
    TEST_EQ_STR(buf_str(b), "dsn_passed=7\n");
    buf_free(&b);
    static const struct { const char *line; int r, index; } cases[] = {
        {"dsn_passed=7", 1, 7},
        {"dsn_passed=0", 1, 0},
        {"dsn_passed=", -1, 0},
        {"dsn_passed=-1", -1, 0},
        {"dsn_passed= 1", -1, 0},
        {"dsn_passed=1 x", -1, 0},
        {"dsn_passed=99999999999", -1, 0},
        {"0 2.0.0 Ok: queued", 0, 0},
        {"release", 0, 0},
        {"dead=4.4.1 x", 0, 0},
        {"dsn_passed", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int index = -5;
        int r = deliver_dsn_passed_parse(cases[i].line, &index);
        TEST_EQ_INT(r, cases[i].r);
        if (r == 1)
            TEST_EQ_INT(index, cases[i].index);
    }
}

int main(void)
{
    TEST_RUN(test_deliver_request_round_trip);
    TEST_RUN(test_deliver_request_refuses_bad_input);
    TEST_RUN(test_deliver_reply_lines);
    TEST_RUN(test_deliver_dead_line);
    TEST_RUN(test_deliver_dsn_passed_line);
    return test_done();
}
