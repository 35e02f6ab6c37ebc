/*
 * msg - diagnostics and the mail log, in Postfix's line format.
 *
 *   Mmm dd hh:mm:ss host syslog_name/program[pid]: text
 *
 * (or an RFC 3339 time stamp when chosen).  Each severity means one thing:
 *   msg_info   - a normal event worth a log line (the flow's lines);
 *   msg_warn   - a recoverable oddity ("warning: " prefix);
 *   msg_error  - an operation failed and was handled ("error: " prefix);
 *   msg_fatal  - bad configuration or environment: log and exit(1);
 *   msg_panic  - a broken invariant: log and abort() for a core.
 *
 * Every line is written with one write(2) to a file opened O_APPEND, so lines
 * of several processes never interleave.  Control characters in the text
 * become '?' so that client-supplied strings cannot forge log lines.
 * Passwords must never be passed here.
 */
#ifndef POSTIE_UTIL_MSG_H
#define POSTIE_UTIL_MSG_H

#include <stdarg.h>
#include <stdbool.h>

enum msg_time { MSG_TIME_TRADITIONAL, MSG_TIME_RFC3339 };

/* The program part of the prefix ("smtpd") and the syslog name ("postie"). */
void msg_init(const char *program);
void msg_set_syslog_name(const char *name);
const char *msg_program(void);
void msg_set_hostname(const char *host);
void msg_set_time_format(enum msg_time t);
/* Log to this file (O_APPEND).  Returns 0, or -1 with errno. */
int msg_open_file(const char *path);
/* Log through syslog(3) with facility mail. */
void msg_use_syslog(void);
/* Also copy each line, without the prefix, to stderr (commands). */
void msg_set_stderr(bool on);
/* Only stderr, no log (commands run before configuration is read). */
void msg_stderr_only(void);
/* Re-read the pid for the prefix (after fork). */
void msg_refresh_pid(void);

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void msg_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* An info line under another program name (cleanup runs inside smtpd). */
void msg_info_as(const char *program, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void msg_vlog(const char *program, const char *severity, const char *fmt,
              va_list ap) __attribute__((format(printf, 3, 0)));

/* Format one prefix+text into out (for tests); returns length. */
int msg_format_line(char *out, int outlen, long long usec_epoch,
                    const char *program, int pid, const char *text);

#endif
