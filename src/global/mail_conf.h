/*
 * mail_conf - postie's parameters: names, embedded defaults, types, and the
 * instance's postie.conf read over them.
 *
 * Names are Postfix's wherever the concept is the same (postconf(5)), so an
 * administrator who knows Postfix already knows postie.  Values expand
 * "$name" references when read.  A relative path is taken relative to the
 * configuration directory (postie's own rule: an instance made by
 * "postie serve --dir DIR" can be moved as a whole).
 *
 * The instance is found as Postfix's commands find theirs: "-c DIR", else
 * $MAIL_CONFIG, else /etc/postie.
 */
#ifndef POSTIE_GLOBAL_MAIL_CONF_H
#define POSTIE_GLOBAL_MAIL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define POSTIE_VERSION "0.1"
#define MAIL_CONF_DEFAULT_DIR "/etc/postie"
#define MAIL_CONF_FILE "postie.conf"
/* The self-signed certificate (with its key) that "postie serve" makes in
 * data_directory; while it exists and smtpd_tls_cert_file is not set,
 * it is smtpd_tls_cert_file's default (and so pop3d's). */
#define MAIL_CONF_SERVE_CERT "serve-tls.pem"

enum mail_conf_type {
    MCT_STR,   /* free text */
    MCT_LIST,  /* white space or comma separated */
    MCT_PATH,  /* a path, relative to the config directory */
    MCT_INT,   /* a number */
    MCT_SIZE,  /* a number of bytes */
    MCT_TIME,  /* a duration: 10s, 5m, 1h, 5d */
    MCT_BOOL,  /* yes / no */
};

typedef struct mail_conf_param {
    const char *name;
    const char *def;            /* embedded default, before expansion */
    enum mail_conf_type type;
    const char *help;           /* one line for "postie config" and docs */
} mail_conf_param;

extern const mail_conf_param mail_conf_params[];

/* The configuration directory in force (after mail_conf_read). */
const char *mail_conf_dir(void);
/* Decide the directory: explicit (may be NULL), then $MAIL_CONFIG, then the
 * default.  Does not read anything. */
void mail_conf_set_dir(const char *dir);

/* Read DIR/postie.conf over the defaults.  A missing file is not an error
 * (the embedded defaults apply); a file that cannot be read is fatal.
 * Unknown names and bad values are warnings here and errors in check. */
void mail_conf_read(void);
/* The same without the warnings about unknown names (postie config check
 * reports them itself, once). */
void mail_conf_read_quietly(void);
/* Read text (postie.conf's content, as master checked it) instead of the
 * file.  mail_conf_read itself takes the text master passed to a service
 * it started: the descriptor named by $POSTIE_CONF_FD (master_conf.h). */
void mail_conf_read_text(const char *text);
#define MAIL_CONF_FD_ENV "POSTIE_CONF_FD"
/* Re-read after SIGHUP. */
void mail_conf_reload(void);

/* Check the file: report each problem as "path:line: text" through
 * report and return the number of problems. */
typedef void (*mail_conf_report_fn)(const char *path, int line,
                                    const char *text, void *ctx);
int mail_conf_check(mail_conf_report_fn report, void *ctx);
/* The same for text instead of the file (names the file in reports). */
int mail_conf_check_text(const char *text, mail_conf_report_fn report, void *ctx);

/* Values.  Asking for a name that is not in the table is a panic. */
const char *var_str(const char *name);          /* expanded */
long long var_int(const char *name);
long long var_time(const char *name);           /* seconds */
bool var_bool(const char *name);
char **var_list(const char *name);              /* free: conf_free_list */
char *var_path(const char *name);               /* absolute; free it */
/* The value as written (memory override, file, or embedded default),
 * without $name expansion: what postconf prints. */
const char *mail_conf_raw(const char *name);
/* Is the value set in the file (not the default)? */
bool var_is_set(const char *name);
/* Set a value in memory (tests, serve's overrides). */
void var_set(const char *name, const char *value);

/* One entry of a *_listen parameter: "port", "addr:port" or "[v6]:port".
 * host_r gets the address ("" for a port alone), *port_r the port.
 * Returns 0, or -1 with *why_r (a constant text). */
int mail_conf_listen_entry(const char *entry, char *host_r, size_t hostlen,
                           int *port_r, const char **why_r);

/* "name = value" lines for the values that differ from the defaults
 * (postconf -n); all values when all is true (postconf). */
void mail_conf_print(bool all, bool show_defaults_too);

#endif
