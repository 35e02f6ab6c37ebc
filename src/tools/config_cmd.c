/*
 * config_cmd - "postie config", Postfix's postconf and "postfix check":
 *
 *   postie config [-n]         the values set in postie.conf (postconf -n)
 *   postie config all          every parameter's value (postconf)
 *   postie config -d [NAME..]  the embedded defaults (postconf -d)
 *   postie config [-x] NAME..  named values, raw or -x expanded
 *   postie config -e 'NAME = VALUE'...   set, in place (postconf -e)
 *   postie config -X NAME...   remove, in place (postconf -X)
 *   postie config check        each problem as "file:line: text" on stderr,
 *                              exit 1 when there is any (postfix check):
 *                              postie.conf, then the alias files, the
 *                              users file, the smtpd restriction lists
 *                              and their access tables
 *
 * Lists are sorted by name, as postconf prints them.  -e and -X are in
 * config_cmd_edit.c.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_aliases.h"
#include "global/mail_conf.h"
#include "global/mail_users.h"
#include "master/master.h"
#include "smtpd/smtpd_check.h"
#include "tools/config_cmd.h"
#include "tools/tools.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"

static void config_cmd_report(const char *path, int line, const char *text,
                              void *ctx)
{
    if (line > 0)
        fprintf(stderr, "%s:%d: %s\n", path, line, text);
    else
        fprintf(stderr, "%s: %s\n", path, text);
}

/* Syntax problems are found while parsing and value problems after it:
 * collect both and print them in file order, as a reader goes through. */
typedef struct config_cmd_problem {
    char *path;
    int line;
    int seq;
    char *text;
    bool warning;       /* said, but not a problem (exit 0) */
} config_cmd_problem;

typedef struct config_cmd_problems {
    config_cmd_problem *v;
    size_t n;
    int warnings;
} config_cmd_problems;

static void config_cmd_add(config_cmd_problems *ps, const char *path, int line,
                           const char *text, bool warning)
{
    ps->v = mem_realloc(ps->v, (ps->n + 1) * sizeof(*ps->v));
    ps->v[ps->n] = (config_cmd_problem){mem_strdup(path), line, (int)ps->n,
                                        mem_strdup(text), warning};
    ps->n++;
    ps->warnings += warning;
}

static void config_cmd_collect(const char *path, int line, const char *text,
                               void *ctx)
{
    config_cmd_add(ctx, path, line, text, false);
}

static void config_cmd_collect_warning(const char *path, int line,
                                       const char *text, void *ctx)
{
    config_cmd_add(ctx, path, line, text, true);
}

static int config_cmd_order(const void *a, const void *b)
{
    const config_cmd_problem *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c != 0)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq - y->seq;
}

static void config_cmd_flush(config_cmd_problems *ps)
{
    if (ps->n > 1) /* qsort wants a real array, even of none */
        qsort(ps->v, ps->n, sizeof(*ps->v), config_cmd_order);
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->v[i].warning) {
            char text[1200];
            snprintf(text, sizeof(text), "warning: %s", ps->v[i].text);
            config_cmd_report(ps->v[i].path, ps->v[i].line, text, NULL);
        } else {
            config_cmd_report(ps->v[i].path, ps->v[i].line, ps->v[i].text, NULL);
        }
        mem_free(&ps->v[i].path);
        mem_free(&ps->v[i].text);
    }
    mem_free(&ps->v);
    ps->n = 0;
    ps->warnings = 0;
}

