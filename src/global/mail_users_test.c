/*
 * mail_users_test - users file lines, file changes, password hashes.
 */
#include "global/mail_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/mem.h"
#include "util/test.h"

static void test_mail_users_parse_table(void)
{
    static const struct {
        const char *line;
        int ok;
        const char *name, *pass, *home;
        long uid, gid;
    } cases[] = {
        {"bob:{SHA512-CRYPT}$6$x$y:1000:1000::/home/bob::", 1, "bob", "{SHA512-CRYPT}$6$x$y", "/home/bob", 1000, 1000},
        {"Alice:{CRYPT}abc", 1, "alice", "{CRYPT}abc", "", -1, -1},
        {"carol::::::", 1, "carol", "", "", -1, -1},
        {"dave:p:::g:h:s:userdb_quota_rule=*:storage=1G", 1, "dave", "p", "h", -1, -1},
        {":nouser", 0, NULL, NULL, NULL, 0, 0},
        {"eve:p:12x:1", 0, NULL, NULL, NULL, 0, 0},
        {"eve:p:1:-1", 0, NULL, NULL, NULL, 0, 0},
        {"bad name:p", 0, NULL, NULL, NULL, 0, 0},
        {"a/b:p", 0, NULL, NULL, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mail_user *u = NULL;
        char *err = NULL;
        int r = mail_users_parse_line(cases[i].line, &u, &err);
        TEST_EQ_INT(r == 0, cases[i].ok);
        if (r == 0 && cases[i].ok) {
            TEST_EQ_STR(u->name, cases[i].name);
            TEST_EQ_STR(u->password, cases[i].pass);
            TEST_EQ_STR(u->home, cases[i].home);
            TEST_EQ_INT(u->uid, cases[i].uid);
            TEST_EQ_INT(u->gid, cases[i].gid);
        }
        mail_user_free(&u);
        mem_free(&err);
    }
}

static void test_mail_users_format_round_trip(void)
{
    static const char *const lines[] = {
        "bob:{SHA512-CRYPT}$6$x$y:1000:1000::/home/bob:",
        "dave:p:::g:h:s:userdb_quota_rule=*:storage=1G",
        "carol::::::",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        mail_user *u = NULL;
        TEST_EQ_INT(mail_users_parse_line(lines[i], &u, NULL), 0);
        char *s = mail_users_format(u);
        TEST_EQ_STR(s, lines[i]);
        mem_free(&s);
        mail_user_free(&u);
    }
}

static void test_mail_users_file_changes(void)
{
    char dir[] = "/tmp/mail_users_test.XXXXXX";
    TEST_TRUE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/users", dir);
    FILE *fp = fopen(path, "w");
    fputs("# comment kept\nbob:{CRYPT}x:::::\n", fp);
    fclose(fp);

    mail_user u = {.name = (char[]){"carol"}, .password = (char[]){"{CRYPT}y"},
                   .uid = -1, .gid = -1};
    char *err = NULL;
    TEST_EQ_INT(mail_users_file_add(path, &u, &err), 0);
    TEST_EQ_INT(mail_users_file_add(path, &u, &err), -1); /* exists */
    mem_free(&err);
    mail_user *f = NULL;
    TEST_EQ_INT(mail_users_file_find(path, "CAROL", &f, NULL), 1);
    TEST_EQ_STR(f ? f->password : NULL, "{CRYPT}y");
    mail_user_free(&f);
    TEST_EQ_INT(mail_users_file_passwd(path, "bob", "{CRYPT}z", NULL), 0);
    TEST_EQ_INT(mail_users_file_find(path, "bob", &f, NULL), 1);
    TEST_EQ_STR(f ? f->password : NULL, "{CRYPT}z");
    mail_user_free(&f);
    TEST_EQ_INT(mail_users_file_del(path, "bob", NULL), 0);
    TEST_EQ_INT(mail_users_file_del(path, "bob", &err), -1);
    mem_free(&err);
    TEST_EQ_INT(mail_users_file_find(path, "bob", NULL, NULL), 0);
    size_t len;
    char buf[4096] = {0};
    fp = fopen(path, "r");
    len = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[len] = '\0';
    TEST_EQ_STR(buf, "# comment kept\ncarol:{CRYPT}y:::::\n");
    mail_user **v;
    TEST_EQ_INT(mail_users_file_list(path, &v, NULL), 0);
    TEST_EQ_STR(v[0] ? v[0]->name : NULL, "carol");
    TEST_TRUE(v[1] == NULL);
    mail_users_list_free(&v);
    /* A missing file is an empty list, not an error. */
    TEST_EQ_INT(mail_users_file_find("/nonexistent/users", "x", NULL, NULL), 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
}

static void test_mail_users_hash_and_verify(void)
{
    char *h = NULL;
    TEST_EQ_INT(mail_users_hash("s3cret", &h, NULL), 0);
    TEST_TRUE(h && strncmp(h, "{SHA512-CRYPT}$6$", 17) == 0);
    TEST_TRUE(h && strstr(h, "s3cret") == NULL);
    TEST_EQ_INT(mail_users_verify(h, "s3cret"), 1);
    TEST_EQ_INT(mail_users_verify(h, "s3cre"), 0);
    TEST_EQ_INT(mail_users_verify(h, ""), 0);
    char *h2 = NULL;
    TEST_EQ_INT(mail_users_hash("s3cret", &h2, NULL), 0);
    TEST_TRUE(h && h2 && strcmp(h, h2) != 0); /* salted */
    TEST_EQ_INT(mail_users_verify(h2 + 14, "s3cret"), 1); /* bare $6$ */
    TEST_EQ_INT(mail_users_verify("{PLAIN}s3cret", "s3cret"), -1);
    TEST_EQ_INT(mail_users_verify("{CRYPT}", "x"), 0);
    mem_free(&h);
    mem_free(&h2);
}

static void test_mail_users_name_ok(void)
{
    static const struct { const char *n; int ok; } cases[] = {
        {"bob", 1}, {"bob.smith", 1}, {"b_o-b+x", 1}, {"", 0}, {".bob", 0},
        {"-bob", 0}, {"bo b", 0}, {"bo:b", 0}, {"bo/b", 0}, {"bo@b", 0},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TEST_EQ_INT(mail_users_name_ok(cases[i].n), cases[i].ok);
}

int main(void)
{
    TEST_RUN(test_mail_users_parse_table);
    TEST_RUN(test_mail_users_format_round_trip);
    TEST_RUN(test_mail_users_file_changes);
    TEST_RUN(test_mail_users_hash_and_verify);
    TEST_RUN(test_mail_users_name_ok);
    return test_done();
}
