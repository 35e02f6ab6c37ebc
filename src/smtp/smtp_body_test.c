/*
 * smtp_body_test - CRLF, dot-stuffing and the end of data, fed whole and
 * one byte at a time (the state must carry across pieces).
 */
#include "smtp/smtp_body.h"

#include "util/test.h"

static void test_body_cases(void)
{
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"a\nb\n", "a\r\nb\r\n.\r\n"},
        {"a\nb", "a\r\nb\r\n.\r\n"},
        {"", ".\r\n"},
        {".\n", "..\r\n.\r\n"},
        {"x\n.y\n..\n", "x\r\n..y\r\n...\r\n.\r\n"},
        {"a.b\n", "a.b\r\n.\r\n"},
        /* Bare CR (RFC 5321 section 2.3.8): a line end, merged with an
         * LF after it; the dot after it is stuffed. */
        {"a\r\nb\n", "a\r\nb\r\n.\r\n"},
        {"x\r.\ry\n", "x\r\n..\r\ny\r\n.\r\n"},
        {"x\r.\r\n", "x\r\n..\r\n.\r\n"},
        {"a\r", "a\r\n.\r\n"},
        {"\r\r.", "\r\n\r\n..\r\n.\r\n"},
        {"a\rb", "a\r\nb\r\n.\r\n"},
        {"\n\n", "\r\n\r\n.\r\n"},
        {".", "..\r\n.\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            buf *out = buf_new(1024);
            smtp_body b;
            smtp_body_init(&b);
            size_t n = strlen(cases[i].in);
            if (bytewise) {
                for (size_t j = 0; j < n; j++)
                    TEST_EQ_INT(smtp_body_encode(&b, cases[i].in + j, 1, out), 0);
            } else {
                TEST_EQ_INT(smtp_body_encode(&b, cases[i].in, n, out), 0);
            }
            TEST_EQ_INT(smtp_body_end(&b, out), 0);
            TEST_EQ_STR(out->data, cases[i].want);
            buf_free(&out);
        }
    }
}

int main(void)
{
    TEST_RUN(test_body_cases);
    return test_done();
}
