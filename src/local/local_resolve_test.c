/*
 * local_resolve_test - recipient to targets: users, extensions, aliases to
 * several, to itself, to other domains, loops, depth, postmaster.
 */
#include "local/local_resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/local_rcpt.h"
#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

static char dir[] = "/tmp/local_resolve_test.XXXXXX";

static void put(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    fputs(text, fp);
    fclose(fp);
}

static void setup(void)
{
    TEST_TRUE(mkdtemp(dir) != NULL);
    put("postie.conf", "mydestination = localhost, example.org\n"
                       "myorigin = example.org\n"
                       "mail_user_source = file\n"
                       "maillog_file =\n");
    put("users", "bob:{CRYPT}x:::::\ncarol:{CRYPT}x:::::\ndan:{CRYPT}x:::::\n");
    buf *a = buf_new(1 << 16);
    buf_puts(a, "team: bob, carol, Bob@example.org\n"
                "dan: dan, carol\n"
                "ping: pong\npong: ping\n"
                "ext: x@remote.net, bob\n"
                "cmd: |/bin/true\n"
                "mixed: bob, nosuch\n"
                "bob+lists: carol\n");
    for (int i = 1; i < 25; i++)
        buf_printf(a, "deep%d: deep%d\n", i, i + 1);
    put("aliases", buf_str(a));
    buf_free(&a);
    mail_conf_set_dir(dir);
    mail_conf_read();
}

static char *resolve(const char *rcpt)
{
    local_targets t;
    char *why = NULL;
    buf *b = buf_new(4096);
    if (local_resolve(rcpt, &t, &why) < 0) {
        buf_printf(b, "TEMP:%s", why);
        mem_free(&why);
    } else {
        for (size_t i = 0; i < t.n; i++) {
            local_target *g = &t.v[i];
            if (g->kind == LOCAL_T_MAILBOX)
                buf_printf(b, "M:%s:%s;", g->user, g->addr);
            else if (g->kind == LOCAL_T_FORWARD)
                buf_printf(b, "W:%s;", g->addr);
            else
                buf_printf(b, "F:%s:%s;", g->dsn, g->addr);
        }
        local_targets_free(&t);
    }
    char *s = mem_strdup(buf_str(b));
    buf_free(&b);
    return s;
}

static void test_local_resolve_table(void)
{
    static const struct { const char *rcpt, *want; } cases[] = {
        {"bob@example.org", "M:bob:bob@example.org;"},
        {"BOB@localhost", "M:bob:BOB@localhost;"},
        {"bob+news@example.org", "M:bob:bob+news@example.org;"},
        {"bob+lists@example.org", "M:carol:carol@example.org;"},   /* full name first */
        {"team@localhost", "M:bob:bob@example.org;M:carol:carol@example.org;"},
        {"dan@example.org", "M:dan:dan@example.org;M:carol:carol@example.org;"},
        {"ping@localhost", "F:5.4.6:ping@example.org;"},
        {"ext@localhost", "W:x@remote.net;M:bob:bob@example.org;"},
        {"cmd@localhost", "F:5.3.5:cmd@localhost;"},
        {"mixed@localhost", "M:bob:bob@example.org;F:5.1.1:nosuch@example.org;"},
        {"nosuch@example.org", "F:5.1.1:nosuch@example.org;"},
        {"postmaster@example.org", "M:bob:postmaster@example.org;"},
        {"deep1@localhost", "F:5.4.6:deep22@example.org;"},
        {"deep20@localhost", "F:5.1.1:deep25@example.org;"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = resolve(cases[i].rcpt);
        TEST_EQ_STR(got, cases[i].want);
        mem_free(&got);
    }
}

static void test_local_rcpt_check_agrees_with_resolution(void)
{
    static const struct { const char *addr; int want; } cases[] = {
        {"bob@example.org", 1}, {"Bob+x@example.org", 1}, {"team@localhost", 1},
        {"postmaster@example.org", 1}, {"PostMaster", 1}, {"nosuch@example.org", 0},
        {"deep7@localhost", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *why = NULL;
        TEST_EQ_INT(local_rcpt_check(cases[i].addr, &why), cases[i].want);
        if (cases[i].want == 0)
            TEST_EQ_STR(why, "User unknown in local recipient table");
        mem_free(&why);
    }
    static const struct { const char *addr, *base, *ext; } bases[] = {
        {"Bob+News@x", "bob", "news"}, {"bob@x", "bob", NULL},
        {"+x@y", "+x", NULL}, {"a+b+c@y", "a", "b+c"},
    };
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        char *ext = NULL;
        char *b = local_rcpt_base(bases[i].addr, &ext);
        TEST_EQ_STR(b, bases[i].base);
        TEST_EQ_STR(ext, bases[i].ext);
        mem_free(&b);
        mem_free(&ext);
    }
}

int main(void)
{
    msg_stderr_only();
    setup();
    TEST_RUN(test_local_resolve_table);
    TEST_RUN(test_local_rcpt_check_agrees_with_resolution);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
    return test_done();
}
