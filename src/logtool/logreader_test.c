/*
 * logreader_test - the line reader: plain and gzip files, a last line
 * without newline, a line longer than the maximum, CRLF kept for the parser,
 * a missing file and a directory.
 */
#include "logtool/logreader.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/test.h"

static char logreader_test_dir[] = "/tmp/logreader_testXXXXXX";

static char *logreader_test_path(const char *name)
{
    size_t n = strlen(logreader_test_dir) + strlen(name) + 2;
    char *p = mem_alloc(n);
    snprintf(p, n, "%s/%s", logreader_test_dir, name);
    return p;
}

/* Read everything: the lines joined with '|', and the stats. */
static char *logreader_test_all(const char *path, logreader_stats *st, int *cuts)
{
    const char *err = NULL;
    logreader *r = logreader_open(path, &err);
    if (r == NULL)
        return NULL;
    buf *b = buf_new(1 << 20);
    const char *line;
    size_t len;
    *cuts = 0;
    while (logreader_next(r, &line, &len, &err) > 0) {
        if (b->len)
            buf_putc(b, '|');
        buf_append(b, line, len > 20 ? 20 : len);
        if (logreader_cut(r))
            (*cuts)++;
    }
    *st = *logreader_stats_get(r);
    logreader_close(&r);
    char *s = mem_strdup(buf_str(b));
    buf_free(&b);
    return s;
}

static void test_logreader_plain(void)
{
    char *p = logreader_test_path("plain.log");
    FILE *f = fopen(p, "w");
    fputs("one\ntwo\r\n\nthree", f);
    fclose(f);
    logreader_stats st;
    int cuts;
    char *s = logreader_test_all(p, &st, &cuts);
    TEST_EQ_STR(s, "one|two\r||three");
    TEST_EQ_INT(st.lines, 4);
    TEST_EQ_INT(st.truncated, 1); /* "three" has no newline */
    TEST_EQ_INT(cuts, 1);
    mem_free(&s);
    unlink(p);
    mem_free(&p);
}

static void test_logreader_long_line(void)
{
    char *p = logreader_test_path("long.log");
    FILE *f = fopen(p, "w");
    fputs("a\n", f);
    for (int i = 0; i < LOGREADER_LINE_MAX * 3; i++)
        fputc('x', f);
    fputs("\nb\n", f);
    fclose(f);
    logreader_stats st;
    int cuts;
    char *s = logreader_test_all(p, &st, &cuts);
    TEST_EQ_STR(s, "a|xxxxxxxxxxxxxxxxxxxx|b");
    TEST_EQ_INT(st.lines, 3);
    TEST_EQ_INT(st.truncated, 1);
    TEST_EQ_INT(cuts, 1);
    mem_free(&s);
    unlink(p);
    mem_free(&p);
}

static void test_logreader_gzip(void)
{
    char *p = logreader_test_path("z.log.1");  /* no .gz: found by magic */
    gzFile g = gzopen(p, "wb");
    for (int i = 0; i < 100000; i++)
        gzprintf(g, "line %d\n", i);
    gzclose(g);
    logreader_stats st;
    int cuts;
    char *s = logreader_test_all(p, &st, &cuts);
    TEST_TRUE(s != NULL && strncmp(s, "line 0|line 1|", 14) == 0);
    TEST_EQ_INT(st.lines, 100000);
    TEST_EQ_INT(st.truncated, 0);
    mem_free(&s);
    unlink(p);
    mem_free(&p);
}

/* Follow mode keeps a half-written line until its newline arrives, and
 * notices a new file under the same name. */
static void test_logreader_follow(void)
{
    char *p = logreader_test_path("follow.log");
    FILE *f = fopen(p, "w");
    fputs("first\nhal", f);
    fclose(f);
    const char *err = NULL, *line;
    size_t len;
    logreader *r = logreader_open(p, &err);
    logreader_set_follow(r, true);
    TEST_EQ_INT(logreader_next(r, &line, &len, &err), 1);
    TEST_EQ_INT(len, 5);
    TEST_EQ_INT(logreader_next(r, &line, &len, &err), 0);
    f = fopen(p, "a");
    fputs("f\n", f);
    fclose(f);
    TEST_EQ_INT(logreader_next(r, &line, &len, &err), 1);
    TEST_TRUE(len == 4 && memcmp(line, "half", 4) == 0);
    TEST_EQ_INT(logreader_check_rotation(r), 0);
    char *old = logreader_test_path("follow.log.1");
    rename(p, old);
    f = fopen(p, "w");
    fputs("new\n", f);
    fclose(f);
    TEST_EQ_INT(logreader_check_rotation(r), 1);
    TEST_EQ_INT(logreader_next(r, &line, &len, &err), 1);
    TEST_TRUE(len == 3 && memcmp(line, "new", 3) == 0);
    logreader_close(&r);
    unlink(p);
    unlink(old);
    mem_free(&old);
    mem_free(&p);
}

static void test_logreader_errors(void)
{
    const char *err = NULL;
    char *p = logreader_test_path("missing.log");
    TEST_TRUE(logreader_open(p, &err) == NULL);
    TEST_EQ_STR(err, "no such file");
    TEST_TRUE(logreader_open(logreader_test_dir, &err) == NULL);
    TEST_EQ_STR(err, "is a directory, not a log file");
    mem_free(&p);
}

int main(void)
{
    if (mkdtemp(logreader_test_dir) == NULL)
        return 1;
    TEST_RUN(test_logreader_plain);
    TEST_RUN(test_logreader_long_line);
    TEST_RUN(test_logreader_gzip);
    TEST_RUN(test_logreader_follow);
    TEST_RUN(test_logreader_errors);
    rmdir(logreader_test_dir);
    return test_done();
}
