/*
 * queue_cmd_list_test - the mailq and JSON formats to the character, and a
 * walk over a real queue made with queue_file_create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/queue_cmd.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

/* A message as the reader would return it. */
static queue_msg *make_msg(const char *id, long long arrival, const char *sender,
                           size_t size, const char *const *rcpts, const char *status)
{
    queue_msg *m = mem_zalloc(sizeof(*m));
    snprintf(m->id, sizeof(m->id), "%s", id);
    m->arrival_usec = arrival * 1000000;
    m->sender = mem_strdup(sender);
    m->content_len = size;
    for (size_t i = 0; rcpts[i]; i++) {
        m->rcpts = mem_realloc(m->rcpts, (i + 1) * sizeof(*m->rcpts));
        memset(&m->rcpts[i], 0, sizeof(m->rcpts[i]));
        m->rcpts[i].addr = mem_strdup(rcpts[i]);
        m->rcpts[i].status = status[i];
        m->rcpts[i].index = (int)i;
        m->nrcpt++;
    }
    return m;
}

static char *render(bool json, const queue_cmd_entry *const *es, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    queue_cmd_fmt f = {.out = out};
    for (size_t i = 0; i < n; i++) {
        if (json)
            queue_cmd_list_json(&f, es[i]);
        else
            queue_cmd_list_text(&f, es[i]);
    }
    if (!json)
        queue_cmd_list_text_end(&f);
    fclose(out);
    return text;
}

static void test_empty_queue(void)
{
    char *t = render(false, NULL, 0);
    TEST_EQ_STR(t, "Mail queue is empty\n");
    free(t);
}

static void test_text_format(void)
{
    /* 1763915708 = Sun Nov 23 16:35:08 2025 UTC */
    const char *r1[] = {"bob@example.org", "carol@example.org", "dave@example.org", NULL};
    queue_msg *m1 = make_msg("3F2A91C07B12", 1763915708, "alice@example.org", 1234, r1, "-D-");
    char *why1[] = {"connect to example.org[192.0.2.1]:25: Connection refused", NULL, NULL};
    queue_cmd_entry e1 = {.queue = QUEUE_DEFERRED, .msg = m1, .reasons = why1};
    snprintf(e1.id, sizeof(e1.id), "%s", m1->id);

    const char *r2[] = {"root@localhost", NULL};
    queue_msg *m2 = make_msg("3F2A91C07B13", 1763915709, "", 100, r2, "-");
    queue_cmd_entry e2 = {.queue = QUEUE_ACTIVE, .msg = m2};
    snprintf(e2.id, sizeof(e2.id), "%s", m2->id);

    const char *r3[] = {"x@example.com", NULL};
    queue_msg *m3 = make_msg("3F2A91C07B14", 1763915710, "a@b.c", 2000, r3, "-");
    queue_cmd_entry e3 = {.queue = QUEUE_HOLD, .msg = m3};
    snprintf(e3.id, sizeof(e3.id), "%s", m3->id);

    const queue_cmd_entry *es[] = {&e1, &e2, &e3};
    char *t = render(false, es, 3);
    TEST_EQ_STR(t,
                "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
                "3F2A91C07B12    1234 Sun Nov 23 16:35:08  alice@example.org\n"
                "                    (connect to example.org[192.0.2.1]:25: Connection refused)\n"
                "                                         bob@example.org\n"
                "                                                          (reason unavailable)\n"
                "                                         dave@example.org\n"
                "\n"
                "3F2A91C07B13*     100 Sun Nov 23 16:35:09  MAILER-DAEMON\n"
                "                                         root@localhost\n"
                "\n"
                "3F2A91C07B14!    2000 Sun Nov 23 16:35:10  a@b.c\n"
                "                                         x@example.com\n"
                "\n"
                "-- 3 Kbytes in 3 Requests.\n");
    free(t);

    char *j = render(true, es, 2);
    TEST_EQ_STR(j,
                "{\"queue_name\": \"deferred\", \"queue_id\": \"3F2A91C07B12\", "
                "\"arrival_time\": 1763915708, \"message_size\": 1234, \"forced_expire\": false, "
                "\"sender\": \"alice@example.org\", \"recipients\": [{\"address\": \"bob@example.org\", "
                "\"delay_reason\": \"connect to example.org[192.0.2.1]:25: Connection refused\"}, "
                "{\"address\": \"dave@example.org\"}]}\n"
                "{\"queue_name\": \"active\", \"queue_id\": \"3F2A91C07B13\", "
                "\"arrival_time\": 1763915709, \"message_size\": 100, \"forced_expire\": false, "
                "\"sender\": \"\", \"recipients\": [{\"address\": \"root@localhost\"}]}\n");
    free(j);
    queue_msg_free(&m1);
    queue_msg_free(&m2);
    queue_msg_free(&m3);
}

