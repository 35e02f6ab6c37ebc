/*
 * pop3d_maildir_test - UIDL from Maildir names, the S flag, message
 * numbers, TOP's cut, and a snapshot of a real Maildir in a temporary
 * directory: sizes, order, the lock, UPDATE.
 */
#include "pop3d/pop3d_maildir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pop3d/pop3d_session.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static void test_pop3d_maildir_uidl(void)
{
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"1763913600.3F2A91C07B12_0_ab12cd34.host,S=123", "1763913600.3F2A91C07B12_0_ab12cd34.host"},
        {"1763913600.3F2A91C07B12_0_ab12cd34.host,S=123:2,S", "1763913600.3F2A91C07B12_0_ab12cd34.host"},
        {"1199932653.M583975P6568.host,W=2211:2,", "1199932653.M583975P6568.host"},
        {"plain", "plain"},
        /* Not a valid unique-id (RFC 1939 section 7): hashed, stably. */
        {"with space", "H7f40e4e6f0c0be4f"},
        {"", "Hcbf29ce484222325"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[POP3D_UIDL_MAX + 1];
        pop3d_maildir_uidl(cases[i].name, out);
        if (cases[i].want[0] == 'H' && strcmp(cases[i].name, "plain") != 0) {
            TEST_TRUE(out[0] == 'H' && strlen(out) == 17);
            char again[POP3D_UIDL_MAX + 1];
            pop3d_maildir_uidl(cases[i].name, again);
            TEST_EQ_STR(out, again);
        } else {
            TEST_EQ_STR(out, cases[i].want);
        }
    }
    /* Too long a base: hashed, at most 70 characters. */
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    char out[POP3D_UIDL_MAX + 1];
    pop3d_maildir_uidl(longname, out);
    TEST_TRUE(strlen(out) <= POP3D_UIDL_MAX && out[0] == 'H');
}

static void test_pop3d_maildir_seen_name(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a", "a:2,S"},
        {"a:2,", "a:2,S"},
        {"a:2,S", "a:2,S"},
        {"a:2,FR", "a:2,FRS"},
        {"a:2,FT", "a:2,FST"},
        {"a:2,T", "a:2,ST"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = pop3d_maildir_seen_name(cases[i].in);
        TEST_EQ_STR(s, cases[i].want);
        mem_free(&s);
    }
}

