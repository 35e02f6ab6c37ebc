/*
 * pop3d_session_test - the TRANSACTION state (RFC 1939 section 5) as a
 * table of dialogues on a real Maildir in a temporary directory; the
 * session's output goes through a socketpair and is read back whole.
 */
#include "pop3d/pop3d_session.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static char test_dir[] = "/tmp/pop3d_session_test.XXXXXX";

static void test_pop3d_session_put(const char *sub, const char *name,
                                   const char *text)
{
    char *d = fs_join(test_dir, sub);
    fs_mkdirs(d, 0700);
    char *f = fs_join(d, name);
    FILE *fp = fopen(f, "w");
    fputs(text, fp);
    fclose(fp);
    mem_free(&f);
    mem_free(&d);
}

/* Run lines through a fresh session; returns everything it wrote. */
static char *test_pop3d_session_run(const char *const *lines, int *quit_r)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    pop3d_maildir *md = NULL;
    char *err = NULL;
    if (pop3d_maildir_open(test_dir, &md, &err) != 0) {
        TEST_TRUE(!"maildir open");
        return mem_strdup("");
    }
    conn *io = pop3d_proto_conn(sv[0], 5);
    pop3d_session s = {.io = io, .md = md, .user = "u", .sid = "x"};
    buf *out = buf_new(1 << 16);
    int r = 0;
    for (int i = 0; lines[i] && r == 0; i++) {
        r = pop3d_session_line(&s, lines[i], false, out);
        conn_write(io, out->data, out->len);
        buf_reset(out);
    }
    *quit_r = r;
    conn_free(&io); /* closes sv[0] */
    buf *got = buf_new(1 << 20);
    char tmp[4096];
    ssize_t n;
    while ((n = read(sv[1], tmp, sizeof(tmp))) > 0)
        buf_append(got, tmp, (size_t)n);
    close(sv[1]);
    char *res = mem_strdup(buf_str(got));
    buf_free(&got);
    buf_free(&out);
    pop3d_maildir_free(&md);
    return res;
}

static void test_pop3d_session_dialogues(void)
{
    static const struct {
        const char *lines[8];
        const char *want;
        int rc;
    } cases[] = {
        {{"STAT"}, "+OK 2 17\r\n", 0},
        {{"LIST"}, "+OK\r\n1 6\r\n2 11\r\n.\r\n", 0},
        {{"LIST 2"}, "+OK 2 11\r\n", 0},
        {{"LIST 3"}, "-ERR There's no message with that number.\r\n", 0},
        {{"UIDL"}, "+OK\r\n1 100.A\r\n2 200.B\r\n.\r\n", 0},
        {{"UIDL 1"}, "+OK 1 100.A\r\n", 0},
        {{"RETR 1"}, "+OK 6 octets\r\na\r\nb\r\n.\r\n", 0},
        {{"RETR 2"}, "+OK 11 octets\r\nS: x\r\n\r\n..\r\n.\r\n", 0},
        {{"TOP 2 0"}, "+OK 11 octets\r\nS: x\r\n\r\n.\r\n", 0},
        {{"TOP 2"}, "-ERR Invalid number of lines.\r\n", 0},
        {{"RETR 0"}, "-ERR There's no message with that number.\r\n", 0},
        {{"RETR"}, "-ERR There's no message with that number.\r\n", 0},
        {{"TOP x 1"}, "-ERR There's no message with that number.\r\n", 0},
        {{"TOP 9 1"}, "-ERR There's no message with that number.\r\n", 0},
        {{"TOP 1 -1"}, "-ERR Invalid number of lines.\r\n", 0},
        {{"RETR 1 2"}, "-ERR There's no message with that number.\r\n", 0},
        {{"DELE 1", "STAT", "LIST", "RETR 1"},
         "+OK Marked to be deleted.\r\n+OK 1 11\r\n+OK\r\n2 11\r\n.\r\n"
         "-ERR There's no message with that number.\r\n", 0},
        {{"DELE 1", "DELE 1"}, "+OK Marked to be deleted.\r\n"
                               "-ERR There's no message with that number.\r\n", 0},
        {{"DELE 2", "RSET", "STAT"}, "+OK Marked to be deleted.\r\n+OK\r\n+OK 2 17\r\n", 0},
        {{"NOOP", "noop"}, "+OK\r\n+OK\r\n", 0},
        {{"USER x"}, "-ERR Unknown command.\r\n", 0},
        {{"CAPA"}, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nIMPLEMENTATION postie\r\n.\r\n", 0},
        {{"QUIT"}, "+OK Logging out.\r\n", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc;
        char *got = test_pop3d_session_run(cases[i].lines, &rc);
        TEST_EQ_STR(got, cases[i].want);
        TEST_EQ_INT(rc, cases[i].rc);
        mem_free(&got);
    }
}

static void test_pop3d_session_quit_updates(void)
{
    static const char *const lines[] = {"RETR 2", "DELE 1", "QUIT", NULL};
    int rc;
    char *got = test_pop3d_session_run(lines, &rc);
    TEST_EQ_INT(rc, 1);
    TEST_TRUE(strstr(got, "+OK Logging out, messages deleted.\r\n") != NULL);
    mem_free(&got);
    char *f = fs_join(test_dir, "cur/200.B:2,S");
    TEST_EQ_INT(access(f, F_OK), 0);
    mem_free(&f);
    f = fs_join(test_dir, "cur/100.A:2,");
    TEST_TRUE(access(f, F_OK) != 0);
    mem_free(&f);
}

/* RETR answers in one write (issue #15): the reply line, the content and
 * the end together.  A SOCK_SEQPACKET pair keeps each write a record of
 * its own, so the records counted are the writes made. */
static void test_pop3d_session_retr_is_one_write(void)
{
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    pop3d_maildir *md = NULL;
    char *err = NULL;
    TEST_EQ_INT(pop3d_maildir_open(test_dir, &md, &err), 0);
    conn *io = conn_new(sv[0], 4096, 256, 1 << 16);
    pop3d_session s = {.io = io, .md = md, .user = "u", .sid = "x"};
    buf *out = buf_new(1 << 16);
    TEST_EQ_INT(pop3d_session_line(&s, "RETR 2", false, out), 0);
    if (out->len > 0)
        conn_write(io, out->data, out->len);
    conn_free(&io); /* closes sv[0]: the reader below sees the end */
    int records = 0;
    char tmp[4096], got[4096] = "";
    ssize_t n;
    while ((n = recv(sv[1], tmp, sizeof(tmp) - 1, 0)) > 0) {
        tmp[n] = '\0';
        if (records++ == 0)
            snprintf(got, sizeof(got), "%s", tmp);
    }
    close(sv[1]);
    TEST_EQ_INT(records, 1);
    TEST_EQ_STR(got, "+OK 11 octets\r\nS: x\r\n\r\n..\r\n.\r\n");
    buf_free(&out);
    pop3d_maildir_free(&md);
}

int main(void)
{
    TEST_TRUE(mkdtemp(test_dir) != NULL);
    test_pop3d_session_put("cur", "100.A:2,", "a\nb\n");
    test_pop3d_session_put("new", "200.B", "S: x\n\n.\n");
    TEST_RUN(test_pop3d_session_dialogues);
    TEST_RUN(test_pop3d_session_retr_is_one_write);
    TEST_RUN(test_pop3d_session_quit_updates);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
    TEST_EQ_INT(system(cmd), 0);
    return test_done();
}
