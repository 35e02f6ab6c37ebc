/*
 * mail_aliases - aliases(5) files: parse, cache per process, look up; see
 * mail_aliases.h.
 *
 * Cost: a lookup is one stat(2) per map plus a linear search; alias files
 * of a mail server have tens to a few thousand entries, which a linear scan
 * handles in microseconds.  A hash index would be the next step if that
 * ever shows in a profile.
 */
#include "global/mail_aliases.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"

#define MAIL_ALIASES_MAX_FILE (64u << 20)

typedef struct alias_entry {
    char *name;
    char **values;   /* NULL-terminated */
} alias_entry;

struct alias_table {
    alias_entry *v;
    size_t n, cap;
};

static void mail_aliases_report(alias_report_fn report, void *ctx,
                                const char *path, int line, const char *text)
{
    if (report)
        report(path, line, text, ctx);
}

static char *mail_aliases_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Split a value list on commas outside double quotes. */
static char **mail_aliases_split(char *list)
{
    size_t n = 0, cap = 4;
    char **v = mem_zalloc(cap * sizeof(*v));
    bool quoted = false;
    char *start = list;
    for (char *p = list;; p++) {
        if (*p == '"')
            quoted = !quoted;
        if ((*p == ',' && !quoted) || *p == '\0') {
            bool end = *p == '\0';
            *p = '\0';
            char *t = mail_aliases_trim(start);
            if (*t) {
                if (n + 1 >= cap) {
                    cap *= 2;
                    v = mem_realloc(v, cap * sizeof(*v));
                }
                v[n++] = mem_strdup(t);
                v[n] = NULL;
            }
            if (end)
                break;
            start = p + 1;
        }
    }
    return v;
}

static void mail_aliases_entry(alias_table *t, char *logical, const char *path,
                               int line, alias_report_fn report, void *ctx)
{
    char *colon = strchr(logical, ':');
    if (colon == NULL) {
        mail_aliases_report(report, ctx, path, line,
                            "missing ':' after the alias name");
        return;
    }
    *colon = '\0';
    char *name = mail_aliases_trim(logical);
    size_t nl = strlen(name);
    if (nl >= 2 && name[0] == '"' && name[nl - 1] == '"') {
        name[nl - 1] = '\0';
        name++;
    }
    if (*name == '\0' || strpbrk(name, " \t") != NULL) {
        mail_aliases_report(report, ctx, path, line, "bad alias name");
        return;
    }
    char **values = mail_aliases_split(colon + 1);
    if (values[0] == NULL) {
        mail_aliases_report(report, ctx, path, line, "alias has no value");
        conf_free_list(&values);
        return;
    }
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) == 0) {
            /* aliases(5) does not define duplicates; Postfix's postalias
             * warns and keeps the first.  So do we. */
            char text[300];
            snprintf(text, sizeof(text), "duplicate alias \"%.200s\" ignored",
                     name);
            mail_aliases_report(report, ctx, path, line, text);
            conf_free_list(&values);
            return;
        }
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->v = mem_realloc(t->v, t->cap * sizeof(*t->v));
    }
    t->v[t->n].name = mem_strdup(name);
    t->v[t->n].values = values;
    t->n++;
}

alias_table *mail_aliases_parse(const char *text, const char *path,
                                alias_report_fn report, void *ctx)
{
    alias_table *t = mem_zalloc(sizeof(*t));
    char *copy = mem_strdup(text);
    char *logical = NULL;
    size_t llen = 0;
    int lline = 0, lineno = 0;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (next == NULL && *line == '\0')
            break;
        bool blank = line[strspn(line, " \t\r")] == '\0';
        if (line[0] == '#' || blank) {
            /* A comment or blank line ends nothing: aliases(5) lets a
             * continuation follow a comment line. */
            continue;
        }
        if ((line[0] == ' ' || line[0] == '\t') && logical != NULL) {
            size_t n = strlen(line);
            logical = mem_realloc(logical, llen + n + 2);
            logical[llen++] = ' ';
            memcpy(logical + llen, line, n + 1);
            llen += n;
            continue;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            mail_aliases_report(report, ctx, path, lineno,
                                "continuation line without an alias");
            continue;
        }
        if (logical != NULL)
            mail_aliases_entry(t, logical, path, lline, report, ctx);
        mem_free(&logical);
        logical = mem_strdup(line);
        llen = strlen(logical);
        lline = lineno;
    }
    if (logical != NULL)
        mail_aliases_entry(t, logical, path, lline, report, ctx);
    mem_free(&logical);
    mem_free(&copy);
    return t;
}

void mail_aliases_free(alias_table **tp)
{
    alias_table *t = *tp;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        mem_free(&t->v[i].name);
        conf_free_list(&t->v[i].values);
    }
    mem_free(&t->v);
    mem_free(tp);
}