static void test_pop3d_session_msgno(void)
{
    static const struct {
        const char *arg;
        int n;
        int want;
    } cases[] = {
        {"1", 3, 0}, {"3", 3, 2}, {"4", 3, -1}, {"0", 3, -1}, {"", 3, -1},
        {"-1", 3, -1}, {"+1", 3, -1}, {"01", 3, -1}, {"1x", 3, -1},
        {"1 2", 3, -1}, {"99999999999999999999", 3, -1}, {"1", 0, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TEST_EQ_INT(pop3d_session_msgno(cases[i].arg, cases[i].n, NULL), cases[i].want);
    const char *rest;
    TEST_EQ_INT(pop3d_session_msgno("2 10", 3, &rest), 1);
    TEST_EQ_STR(rest, "10");
}

static void test_pop3d_session_top_cut(void)
{
    static const struct {
        const char *msg;
        long lines;
        const char *want;
    } cases[] = {
        {"A: 1\nB: 2\n\nl1\nl2\nl3\n", 0, "A: 1\nB: 2\n\n"},
        {"A: 1\nB: 2\n\nl1\nl2\nl3\n", 2, "A: 1\nB: 2\n\nl1\nl2\n"},
        {"A: 1\nB: 2\n\nl1\nl2\nl3\n", 10, "A: 1\nB: 2\n\nl1\nl2\nl3\n"},
        {"A: 1\r\n\r\nbody\r\n", 0, "A: 1\r\n\r\n"},
        {"A: 1\r\n\r\nb1\r\nb2\r\n", 1, "A: 1\r\n\r\nb1\r\n"},
        {"only header\n", 0, "only header\n"},
        {"\nbody\n", 0, "\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].msg);
        for (size_t cut = 0; cut <= n; cut++) {
            pop3d_top t;
            pop3d_session_top_init(&t, cases[i].lines);
            size_t a = pop3d_session_top_cut(&t, cases[i].msg, cut);
            size_t total = a;
            if (a == cut && !t.done)
                total += pop3d_session_top_cut(&t, cases[i].msg + cut, n - cut);
            TEST_EQ_INT(total, strlen(cases[i].want));
        }
    }
}

static void test_pop3d_maildir_put(const char *dir, const char *sub,
                                   const char *name, const char *text)
{
    char *d = fs_join(dir, sub);
    fs_mkdirs(d, 0700);
    char *f = fs_join(d, name);
    FILE *fp = fopen(f, "w");
    fputs(text, fp);
    fclose(fp);
    mem_free(&f);
    mem_free(&d);
}

static int test_pop3d_maildir_count(const char *dir, const char *sub)
{
    char *d = fs_join(dir, sub);
    DIR *dp = opendir(d);
    mem_free(&d);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL)
        n += e->d_name[0] != '.';
    if (dp)
        closedir(dp);
    return n;
}

static void test_pop3d_maildir_snapshot_lock_update(void)
{
    char tmpl[] = "/tmp/pop3d_maildir_test.XXXXXX";
    char *dir = mkdtemp(tmpl);
    TEST_TRUE(dir != NULL);
    test_pop3d_maildir_put(dir, "new", "200.B", "b\n");
    test_pop3d_maildir_put(dir, "cur", "100.A:2,S", "a\na\n");
    test_pop3d_maildir_put(dir, "new", "300.C", "c\r\n");
    test_pop3d_maildir_put(dir, "tmp", "400.D", "not yet\n");
    pop3d_maildir *md = NULL;
    char *err = NULL;
    TEST_EQ_INT(pop3d_maildir_open(dir, &md, &err), 0);
    TEST_EQ_INT(md->n, 3);
    TEST_EQ_STR(md->v[0].uidl, "100.A");     /* oldest first */
    TEST_EQ_STR(md->v[1].uidl, "200.B");
    TEST_EQ_INT(md->v[0].size, 6);           /* CR LF size */
    TEST_EQ_INT(md->total, 6 + 3 + 3);
    /* A second session finds the maildrop locked (RFC 1939 section 8). */
    pop3d_maildir *md2 = NULL;
    TEST_EQ_INT(pop3d_maildir_open(dir, &md2, &err), -2);
    /* Another program moved B to cur/ meanwhile: still readable. */
    char *from = fs_join(dir, "new/200.B");
    char *to = fs_join(dir, "cur/200.B:2,F");
    TEST_EQ_INT(rename(from, to), 0);
    int fd = pop3d_maildir_fopen(md, 1);
    TEST_TRUE(fd >= 0);
    if (fd >= 0)
        close(fd);
    md->v[0].deleted = true;
    md->v[2].seen = true;
    TEST_EQ_INT(pop3d_maildir_update(md), 1);
    pop3d_maildir_free(&md);
    TEST_EQ_INT(test_pop3d_maildir_count(dir, "new"), 0);
    TEST_EQ_INT(test_pop3d_maildir_count(dir, "cur"), 2);
    struct stat st;
    char *c = fs_join(dir, "cur/300.C:2,S");
    TEST_EQ_INT(stat(c, &st), 0);
    TEST_EQ_INT(stat(to, &st), 0);            /* flags of others kept */
    /* Unlocked now. */
    TEST_EQ_INT(pop3d_maildir_open(dir, &md, &err), 0);
    TEST_EQ_INT(md->n, 2);
    pop3d_maildir_free(&md);
    mem_free(&c);
    mem_free(&from);
    mem_free(&to);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    TEST_EQ_INT(system(cmd), 0);
}

int main(void)
{
    TEST_RUN(test_pop3d_maildir_uidl);
    TEST_RUN(test_pop3d_maildir_seen_name);
    TEST_RUN(test_pop3d_session_msgno);
    TEST_RUN(test_pop3d_session_top_cut);
    TEST_RUN(test_pop3d_maildir_snapshot_lock_update);
    return test_done();
}
