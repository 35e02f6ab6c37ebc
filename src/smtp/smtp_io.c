/*
 * smtp_io - bounded, non-blocking client I/O with optional TLS; see
 * smtp_io.h.
 *
 * With TLS, OpenSSL may need to read when we write and the other way
 * round (renegotiation, TLS 1.3 tickets): SSL_ERROR_WANT_READ/WRITE say
 * which, and the same poll-with-deadline loop serves both.
 */
#include "smtp/smtp_io.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/events.h"
#include "util/mem.h"

/* Output is flushed by the caller; this bounds one pipelined group plus a
 * body chunk. */
#define SMTP_IO_OUT_MAX (1 << 22)

smtp_io *smtp_io_new(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    smtp_io *io = mem_zalloc(sizeof(*io));
    io->fd = fd;
    io->out = buf_new(SMTP_IO_OUT_MAX);
    return io;
}

void smtp_io_free(smtp_io **iop)
{
    smtp_io *io = *iop;
    if (io == NULL)
        return;
    if (io->ssl) {
        SSL_shutdown(io->ssl); /* one close_notify; no wait for the peer's */
        SSL_free(io->ssl);
    }
    if (io->fd >= 0)
        close(io->fd);
    buf_free(&io->out);
    mem_free(iop);
}

/* Wait until fd is ready for events or the deadline passes. */
static int smtp_io_wait(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - event_now();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r > 0)
            return 0;
    }
}

smtp_io *smtp_io_connect(const struct sockaddr *sa, socklen_t salen,
                         double timeout)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0);
    if (fd < 0)
        return NULL;
    if (connect(fd, sa, salen) < 0) {
        if (errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            errno = e;
            return NULL;
        }
        if (smtp_io_wait(fd, POLLOUT, event_now() + timeout) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return NULL;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            close(fd);
            errno = soerr;
            return NULL;
        }
    }
    return smtp_io_new(fd);
}

/* One read into the input buffer.  1 with data, -1 with errno. */
static int smtp_io_fill(smtp_io *io, double deadline)
{
    if (io->in_off > 0 && io->in_off == io->in_len)
        io->in_off = io->in_len = 0;
    if (io->in_len == sizeof(io->in)) {
        memmove(io->in, io->in + io->in_off, io->in_len - io->in_off);
        io->in_len -= io->in_off;
        io->in_off = 0;
    }
    for (;;) {
        size_t room = sizeof(io->in) - io->in_len;
        short want = POLLIN;
        if (io->ssl) {
            ERR_clear_error();
            int n = SSL_read(io->ssl, io->in + io->in_len, (int)room);
            if (n > 0) {
                io->in_len += (size_t)n;
                return 1;
            }
            int e = SSL_get_error(io->ssl, n);
            if (e == SSL_ERROR_WANT_WRITE)
                want = POLLOUT;
            else if (e == SSL_ERROR_ZERO_RETURN) {
                errno = EPIPE;
                return -1;
            } else if (e != SSL_ERROR_WANT_READ) {
                if (errno == 0 || e == SSL_ERROR_SSL || n == 0)
                    errno = EPIPE;
                return -1;
            }
        } else {
            ssize_t n = read(io->fd, io->in + io->in_len, room);
            if (n > 0) {
                io->in_len += (size_t)n;
                return 1;
            }
            if (n == 0) {
                errno = EPIPE;
                return -1;
            }
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -1;
        }
        if (smtp_io_wait(io->fd, want, deadline) < 0)
            return -1;
    }
}

bool smtp_io_has_input(const smtp_io *io)
{
    return io->in_len > io->in_off;
}

