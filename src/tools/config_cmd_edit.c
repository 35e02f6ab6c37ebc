/*
 * config_cmd_edit - "postie config -e 'name = value'..." and "postie config
 * -X name...": change postie.conf in place, as Postfix's postconf -e and
 * -X change main.cf.
 *
 * Each logical line that defines an edited name (the line and its
 * continuation lines, which start with white space) is replaced by one
 * "name = value" line (-e) or dropped (-X).  Comments, blank lines and
 * every other definition stay as they are, byte for byte.  A name that
 * -e does not find is appended at the end.  A name defined more than once
 * is edited everywhere, with a warning (later definitions win, so leaving
 * one would leave the old value in force).
 *
 * The new file is written next to the old one, fsynced, and renamed over
 * it, then the directory is fsynced: a reader (master's reload, a crash)
 * sees the old file or the new one, never half of one.  Mode and owner
 * are kept.
 *
 * Does not: check the values (postie config check does), reload.
 */
#include "tools/config_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"

/* The largest postie.conf edited: far beyond any real one. */
#define CONFIG_EDIT_MAX (16 << 20)

static config_edit *config_cmd_edit_find(config_edit *edits, size_t n,
                                         const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(edits[i].name) == len && memcmp(edits[i].name, name, len) == 0)
            return &edits[i];
    return NULL;
}

char *config_cmd_edit_text(const char *text, config_edit *edits, size_t n)
{
    buf *out = buf_new(CONFIG_EDIT_MAX + 1024 * 1024);
    bool editing = false; /* inside a logical line being replaced */
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        const char *p = line;
        while (p < line + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (p == line + len || *p == '#') {
            /* Blank or comment: kept, and it does not end a logical line
             * (postconf(5): only a non-blank first column does). */
            buf_append(out, line, len);
        } else if (p > line) {
            /* A continuation line: follows its logical line's fate. */
            if (!editing)
                buf_append(out, line, len);
        } else {
            size_t key = strcspn(line, " \t\r\n=");
            config_edit *e = config_cmd_edit_find(edits, n, line, key);
            editing = e != NULL;
            if (e == NULL) {
                buf_append(out, line, len);
            } else {
                e->found++;
                if (e->value != NULL)
                    buf_printf(out, "%s = %s\n", e->name, e->value);
            }
        }
        line += len;
    }
    for (size_t i = 0; i < n; i++) {
        if (edits[i].found > 0 || edits[i].value == NULL)
            continue;
        if (out->len > 0 && out->data[out->len - 1] != '\n')
            buf_putc(out, '\n');
        buf_printf(out, "%s = %s\n", edits[i].name, edits[i].value);
    }
    char *r = mem_strdup(buf_str(out));
    buf_free(&out);
    return r;
}

/* Write text over path: a temporary file beside it, fsync, rename,
 * fsync of the directory.  The old file's mode and owner carry over. */
static int config_cmd_edit_write(const char *path, const char *text, char **why_r)
{
    struct stat st;
    bool had = stat(path, &st) == 0;
    mode_t mode = had ? (st.st_mode & 07777) : 0644;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.edit.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        *why_r = mem_strdup("path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        char w[PATH_MAX + 100];
        snprintf(w, sizeof(w), "create %s: %s", tmp, strerror(errno));
        *why_r = mem_strdup(w);
        return -1;
    }
    /* open's mode passes the umask; the old file's mode is what counts. */
    int r = fchmod(fd, mode);
    if (r == 0 && had && geteuid() == 0)
        r = fchown(fd, st.st_uid, st.st_gid);
    if (r == 0)
        r = fs_write_all(fd, text, strlen(text));
    if (r == 0)
        r = fsync(fd);
    int saved = errno;
    if (close(fd) < 0 && r == 0) {
        r = -1;
        saved = errno;
    }
    if (r == 0 && rename(tmp, path) < 0) {
        r = -1;
        saved = errno;
    }
    if (r < 0) {
        unlink(tmp);
        char w[PATH_MAX + 100];
        snprintf(w, sizeof(w), "write %s: %s", path, strerror(saved));
        *why_r = mem_strdup(w);
        return -1;
    }
    if (fs_sync_parent(path) < 0) {
        char w[PATH_MAX + 100];
        snprintf(w, sizeof(w), "fsync the directory of %s: %s", path, strerror(errno));
        *why_r = mem_strdup(w);
        return -1;
    }
    return 0;
}

