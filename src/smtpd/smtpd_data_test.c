/*
 * smtpd_data_test - content stream cases: dot-unstuffing, CRLF to LF, the
 * end of data only at CRLF.CRLF (SMTP smuggling, CVE-2023-51764), bare LF
 * and CR, long lines, input split at every byte.
 */
#include "smtpd/smtpd_data.h"

#include <string.h>

#include "util/buf.h"
#include "util/test.h"

static void collect(const char *line, size_t len, void *ctx)
{
    buf *out = ctx;
    buf_append(out, line, len);
    buf_putc(out, '\n');
}

static const struct {
    const char *name;
    const char *in;
    const char *want;     /* stored content */
    int done;             /* end of data seen */
    size_t used;          /* octets consumed, or 0 for all */
    unsigned bare_lf;
} cases[] = {
    {"plain", "a\r\nb\r\n.\r\n", "a\nb\n", 1, 0, 0},
    {"empty message", ".\r\n", "", 1, 0, 0},
    {"stops after the end", "a\r\n.\r\nQUIT\r\n", "a\n", 1, 6, 0},
    {"dot unstuffing", "..x\r\n..\r\n.\r\n", ".x\n.\n", 1, 0, 0},
    {"bare LF line end", "a\nb\r\n.\r\n", "a\nb\n", 1, 0, 1},
    {"LF.LF is not the end", "a\n.\nb\r\n.\r\n", "a\n.\nb\n", 1, 0, 2},
    {"CRLF.LF is not the end", "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n",
     "a\n.\nMAIL FROM:<x@y>\n", 1, 0, 1},
    {"LF.CRLF is not the end", "a\n.\r\nRCPT TO:<x@y>\r\n.\r\n",
     "a\n.\nRCPT TO:<x@y>\n", 1, 0, 1},
    {"CR.CR is content", "a\r.\rb\r\n.\r\n", "a\r.\rb\n", 1, 0, 0},
    {"bare CR before CRLF.CRLF", "a\r\r\n.\r\n", "a\r\n", 1, 0, 0},
    {"no end yet", "a\r\nb", "a\n", 0, 0, 0},
};

static void run_case(size_t i, size_t step)
{
    buf *out = buf_new(1 << 16);
    smtpd_data d = {0};
    smtpd_data_init(&d, true, collect, out);
    const char *in = cases[i].in;
    size_t n = strlen(in), pos = 0;
    while (pos < n && !d.done) {
        size_t k = n - pos < step ? n - pos : step;
        size_t used = smtpd_data_feed(&d, in + pos, k);
        pos += used;
        if (used < k)
            break;
    }
    TEST_EQ_STR(out->data, cases[i].want);
    TEST_EQ_INT(d.done, cases[i].done);
    TEST_EQ_INT(pos, cases[i].used ? cases[i].used : n);
    TEST_EQ_INT(d.bare_lf, cases[i].bare_lf);
    TEST_EQ_INT(d.size, strlen(cases[i].want));
    smtpd_data_free(&d);
    buf_free(&out);
}

static void test_cases_whole_and_byte_by_byte(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].name;
        run_case(i, 1 << 20);
        run_case(i, 1);
        run_case(i, 3);
    }
}

static void test_long_line_is_counted_not_kept(void)
{
    char in[3000];
    memset(in, 'x', 2000);
    strcpy(in + 2000, "\r\nshort\r\n.\r\n");
    buf *out = buf_new(1 << 16);
    smtpd_data d = {0};
    smtpd_data_init(&d, true, collect, out);
    smtpd_data_feed(&d, in, strlen(in));
    TEST_EQ_INT(d.done, 1);
    TEST_EQ_INT(d.long_lines, 1);
    /* 998 octets plus CRLF is the longest legal line. */
    smtpd_data_init(&d, true, collect, out);
    memset(in, 'y', 998);
    strcpy(in + 998, "\r\n.\r\n");
    smtpd_data_feed(&d, in, strlen(in));
    TEST_EQ_INT(d.long_lines, 0);
    smtpd_data_init(&d, true, collect, out);
    memset(in, 'y', 999);
    strcpy(in + 999, "\r\n.\r\n");
    smtpd_data_feed(&d, in, strlen(in));
    TEST_EQ_INT(d.long_lines, 1);
    smtpd_data_free(&d);
    buf_free(&out);
}

static void test_bdat_mode_has_no_dots_and_no_end(void)
{
    buf *out = buf_new(1 << 16);
    smtpd_data d = {0};
    smtpd_data_init(&d, false, collect, out);
    const char *in = "..a\r\n.\r\nb\r";
    TEST_EQ_INT(smtpd_data_feed(&d, in, strlen(in)), strlen(in));
    TEST_EQ_INT(d.done, 0);
    smtpd_data_feed(&d, "\nc", 2);
    smtpd_data_finish(&d);
    TEST_EQ_STR(out->data, "..a\n.\nb\nc\n");
    TEST_EQ_INT(d.bare_lf, 0);
    smtpd_data_free(&d);
    buf_free(&out);
}

int main(void)
{
    TEST_RUN(test_cases_whole_and_byte_by_byte);
    TEST_RUN(test_long_line_is_counted_not_kept);
    TEST_RUN(test_bdat_mode_has_no_dots_and_no_end);
    return test_done();
}
