/*
 * buf_test - the bounded buffer: appends up to the maximum and not one byte
 * past it, printf growth, consume and truncate.
 */
#include "util/buf.h"

#include "util/test.h"

static void test_buf_append_stops_at_max(void)
{
    static const struct {
        size_t max;
        const char *parts[4];
        const char *want;
        int want_rc[4];
    } cases[] = {
        {5, {"ab", "cd", "e", NULL}, "abcde", {0, 0, 0}},
        {5, {"abc", "def", NULL}, "abc", {0, -1}},     /* refused whole */
        {5, {"abcdef", "ab", NULL}, "ab", {-1, 0}},
        {0, {"", "x", NULL}, "", {0, -1}},
        {1000, {"a", "", "b", NULL}, "ab", {0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf *b = buf_new(cases[i].max);
        for (int j = 0; cases[i].parts[j]; j++)
            TEST_EQ_INT(buf_puts(b, cases[i].parts[j]), cases[i].want_rc[j]);
        TEST_EQ_STR(buf_str(b), cases[i].want);
        TEST_EQ_INT(b->len, strlen(cases[i].want));
        TEST_TRUE(b->len <= b->max);
        buf_free(&b);
        TEST_TRUE(b == NULL);
    }
}

static void test_buf_grows_past_first_allocation(void)
{
    buf *b = buf_new(1 << 20);
    char chunk[1000];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 100; i++)
        TEST_EQ_INT(buf_append(b, chunk, sizeof(chunk)), 0);
    TEST_EQ_INT(b->len, 100000);
    TEST_EQ_INT(b->data[b->len], '\0');
    TEST_EQ_INT(b->data[99999], 'x');
    buf_free(&b);
}

static void test_buf_holds_nul_bytes(void)
{
    buf *b = buf_new(16);
    TEST_EQ_INT(buf_append(b, "a\0b", 3), 0);
    TEST_EQ_INT(b->len, 3);
    TEST_EQ_INT(memcmp(b->data, "a\0b", 4), 0); /* and the closing NUL */
    buf_free(&b);
}

static void test_buf_printf(void)
{
    buf *b = buf_new(64);
    TEST_EQ_INT(buf_printf(b, "%s=%d", "n", 42), 0);
    TEST_EQ_INT(buf_printf(b, ",%05d", 7), 0);
    TEST_EQ_STR(buf_str(b), "n=42,00007");
    /* Longer than the first allocation: formatted again after growing. */
    buf *big = buf_new(4096);
    TEST_EQ_INT(buf_printf(big, "%0300d|", 1), 0);
    TEST_EQ_INT(big->len, 301);
    TEST_EQ_INT(big->data[299], '1');
    buf_free(&big);
    /* Past the maximum: -1 and the content unchanged. */
    TEST_EQ_INT(buf_printf(b, "%100s", "x"), -1);
    TEST_EQ_STR(buf_str(b), "n=42,00007");
    buf_free(&b);
}

static void test_buf_consume_truncate_reset(void)
{
    buf *b = buf_new(64);
    buf_puts(b, "HELO x\r\nQUIT\r\n");
    buf_consume(b, 8);
    TEST_EQ_STR(buf_str(b), "QUIT\r\n");
    buf_truncate(b, 4);
    TEST_EQ_STR(buf_str(b), "QUIT");
    buf_consume(b, 4);
    TEST_EQ_STR(buf_str(b), "");
    TEST_EQ_INT(b->len, 0);
    buf_puts(b, "again");
    buf_reset(b);
    TEST_EQ_INT(b->len, 0);
    TEST_EQ_STR(buf_str(b), "");
    TEST_EQ_INT(buf_putc(b, 'z'), 0);
    TEST_EQ_STR(buf_str(b), "z");
    buf_free(&b);
}

int main(void)
{
    TEST_RUN(test_buf_append_stops_at_max);
    TEST_RUN(test_buf_grows_past_first_allocation);
    TEST_RUN(test_buf_holds_nul_bytes);
    TEST_RUN(test_buf_printf);
    TEST_RUN(test_buf_consume_truncate_reset);
    return test_done();
}
