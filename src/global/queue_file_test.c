/*
 * queue_file_test - round trip, marks, corruption detection, and the
 * refusal of unsafe files (links, FIFOs, other owners).
 */
#include "global/queue_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static char qdir[] = "/tmp/postie-qf-test-XXXXXX";

static char *queue_test_write(const char *body, char id_r[QUEUE_ID_SIZE])
{
    queue_file *qf;
    char *err = NULL;
    TEST_EQ_INT(queue_file_create(qdir, &qf, &err), 0);
    snprintf(id_r, QUEUE_ID_SIZE, "%s", queue_file_id(qf));
    TEST_TRUE(queue_id_valid(id_r));
    TEST_EQ_INT(queue_file_sender(qf, "alice@example.org"), 0);
    TEST_EQ_INT(queue_file_attr(qf, "client_name", "localhost"), 0);
    TEST_EQ_INT(queue_file_rcpt(qf, "bob@example.org", NULL), 0);
    TEST_EQ_INT(queue_file_rcpt(qf, "carol@example.org", "rfc822;carol@example.org"), 0);
    TEST_EQ_INT(queue_file_content_begin(qf), 0);
    TEST_EQ_INT(queue_file_content(qf, body, strlen(body)), 0);
    TEST_EQ_INT(queue_file_commit(&qf, &err), 0);
    TEST_TRUE(qf == NULL);
    char *dir = fs_join(qdir, QUEUE_INCOMING);
    char *path = fs_join(dir, id_r);
    mem_free(&dir);
    return path;
}

static void test_round_trip(void)
{
    char id[QUEUE_ID_SIZE];
    const char *body = "Subject: hi\n\nline\n.dot\n";
    char *path = queue_test_write(body, id);
    struct stat st;
    TEST_EQ_INT(stat(path, &st), 0);
    TEST_EQ_INT(st.st_mode & 0777, 0700);
    queue_msg *m;
    char *err = NULL;
    TEST_EQ_INT(queue_msg_read(path, &m, &err), 0);
    TEST_EQ_STR(m->id, id);
    TEST_EQ_STR(m->sender, "alice@example.org");
    TEST_EQ_STR(queue_msg_attr(m, "client_name"), "localhost");
    TEST_EQ_INT(m->nrcpt, 2);
    TEST_EQ_STR(m->rcpts[1].addr, "carol@example.org");
    TEST_EQ_STR(m->rcpts[1].orcpt, "rfc822;carol@example.org");
    TEST_EQ_INT(m->content_len, strlen(body));
    TEST_EQ_INT(queue_msg_pending(m), 2);
    /* The content is where the reader says it is. */
    int fd = open(path, O_RDONLY);
    char got[64] = {0};
    TEST_EQ_INT(pread(fd, got, m->content_len, m->content_off), (long long)strlen(body));
    TEST_EQ_STR(got, body);
    close(fd);
    /* Marks survive a re-read. */
    TEST_EQ_INT(queue_msg_mark(path, &m->rcpts[0], QUEUE_RCPT_DONE), 0);
    queue_msg_free(&m);
    TEST_EQ_INT(queue_msg_read(path, &m, &err), 0);
    TEST_EQ_INT(m->rcpts[0].status, QUEUE_RCPT_DONE);
    TEST_EQ_INT(queue_msg_pending(m), 1);
    queue_msg_free(&m);
    unlink(path);
    mem_free(&path);
}

/* Each damage must be detected: the table is the test. */
static void test_corruption_detected(void)
{
    static const struct {
        const char *name;
        long cut;        /* truncate to size + cut (negative: shorter) */
        const char *append;
    } cases[] = {
        {"truncated end marker", -1, NULL},
        {"truncated content", -6, NULL},
        {"garbage after end", 0, "X"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].name;
        char id[QUEUE_ID_SIZE];
        char *path = queue_test_write("Subject: x\n\nbody\n", id);
        struct stat st;
        stat(path, &st);
        TEST_EQ_INT(truncate(path, st.st_size + cases[i].cut), 0);
        if (cases[i].append) {
            FILE *fp = fopen(path, "a");
            fputs(cases[i].append, fp);
            fclose(fp);
        }
        queue_msg *m = NULL;
        char *err = NULL;
        TEST_EQ_INT(queue_msg_read(path, &m, &err), -1);
        TEST_TRUE(m == NULL);
        TEST_TRUE(err != NULL && strstr(err, "corrupt") != NULL);
        mem_free(&err);
        unlink(path);
        mem_free(&path);
    }
}

