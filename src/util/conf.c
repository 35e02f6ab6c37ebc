/*
 * conf - main.cf-syntax parsing; see conf.h.
 */
#include "util/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

conf *conf_new(void)
{
    return mem_zalloc(sizeof(conf));
}

void conf_free(conf **cp)
{
    conf *c = *cp;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        mem_free(&c->v[i].name);
        mem_free(&c->v[i].value);
    }
    mem_free(&c->v);
    mem_free(&c->path);
    mem_free(cp);
}

const conf_entry *conf_find(const conf *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}

const char *conf_raw(const conf *c, const char *name)
{
    const conf_entry *e = conf_find(c, name);
    return e ? e->value : NULL;
}

void conf_set(conf *c, const char *name, const char *value, int line)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].name, name) == 0) {
            mem_free(&c->v[i].value);
            c->v[i].value = mem_strdup(value);
            c->v[i].line = line;
            return;
        }
    }
    c->v = mem_realloc(c->v, (c->n + 1) * sizeof(*c->v));
    c->v[c->n].name = mem_strdup(name);
    c->v[c->n].value = mem_strdup(value);
    c->v[c->n].line = line;
    c->n++;
}

static char *conf_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void conf_logical_line(conf *c, char *text, int line,
                              conf_report_fn report, void *ctx)
{
    char *eq = strchr(text, '=');
    if (eq == NULL) {
        if (report)
            report(c->path, line, "missing '=' after parameter name", ctx);
        return;
    }
    *eq = '\0';
    char *name = conf_trim(text);
    char *value = conf_trim(eq + 1);
    if (*name == '\0') {
        if (report)
            report(c->path, line, "missing parameter name before '='", ctx);
        return;
    }
    for (char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
            if (report)
                report(c->path, line, "bad character in parameter name", ctx);
            return;
        }
    }
    conf_set(c, name, value, line);
}

conf *conf_parse(const char *text, const char *path, conf_report_fn report,
                 void *ctx)
{
    conf *c = conf_new();
    c->path = mem_strdup(path ? path : "(memory)");
    buf *logical = buf_new(CONF_FILE_MAX);
    int logical_line = 0, lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char *line = mem_strndup(p, n);
        p += n + (nl ? 1 : 0);
        char *t = line;
        while (isspace((unsigned char)*t))
            t++;
        if (*t == '#' || *t == '\0') {
            /* Comments and blank lines end nothing (postconf(5)). */
            mem_free(&line);
            continue;
        }
        if (isspace((unsigned char)line[0])) {
            if (logical->len == 0) {
                if (report)
                    report(c->path, lineno,
                           "continuation line without a parameter", ctx);
            } else {
                buf_putc(logical, ' ');
                buf_puts(logical, t);
            }
        } else {
            if (logical->len > 0)
                conf_logical_line(c, logical->data, logical_line, report, ctx);
            buf_reset(logical);
            buf_puts(logical, line);
            logical_line = lineno;
        }
        mem_free(&line);
    }
    if (logical->len > 0)
        conf_logical_line(c, logical->data, logical_line, report, ctx);
    buf_free(&logical);
    return c;
}

char *conf_read_file(const char *path)
{
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return NULL;
    buf *b = buf_new(CONF_FILE_MAX);
    char chunk[8192];
    size_t n;
    int too_big = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if (buf_append(b, chunk, n) < 0)
            too_big = 1;
    int failed = ferror(fp);
    fclose(fp);
    if (too_big || failed) {
        buf_free(&b);
        errno = too_big ? EFBIG : EIO;
        return NULL;
    }
    char *text = mem_strdup(b->data);
    buf_free(&b);
    return text;
}

conf *conf_load(const char *path, conf_report_fn report, void *ctx)
{
    char *text = conf_read_file(path);
    if (text == NULL)
        return NULL;
    conf *c = conf_parse(text, path, report, ctx);
    mem_free(&text);
    return c;
}

char **conf_split_list(const char *value)
{
    size_t n = 0, cap = 4;
    char **v = mem_alloc(cap * sizeof(*v));
    const char *p = value ? value : "";
    for (;;) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        if (n + 2 > cap) {
            cap *= 2;
            v = mem_realloc(v, cap * sizeof(*v));
        }
        v[n++] = mem_strndup(s, (size_t)(p - s));
    }
    v[n] = NULL;
    return v;
}

void conf_free_list(char ***vp)
{
    if (*vp == NULL)
        return;
    for (char **p = *vp; *p; p++)
        mem_free(p);
    mem_free(vp);
}

long long conf_parse_int(const char *value)
{
    if (value == NULL || !isdigit((unsigned char)*value))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(value, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    return v;
}

long long conf_parse_time(const char *value, char default_unit)
{
    if (value == NULL || !isdigit((unsigned char)*value))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(value, &end, 10);
    if (errno != 0 || v < 0)
        return -1;
    char unit = *end ? *end : default_unit;
    if (*end && end[1] != '\0')
        return -1;
    long long mult;
    switch (unit) {
    case 's': mult = 1; break;
    case 'm': mult = 60; break;
    case 'h': mult = 3600; break;
    case 'd': mult = 86400; break;
    case 'w': mult = 7 * 86400; break;
    default: return -1;
    }
    /* The product must not overflow (signed overflow is undefined, and
     * "213503982334602d" used to wrap to 61184 s), and the result must
     * fit CONF_TIME_MAX, as Postfix's time values fit an int: callers
     * add these to time(NULL) or pass them to alarm(2) and poll(2). */
    if (v > CONF_TIME_MAX / mult)
        return -1;
    return v * mult;
}

int conf_parse_bool(const char *value)
{
    if (value == NULL)
        return -1;
    if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0)
        return 1;
    if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0)
        return 0;
    return -1;
}
