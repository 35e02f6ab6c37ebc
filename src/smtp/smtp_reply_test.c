/*
 * smtp_reply_test - reply parsing: single and multi-line replies, the
 * enhanced status code and its class check, malformed lines.
 */
#include "smtp/smtp_reply.h"

#include "util/test.h"

static void test_reply_cases(void)
{
    static const struct {
        const char *lines[4];
        int want_ret;        /* of the last line */
        int code;
        const char *dsn;
        const char *text;
    } cases[] = {
        {{"250 2.0.0 Ok: queued as ABC"}, 1, 250, "2.0.0",
         "250 2.0.0 Ok: queued as ABC"},
        {{"250 Ok"}, 1, 250, "2.0.0", "250 Ok"},
        {{"550 5.1.1 <bob@x>: Recipient address rejected"}, 1, 550, "5.1.1",
         "550 5.1.1 <bob@x>: Recipient address rejected"},
        {{"450 4.2.0 busy"}, 1, 450, "4.2.0", "450 4.2.0 busy"},
        /* enhanced code of the wrong class is not the status */
        {{"550 4.1.1 odd"}, 1, 550, "5.0.0", "550 4.1.1 odd"},
        {{"250-mx.example", "250-PIPELINING", "250 SIZE 1000"}, 1, 250,
         "2.0.0", "250-mx.example 250-PIPELINING 250 SIZE 1000"},
        {{"550-5.7.1 first", "550 5.7.1 second"}, 1, 550, "5.7.1",
         "550-5.7.1 first 550 5.7.1 second"},
        {{"354"}, 1, 354, "3.0.0", "354"},
        {{"220-a", "220"}, 1, 220, "2.0.0", "220-a 220"},
        {{"250-a"}, 0, 250, "2.0.0", "250-a"},
        {{"250-a", "251 b"}, -1, 0, NULL, NULL},   /* code changed */
        {{"25"}, -1, 0, NULL, NULL},
        {{"650 x"}, -1, 0, NULL, NULL},
        {{"250x"}, -1, 0, NULL, NULL},
        {{"hello"}, -1, 0, NULL, NULL},
        {{"250 5.5"}, 1, 250, "2.0.0", "250 5.5"},
        {{"250 2.1234.1 x"}, 1, 250, "2.0.0", "250 2.1234.1 x"},
        {{"250 2.1.5"}, 1, 250, "2.1.5", "250 2.1.5"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        smtp_reply r;
        smtp_reply_init(&r);
        int ret = 0;
        for (int l = 0; l < 4 && cases[i].lines[l]; l++)
            ret = smtp_reply_line(&r, cases[i].lines[l],
                                  strlen(cases[i].lines[l]));
        TEST_EQ_INT(ret, cases[i].want_ret);
        if (ret < 0)
            continue;
        TEST_EQ_INT(r.code, cases[i].code);
        TEST_EQ_STR(r.dsn, cases[i].dsn);
        TEST_EQ_STR(r.text, cases[i].text);
    }
}

static void test_reply_limits(void)
{
    /* A reply longer than the text limit is cut, never overflows; more
     * lines than the limit are malformed. */
    smtp_reply r;
    smtp_reply_init(&r);
    char line[600];
    memset(line, 'x', sizeof(line));
    memcpy(line, "250-", 4);
    int ret = 0;
    for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
        ret = smtp_reply_line(&r, line, sizeof(line));
    TEST_EQ_INT(ret, 0);
    TEST_EQ_INT(r.text_len, SMTP_REPLY_TEXT_MAX);
    TEST_EQ_INT(smtp_reply_line(&r, "250 end", 7), -1);
}

int main(void)
{
    TEST_RUN(test_reply_cases);
    TEST_RUN(test_reply_limits);
    return test_done();
}
