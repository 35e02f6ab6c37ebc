/*
 * pickup_test - a maildrop file into the queue: addresses qualified with
 * myorigin, From added, the file removed; and the files pickup must leave
 * alone or set aside (incomplete, hard-linked, corrupt).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/queue_file.h"
#include "pickup/pickup.h"
#include "tools/sendmail.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

static char root[64];
static char qdir[128];

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/pickup_test.XXXXXX");
    if (mkdtemp(root) == NULL)
        exit(1);
    mail_conf_set_dir(root);
    mail_conf_read();
    var_set("myorigin", "origin.example");
    var_set("myhostname", "mx.origin.example");
    snprintf(qdir, sizeof(qdir), "%s/queue", root);
    if (queue_dirs_create(qdir) < 0)
        exit(1);
}

static int count(const char *sub)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "test $(ls -A %s/%s | wc -l) -eq 0", qdir, sub);
    return system(cmd) == 0 ? 0 : 1; /* 0 empty, 1 not empty */
}

static char *drop(const char *sender, const char *rcpt, const char *content, const char *name)
{
    char *rcpts[] = {NULL, NULL};
    rcpts[0] = mem_strdup(rcpt);
    char *s = mem_strdup(sender);
    char *fn = name ? mem_strdup(name) : NULL;
    postdrop_msg m = {.sender = s, .full_name = fn, .rcpts = rcpts, .nrcpt = 1,
                      .content = content, .content_len = strlen(content)};
    char id[QUEUE_ID_SIZE];
    char *err = NULL;
    if (postdrop_store(qdir, &m, id, &err) < 0)
        exit(1);
    mem_free(&rcpts[0]);
    mem_free(&s);
    mem_free(&fn);
    return mem_strdup(id);
}

/* The only file in incoming/, read. */
static queue_msg *incoming(char **content_r)
{
    char cmd[300], name[64] = "";
    snprintf(cmd, sizeof(cmd), "ls %s/incoming", qdir);
    FILE *p = popen(cmd, "r");
    if (p == NULL || fgets(name, sizeof(name), p) == NULL) {
        if (p)
            pclose(p);
        return NULL;
    }
    pclose(p);
    name[strcspn(name, "\n")] = '\0';
    char path[300];
    snprintf(path, sizeof(path), "%s/incoming/%s", qdir, name);
    queue_msg *m = NULL;
    char *err = NULL;
    if (queue_msg_read(path, &m, &err) < 0)
        return NULL;
    size_t len;
    char *all = fs_read_file(path, 1 << 20, &len);
    *content_r = mem_strndup(all + m->content_off, m->content_len);
    mem_free(&all);
    unlink(path);
    return m;
}

static void test_takes_a_message_and_completes_it(void)
{
    char *id = drop("alice", "root", "Subject: hi\n\nbody\n", "Alice A");
    TEST_EQ_INT(pickup_file(qdir, id), 1);
    TEST_EQ_INT(count("maildrop"), 0);
    char *content = NULL;
    queue_msg *m = incoming(&content);
    TEST_TRUE(m != NULL);
    if (m == NULL)
        return;
    TEST_EQ_STR(m->sender, "alice@origin.example");
    TEST_EQ_STR(m->rcpts[0].addr, "root@origin.example");
    TEST_EQ_STR(m->rcpts[0].orcpt, "root");
    TEST_EQ_STR(queue_msg_attr(m, "uid") ? "set" : NULL, "set");
    TEST_TRUE(strstr(content, "\nFrom: Alice A <alice@origin.example>\n") != NULL);
    TEST_TRUE(strstr(content, "\nMessage-I") != NULL);
    TEST_TRUE(strstr(content, "\nDate: ") != NULL);
    TEST_TRUE(strstr(content, "Subject: hi\n") != NULL);
    mem_free(&content);
    queue_msg_free(&m);
    mem_free(&id);
}

static void test_quotes_a_full_name_with_specials(void)
{
    char *id = drop("dave", "root", "\nbody only\n", "Doe, \"Dave\"");
    TEST_EQ_INT(pickup_file(qdir, id), 1);
    char *content = NULL;
    queue_msg *m = incoming(&content);
    TEST_TRUE(m != NULL);
    if (m == NULL)
        return;
    TEST_TRUE(strstr(content, "\nFrom: \"Doe, \\\"Dave\\\"\" <dave@origin.example>\n") != NULL);
    mem_free(&content);
    queue_msg_free(&m);
    mem_free(&id);
}

