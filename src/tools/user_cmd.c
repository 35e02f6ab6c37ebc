/*
 * user_cmd - "postie user add|del|list|passwd" (virtual users in
 * mail_users_file) and "postie newaliases" / "newaliases" (check the
 * alias files).
 *
 * Passwords come from the terminal with echo off (asked twice), or from
 * standard input: with --password-stdin the first line; else, when stdin
 * is not a terminal, the first line and, if present, a second that must
 * match.  They are hashed at once ({SHA512-CRYPT}) and never printed or
 * logged; the clear text is wiped from memory after use.
 *
 * newaliases: postie reads alias files as text (mail_aliases.h), so there
 * is no database to build; the command checks every alias_database file
 * and reports each problem as "file:line: text", exit 1 if any.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "global/mail_aliases.h"
#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "global/mail_users.h"
#include "tools/tools.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/msg.h"

#define USER_PASS_MAX 1024

static int user_usage(void)
{
    fprintf(stderr,
            "usage: postie user add NAME [--password-stdin] [--home DIR]\n"
            "       postie user passwd NAME [--password-stdin]\n"
            "       postie user del NAME\n"
            "       postie user list\n");
    return 64;
}

static void user_wipe(char *s)
{
    if (s == NULL)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
}

/* One line from fp without its newline; NULL at EOF. */
static char *user_read_line(FILE *fp)
{
    char *line = mem_zalloc(USER_PASS_MAX + 2);
    if (fgets(line, USER_PASS_MAX + 2, fp) == NULL) {
        mem_free(&line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

static char *user_prompt(const char *prompt)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return NULL;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(prompt, stderr);
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char *line = user_read_line(stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return line;
}

/* The new password, or NULL after a message. */
static char *user_get_password(bool from_stdin)
{
    char *a = NULL, *b = NULL;
    if (!from_stdin && isatty(STDIN_FILENO)) {
        a = user_prompt("New password: ");
        b = a ? user_prompt("Retype new password: ") : NULL;
        if (b == NULL) {
            fprintf(stderr, "postie user: no password given\n");
            goto fail;
        }
    } else {
        a = user_read_line(stdin);
        if (!from_stdin)
            b = user_read_line(stdin); /* optional confirmation */
    }
    if (a == NULL || *a == '\0') {
        /* Without a terminal there is no prompt: say how to give one. */
        if (!from_stdin && !isatty(STDIN_FILENO))
            fprintf(stderr, "postie user: empty password refused (no terminal to ask "
                            "on: use --password-stdin, e.g. printf '%%s\\n' \"$PASS\" | "
                            "postie user add NAME --password-stdin)\n");
        else
            fprintf(stderr, "postie user: empty password refused\n");
        goto fail;
    }
    if (b != NULL && strcmp(a, b) != 0) {
        fprintf(stderr, "postie user: the passwords do not match\n");
        goto fail;
    }
    user_wipe(b);
    mem_free(&b);
    return a;
fail:
    user_wipe(a);
    user_wipe(b);
    mem_free(&a);
    mem_free(&b);
    return NULL;
}

static char *user_hash_new(bool from_stdin)
{
    char *pw = user_get_password(from_stdin);
    if (pw == NULL)
        return NULL;
    char *hash = NULL, *err = NULL;
    if (mail_users_hash(pw, &hash, &err) < 0) {
        fprintf(stderr, "postie user: %s\n", err);
        mem_free(&err);
    }
    user_wipe(pw);
    mem_free(&pw);
    return hash;
}

static int user_add(const char *path, int argc, char **argv)
{
    const char *name = NULL, *home = "";
    bool from_stdin = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = true;
        else if (strcmp(argv[i], "--home") == 0 && i + 1 < argc)
            home = argv[++i];
        else if (argv[i][0] != '-' && name == NULL)
            name = argv[i];
        else
            return user_usage();
    }
    if (name == NULL)
        return user_usage();
    if (!mail_users_name_ok(name) || strchr(home, ':') != NULL) {
        fprintf(stderr, "postie user: bad user name or home: %s\n", name);
        return 65;
    }
    mail_user *old = NULL;
    if (mail_users_file_find(path, name, &old, NULL) > 0) {
        mail_user_free(&old);
        fprintf(stderr, "postie user: user %s already exists in %s\n", name,
                path);
        return 1;
    }
    char *hash = user_hash_new(from_stdin);
    if (hash == NULL)
        return 1;
    char empty[1] = "";
    mail_user u = {
        .name = mem_strdup(name), .password = hash, .uid = -1, .gid = -1,
        .gecos = empty, .home = mem_strdup(home), .shell = empty,
        .extra = empty,
    };
    for (char *c = u.name; *c; c++) /* names are compared without case */
        *c = (char)tolower((unsigned char)*c);
    char *err = NULL;
    int r = mail_users_file_add(path, &u, &err);
    mem_free(&hash);
    mem_free(&u.name);
    mem_free(&u.home);
    if (r < 0) {
        fprintf(stderr, "postie user: %s\n", err);
        mem_free(&err);
        return 1;
    }
    msg_info("added user %s to %s", name, path);
    return 0;
}

static int user_passwd(const char *path, int argc, char **argv)
{
    const char *name = NULL;
    bool from_stdin = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = true;
        else if (argv[i][0] != '-' && name == NULL)
            name = argv[i];
        else
            return user_usage();
    }
    if (name == NULL)
        return user_usage();
    if (mail_users_file_find(path, name, NULL, NULL) <= 0) {
        fprintf(stderr, "postie user: no user %s in %s\n", name, path);
        return 1;
    }
    char *hash = user_hash_new(from_stdin);
    if (hash == NULL)
        return 1;
    char *err = NULL;
    int r = mail_users_file_passwd(path, name, hash, &err);
    mem_free(&hash);
    if (r < 0) {
        fprintf(stderr, "postie user: %s\n", err);
        mem_free(&err);
        return 1;
    }
    msg_info("changed the password of user %s", name);
    return 0;
}

static int user_del(const char *path, int argc, char **argv)
{
    if (argc != 1)
        return user_usage();
    char *err = NULL;
    if (mail_users_file_del(path, argv[0], &err) < 0) {
        fprintf(stderr, "postie user: %s\n", err);
        mem_free(&err);
        return 1;
    }
    /* The mailbox stays: mail is not deleted by removing a login. */
    msg_info("removed user %s from %s (the mailbox is kept)", argv[0], path);
    return 0;
}

static int user_list(const char *path)
{
    mail_user **v;
    char *err = NULL;
    if (mail_users_file_list(path, &v, &err) < 0) {
        fprintf(stderr, "postie user: %s\n", err);
        mem_free(&err);
        return 1;
    }
    for (mail_user **u = v; *u; u++) {
        char *home = mail_users_home(*u);
        printf("%s\t%s\n", (*u)->name, home);
        mem_free(&home);
    }
    mail_users_list_free(&v);
    return 0;
}

int user_main(int argc, char **argv)
{
    if (argc < 2)
        return user_usage();
    mail_command_init("user");
    /* Only this command's own lines go to stderr; msg_info lines are for
     * the log (passwords never reach either). */
    msg_set_stderr(false);
    char *path = var_path("mail_users_file");
    int r;
    if (strcmp(argv[1], "add") == 0)
        r = user_add(path, argc - 2, argv + 2);
    else if (strcmp(argv[1], "del") == 0 || strcmp(argv[1], "delete") == 0)
        r = user_del(path, argc - 2, argv + 2);
    else if (strcmp(argv[1], "passwd") == 0)
        r = user_passwd(path, argc - 2, argv + 2);
    else if (strcmp(argv[1], "list") == 0 && argc == 2)
        r = user_list(path);
    else
        r = user_usage();
    mem_free(&path);
    return r;
}

typedef struct newaliases_ctx {
    int problems;
    char **bad;          /* the files with a problem */
    size_t nbad;
} newaliases_ctx;

static void newaliases_report(const char *path, int line, const char *text,
                              void *ctx)
{
    newaliases_ctx *c = ctx;
    c->problems++;
    if (line > 0)
        fprintf(stderr, "newaliases: %s:%d: %s\n", path, line, text);
    else
        fprintf(stderr, "newaliases: %s: %s\n", path, text);
    /* The log gets them too, as postalias logs its warnings: a file with
     * a problem is not "checked". */
    if (line > 0)
        msg_warn("%s, line %d: %s", path, line, text);
    else
        msg_warn("%s: %s", path, text);
    for (size_t i = 0; i < c->nbad; i++)
        if (strcmp(c->bad[i], path) == 0)
            return;
    c->bad = mem_realloc(c->bad, (c->nbad + 1) * sizeof(*c->bad));
    c->bad[c->nbad++] = mem_strdup(path);
}

int newaliases_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        /* sendmail-compatible callers may pass -I or -oA...; the rest is a
         * usage error. */
        if (strcmp(argv[i], "-I") != 0 && strncmp(argv[i], "-oA", 3) != 0) {
            fprintf(stderr, "usage: newaliases\n");
            return 64;
        }
    }
    mail_command_init("newaliases");
    msg_set_stderr(false);
    newaliases_ctx c = {0, NULL, 0};
    size_t entries = 0;
    mail_aliases_check(newaliases_report, &c, &entries);
    char **maps = var_list("alias_database");
    for (char **m = maps; *m; m++) {
        char *p = mail_aliases_path(*m);
        bool bad = false;
        for (size_t i = 0; i < c.nbad; i++)
            bad = bad || strcmp(c.bad[i], p) == 0;
        if (!bad)
            msg_info("%s: checked", p);
        mem_free(&p);
    }
    conf_free_list(&maps);
    for (size_t i = 0; i < c.nbad; i++)
        mem_free(&c.bad[i]);
    mem_free(&c.bad);
    if (c.problems > 0) {
        fprintf(stderr, "newaliases: %d problem(s) found; %zu aliases\n",
                c.problems, entries);
        return 1;
    }
    return 0;
}
