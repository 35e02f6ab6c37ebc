/*
 * pop3d_proto - command lines, multi-line encoding, blocking I/O;
 * see pop3d_proto.h.
 */
#include "pop3d/pop3d_proto.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "util/mem.h"

int pop3d_proto_line(buf *in, bool *skip, char **line_r, size_t *len_r)
{
    char *lf = memchr(in->data, '\n', in->len);
    if (*skip) {
        /* Still inside a line that was too long: drop it up to its end. */
        if (lf == NULL) {
            buf_reset(in);
            return 0;
        }
        buf_consume(in, (size_t)(lf - in->data) + 1);
        *skip = false;
        lf = memchr(in->data, '\n', in->len);
    }
    if (lf == NULL) {
        if (in->len >= POP3D_LINE_MAX) {
            /* RFC 2449 section 4: 255 octets with CRLF.  Answer once, now,
             * rather than buffering an unbounded line. */
            buf_reset(in);
            *skip = true;
            return 2;
        }
        return 0;
    }
    size_t n = (size_t)(lf - in->data);
    if (n + 1 > POP3D_LINE_MAX) {
        buf_consume(in, n + 1);
        return 2;
    }
    size_t len = n;
    if (len > 0 && in->data[len - 1] == '\r')
        len--;
    *line_r = mem_strndup(in->data, len);
    *len_r = len;
    buf_consume(in, n + 1);
    return 1;
}

int pop3d_proto_split(const char *line, char *kw, size_t kwlen,
                      const char **arg_r)
{
    size_t i = 0;
    /* RFC 1939 section 3: keywords are case-insensitive; RFC 2449 section
     * 3 lets them be up to 40 octets. */
    while (line[i] && line[i] != ' ') {
        if (i + 1 >= kwlen || !isalnum((unsigned char)line[i]))
            return -1;
        kw[i] = (char)toupper((unsigned char)line[i]);
        i++;
    }
    if (i == 0)
        return -1;
    kw[i] = '\0';
    *arg_r = line[i] == ' ' ? line + i + 1 : line + i;
    return 0;
}

void pop3d_proto_dot(pop3d_dot *st, const char *p, size_t n, buf *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n') {
            if (!st->cr)
                buf_putc(out, '\r');
            buf_putc(out, '\n');
            st->mid_line = false;
            st->cr = false;
            continue;
        }
        if (st->cr) {
            /* A CR that was not followed by LF: keep it as it was. */
            st->cr = false;
        }
        if (!st->mid_line && c == '.')
            buf_putc(out, '.'); /* RFC 1939 section 3: byte-stuffing */
        buf_putc(out, c);
        st->mid_line = true;
        st->cr = c == '\r';
    }
}

void pop3d_proto_dot_end(pop3d_dot *st, buf *out)
{
    if (st->mid_line) {
        if (!st->cr)
            buf_putc(out, '\r');
        buf_putc(out, '\n');
    }
    buf_puts(out, ".\r\n");
    st->mid_line = false;
    st->cr = false;
}

long long pop3d_proto_crlf_size(const char *p, size_t n, bool *cr_state)
{
    long long size = (long long)n;
    bool cr = *cr_state;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' && !cr)
            size++;
        cr = p[i] == '\r';
    }
    *cr_state = cr;
    return size;
}

/* ---- blocking I/O ---- */

static double pop3d_io_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until fd is ready for events or the deadline passes: 1, 0 (time
 * is up), -1 (error). */
static int pop3d_io_wait(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - pop3d_io_now();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -1;
        if (pr > 0)
            return 1;
    }
}

/* One read: >0 octets, 0 closed, -1 time is up, -2 error. */
static ssize_t pop3d_io_read(pop3d_io *io, char *p, size_t n, double deadline)
{
    for (;;) {
        if (io->ssl == NULL) {
            ssize_t r = read(io->fd, p, n);
            if (r >= 0)
                return r;
            if (errno == ECONNRESET)
                return 0;
            if (errno != EINTR && errno != EAGAIN)
                return -2;
            int w = pop3d_io_wait(io->fd, POLLIN, deadline);
            if (w <= 0)
                return w == 0 ? -1 : -2;
            continue;
        }
        ERR_clear_error();
        int r = SSL_read(io->ssl, p, (int)(n > 65536 ? 65536 : n));
        if (r > 0)
            return r;
        int e = SSL_get_error(io->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return e == SSL_ERROR_SYSCALL ? 0 : -2;
        int w = pop3d_io_wait(io->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                              deadline);
        if (w <= 0)
            return w == 0 ? -1 : -2;
    }
}

int pop3d_io_line(pop3d_io *io, char **line_r, size_t *len_r)
{
    double deadline = pop3d_io_now() + io->timeout;
    for (;;) {
        int r = pop3d_proto_line(io->in, &io->skip, line_r, len_r);
        if (r != 0)
            return r;
        char tmp[4096];
        /* Never read more than the line buffer can take: the rest stays
         * in the socket (or in TLS) for the next line. */
        size_t room = io->in->max - io->in->len;
        if (room > sizeof(tmp))
            room = sizeof(tmp);
        ssize_t n = pop3d_io_read(io, tmp, room, deadline);
        if (n <= 0)
            return (int)n;
        buf_append(io->in, tmp, (size_t)n);
    }
}

int pop3d_io_write(pop3d_io *io, const char *p, size_t n)
{
    double deadline = pop3d_io_now() + io->timeout;
    while (n > 0) {
        short want = POLLOUT;
        if (io->ssl != NULL) {
            ERR_clear_error();
            int w = SSL_write(io->ssl, p, (int)(n > 65536 ? 65536 : n));
            if (w > 0) {
                p += w;
                n -= (size_t)w;
                continue;
            }
            int e = SSL_get_error(io->ssl, w);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                return -1;
            want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        } else {
            ssize_t w = write(io->fd, p, n);
            if (w > 0) {
                p += w;
                n -= (size_t)w;
                continue;
            }
            if (w < 0 && errno == EINTR)
                continue;
            if (!(w < 0 && errno == EAGAIN))
                return -1;
        }
        if (pop3d_io_wait(io->fd, want, deadline) <= 0)
            return -1;
    }
    return 0;
}

int pop3d_io_tls(pop3d_io *io, SSL_CTX *ctx, char *why, size_t whylen)
{
    double deadline = pop3d_io_now() + io->timeout;
    io->ssl = SSL_new(ctx);
    if (io->ssl == NULL || SSL_set_fd(io->ssl, io->fd) != 1) {
        snprintf(why, whylen, "SSL_new failed");
        return -1;
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_accept(io->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(io->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int w = pop3d_io_wait(io->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
                                  deadline);
            if (w > 0)
                continue;
            snprintf(why, whylen, "TLS handshake timed out");
        } else {
            unsigned long le = ERR_peek_last_error();
            snprintf(why, whylen, "TLS handshaking: SSL_accept() failed: %s",
                     le ? ERR_reason_error_string(le) ? ERR_reason_error_string(le)
                                                      : "error"
                        : "Connection closed");
        }
        SSL_free(io->ssl);
        io->ssl = NULL;
        return -1;
    }
}

int pop3d_io_printf(pop3d_io *io, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n >= sizeof(tmp))
        n = (int)sizeof(tmp) - 1;
    return pop3d_io_write(io, tmp, (size_t)n);
}
