/*
 * cleanup_test - what cleanup writes: Received first (RFC 5321 section
 * 4.4), Message-ID and Date added only when missing (RFC 5322 section 3.6),
 * header_size_limit, hop limit, and the queue file it commits.
 */
#include "cleanup/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/queue_file.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

static char qdir[] = "/tmp/cleanup_test.XXXXXX";

/* Run one message through cleanup; returns the stored content. */
static char *run(const char *const *lines, int nrcpt, int *status_r, char **why_r)
{
    cleanup *c;
    char *err = NULL;
    if (cleanup_open(qdir, "alice@example.org", &c, &err) < 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    char id[QUEUE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", cleanup_id(c));
    for (int i = 0; i < nrcpt; i++) {
        char r[64];
        snprintf(r, sizeof(r), "rcpt%d@example.org", i);
        cleanup_rcpt(c, r, NULL);
    }
    cleanup_begin(c, &(cleanup_client){.helo = "client.example", .name = "localhost",
                                        .addr = "127.0.0.1", .proto = "ESMTP"});
    for (; *lines; lines++)
        cleanup_line(c, *lines, strlen(*lines));
    *why_r = NULL;
    *status_r = cleanup_commit(&c, why_r);
    TEST_TRUE(c == NULL);
    if (*status_r != CLEANUP_OK)
        return NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/incoming/%s", qdir, id);
    queue_msg *m;
    if (queue_msg_read(path, &m, &err) < 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    TEST_EQ_STR(m->sender, "alice@example.org");
    TEST_EQ_INT(m->nrcpt, nrcpt);
    size_t len;
    char *all = fs_read_file(path, 1 << 24, &len);
    char *content = mem_strndup(all + m->content_off, m->content_len);
    mem_free(&all);
    queue_msg_free(&m);
    unlink(path);
    return content;
}

static void test_received_first_and_missing_headers_added(void)
{
    const char *lines[] = {"Subject: hi", "", "body", NULL};
    int st;
    char *why;
    char *s = run(lines, 1, &st, &why);
    TEST_EQ_INT(st, CLEANUP_OK);
    TEST_TRUE(strncmp(s, "Received: from client.example (localhost [127.0.0.1])\n"
                         "\tby mail.example.org (postie) with ESMTP id ", 97) == 0);
    TEST_TRUE(strstr(s, "\n\tfor <rcpt0@example.org>; ") != NULL);
    char *subj = strstr(s, "Subject: hi\n");
    char *date = strstr(s, "\nDate: ");
    char *mid = strstr(s, "\nMessage-Id: <");
    char *body = strstr(s, "\n\nbody\n");
    TEST_TRUE(subj && date && mid && body);
    TEST_TRUE(subj < date && date < mid && mid < body);
    TEST_TRUE(strstr(s, "@mail.example.org>\n") != NULL);
    mem_free(&s);
}

static void test_present_headers_are_kept_not_added(void)
{
    const char *lines[] = {"Message-ID: <x@y>", "Date: Mon, 1 Jan 2024 00:00:00 +0000",
                           "", ".leading dot", NULL};
    int st;
    char *why;
    char *s = run(lines, 2, &st, &why);
    TEST_EQ_INT(st, CLEANUP_OK);
    TEST_TRUE(strstr(s, "Message-Id:") == NULL);
    TEST_TRUE(strstr(s, "\nDate: Mon, 1 Jan 2024") != NULL);
    TEST_TRUE(strstr(s, "\tfor <") == NULL); /* two recipients: no "for" */
    TEST_TRUE(strstr(s, "\n\n.leading dot\n") != NULL);
    mem_free(&s);
}

static void test_body_without_separator_gets_one(void)
{
    const char *lines[] = {"just text, no headers", NULL};
    int st;
    char *why;
    char *s = run(lines, 1, &st, &why);
    TEST_TRUE(strstr(s, ">\n\njust text, no headers\n") != NULL);
    mem_free(&s);
}

static void test_long_header_is_cut_at_header_size_limit(void)
{
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "X-Big: ", 7);
    const char *lines[] = {big, " continued", "Subject: after", "", "b", NULL};
    int st;
    char *why;
    char *s = run(lines, 1, &st, &why);
    TEST_TRUE(strstr(s, "continued") == NULL);
    TEST_TRUE(strstr(s, "\nSubject: after\n") != NULL);
    char *x = strstr(s, "X-Big: ");
    TEST_TRUE(x != NULL && strchr(x, '\n') - x == 100);
    mem_free(&s);
}

static void test_too_many_hops_is_refused(void)
{
    const char *lines[CLEANUP_HOP_LIMIT + 4];
    int i = 0;
    for (; i < CLEANUP_HOP_LIMIT + 1; i++)
        lines[i] = "Received: from a by b";
    lines[i++] = "";
    lines[i++] = "x";
    lines[i] = NULL;
    int st;
    char *why;
    char *s = run(lines, 1, &st, &why);
    TEST_TRUE(s == NULL);
    TEST_EQ_INT(st, CLEANUP_PERM);
    TEST_EQ_STR(why, "5.4.6 Error: too many hops");
    mem_free(&why);
}

static void test_local_submission_has_postfix_local_received(void)
{
    cleanup *c;
    char *err = NULL;
    TEST_EQ_INT(cleanup_open(qdir, "root@mail.example.org", &c, &err), 0);
    cleanup_rcpt(c, "bob@example.org", NULL);
    char id[QUEUE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", cleanup_id(c));
    cleanup_begin(c, &(cleanup_client){.addr = NULL, .uid = 1000});
    cleanup_line(c, "Subject: local", 14);
    char path[512];
    snprintf(path, sizeof(path), "%s/incoming/%s", qdir, id);
    char *why = NULL;
    TEST_EQ_INT(cleanup_commit(&c, &why), CLEANUP_OK);
    char *all = fs_read_file(path, 1 << 20, NULL);
    char want[200];
    snprintf(want, sizeof(want),
             "Received: by mail.example.org (postie, from userid 1000)\n\tid %s\n"
             "\tfor <bob@example.org>; ", id);
    TEST_TRUE(all != NULL && strstr(all, want) != NULL);
    mem_free(&all);
    unlink(path);
}

static void test_date_form(void)
{
    setenv("TZ", "UTC", 1);
    char d[80];
    cleanup_date(d, sizeof(d), 1763913600);
    TEST_EQ_STR(d, "Sun, 23 Nov 2025 16:00:00 +0000 (UTC)");
}

int main(void)
{
    if (mkdtemp(qdir) == NULL)
        return 1;
    queue_dirs_create(qdir);
    var_set("myhostname", "mail.example.org");
    var_set("header_size_limit", "100");
    msg_stderr_only();
    TEST_RUN(test_received_first_and_missing_headers_added);
    TEST_RUN(test_present_headers_are_kept_not_added);
    TEST_RUN(test_body_without_separator_gets_one);
    TEST_RUN(test_long_header_is_cut_at_header_size_limit);
    TEST_RUN(test_too_many_hops_is_refused);
    TEST_RUN(test_local_submission_has_postfix_local_received);
    TEST_RUN(test_date_form);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
    (void)!system(cmd);
    return test_done();
}
