/*
 * dsn_param_test - RFC 3461 parameters: xtext both ways, NOTIFY, RET,
 * ORCPT, ENVID; table-driven.
 */
#include "global/dsn_param.h"

#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/test.h"

static void test_xtext_decode(void)
{
    static const struct {
        const char *in;
        const char *want; /* NULL: refused */
    } cases[] = {
        {"bob@example.org", "bob@example.org"},
        {"a+2Bb@example.org", "a+b@example.org"},      /* "+" itself */
        {"a+3Db", "a=b"},                               /* "=" itself */
        {"x+20y", "x y"},                               /* space */
        {"lower+2bcase", "lower+case"},                 /* lenient hex case */
        {"", ""},
        {"a+2", NULL},                                  /* short escape */
        {"a+", NULL},
        {"a+zz", NULL},
        {"a=b", NULL},                                  /* raw "=" */
        {"a b", NULL},                                  /* raw space */
        {"a+0Db", NULL},                                /* decoded CR */
        {"a+09b", NULL},                                /* decoded TAB */
        {"a+00b", NULL},                                /* decoded NUL */
        {"a+C3+A9", NULL},                              /* 8-bit */
        {"\xc3\xa9", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf *b = buf_new(100);
        int r = dsn_param_xtext_decode(cases[i].in, strlen(cases[i].in), b);
        if (cases[i].want == NULL)
            TEST_EQ_INT(r, -1);
        else {
            TEST_EQ_INT(r, 0);
            TEST_EQ_STR(b->data, cases[i].want);
        }
        buf_free(&b);
    }
    /* Longer than the buffer's maximum: refused, not cut. */
    buf *small = buf_new(3);
    TEST_EQ_INT(dsn_param_xtext_decode("abcd", 4, small), -1);
    buf_free(&small);
}

static void test_xtext_encode_round_trip(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"bob@example.org", "bob@example.org"},
        {"a+b=c", "a+2Bb+3Dc"},
        {"two words", "two+20words"},
        {"caf\xc3\xa9", "caf+C3+A9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf *b = buf_new(200);
        TEST_EQ_INT(dsn_param_xtext_encode(cases[i].in, b), 0);
        TEST_EQ_STR(b->data, cases[i].want);
        buf_free(&b);
    }
    /* Printable ASCII survives encode then decode. */
    char all[96];
    for (int c = 32; c < 127; c++)
        all[c - 32] = (char)c;
    all[95] = '\0';
    buf *e = buf_new(400), *d = buf_new(400);
    TEST_EQ_INT(dsn_param_xtext_encode(all, e), 0);
    TEST_EQ_INT(dsn_param_xtext_decode(e->data, e->len, d), 0);
    TEST_EQ_STR(d->data, all);
    buf_free(&e);
    buf_free(&d);
}

