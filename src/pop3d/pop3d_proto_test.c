/*
 * pop3d_proto_test - command lines and the RFC 2449 limit, keyword
 * splitting, dot-stuffing with LF -> CRLF across chunk boundaries, the
 * CR LF size.
 */
#include "pop3d/pop3d_proto.h"

#include <stdlib.h>

#include "util/mem.h"
#include "util/test.h"

/* pop3d's line reader is conn_line_take on a conn with pop3d's limits:
 * 1 a line, 2 too long, 0 nothing complete (the old pop3d_proto_line). */
static int pop3d_proto_test_line(conn *c, char **line_r, size_t *len_r)
{
    int r = conn_line_take(c, line_r, len_r);
    return r == CONN_LINE ? 1 : r == CONN_TOOLONG ? 2 : 0;
}

static void test_pop3d_proto_line_splits_and_limits(void)
{
    char long_line[400];
    memset(long_line, 'a', sizeof(long_line) - 3);
    memcpy(long_line + sizeof(long_line) - 3, "\r\n", 3);
    static const struct {
        const char *in;
        const char *want[4];  /* "!" = too long */
    } cases[] = {
        {"USER a\r\nPASS b\r\n", {"USER a", "PASS b", NULL}},
        {"STAT\n", {"STAT", NULL}},                   /* bare LF accepted */
        {"NOOP", {NULL}},                             /* incomplete */
        {"\r\n", {"", NULL}},
        {"A\rB\r\n", {"A\rB", NULL}},                 /* lone CR kept */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        conn *c = pop3d_proto_conn(-1, 5);
        buf_puts(c->in, cases[i].in);
        for (int j = 0;; j++) {
            char *line = NULL;
            size_t len;
            int r = pop3d_proto_test_line(c, &line, &len);
            if (cases[i].want[j] == NULL) {
                TEST_EQ_INT(r, 0);
                break;
            }
            TEST_EQ_INT(r, 1);
            TEST_EQ_STR(line, cases[i].want[j]);
        }
        conn_free(&c);
    }
    /* 255 octets with CRLF pass, 256 do not (RFC 2449 section 4). */
    for (int n = 252; n <= 254; n++) {
        conn *c = pop3d_proto_conn(-1, 5);
        for (int k = 0; k < n; k++)
            buf_putc(c->in, 'x');
        buf_puts(c->in, "\r\nNEXT\r\n");
        char *line = NULL;
        size_t len;
        TEST_EQ_INT(pop3d_proto_test_line(c, &line, &len), n + 2 <= 255 ? 1 : 2);
        TEST_EQ_INT(pop3d_proto_test_line(c, &line, &len), 1);
        TEST_EQ_STR(line, "NEXT");
        conn_free(&c);
    }
    /* A long line arriving in pieces: one error, then the rest is
     * dropped up to its LF, and the next line is whole. */
    conn *c = pop3d_proto_conn(-1, 5);
    char *line = NULL;
    size_t len;
    buf_append(c->in, long_line, 300);
    TEST_EQ_INT(pop3d_proto_test_line(c, &line, &len), 2);
    TEST_TRUE(c->skip);
    buf_puts(c->in, "aaaa");
    TEST_EQ_INT(pop3d_proto_test_line(c, &line, &len), 0);
    buf_puts(c->in, "aa\r\nQUIT\r\n");
    TEST_EQ_INT(pop3d_proto_test_line(c, &line, &len), 1);
    TEST_EQ_STR(line, "QUIT");
    conn_free(&c);
}

static void test_pop3d_proto_split_keywords(void)
{
    static const struct {
        const char *line;
        int rc;
        const char *kw, *arg;
    } cases[] = {
        {"user alice", 0, "USER", "alice"},
        {"STAT", 0, "STAT", ""},
        {"TOP 1 10", 0, "TOP", "1 10"},
        {"PASS  two spaces", 0, "PASS", " two spaces"},
        {"", -1, NULL, NULL},
        {" USER", -1, NULL, NULL},
        {"US\x01R x", -1, NULL, NULL},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -1, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char kw[41];
        const char *arg = NULL;
        TEST_EQ_INT(pop3d_proto_split(cases[i].line, kw, sizeof(kw), &arg), cases[i].rc);
        if (cases[i].rc == 0) {
            TEST_EQ_STR(kw, cases[i].kw);
            TEST_EQ_STR(arg, cases[i].arg);
        }
    }
}

static void test_pop3d_proto_dot_stuffs_and_makes_crlf(void)
{
    static const struct {
        const char *in;
        const char *want;   /* with the terminating ".\r\n" */
    } cases[] = {
        {"a\nb\n", "a\r\nb\r\n.\r\n"},
        {"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
        {".\n", "..\r\n.\r\n"},
        {"x\n.y\n..z\n", "x\r\n..y\r\n...z\r\n.\r\n"},
        {"no end", "no end\r\n.\r\n"},
        {"", ".\r\n"},
        {"a.b\n", "a.b\r\n.\r\n"},
        {"cr\ronly\n", "cr\ronly\r\n.\r\n"},
        {"end\r", "end\r\n.\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* Every split point: the state carries across chunks. */
        size_t n = strlen(cases[i].in);
        for (size_t cut = 0; cut <= n; cut++) {
            buf *out = buf_new(1024);
            pop3d_dot st = {0};
            pop3d_proto_dot(&st, cases[i].in, cut, out);
            pop3d_proto_dot(&st, cases[i].in + cut, n - cut, out);
            pop3d_proto_dot_end(&st, out);
            TEST_EQ_STR(buf_str(out), cases[i].want);
            buf_free(&out);
        }
    }
}

static void test_pop3d_proto_crlf_size(void)
{
    static const struct {
        const char *in;
        long long want;
    } cases[] = {
        {"a\nb\n", 6}, {"a\r\nb\r\n", 6}, {"", 0}, {"x", 1}, {"\n\n", 4},
        {"\r\n\n", 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].in);
        for (size_t cut = 0; cut <= n; cut++) {
            bool cr = false;
            long long s = pop3d_proto_crlf_size(cases[i].in, cut, &cr);
            s += pop3d_proto_crlf_size(cases[i].in + cut, n - cut, &cr);
            TEST_EQ_INT(s, cases[i].want);
        }
    }
}

int main(void)
{
    TEST_RUN(test_pop3d_proto_line_splits_and_limits);
    TEST_RUN(test_pop3d_proto_split_keywords);
    TEST_RUN(test_pop3d_proto_dot_stuffs_and_makes_crlf);
    TEST_RUN(test_pop3d_proto_crlf_size);
    return test_done();
}
