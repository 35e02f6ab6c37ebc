/*
 * postdrop_test - the sendmail-to-helper stream (round trip and the inputs
 * the helper must refuse), and a maildrop file as postdrop_store writes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/queue_file.h"
#include "tools/sendmail.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

static void test_stream_round_trip(void)
{
    char *rcpts[] = {"bob@example.org", "root", NULL};
    postdrop_msg m = {.sender = "alice", .full_name = "Alice A", .rcpts = rcpts, .nrcpt = 2,
                      .content = "Subject: x\n\nbody\n", .content_len = 17};
    size_t len;
    char *s = postdrop_stream(&m, &len);
    TEST_EQ_STR(s, "F alice\nN Alice A\nR bob@example.org\nR root\nC 17\nSubject: x\n\nbody\n");
    postdrop_msg back;
    const char *why = NULL;
    TEST_EQ_INT(postdrop_parse(s, len, &back, &why), 0);
    TEST_EQ_STR(back.sender, "alice");
    TEST_EQ_STR(back.full_name, "Alice A");
    TEST_EQ_INT(back.nrcpt, 2);
    TEST_EQ_STR(back.rcpts[1], "root");
    TEST_EQ_INT(back.content_len, 17);
    TEST_TRUE(memcmp(back.content, "Subject: x\n", 11) == 0);
    postdrop_msg_free(&back);
    mem_free(&s);
}

static const struct {
    const char *input;
    size_t len; /* 0: strlen */
    const char *why;
} bad_cases[] = {
    {"R b\nC 1\nx", 0, "no sender"},
    {"F a\nC 1\nx", 0, "no recipients"},
    {"F a\nR b\nC 5\nx", 0, "content length does not match"},
    {"F a\nR b\tc\nC 1\nx", 0, "bad character or length in an envelope field"},
    {"F a\0b\nR b\nC 1\nx", 13, "NUL byte in an envelope field"},
    {"F a\nX y\nR b\nC 1\nx", 0, "unexpected envelope record"},
    {"F a\nR b\n", 0, "no content record"},
    {"F a\nRb\nC 1\nx", 0, "malformed envelope record"},
};

static void test_refused_streams(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        postdrop_msg m;
        const char *why = NULL;
        size_t len = bad_cases[i].len ? bad_cases[i].len : strlen(bad_cases[i].input);
        TEST_EQ_INT(postdrop_parse(bad_cases[i].input, len, &m, &why), -1);
        TEST_EQ_STR(why, bad_cases[i].why);
    }
}

static void test_store_makes_a_complete_queue_file(void)
{
    char tmpl[] = "/tmp/postdrop_test.XXXXXX";
    char *root = mkdtemp(tmpl);
    char qdir[256];
    snprintf(qdir, sizeof(qdir), "%s/queue", root);
    TEST_EQ_INT(queue_dirs_create(qdir), 0);
    char *rcpts[] = {"bob@example.org", NULL};
    postdrop_msg m = {.sender = "alice", .rcpts = rcpts, .nrcpt = 1,
                      .content = "hello\n", .content_len = 6};
    char id[QUEUE_ID_SIZE];
    char *err = NULL;
    TEST_EQ_INT(postdrop_store(qdir, &m, id, &err), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/maildrop/%s", qdir, id);
    struct stat st;
    TEST_EQ_INT(stat(path, &st), 0);
    TEST_EQ_INT(st.st_mode & 07777, 0404);
    queue_msg *qm = NULL;
    TEST_EQ_INT(queue_msg_read(path, &qm, &err), 0);
    TEST_EQ_STR(qm->sender, "alice");
    TEST_EQ_STR(qm->rcpts[0].addr, "bob@example.org");
    TEST_EQ_INT(qm->content_len, 6);
    queue_msg_free(&qm);
    /* A line break in an address would forge records: refused. */
    char *evil[] = {"bob@example.org\nR - 1 mallory@example.org", NULL};
    m.rcpts = evil;
    TEST_EQ_INT(postdrop_store(qdir, &m, id, &err), -1);
    mem_free(&err);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    TEST_EQ_INT(system(cmd), 0);
}

int main(void)
{
    msg_stderr_only();
    TEST_RUN(test_stream_round_trip);
    TEST_RUN(test_refused_streams);
    TEST_RUN(test_store_makes_a_complete_queue_file);
    return test_done();
}