size_t mail_aliases_count(const alias_table *t)
{
    return t->n;
}

char *const *mail_aliases_table_lookup(const alias_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcasecmp(t->v[i].name, name) == 0)
            return t->v[i].values;
    return NULL;
}

char *mail_aliases_path(const char *map)
{
    static const char *const types[] = {"hash:", "lmdb:", "btree:", "dbm:",
                                        "texthash:", "cdb:", NULL};
    for (int i = 0; types[i]; i++) {
        size_t n = strlen(types[i]);
        if (strncmp(map, types[i], n) == 0) {
            map += n;
            break;
        }
    }
    if (map[0] == '/')
        return mem_strdup(map);
    return fs_join(mail_conf_dir(), map);
}

/* ---- the per-process cache ---- */

typedef struct alias_cache {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    alias_table *t;          /* NULL: file absent */
    struct alias_cache *next;
} alias_cache;

static alias_cache *mail_aliases_cache;

/* The current table of one file, re-read when it changed. */
static int mail_aliases_get(const char *path, const alias_table **t_r,
                            char **err_r)
{
    alias_cache *c;
    for (c = mail_aliases_cache; c; c = c->next)
        if (strcmp(c->path, path) == 0)
            break;
    if (c == NULL) {
        c = mem_zalloc(sizeof(*c));
        c->path = mem_strdup(path);
        c->next = mail_aliases_cache;
        mail_aliases_cache = c;
        c->size = -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT) {
            mail_aliases_free(&c->t);
            c->size = -1;
            *t_r = NULL;
            return 0;
        }
        goto fail;
    }
    if (c->t != NULL && c->dev == st.st_dev && c->ino == st.st_ino &&
        c->size == st.st_size && c->mtime.tv_sec == st.st_mtim.tv_sec &&
        c->mtime.tv_nsec == st.st_mtim.tv_nsec) {
        *t_r = c->t;
        return 0;
    }
    size_t len;
    char *text = fs_read_file(path, MAIL_ALIASES_MAX_FILE, &len);
    if (text == NULL)
        goto fail;
    mail_aliases_free(&c->t);
    c->t = mail_aliases_parse(text, path, NULL, NULL);
    mem_free(&text);
    c->dev = st.st_dev;
    c->ino = st.st_ino;
    c->size = st.st_size;
    c->mtime = st.st_mtim;
    *t_r = c->t;
    return 0;

fail:
    if (err_r) {
        char why[1024];
        snprintf(why, sizeof(why), "alias database unavailable: %s: %s",
                 path, strerror(errno));
        *err_r = mem_strdup(why);
    }
    return -1;
}

int mail_aliases_lookup(const char *name, char ***values_r, char **err_r)
{
    char **maps = var_list("alias_maps");
    int r = 0;
    for (char **m = maps; *m && r == 0; m++) {
        char *path = mail_aliases_path(*m);
        const alias_table *t;
        if (mail_aliases_get(path, &t, err_r) < 0) {
            r = -1;
        } else if (t != NULL) {
            char *const *v = mail_aliases_table_lookup(t, name);
            if (v != NULL) {
                r = 1;
                if (values_r) {
                    size_t n = 0;
                    while (v[n])
                        n++;
                    char **out = mem_zalloc((n + 1) * sizeof(*out));
                    for (size_t i = 0; i < n; i++)
                        out[i] = mem_strdup(v[i]);
                    *values_r = out;
                }
            }
        }
        mem_free(&path);
    }
    conf_free_list(&maps);
    return r;
}

typedef struct alias_check_ctx {
    alias_report_fn report;
    void *ctx;
    int problems;
} alias_check_ctx;

static void mail_aliases_count_problem(const char *path, int line,
                                       const char *text, void *ctx)
{
    alias_check_ctx *c = ctx;
    c->problems++;
    c->report(path, line, text, c->ctx);
}

int mail_aliases_check(alias_report_fn report, void *ctx, size_t *entries_r)
{
    char **maps = var_list("alias_database");
    alias_check_ctx c = {report, ctx, 0};
    size_t entries = 0;
    for (char **m = maps; *m; m++) {
        char *path = mail_aliases_path(*m);
        size_t len;
        char *text = fs_read_file(path, MAIL_ALIASES_MAX_FILE, &len);
        if (text == NULL) {
            char why[512];
            snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
            mail_aliases_count_problem(path, 0, why, &c);
        } else {
            if (memchr(text, '\0', len) != NULL)
                mail_aliases_count_problem(path, 0, "file contains NUL bytes", &c);
            alias_table *t =
                mail_aliases_parse(text, path, mail_aliases_count_problem, &c);
            entries += t->n;
            mail_aliases_free(&t);
            mem_free(&text);
        }
        mem_free(&path);
    }
    conf_free_list(&maps);
    if (entries_r)
        *entries_r = entries;
    return c.problems;
}
