/*
 * conn - one connection, plain or TLS, blocking or under the event loop;
 * see conn.h.
 *
 * Every blocking call is the non-blocking one in a loop with a poll(2)
 * bounded by a deadline, so the two ways of driving a conn share one
 * reader, one writer and one handshake.  With TLS, OpenSSL may need to
 * read while we write and the other way round (TLS 1.3 tickets, key
 * updates): SSL_ERROR_WANT_READ/WRITE say which, kept in c->want.
 */
#include "util/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

/* One SSL_read/SSL_write at most this much (an int for OpenSSL). */
#define CONN_IO_CHUNK 65536

conn *conn_new(int fd, size_t in_max, size_t line_max, size_t out_max)
{
    if (line_max < 2 || line_max > in_max)
        msg_panic("conn_new: line_max %zu, in_max %zu", line_max, in_max);
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK))
            fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    conn *c = mem_zalloc(sizeof(*c));
    c->fd = fd;
    c->in = buf_new(in_max);
    c->out = buf_new(out_max);
    c->line = buf_new(line_max);
    c->line_max = line_max;
    c->timeout = 300;
    c->last_io = event_now();
    c->tls_verify = X509_V_OK;
    return c;
}

conn *conn_connect(const struct sockaddr *sa, socklen_t salen, double timeout,
                   size_t in_max, size_t line_max, size_t out_max)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, sa, salen) < 0) {
        int e = errno;
        if (e == EINPROGRESS) {
            double deadline = event_now() + timeout;
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int r;
            for (;;) {
                double left = deadline - event_now();
                if (left <= 0) {
                    r = 0;
                    break;
                }
                r = poll(&p, 1, (int)(left * 1000) + 1);
                if (!(r < 0 && errno == EINTR))
                    break;
            }
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (r > 0)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            e = r == 0 ? ETIMEDOUT : r < 0 ? errno : soerr;
        }
        if (e != 0) {
            close(fd);
            errno = e;
            return NULL;
        }
    }
    return conn_new(fd, in_max, line_max, out_max);
}

static void conn_free_bufs(conn *c)
{
    /* The line and the input may have carried a password. */
    explicit_bzero(c->line->data, c->line->cap);
    explicit_bzero(c->in->data, c->in->cap);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->line);
}

void conn_free(conn **cp)
{
    conn *c = *cp;
    if (c == NULL)
        return;
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* one close_notify; no wait for the peer's */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    conn_free_bufs(c);
    mem_free(cp);
}

void conn_linger_free(conn **cp)
{
    conn *c = *cp;
    if (c == NULL)
        return;
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        shutdown(c->fd, SHUT_WR);
        char junk[4096];
        for (int i = 0; i < 16 && recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
            continue;
    }
    conn_free(cp);
}

int conn_release(conn **cp)
{
    conn *c = *cp;
    if (c == NULL)
        return -1;
    int fd = c->fd;
    if (c->ssl)
        SSL_free(c->ssl);
    conn_free_bufs(c);
    mem_free(cp);
    return fd;
}

/* Wait until the readiness c->want asks for, or the deadline: 1, 0 (time
 * is up, errno ETIMEDOUT), -1 (error). */
static int conn_wait(conn *c, double deadline)
{
    short ev = (short)(((c->want & EVENT_READ) ? POLLIN : 0) |
                       ((c->want & EVENT_WRITE) ? POLLOUT : 0));
    for (;;) {
        double left = deadline - event_now();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return 0;
        }
        struct pollfd p = {.fd = c->fd, .events = ev};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r > 0)
            return 1;
    }
}

/* ---- input ---- */

static int conn_line_give(conn *c, const char *p, size_t len, int rc,
                          char **line_r, size_t *len_r)
{
    buf_reset(c->line);
    buf_append(c->line, p, len); /* len < line_max: always fits */
    *line_r = c->line->data;
    *len_r = c->line->len;
    return rc;
}