static const mail_conf_param *config_cmd_param(const char *name)
{
    for (const mail_conf_param *p = mail_conf_params; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

enum config_cmd_what { CONFIG_CMD_SET, CONFIG_CMD_ALL, CONFIG_CMD_DEFAULTS };

static int config_cmd_by_name(const void *a, const void *b)
{
    const mail_conf_param *x = *(const mail_conf_param *const *)a;
    const mail_conf_param *y = *(const mail_conf_param *const *)b;
    return strcmp(x->name, y->name);
}

/* "name = value" lines sorted by name, as postconf prints them: the
 * values set in the file (raw, as postconf -n), all of them, or the
 * defaults. */
static void config_cmd_print(enum config_cmd_what what)
{
    size_t n = 0;
    while (mail_conf_params[n].name)
        n++;
    const mail_conf_param **v = mem_alloc((n + 1) * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = &mail_conf_params[i];
    qsort(v, n, sizeof(*v), config_cmd_by_name);
    for (size_t i = 0; i < n; i++) {
        if (what == CONFIG_CMD_DEFAULTS)
            printf("%s = %s\n", v[i]->name, v[i]->def);
        else if (what == CONFIG_CMD_ALL || var_is_set(v[i]->name))
            printf("%s = %s\n", v[i]->name, mail_conf_raw(v[i]->name));
    }
    mem_free(&v);
}

/* Checks of the environment, past the file's own syntax: what a start as
 * root would trip over. */
static int config_cmd_environment(config_cmd_problems *ps)
{
    int problems = 0;
    char *path = NULL;
    const char *owner = var_str("mail_owner");
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(owner);
        char text[512];
        text[0] = '\0';
        if (pw == NULL)
            snprintf(text, sizeof(text), "mail_owner = %s: no such user on this "
                     "system (master needs it when started by root)", owner);
        else if (pw->pw_uid == 0)
            snprintf(text, sizeof(text), "mail_owner = %s: has user ID 0; it "
                     "must be an unprivileged user", owner);
        if (text[0]) {
            path = mem_alloc(strlen(mail_conf_dir()) + sizeof(MAIL_CONF_FILE) + 2);
            sprintf(path, "%s/%s", mail_conf_dir(), MAIL_CONF_FILE);
            conf *c = conf_load(path, NULL, NULL);
            const conf_entry *e = c ? conf_find(c, "mail_owner") : NULL;
            config_cmd_collect(path, e ? e->line : 0, text, ps);
            conf_free(&c);
            problems++;
        }
    }
    mem_free(&path);
    return problems;
}

/* A missing alias file is an empty map for delivery (mail_aliases.h), so
 * it is no problem here either; everything else is passed on. */
static void config_cmd_alias_report(const char *path, int line,
                                    const char *text, void *ctx)
{
    if (line == 0 && strstr(text, strerror(ENOENT)) != NULL)
        return;
    config_cmd_collect(path, line, text, ctx);
}

/* The users file, line by line: the reader skips a bad line (one typo
 * must not make every user unknown), so this is where it is reported. */
static void config_cmd_users(config_cmd_problems *ps)
{
    char **src = var_list("mail_user_source");
    bool file = false;
    for (char **p = src; *p; p++)
        file = file || strcmp(*p, "file") == 0;
    conf_free_list(&src);
    if (!file)
        return;
    char *path = var_path("mail_users_file");
    char *text = fs_read_file(path, 64 << 20, NULL);
    if (text == NULL) {
        if (errno != ENOENT) {
            char why[300];
            snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
            config_cmd_collect(path, 0, why, ps);
        }
        mem_free(&path);
        return;
    }
    int lineno = 0;
    char **seen = NULL;
    size_t nseen = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = '\0';
        if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
            continue;
        mail_user *u = NULL;
        char *why = NULL;
        if (mail_users_parse_line(line, &u, &why) < 0) {
            config_cmd_collect(path, lineno, why ? why : "bad line", ps);
            mem_free(&why);
            continue;
        }
        for (size_t i = 0; i < nseen; i++) {
            if (strcmp(seen[i], u->name) == 0) {
                char dup[300];
                snprintf(dup, sizeof(dup), "user %s is defined again (the "
                         "first definition is used)", u->name);
                config_cmd_collect(path, lineno, dup, ps);
                break;
            }
        }
        seen = mem_realloc(seen, (nseen + 1) * sizeof(*seen));
        seen[nseen++] = mem_strdup(u->name);
        mail_user_free(&u);
    }
    for (size_t i = 0; i < nseen; i++)
        mem_free(&seen[i]);
    mem_free(&seen);
    mem_free(&text);
    mem_free(&path);
}

int config_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        /* Every problem at once, as postfix check does: one run shows the
         * whole list.  Bad values (not a number, not a time) do not stop
         * the checks below: those read values as text only (var_str,
         * var_list, var_path), never through var_int or var_time, which
         * would be fatal on them. */
        config_cmd_problems ps = {NULL, 0, 0};
        mail_conf_check(config_cmd_collect, &ps);
        mail_conf_read_quietly(); /* unknown names: reported just above */
        config_cmd_environment(&ps);
        /* The other files of the instance, as postfix check does. */
        size_t entries = 0;
        mail_aliases_check(config_cmd_alias_report, &ps, &entries);
        config_cmd_users(&ps);
        /* The smtpd restriction lists and their access tables. */
        smtpd_check_config(config_cmd_collect, &ps);
        /* Set for a service this build lacks: said, not counted. */
        master_check_unbuilt(config_cmd_collect_warning, &ps);
        int n = (int)ps.n - ps.warnings;
        config_cmd_flush(&ps);
        if (n > 0) {
            fprintf(stderr, "postie config check: %d problem%s\n", n, n == 1 ? "" : "s");
            return 1;
        }
        return 0;
    }
    bool expand = false, defaults = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-x") == 0) {
            expand = true;
        } else if (strcmp(argv[i], "-d") == 0) {
            defaults = true;
        } else if (strcmp(argv[i], "-n") == 0) {
            ; /* what "postie config" shows anyway: postconf -n */
        } else if (strcmp(argv[i], "-e") == 0 || strcmp(argv[i], "-X") == 0) {
            return config_cmd_edit_main(argv[i][1] == 'X', argc - i - 1, argv + i + 1);
        } else {
            fprintf(stderr, "usage: postie config [check | all | -n | -d [NAME...] | "
                            "[-x] NAME... | -e 'NAME = VALUE'... | -X NAME...]\n");
            return 64;
        }
    }
    mail_conf_read();
    if (i < argc && strcmp(argv[i], "all") == 0) {
        config_cmd_print(CONFIG_CMD_ALL);
        return 0;
    }
    if (i == argc && !defaults) {
        config_cmd_print(CONFIG_CMD_SET);
        return 0;
    }
    if (i == argc) {
        config_cmd_print(CONFIG_CMD_DEFAULTS);
        return 0;
    }
    int bad = 0;
    for (; i < argc; i++) {
        const mail_conf_param *p = config_cmd_param(argv[i]);
        if (p == NULL) {
            fprintf(stderr, "postie config: unknown parameter: %s\n", argv[i]);
            bad = 1;
            continue;
        }
        if (defaults)
            printf("%s = %s\n", p->name, p->def);
        else if (expand)
            printf("%s = %s\n", p->name, var_str(p->name));
        else
            printf("%s = %s\n", p->name, mail_conf_raw(p->name));
    }
    return bad;
}