static void test_notify(void)
{
    static const struct {
        const char *in;
        int want;
        const char *fmt;
    } cases[] = {
        {"NEVER", DSN_NOTIFY_NEVER, "NEVER"},
        {"SUCCESS", DSN_NOTIFY_SUCCESS, "SUCCESS"},
        {"failure,delay", DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, "FAILURE,DELAY"},
        {"DELAY,SUCCESS,FAILURE", DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
         "SUCCESS,FAILURE,DELAY"},
        {"NEVER,SUCCESS", -1, NULL},      /* section 4.1: NEVER alone */
        {"SUCCESS,SUCCESS", -1, NULL},
        {"", -1, NULL},
        {"SUCCESS,", -1, NULL},
        {",SUCCESS", -1, NULL},
        {"SOMETIMES", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int bits = dsn_param_notify_parse(cases[i].in);
        TEST_EQ_INT(bits, cases[i].want);
        if (bits > 0) {
            char out[64];
            dsn_param_notify_format(bits, out, sizeof(out));
            TEST_EQ_STR(out, cases[i].fmt);
        }
    }
    /* Not given: failures and delays, never success (section 4.1). */
    TEST_TRUE(dsn_param_notify_wants(0, DSN_NOTIFY_FAILURE));
    TEST_TRUE(dsn_param_notify_wants(0, DSN_NOTIFY_DELAY));
    TEST_TRUE(!dsn_param_notify_wants(0, DSN_NOTIFY_SUCCESS));
    TEST_TRUE(!dsn_param_notify_wants(DSN_NOTIFY_NEVER, DSN_NOTIFY_FAILURE));
    TEST_TRUE(dsn_param_notify_wants(DSN_NOTIFY_SUCCESS, DSN_NOTIFY_SUCCESS));
    TEST_TRUE(!dsn_param_notify_wants(DSN_NOTIFY_SUCCESS, DSN_NOTIFY_FAILURE));
    TEST_EQ_INT(dsn_param_notify_attr(NULL), 0);
    TEST_EQ_INT(dsn_param_notify_attr("garbage"), 0);
    TEST_EQ_INT(dsn_param_notify_attr("NEVER"), DSN_NOTIFY_NEVER);
}

/* What a forwarded copy keeps of the original's NOTIFY (dsn_param.h). */
static void test_notify_forwarded(void)
{
    static const struct { int in, out; } cases[] = {
        {0, 0},
        {DSN_NOTIFY_NEVER, DSN_NOTIFY_NEVER},
        {DSN_NOTIFY_SUCCESS, DSN_NOTIFY_NEVER},
        {DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE, DSN_NOTIFY_FAILURE},
        {DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY,
         DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY},
        {DSN_NOTIFY_FAILURE, DSN_NOTIFY_FAILURE},
        {DSN_NOTIFY_DELAY, DSN_NOTIFY_DELAY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TEST_EQ_INT(dsn_param_notify_forwarded(cases[i].in), cases[i].out);
}

static void test_ret_orcpt_envid(void)
{
    TEST_EQ_INT(dsn_param_ret_parse("FULL"), DSN_RET_FULL);
    TEST_EQ_INT(dsn_param_ret_parse("hdrs"), DSN_RET_HDRS);
    TEST_EQ_INT(dsn_param_ret_parse("ALL"), -1);

    static const struct {
        const char *in, *want;
    } orcpts[] = {
        {"rfc822;bob@example.org", "rfc822;bob@example.org"},
        {"RFC822;a+2Bb@example.org", "RFC822;a+b@example.org"},
        {"x-local;joe", "x-local;joe"},
        {"rfc822;", NULL},
        {";bob@example.org", NULL},
        {"bob@example.org", NULL},
        {"rf c822;bob", NULL},
        {"rfc822;bob+0Aevil", NULL},
    };
    for (size_t i = 0; i < sizeof(orcpts) / sizeof(orcpts[0]); i++) {
        char *out = NULL;
        int r = dsn_param_orcpt_parse(orcpts[i].in, &out);
        TEST_EQ_INT(r, orcpts[i].want ? 0 : -1);
        if (orcpts[i].want)
            TEST_EQ_STR(out, orcpts[i].want);
        mem_free(&out);
    }
    char big[DSN_ORCPT_MAX + 20];
    memcpy(big, "rfc822;", 7);
    memset(big + 7, 'a', DSN_ORCPT_MAX + 1);
    big[7 + DSN_ORCPT_MAX + 1] = '\0';
    char *out = NULL;
    TEST_EQ_INT(dsn_param_orcpt_parse(big, &out), -1);

    TEST_EQ_INT(dsn_param_envid_parse("QQ314159+2Bx", &out), 0);
    TEST_EQ_STR(out, "QQ314159+x");
    mem_free(&out);
    TEST_EQ_INT(dsn_param_envid_parse("", &out), -1);
    char envid[DSN_ENVID_MAX + 2];
    memset(envid, 'e', sizeof(envid) - 1);
    envid[sizeof(envid) - 1] = '\0';
    TEST_EQ_INT(dsn_param_envid_parse(envid, &out), -1);
}

int main(void)
{
    TEST_RUN(test_xtext_decode);
    TEST_RUN(test_xtext_encode_round_trip);
    TEST_RUN(test_notify);
    TEST_RUN(test_notify_forwarded);
    TEST_RUN(test_ret_orcpt_envid);
    return test_done();
}