/* "name = value" (or "name=value") from the command line, in place. */
static const char *config_cmd_edit_split(char *arg, char **name_r, char **value_r)
{
    if (strchr(arg, '\n') != NULL)
        return "a value of more than one line";
    while (*arg == ' ' || *arg == '\t')
        arg++;
    if (*arg == '#')
        return "a comment";
    char *eq = strchr(arg, '=');
    if (eq == NULL)
        return "no '=' after the parameter name";
    char *end = eq;
    while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = '\0';
    *name_r = arg;
    *value_r = v;
    return NULL;
}

static bool config_cmd_edit_name_ok(const char *name)
{
    if (*name == '\0')
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static bool config_cmd_edit_known(const char *name)
{
    for (const mail_conf_param *p = mail_conf_params; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return true;
    return false;
}

int config_cmd_edit_main(bool remove, int argc, char **argv)
{
    const char *opt = remove ? "-X" : "-e";
    if (argc < 1) {
        fprintf(stderr, "usage: postie config %s %s...\n", opt,
                remove ? "NAME" : "'NAME = VALUE'");
        return 64;
    }
    config_edit *edits = mem_zalloc((size_t)argc * sizeof(*edits));
    char **copies = mem_zalloc((size_t)argc * sizeof(*copies));
    int status = 0;
    for (int i = 0; i < argc && status == 0; i++) {
        copies[i] = mem_strdup(argv[i]);
        char *name = copies[i], *value = NULL;
        if (!remove) {
            const char *why = config_cmd_edit_split(copies[i], &name, &value);
            if (why != NULL) {
                fprintf(stderr, "postie config: -e wants 'name = value', not %s: \"%s\"\n",
                        why, argv[i]);
                status = 64;
                break;
            }
        } else {
            while (*name == ' ' || *name == '\t')
                name++;
            size_t l = strlen(name);
            while (l > 0 && (name[l - 1] == ' ' || name[l - 1] == '\t'))
                name[--l] = '\0';
            if (strchr(name, '=') != NULL) {
                fprintf(stderr, "postie config: -X wants parameter names without a value: "
                        "\"%s\"\n", argv[i]);
                status = 64;
                break;
            }
        }
        if (!config_cmd_edit_name_ok(name)) {
            fprintf(stderr, "postie config: bad parameter name: \"%s\"\n", name);
            status = 64;
            break;
        }
        /* postconf -e writes any name; an unknown one is likely a typo. */
        if (!remove && !config_cmd_edit_known(name))
            fprintf(stderr, "postie config: warning: unknown parameter: %s\n", name);
        edits[i].name = name;
        edits[i].value = value;
    }
    char *path = NULL, *text = NULL, *out = NULL, *why = NULL;
    if (status == 0) {
        char *conf_path = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
        /* Through a symbolic link: the rename replaces the file it names. */
        char real[PATH_MAX];
        path = mem_strdup(realpath(conf_path, real) != NULL ? real : conf_path);
        mem_free(&conf_path);
        size_t len = 0;
        text = fs_read_file(path, CONFIG_EDIT_MAX, &len);
        if (text == NULL && errno == ENOENT && !remove) {
            text = mem_strdup(""); /* postconf -e makes main.cf, too */
        } else if (text == NULL) {
            fprintf(stderr, "postie config: read %s: %s\n", path, strerror(errno));
            status = 1;
        } else if (strlen(text) != len) {
            fprintf(stderr, "postie config: %s holds a NUL byte: not edited\n", path);
            status = 1;
        }
    }
    if (status == 0) {
        out = config_cmd_edit_text(text, edits, (size_t)argc);
        for (int i = 0; i < argc; i++)
            if (edits[i].found > 1)
                fprintf(stderr, "postie config: warning: %s: %d definitions of %s, all %s\n",
                        path, edits[i].found, edits[i].name, remove ? "removed" : "replaced");
        if (strcmp(out, text) != 0 && config_cmd_edit_write(path, out, &why) < 0) {
            fprintf(stderr, "postie config: %s\n", why);
            status = 1;
        }
    }
    mem_free(&why);
    mem_free(&out);
    mem_free(&text);
    mem_free(&path);
    for (int i = 0; i < argc; i++)
        mem_free(&copies[i]);
    mem_free(&copies);
    mem_free(&edits);
    return status;
}