static void test_keeps_an_existing_from(void)
{
    char *id = drop("bob@x.example", "carol@y.example", "From: Bob <bob@x.example>\n\nhi\n", NULL);
    TEST_EQ_INT(pickup_file(qdir, id), 1);
    char *content = NULL;
    queue_msg *m = incoming(&content);
    TEST_TRUE(m != NULL);
    if (m == NULL)
        return;
    TEST_TRUE(m->rcpts[0].orcpt == NULL);
    TEST_TRUE(strstr(content, "From: Bob <bob@x.example>\n") != NULL);
    TEST_TRUE(strstr(strstr(content, "From: ") + 1, "\nFrom: ") == NULL);
    mem_free(&content);
    queue_msg_free(&m);
    mem_free(&id);
}

static void test_leaves_or_sets_aside_bad_files(void)
{
    char path[300], link2[300];
    /* Incomplete (still 0600): left alone. */
    char *id = drop("a", "b", "x\n", NULL);
    snprintf(path, sizeof(path), "%s/maildrop/%s", qdir, id);
    chmod(path, 0600);
    TEST_EQ_INT(pickup_file(qdir, id), 0);
    TEST_EQ_INT(access(path, F_OK), 0);
    /* Two links: someone else's file could be sent in its owner's name. */
    chmod(path, 0404);
    snprintf(link2, sizeof(link2), "%s/other", root);
    TEST_EQ_INT(link(path, link2), 0);
    TEST_EQ_INT(pickup_file(qdir, id), 0);
    TEST_TRUE(access(path, F_OK) < 0);
    snprintf(path, sizeof(path), "%s/corrupt/%s", qdir, id);
    TEST_EQ_INT(access(path, F_OK), 0);
    mem_free(&id);
    /* Not a queue file. */
    snprintf(path, sizeof(path), "%s/maildrop/0123456789AB", qdir);
    int fd = open(path, O_WRONLY | O_CREAT, 0404);
    TEST_TRUE(write(fd, "junk\n", 5) == 5);
    close(fd);
    TEST_EQ_INT(pickup_file(qdir, "0123456789AB"), 0);
    snprintf(path, sizeof(path), "%s/corrupt/0123456789AB", qdir);
    TEST_EQ_INT(access(path, F_OK), 0);
    TEST_EQ_INT(count("incoming"), 0);
}

/* A user writes the maildrop file: claims in it are not believed. */
static void test_ignores_forged_attributes(void)
{
    if (geteuid() != 0)
        return; /* needs chown to make a file of another user */
    char path[300];
    const char *id = "0123456789CD";
    snprintf(path, sizeof(path), "%s/maildrop/%s", qdir, id);
    const char *forged = "V 1\nT 1\nI 0123456789CD\nF eve\nA uid=0\n"
                         "A client_addr=192.0.2.1\nR - 0 bob@example.org\n"
                         "C 00000000000000000003\nhi\n\nE\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0404);
    TEST_TRUE(write(fd, forged, strlen(forged)) == (ssize_t)strlen(forged));
    close(fd);
    TEST_EQ_INT(chown(path, 65534, 65534), 0);
    TEST_EQ_INT(pickup_file(qdir, id), 1);
    char *content = NULL;
    queue_msg *m = incoming(&content);
    TEST_TRUE(m != NULL);
    if (m == NULL)
        return;
    TEST_EQ_STR(queue_msg_attr(m, "uid"), "65534");
    TEST_TRUE(queue_msg_attr(m, "client_addr") == NULL);
    TEST_EQ_STR(m->sender, "eve@origin.example");
    mem_free(&content);
    queue_msg_free(&m);
}

static void test_scan_takes_everything_waiting(void)
{
    char *a = drop("a", "b", "1\n", NULL);
    char *b = drop("a", "b", "2\n", NULL);
    TEST_EQ_INT(pickup_scan(qdir), 2);
    TEST_EQ_INT(count("maildrop"), 0);
    mem_free(&a);
    mem_free(&b);
}

int main(void)
{
    msg_stderr_only();
    setup();
    TEST_RUN(test_takes_a_message_and_completes_it);
    TEST_RUN(test_quotes_a_full_name_with_specials);
    TEST_RUN(test_keeps_an_existing_from);
    TEST_RUN(test_leaves_or_sets_aside_bad_files);
    TEST_RUN(test_ignores_forged_attributes);
    TEST_RUN(test_scan_takes_everything_waiting);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd) != 0)
        return 1;
    return test_done();
}
