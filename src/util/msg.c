/*
 * msg - Postfix-format log lines; see msg.h.
 *
 * Does: prefix, sanitising, one write per line, file or syslog.
 * Does not: rotate files (postie log follow copes with rotation), buffer.
 */
#include "util/msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MSG_TEXT_MAX 2048

static char msg_prog[64] = "postie";
static char msg_sysname[64] = "postie";
static char msg_host[256];
static enum msg_time msg_time_fmt = MSG_TIME_TRADITIONAL;
static int msg_fd = 2;            /* log destination when not syslog */
static bool msg_syslog;
static bool msg_copy_stderr;
static bool msg_only_stderr = true;
static int msg_pid;

static void msg_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

void msg_init(const char *program)
{
    msg_copy(msg_prog, sizeof(msg_prog), program);
    msg_pid = (int)getpid();
}

void msg_set_syslog_name(const char *name) { msg_copy(msg_sysname, sizeof(msg_sysname), name); }
const char *msg_program(void) { return msg_prog; }
void msg_set_time_format(enum msg_time t) { msg_time_fmt = t; }
void msg_set_stderr(bool on) { msg_copy_stderr = on; }
void msg_refresh_pid(void) { msg_pid = (int)getpid(); }

void msg_set_hostname(const char *host)
{
    /* syslog writes the host name up to the first dot. */
    msg_copy(msg_host, sizeof(msg_host), host);
    char *dot = strchr(msg_host, '.');
    if (dot != NULL)
        *dot = '\0';
}

int msg_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (msg_fd > 2)
        close(msg_fd);
    msg_fd = fd;
    msg_syslog = false;
    msg_only_stderr = false;
    return 0;
}

void msg_use_syslog(void)
{
    openlog(msg_sysname, LOG_PID | LOG_NDELAY, LOG_MAIL);
    msg_syslog = true;
    msg_only_stderr = false;
}

void msg_stderr_only(void)
{
    msg_only_stderr = true;
    msg_syslog = false;
}

static int msg_stamp(char *out, size_t n, long long usec)
{
    time_t sec = (time_t)(usec / 1000000);
    struct tm tm;
    localtime_r(&sec, &tm);
    if (msg_time_fmt == MSG_TIME_RFC3339) {
        char zone[8];
        strftime(zone, sizeof(zone), "%z", &tm);
        /* RFC 3339 wants +hh:mm, strftime gives +hhmm. */
        return snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld%.3s:%.2s",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                        tm.tm_min, tm.tm_sec, usec % 1000000, zone, zone + 3);
    }
    /* Traditional syslog: no fractions, they break pflogsumm. */
    return (int)strftime(out, n, "%b %e %H:%M:%S", &tm);
}

int msg_format_line(char *out, int outlen, long long usec, const char *program,
                    int pid, const char *text)
{
    char stamp[64];
    if (msg_host[0] == '\0') {
        char h[256];
        if (gethostname(h, sizeof(h)) != 0)
            snprintf(h, sizeof(h), "localhost");
        h[sizeof(h) - 1] = '\0';
        msg_set_hostname(h);
    }
    msg_stamp(stamp, sizeof(stamp), usec);
    int n = snprintf(out, (size_t)outlen, "%s %s %s/%s[%d]: %s\n", stamp,
                     msg_host, msg_sysname, program, pid, text);
    if (n >= outlen) {
        out[outlen - 2] = '\n';
        n = outlen - 1;
    }
    return n;
}

static void msg_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

void msg_vlog(const char *program, const char *severity, const char *fmt,
              va_list ap)
{
    int saved = errno;
    char text[MSG_TEXT_MAX];
    int off = snprintf(text, sizeof(text), "%s", severity);
    vsnprintf(text + off, sizeof(text) - (size_t)off, fmt, ap);
    msg_sanitize(text);
    if (msg_pid == 0)
        msg_pid = (int)getpid();

    if (msg_only_stderr || msg_copy_stderr) {
        char line[MSG_TEXT_MAX + 80];
        int n = snprintf(line, sizeof(line), "%s: %s\n", msg_prog, text);
        if (n > (int)sizeof(line) - 1)
            n = (int)sizeof(line) - 1;
        (void)!write(2, line, (size_t)n);
    }
    if (!msg_only_stderr) {
        if (msg_syslog) {
            /* syslog adds its own prefix; keep the program in the ident. */
            char ident[140];
            snprintf(ident, sizeof(ident), "%s/%s", msg_sysname, program);
            openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
            syslog(*severity ? LOG_WARNING : LOG_INFO, "%s", text);
        } else {
            struct timeval tv;
            gettimeofday(&tv, NULL);
            char line[MSG_TEXT_MAX + 400];
            int n = msg_format_line(line, sizeof(line),
                                    (long long)tv.tv_sec * 1000000 + tv.tv_usec,
                                    program, msg_pid, text);
            (void)!write(msg_fd, line, (size_t)n);
        }
    }
    errno = saved;
}

void msg_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(msg_prog, "", fmt, ap);
    va_end(ap);
}

void msg_info_as(const char *program, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(program, "", fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(msg_prog, "warning: ", fmt, ap);
    va_end(ap);
}

void msg_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(msg_prog, "error: ", fmt, ap);
    va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(msg_prog, "fatal: ", fmt, ap);
    va_end(ap);
    exit(1);
}

void msg_panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vlog(msg_prog, "panic: ", fmt, ap);
    va_end(ap);
    abort();
}
