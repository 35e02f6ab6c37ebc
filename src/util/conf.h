/*
 * conf - a "name = value" file in Postfix's main.cf syntax, as a table.
 *
 * Syntax (postconf(5)): '#' starts a comment line; a line that starts with
 * white space continues the previous one; "$name" and "${name}" expand to
 * other parameters when a value is read; later definitions win.
 * This module knows nothing of mail: which names exist and their defaults
 * are the caller's (src/global/mail_conf).
 */
#ifndef POSTIE_UTIL_CONF_H
#define POSTIE_UTIL_CONF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct conf_entry {
    char *name;
    char *value;
    int line;           /* 0 when not from the file */
} conf_entry;

typedef struct conf {
    conf_entry *v;
    size_t n;
    char *path;
} conf;

/* The largest file read; a bigger one is refused (EFBIG). */
#define CONF_FILE_MAX (4 * 1024 * 1024)

/* Parse a file; on syntax errors call report(path, line, text) and go on.
 * Returns NULL (errno set) when the file cannot be read. */
typedef void (*conf_report_fn)(const char *path, int line, const char *text,
                               void *ctx);
conf *conf_load(const char *path, conf_report_fn report, void *ctx);
/* The file's text (at most CONF_FILE_MAX bytes; a NUL ends it), to be
 * freed; NULL with errno (EFBIG: too big) when it cannot be read. */
char *conf_read_file(const char *path);
/* Parse from memory (tests, embedded defaults). */
conf *conf_parse(const char *text, const char *path, conf_report_fn report,
                 void *ctx);
conf *conf_new(void);
void conf_free(conf **cp);
void conf_set(conf *c, const char *name, const char *value, int line);
/* Raw (unexpanded) value, or NULL. */
const char *conf_raw(const conf *c, const char *name);
const conf_entry *conf_find(const conf *c, const char *name);

/* Split a list value on white space and commas (Postfix list syntax).
 * Returns a NULL-terminated vector to free with conf_free_list. */
char **conf_split_list(const char *value);
void conf_free_list(char ***vp);

/* Postfix time value: "300s", "5m", "1h", "2d", "1w"; bare numbers use
 * default_unit ('s', 'm', 'h', 'd').  Returns -1 on bad syntax and on a
 * value above CONF_TIME_MAX seconds (about 68 years, INT_MAX as in
 * Postfix), so no caller can overflow with it. */
#define CONF_TIME_MAX 2147483647LL
long long conf_parse_time(const char *value, char default_unit);
/* Size / integer: returns -1 on bad syntax. */
long long conf_parse_int(const char *value);
/* yes/no/true/false: returns 1, 0, or -1. */
int conf_parse_bool(const char *value);

#endif