int conn_line_take(conn *c, char **line_r, size_t *len_r)
{
    buf *in = c->in;
    char *lf = memchr(in->data, '\n', in->len);
    if (c->skip) {
        /* Still inside a line that was too long: drop it up to its end. */
        if (lf == NULL) {
            buf_reset(in);
            return CONN_AGAIN;
        }
        buf_consume(in, (size_t)(lf - in->data) + 1);
        c->skip = false;
        if (c->toolong_at_end) {
            /* c->line still holds the line's first part. */
            *line_r = c->line->data;
            *len_r = c->line->len;
            return CONN_TOOLONG;
        }
        lf = memchr(in->data, '\n', in->len);
    }
    if (lf == NULL) {
        if (in->len >= c->line_max) {
            /* The line cannot fit whatever comes: say so now rather than
             * buffer an unbounded line, and drop the rest as it comes. */
            int rc = conn_line_give(c, in->data, c->line_max - 1, CONN_TOOLONG,
                                    line_r, len_r);
            buf_reset(in);
            c->skip = true;
            return c->toolong_at_end ? CONN_AGAIN : rc;
        }
        return CONN_AGAIN;
    }
    size_t n = (size_t)(lf - in->data);
    int rc;
    if (n + 1 > c->line_max) {
        rc = conn_line_give(c, in->data, c->line_max - 1, CONN_TOOLONG, line_r, len_r);
    } else {
        size_t len = n;
        /* RFC 5321 section 2.3.8 / RFC 1939 section 3: CRLF ends a line;
         * a bare LF is taken too, and noted for owners that refuse it. */
        c->bare_lf = !(len > 0 && in->data[len - 1] == '\r');
        if (!c->bare_lf)
            len--;
        rc = conn_line_give(c, in->data, len, CONN_LINE, line_r, len_r);
    }
    buf_consume(in, n + 1);
    return rc;
}

ssize_t conn_fill(conn *c)
{
    size_t room = c->in->max - c->in->len;
    if (room == 0) {
        c->want = 0;
        return CONN_AGAIN;
    }
    char tmp[16384];
    if (room > sizeof(tmp))
        room = sizeof(tmp);
    for (;;) {
        if (c->ssl == NULL) {
            ssize_t n = read(c->fd, tmp, room);
            if (n > 0) {
                buf_append(c->in, tmp, (size_t)n);
                c->last_io = event_now();
                return n;
            }
            if (n == 0 || errno == ECONNRESET) {
                errno = EPIPE;
                return CONN_EOF;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->want = EVENT_READ;
                return CONN_AGAIN;
            }
            return CONN_ERROR;
        }
        ERR_clear_error();
        errno = 0;
        int n = SSL_read(c->ssl, tmp, (int)room);
        if (n > 0) {
            buf_append(c->in, tmp, (size_t)n);
            c->last_io = event_now();
            return n;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            c->want = e == SSL_ERROR_WANT_READ ? EVENT_READ : EVENT_WRITE;
            return CONN_AGAIN;
        }
        /* close_notify, or a close without it (SSL_ERROR_SYSCALL): the
         * peer is gone.  A TLS protocol error ends the connection too. */
        int se = errno;
        if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
            errno = EPIPE;
            return se == 0 || se == ECONNRESET || se == EPIPE || e == SSL_ERROR_ZERO_RETURN
                       ? CONN_EOF
                       : CONN_ERROR;
        }
        errno = EPIPE;
        return CONN_ERROR;
    }
}

int conn_line(conn *c, char **line_r, size_t *len_r)
{
    double deadline = event_now() + c->timeout;
    for (;;) {
        int r = conn_line_take(c, line_r, len_r);
        if (r != CONN_AGAIN)
            return r;
        ssize_t n = conn_fill(c);
        if (n > 0)
            continue;
        if (n != CONN_AGAIN)
            return (int)n;
        if (c->want == 0) /* cannot be: a full c->in always holds a line */
            msg_panic("conn_line: input full without a line");
        int w = conn_wait(c, deadline);
        if (w == 0)
            return CONN_TIMEOUT;
        if (w < 0)
            return CONN_ERROR;
    }
}

ssize_t conn_peek(conn *c, void *p, size_t n)
{
    if (c->fd < 0 || c->ssl != NULL)
        return 0;
    ssize_t r = recv(c->fd, p, n, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    return r;
}

bool conn_input_waiting(const conn *c)
{
    if (c->in->len > 0 || (c->ssl && SSL_pending(c->ssl) > 0))
        return true;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0; /* readable, hung up, or an error */
}

/* ---- output ---- */

int conn_put(conn *c, const void *p, size_t n)
{
    if (c->failed || buf_append(c->out, p, n) < 0) {
        c->failed = true;
        return -1;
    }
    return 0;
}

int conn_printf(conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = c->failed ? -1 : buf_vprintf(c->out, fmt, ap);
    va_end(ap);
    if (r < 0)
        c->failed = true;
    return r;
}

/* Write what can go now from p: octets written (maybe fewer than n), or
 * CONN_AGAIN with nothing written, or -1 with errno. */
static ssize_t conn_send_some(conn *c, const char *p, size_t n)
{
    size_t k = n > CONN_IO_CHUNK ? CONN_IO_CHUNK : n;
    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            int w = SSL_write(c->ssl, p, (int)k);
            if (w > 0) {
                c->last_io = event_now();
                return w;
            }
            int e = SSL_get_error(c->ssl, w);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                c->want = e == SSL_ERROR_WANT_READ ? EVENT_READ : EVENT_WRITE;
                return CONN_AGAIN;
            }
            errno = EPIPE;
            return -1;
        }
        /* MSG_NOSIGNAL: a peer that went away is an error, not SIGPIPE. */
        ssize_t w = send(c->fd, p, k, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(c->fd, p, k); /* a pipe or a file (tests, fuzzing) */
        if (w > 0) {
            c->last_io = event_now();
            return w;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->want = EVENT_WRITE;
            return CONN_AGAIN;
        }
        if (w == 0 || errno == ECONNRESET)
            errno = EPIPE;
        return -1;
    }
}

