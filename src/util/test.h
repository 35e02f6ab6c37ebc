/*
 * test - the unit-test harness: tests live beside their module as
 * <module>_test.c, are table-driven, and print both values on failure.
 *
 *   static void test_x(void) { TEST_EQ_INT(f(1), 2); }
 *   int main(void) { TEST_RUN(test_x); return test_done(); }
 */
#ifndef POSTIE_UTIL_TEST_H
#define POSTIE_UTIL_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;
static const char *test_current = "?";

#define TEST_FAIL_AT(...)                                                     \
    do {                                                                      \
        test_failures++;                                                      \
        fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, test_current);    \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
    } while (0)

#define TEST_TRUE(c)                                                          \
    do {                                                                      \
        test_checks++;                                                        \
        if (!(c))                                                             \
            TEST_FAIL_AT("expected true: %s", #c);                            \
    } while (0)

#define TEST_EQ_INT(got, want)                                                \
    do {                                                                      \
        long long g_ = (long long)(got), w_ = (long long)(want);              \
        test_checks++;                                                        \
        if (g_ != w_)                                                         \
            TEST_FAIL_AT("%s: got %lld, want %lld", #got, g_, w_);            \
    } while (0)

#define TEST_EQ_STR(got, want)                                                \
    do {                                                                      \
        const char *g_ = (got), *w_ = (want);                                 \
        test_checks++;                                                        \
        if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0)        \
            TEST_FAIL_AT("%s: got \"%s\", want \"%s\"", #got,                 \
                         g_ ? g_ : "(null)", w_ ? w_ : "(null)");             \
    } while (0)

#define TEST_RUN(fn)                                                          \
    do {                                                                      \
        test_current = #fn;                                                   \
        fn();                                                                 \
    } while (0)

static inline int test_done_at(const char *file)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", file, test_checks,
            test_failures);
    return test_failures ? 1 : 0;
}
#define test_done() test_done_at(__FILE__)

#endif