bool smtp_io_stale(const smtp_io *io)
{
    if (smtp_io_has_input(io) || (io->ssl && SSL_pending(io->ssl) > 0))
        return true;
    struct pollfd p = {.fd = io->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0; /* readable, hung up, or an error */
}

ssize_t smtp_io_line(smtp_io *io, char *line, size_t max, double timeout)
{
    double deadline = event_now() + timeout;
    size_t got = 0;
    for (;;) {
        char *start = io->in + io->in_off;
        size_t avail = io->in_len - io->in_off;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        size_t copy = take;
        if (copy > max - 1 - got)
            copy = max - 1 - got; /* cut: the rest is dropped */
        memcpy(line + got, start, copy);
        got += copy;
        if (nl) {
            io->in_off += take + 1;
            if (got > 0 && line[got - 1] == '\r')
                got--;
            line[got] = '\0';
            return (ssize_t)got;
        }
        io->in_off += take;
        if (smtp_io_fill(io, deadline) < 0)
            return -1;
    }
}

void smtp_io_put(smtp_io *io, const void *p, size_t n)
{
    if (buf_append(io->out, p, n) < 0)
        abort(); /* callers flush well below the maximum: a broken invariant */
}

void smtp_io_printf(smtp_io *io, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (buf_vprintf(io->out, fmt, ap) < 0)
        abort();
    va_end(ap);
}

size_t smtp_io_pending(const smtp_io *io)
{
    return io->out->len;
}

int smtp_io_flush(smtp_io *io, double timeout)
{
    double deadline = event_now() + timeout;
    size_t off = 0;
    while (off < io->out->len) {
        short want = POLLOUT;
        size_t left = io->out->len - off;
        if (io->ssl) {
            ERR_clear_error();
            int n = SSL_write(io->ssl, io->out->data + off,
                              left > (1 << 30) ? (1 << 30) : (int)left);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
            int e = SSL_get_error(io->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                want = POLLIN;
            else if (e != SSL_ERROR_WANT_WRITE) {
                errno = EPIPE;
                buf_reset(io->out);
                return -1;
            }
        } else {
            ssize_t n = send(io->fd, io->out->data + off, left, MSG_NOSIGNAL);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN) {
                if (errno == ECONNRESET)
                    errno = EPIPE;
                buf_reset(io->out);
                return -1;
            }
        }
        if (smtp_io_wait(io->fd, want, deadline) < 0) {
            buf_reset(io->out);
            return -1;
        }
    }
    buf_reset(io->out);
    return 0;
}

int smtp_io_starttls(smtp_io *io, SSL_CTX *ctx, const char *sni,
                     const char *verify_name, double timeout, char *why_r,
                     size_t whylen)
{
    double deadline = event_now() + timeout;
    io->in_off = io->in_len = 0; /* RFC 3207 section 4.2: discard what came before */
    io->ssl = SSL_new(ctx);
    if (io->ssl == NULL) {
        snprintf(why_r, whylen, "cannot create TLS state");
        errno = EPROTO;
        return -1;
    }
    SSL_set_fd(io->ssl, io->fd);
    if (sni != NULL && *sni != '\0') {
        /* The macro casts away const: hand it a copy of our own. */
        char name[256];
        snprintf(name, sizeof(name), "%s", sni);
        SSL_set_tlsext_host_name(io->ssl, name);
    }
    if (verify_name != NULL) {
        /* verify: the certificate must name the host we meant (RFC 6125,
         * as Postfix's smtp_tls_verify_cert_match = hostname). */
        X509_VERIFY_PARAM *vp = SSL_get0_param(io->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(vp, verify_name, 0);
    }
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(io->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(io->ssl, r);
        short want;
        if (e == SSL_ERROR_WANT_READ)
            want = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            want = POLLOUT;
        else {
            unsigned long le = ERR_peek_last_error();
            long vr = SSL_get_verify_result(io->ssl);
            if (vr != X509_V_OK)
                snprintf(why_r, whylen, "certificate verification failed: %s",
                         X509_verify_cert_error_string(vr));
            else if (le != 0)
                snprintf(why_r, whylen, "%s", ERR_reason_error_string(le)
                                                  ? ERR_reason_error_string(le)
                                                  : "handshake failure");
            else
                snprintf(why_r, whylen, "handshake failure");
            SSL_free(io->ssl);
            io->ssl = NULL;
            errno = EPROTO;
            return -1;
        }
        if (smtp_io_wait(io->fd, want, deadline) < 0) {
            snprintf(why_r, whylen, "timeout during the TLS handshake");
            SSL_free(io->ssl);
            io->ssl = NULL;
            return -1;
        }
    }
}