int conn_send(conn *c)
{
    if (c->failed) {
        errno = EMSGSIZE;
        return -1;
    }
    while (c->out_off < c->out->len) {
        ssize_t w = conn_send_some(c, c->out->data + c->out_off, c->out->len - c->out_off);
        if (w == CONN_AGAIN)
            return CONN_AGAIN;
        if (w < 0)
            return -1;
        c->out_off += (size_t)w;
    }
    buf_reset(c->out);
    c->out_off = 0;
    return 1;
}

int conn_flush(conn *c)
{
    double deadline = event_now() + c->timeout;
    int r;
    while ((r = conn_send(c)) == CONN_AGAIN)
        if (conn_wait(c, deadline) <= 0) {
            r = -1;
            break;
        }
    if (r < 0) {
        int e = errno;
        buf_reset(c->out);
        c->out_off = 0;
        errno = e;
        return -1;
    }
    return 0;
}

int conn_write(conn *c, const void *p, size_t n)
{
    if (conn_flush(c) < 0)
        return -1;
    double deadline = event_now() + c->timeout;
    const char *q = p;
    while (n > 0) {
        ssize_t w = conn_send_some(c, q, n);
        if (w == CONN_AGAIN) {
            if (conn_wait(c, deadline) <= 0)
                return -1;
            continue;
        }
        if (w < 0)
            return -1;
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- TLS ---- */

int conn_tls_begin(conn *c, SSL_CTX *ctx, bool server, const char *sni,
                   const char *verify_name)
{
    if (c->ssl != NULL || c->out->len > c->out_off)
        msg_panic("conn_tls_begin: TLS already on, or output still queued");
    /* RFC 3207 section 5 (RFC 2595 section 4 for POP3): what came in
     * clear text and was not yet taken must not be read as if it came
     * through TLS; it is dropped here, the one place TLS starts. */
    c->tls_discarded = c->in->len;
    buf_reset(c->in);
    c->skip = false;
    c->tls_err = 0;
    c->tls_verify = X509_V_OK;
    c->tls_server = server;
    ERR_clear_error();
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        c->tls_err = ERR_peek_last_error();
        if (c->ssl)
            SSL_free(c->ssl);
        c->ssl = NULL;
        errno = ENOMEM;
        return -1;
    }
    /* conn_send retries from c->out, which conn_put may have moved. */
    SSL_set_mode(c->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!server && sni != NULL && *sni != '\0') {
        /* The macro casts away const: hand it a copy of our own. */
        char name[256];
        size_t l = strlen(sni);
        if (l >= sizeof(name))
            l = sizeof(name) - 1;
        memcpy(name, sni, l);
        name[l] = '\0';
        SSL_set_tlsext_host_name(c->ssl, name);
    }
    if (!server && verify_name != NULL) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(vp, verify_name, 0);
    }
    return 0;
}

static void conn_tls_drop(conn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
}

int conn_tls_step(conn *c)
{
    ERR_clear_error();
    int r = c->tls_server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
    c->tls_verify = SSL_get_verify_result(c->ssl);
    if (r == 1) {
        c->last_io = event_now();
        return 1;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want = e == SSL_ERROR_WANT_READ ? EVENT_READ : EVENT_WRITE;
        return CONN_AGAIN;
    }
    c->tls_err = ERR_peek_last_error();
    conn_tls_drop(c);
    errno = EPROTO;
    return -1;
}

static int conn_tls_block(conn *c, SSL_CTX *ctx, bool server, const char *sni,
                          const char *verify_name)
{
    double deadline = event_now() + c->timeout;
    if (conn_tls_begin(c, ctx, server, sni, verify_name) < 0)
        return -1;
    for (;;) {
        int r = conn_tls_step(c);
        if (r == 1)
            return 0;
        if (r < 0)
            return -1;
        int w = conn_wait(c, deadline);
        if (w <= 0) {
            int e = errno;
            conn_tls_drop(c);
            errno = w == 0 ? ETIMEDOUT : e;
            return -1;
        }
    }
}

int conn_tls_server(conn *c, SSL_CTX *ctx)
{
    return conn_tls_block(c, ctx, true, NULL, NULL);
}

int conn_tls_client(conn *c, SSL_CTX *ctx, const char *sni, const char *verify_name)
{
    return conn_tls_block(c, ctx, false, sni, verify_name);
}
