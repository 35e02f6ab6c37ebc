/*
 * mail_aliases_test - aliases(5) parsing, problems reported with lines,
 * map prefixes, and the re-read of a changed file.
 */
#include "global/mail_aliases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/test.h"

static char problems[2048];

static void collect(const char *path, int line, const char *text, void *ctx)
{
    size_t n = strlen(problems);
    snprintf(problems + n, sizeof(problems) - n, "%d:%s;", line, text);
}

static void test_mail_aliases_parse(void)
{
    const char *text =
        "# comment\n"
        "postmaster: root\n"
        "Team:  alice, bob ,\n"
        "       carol@example.net\n"
        "\n"
        "# a comment between does not end the entry\n"
        "quoted: \"a b\"@x, <dave>\n"
        "nocolon here\n"
        "empty:\n"
        "postmaster: other\n"
        "  orphan? no: continuation of postmaster above\n";
    problems[0] = '\0';
    alias_table *t = mail_aliases_parse(text, "aliases", collect, NULL);
    TEST_EQ_INT(mail_aliases_count(t), 3);
    char *const *v = mail_aliases_table_lookup(t, "team");
    TEST_TRUE(v != NULL);
    if (v) {
        TEST_EQ_STR(v[0], "alice");
        TEST_EQ_STR(v[1], "bob");
        TEST_EQ_STR(v[2], "carol@example.net");
        TEST_TRUE(v[3] == NULL);
    }
    v = mail_aliases_table_lookup(t, "POSTMASTER");
    TEST_EQ_STR(v ? v[0] : NULL, "root");
    v = mail_aliases_table_lookup(t, "quoted");
    TEST_EQ_STR(v ? v[0] : NULL, "\"a b\"@x");
    TEST_EQ_STR(v ? v[1] : NULL, "<dave>");
    TEST_TRUE(mail_aliases_table_lookup(t, "nobody") == NULL);
    TEST_EQ_STR(problems, "8:missing ':' after the alias name;"
                          "9:alias has no value;"
                          "10:duplicate alias \"postmaster\" ignored;");
    mail_aliases_free(&t);
    TEST_TRUE(t == NULL);
}

static void test_mail_aliases_path(void)
{
    mail_conf_set_dir("/etc");
    static const struct { const char *map, *want; } cases[] = {
        {"hash:/etc/aliases", "/etc/aliases"},
        {"lmdb:/etc/aliases", "/etc/aliases"},
        {"/etc/aliases", "/etc/aliases"},
        {"aliases", "/etc/aliases"},
        {"texthash:local/aliases", "/etc/local/aliases"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = mail_aliases_path(cases[i].map);
        TEST_EQ_STR(p, cases[i].want);
        mem_free(&p);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

static void test_mail_aliases_lookup_rereads_changed_file(void)
{
    char dir[] = "/tmp/mail_aliases_test.XXXXXX";
    TEST_TRUE(mkdtemp(dir) != NULL);
    mail_conf_set_dir(dir);
    char path[256];
    snprintf(path, sizeof(path), "%s/aliases", dir);
    char map[300];
    snprintf(map, sizeof(map), "hash:%s, %s/missing", path, dir);
    var_set("alias_maps", map);
    var_set("alias_database", map);
    write_file(path, "a: x, y\n");
    char **v = NULL;
    TEST_EQ_INT(mail_aliases_lookup("A", &v, NULL), 1);
    TEST_EQ_STR(v ? v[1] : NULL, "y");
    conf_free_list(&v);
    TEST_EQ_INT(mail_aliases_lookup("b", &v, NULL), 0);
    /* Same size, new content: the mtime or inode tells. */
    sleep(0);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    write_file(tmp, "b: z, w\n");
    rename(tmp, path);
    TEST_EQ_INT(mail_aliases_lookup("b", &v, NULL), 1);
    TEST_EQ_STR(v ? v[0] : NULL, "z");
    conf_free_list(&v);
    TEST_EQ_INT(mail_aliases_lookup("a", &v, NULL), 0);
    size_t entries = 0;
    problems[0] = '\0';
    int n = mail_aliases_check(collect, NULL, &entries);
    TEST_EQ_INT(n, 1); /* the missing file */
    TEST_EQ_INT(entries, 1);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    TEST_EQ_INT(system(cmd), 0);
}

int main(void)
{
    TEST_RUN(test_mail_aliases_parse);
    TEST_RUN(test_mail_aliases_path);
    TEST_RUN(test_mail_aliases_lookup_rereads_changed_file);
    return test_done();
}