static void test_record_injection_refused(void)
{
    queue_file *qf;
    char *err = NULL;
    TEST_EQ_INT(queue_file_create(qdir, &qf, &err), 0);
    TEST_EQ_INT(queue_file_sender(qf, "a@b\nR - 9 evil@x"), -1);
    TEST_EQ_INT(queue_file_rcpt(qf, "x@y\r", NULL), -1);
    queue_file_abort(&qf);
    TEST_TRUE(qf == NULL);
}

/* Unsafe files (issue 14): a symlink, a hard link, a FIFO, a directory,
 * a file of another owner are refused with EPERM, without blocking, and
 * neither read nor marked; a good file is read through its descriptor. */
static void test_unsafe_files_refused(void)
{
    char id[QUEUE_ID_SIZE];
    char *good = queue_test_write("Subject: secret\n\nsecret\n", id);
    char *dir = fs_join(qdir, QUEUE_ACTIVE);
    static const struct {
        const char *kind;
        const char *why; /* in the error text */
    } cases[] = {
        {"symlink", "uid "}, {"hardlink", "file has 2 links"},
        {"fifo", "not a regular file"}, {"dir", "not a regular file"},
        {"owner", "not owned by the queue owner"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* The planted name is the ID, so that only the check can refuse. */
        char *path = fs_join(dir, id);
        const char *k = cases[i].kind;
        if (strcmp(k, "symlink") == 0)
            TEST_EQ_INT(symlink(good, path), 0);
        else if (strcmp(k, "hardlink") == 0)
            TEST_EQ_INT(link(good, path), 0);
        else if (strcmp(k, "fifo") == 0)
            TEST_EQ_INT(mkfifo(path, 0700), 0);
        else if (strcmp(k, "dir") == 0)
            TEST_EQ_INT(mkdir(path, 0700), 0);
        else {
            TEST_EQ_INT(rename(good, path), 0);
            queue_file_owner_set(geteuid() + 1);
        }
        queue_msg *m = NULL;
        char *err = NULL;
        errno = 0;
        TEST_EQ_INT(queue_msg_read(path, &m, &err), -1);
        TEST_EQ_INT(errno, EPERM);
        TEST_TRUE(m == NULL);
        TEST_TRUE(err != NULL && strstr(err, cases[i].why) != NULL);
        if (err && !strstr(err, cases[i].why))
            fprintf(stderr, "  %s: %s\n", k, err);
        mem_free(&err);
        queue_rcpt r = {.status_off = 0};
        TEST_EQ_INT(queue_msg_mark(path, &r, 'X'), -1);
        TEST_EQ_INT(queue_file_open(path, O_RDWR, queue_file_owner(), NULL, &err), -1);
        mem_free(&err);
        if (strcmp(k, "owner") == 0) {
            queue_file_owner_set(geteuid());
            TEST_EQ_INT(rename(path, good), 0);
        } else if (strcmp(k, "dir") == 0) {
            rmdir(path);
        } else {
            unlink(path);
        }
        mem_free(&path);
    }
    /* Nothing wrote through a refused open: the first byte is intact. */
    char first = 0;
    int fd = queue_file_open(good, O_RDONLY, queue_file_owner(), NULL, NULL);
    TEST_TRUE(fd >= 0);
    TEST_EQ_INT(pread(fd, &first, 1, 0), 1);
    TEST_EQ_INT(first, 'V');
    queue_msg *m = NULL;
    char *err = NULL;
    TEST_EQ_INT(queue_file_read(fd, good, &m, &err), 0);
    char body[64] = {0};
    TEST_EQ_INT(pread(fd, body, m->content_len, m->content_off), (long long)m->content_len);
    TEST_EQ_STR(body, "Subject: secret\n\nsecret\n");
    close(fd);
    queue_msg_free(&m);
    unlink(good);
    mem_free(&good);
    mem_free(&dir);
}

/* Files created in the same microsecond still get distinct names. */
static void test_ids_unique(void)
{
    enum { N = 50 };
    queue_file *qf[N];
    for (int i = 0; i < N; i++) {
        char *err = NULL;
        TEST_EQ_INT(queue_file_create(qdir, &qf[i], &err), 0);
        for (int j = 0; j < i; j++)
            TEST_TRUE(strcmp(queue_file_id(qf[i]), queue_file_id(qf[j])) != 0);
    }
    for (int i = 0; i < N; i++)
        queue_file_abort(&qf[i]);
}

int main(void)
{
    if (mkdtemp(qdir) == NULL)
        return 1;
    TEST_EQ_INT(queue_dirs_create(qdir), 0);
    queue_file_owner_set(geteuid());
    TEST_RUN(test_round_trip);
    TEST_RUN(test_corruption_detected);
    TEST_RUN(test_record_injection_refused);
    TEST_RUN(test_unsafe_files_refused);
    TEST_RUN(test_ids_unique);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", qdir);
    if (system(cmd) != 0)
        return 1;
    return test_done();
}
