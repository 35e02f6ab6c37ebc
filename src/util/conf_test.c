/*
 * conf_test - main.cf syntax: comments, continuation lines, later
 * definitions win, each syntax problem reported with its line; list, time,
 * number and boolean values.
 */
#include "util/conf.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/test.h"

typedef struct report {
    buf *b;
} report;

static void conf_test_report(const char *path, int line, const char *text,
                             void *ctx)
{
    report *r = ctx;
    buf_printf(r->b, "%s:%d: %s\n", path, line, text);
}

static void test_conf_parse_values_and_lines(void)
{
    static const char text[] =
        "# comment\n"                          /* 1 */
        "myhostname = mx.example.org\n"        /* 2 */
        "\n"                                   /* 3 */
        "mydestination = $myhostname,\n"       /* 4 */
        "    localhost\n"                      /* 5: continues 4 */
        "  # an indented comment ends nothing\n" /* 6 */
        "\tlocalhost.$mydomain\n"              /* 7: continues 4 too */
        "empty =\n"                            /* 8 */
        "spaced   =   a  b   \n"               /* 9 */
        "myhostname = later.example.org\n";    /* 10: wins */
    report r = {buf_new(4096)};
    conf *c = conf_parse(text, "t.conf", conf_test_report, &r);
    TEST_EQ_STR(buf_str(r.b), "");
    TEST_EQ_STR(conf_raw(c, "myhostname"), "later.example.org");
    TEST_EQ_INT(conf_find(c, "myhostname")->line, 10);
    TEST_EQ_STR(conf_raw(c, "mydestination"),
                "$myhostname, localhost localhost.$mydomain");
    TEST_EQ_INT(conf_find(c, "mydestination")->line, 4);
    TEST_EQ_STR(conf_raw(c, "empty"), "");
    TEST_EQ_STR(conf_raw(c, "spaced"), "a  b");
    TEST_TRUE(conf_raw(c, "absent") == NULL);
    TEST_EQ_STR(c->path, "t.conf");
    conf_free(&c);
    TEST_TRUE(c == NULL);
    buf_free(&r.b);
}

static void test_conf_reports_each_problem_with_its_line(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"  orphan\n", "t:1: continuation line without a parameter\n"},
        {"a = 1\nno equals\n", "t:2: missing '=' after parameter name\n"},
        {"= value\n", "t:1: missing parameter name before '='\n"},
        {"bad name = 1\n", "t:1: bad character in parameter name\n"},
        {"x = 1\n\nbad$ = 2\ny = 3\n", "t:3: bad character in parameter name\n"},
        {"a = 1\n  b\nc\n", "t:3: missing '=' after parameter name\n"},
        {"last = no newline", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        report r = {buf_new(4096)};
        conf *c = conf_parse(cases[i].text, "t", conf_test_report, &r);
        TEST_EQ_STR(buf_str(r.b), cases[i].want);
        conf_free(&c);
        buf_free(&r.b);
    }
}

static void test_conf_split_list(void)
{
    static const struct {
        const char *in;
        const char *want[5];
    } cases[] = {
        {"a, b c,,d", {"a", "b", "c", "d", NULL}},
        {"  ", {NULL}},
        {"", {NULL}},
        {"127.0.0.1:2525,[::1]:2525", {"127.0.0.1:2525", "[::1]:2525", NULL}},
        {"\tone\n", {"one", NULL}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **v = conf_split_list(cases[i].in);
        size_t j = 0;
        for (; cases[i].want[j]; j++)
            TEST_EQ_STR(v[j], cases[i].want[j]);
        TEST_TRUE(v[j] == NULL);
        conf_free_list(&v);
        TEST_TRUE(v == NULL);
    }
}

static void test_conf_parse_time_int_bool(void)
{
    static const struct {
        const char *in;
        char unit;
        long long want;
    } times[] = {
        {"300s", 's', 300}, {"5m", 's', 300}, {"1h", 's', 3600},
        {"2d", 's', 172800}, {"1w", 's', 604800}, {"10", 's', 10},
        {"10", 'm', 600}, {"0", 's', 0}, {"5x", 's', -1}, {"", 's', -1},
        {"-1s", 's', -1}, {"1hh", 's', -1}, {"h", 's', -1},
        /* Overflow (fuzz finding, issue 14): refused, never wrapped. */
        {"99999999999999999999d", 's', -1}, {"213503982334602d", 's', -1},
        {"9223372036854775807w", 's', -1}, {"106751991167301d", 's', -1},
        {"9223372036854775807", 'm', -1}, {"9223372036854775807s", 's', -1},
        /* The largest accepted values, in every unit. */
        {"2147483647s", 's', 2147483647LL}, {"2147483648s", 's', -1},
        {"35791394m", 's', 2147483640LL}, {"35791395m", 's', -1},
        {"596523h", 's', 2147482800LL}, {"596524h", 's', -1},
        {"24855d", 's', 2147472000LL}, {"24856d", 's', -1},
        {"3550w", 's', 2147040000LL}, {"3551w", 's', -1},
        {"24855", 'd', 2147472000LL},
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        TEST_EQ_INT(conf_parse_time(times[i].in, times[i].unit), times[i].want);
    static const struct {
        const char *in;
        long long want;
    } ints[] = {
        {"10240000", 10240000}, {"0", 0}, {"10MB", -1}, {"", -1},
        {"-5", -1}, {" 5", -1}, {"99999999999999999999", -1},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        TEST_EQ_INT(conf_parse_int(ints[i].in), ints[i].want);
    static const struct {
        const char *in;
        int want;
    } bools[] = {
        {"yes", 1}, {"YES", 1}, {"true", 1}, {"no", 0}, {"False", 0},
        {"maybe", -1}, {"", -1},
    };
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
        TEST_EQ_INT(conf_parse_bool(bools[i].in), bools[i].want);
    TEST_EQ_INT(conf_parse_bool(NULL), -1);
}

static void test_conf_load_missing_file(void)
{
    TEST_TRUE(conf_load("/nonexistent/postie.conf", NULL, NULL) == NULL);
}

static void test_conf_set_replaces(void)
{
    conf *c = conf_new();
    conf_set(c, "a", "1", 3);
    conf_set(c, "b", "2", 4);
    conf_set(c, "a", "3", 9);
    TEST_EQ_INT(c->n, 2);
    TEST_EQ_STR(conf_raw(c, "a"), "3");
    TEST_EQ_INT(conf_find(c, "a")->line, 9);
    conf_free(&c);
}

int main(void)
{
    TEST_RUN(test_conf_parse_values_and_lines);
    TEST_RUN(test_conf_reports_each_problem_with_its_line);
    TEST_RUN(test_conf_split_list);
    TEST_RUN(test_conf_parse_time_int_bool);
    TEST_RUN(test_conf_load_missing_file);
    TEST_RUN(test_conf_set_replaces);
    return test_done();
}