static void test_one_request_singular(void)
{
    const char *r[] = {"b@c", NULL};
    queue_msg *m = make_msg("0000000000AB", 0, "a@b", 512, r, "-");
    queue_cmd_entry e = {.queue = QUEUE_INCOMING, .msg = m};
    snprintf(e.id, sizeof(e.id), "%s", m->id);
    const queue_cmd_entry *es[] = {&e};
    char *t = render(false, es, 1);
    const char *tail = strstr(t, "\n-- ");
    TEST_EQ_STR(tail, "\n-- 0 Kbytes in 1 Request.\n");
    free(t);
    queue_msg_free(&m);
}

static void test_json_quote(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    queue_cmd_list_json_quote(out, "a\"b\\c\n\x01");
    fclose(out);
    TEST_EQ_STR(text, "a\\\"b\\\\c\\n\\u0001");
    free(text);
}

typedef struct walk_seen {
    char got[512];
} walk_seen;

static int walk_visit(const queue_cmd_entry *e, void *ctx)
{
    walk_seen *w = ctx;
    size_t n = strlen(w->got);
    snprintf(w->got + n, sizeof(w->got) - n, "%s:%s:%s;", e->queue, e->msg->sender,
             e->reasons[0] ? e->reasons[0] : "-");
    return 0;
}

static char *make_file(const char *qdir, const char *sender, const char *rcpt)
{
    queue_file *qf;
    char *err = NULL;
    if (queue_file_create(qdir, &qf, &err) < 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    char *id = mem_strdup(queue_file_id(qf));
    queue_file_sender(qf, sender);
    queue_file_rcpt(qf, rcpt, NULL);
    queue_file_content_begin(qf);
    queue_file_content(qf, "Subject: x\n\nhi\n", 15);
    if (queue_file_commit(&qf, &err) < 0)
        exit(1);
    return id;
}

static void move(const char *qdir, const char *id, const char *to)
{
    char a[1100], b[1100];
    snprintf(a, sizeof(a), "%s/incoming/%s", qdir, id);
    snprintf(b, sizeof(b), "%s/%s/%s", qdir, to, id);
    TEST_EQ_INT(rename(a, b), 0);
}

static void test_walk_real_queue(void)
{
    char tmpl[] = "/tmp/queue_cmd_test.XXXXXX";
    char *root = mkdtemp(tmpl);
    char qdir[512];
    snprintf(qdir, sizeof(qdir), "%s/queue", root);
    TEST_EQ_INT(queue_dirs_create(qdir), 0);
    char *a = make_file(qdir, "a@x", "r@y");
    usleep(2000);
    char *b = make_file(qdir, "b@x", "r@y");
    usleep(2000);
    char *c = make_file(qdir, "c@x", "r@y");
    move(qdir, b, QUEUE_DEFERRED);
    move(qdir, c, QUEUE_HOLD);
    char dpath[1100];
    snprintf(dpath, sizeof(dpath), "%s/defer/%s", qdir, b);
    const char *defer = "r@y\t4.4.1\tfirst try\nr@y\t4.4.2\tsecond try\n";
    fs_write_atomic(dpath, defer, strlen(defer), 0600);
    /* A file cleanup is still writing (mode 0600) is not listed. */
    queue_file *qf;
    char *err = NULL;
    TEST_EQ_INT(queue_file_create(qdir, &qf, &err), 0);
    walk_seen w = {{0}};
    TEST_EQ_INT(queue_cmd_list_walk(qdir, NULL, walk_visit, &w), 3);
    TEST_EQ_STR(w.got, "incoming:a@x:-;deferred:b@x:second try;hold:c@x:-;");
    char *path = NULL;
    TEST_EQ_STR(queue_cmd_find(qdir, b, &path), QUEUE_DEFERRED);
    mem_free(&path);
    TEST_TRUE(queue_cmd_find(qdir, "0123456789AB", &path) == NULL);
    queue_file_abort(&qf);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    TEST_EQ_INT(system(cmd), 0);
    mem_free(&a);
    mem_free(&b);
    mem_free(&c);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    msg_stderr_only();
    TEST_RUN(test_empty_queue);
    TEST_RUN(test_text_format);
    TEST_RUN(test_one_request_singular);
    TEST_RUN(test_json_quote);
    TEST_RUN(test_walk_real_queue);
    return test_done();
}
