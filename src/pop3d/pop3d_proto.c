/*
 * pop3d_proto - command lines, multi-line encoding, pop3d's conn;
 * see pop3d_proto.h.
 */
#include "pop3d/pop3d_proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

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

/* ---- the connection ---- */

conn *pop3d_proto_conn(int fd, double timeout)
{
    conn *c = conn_new(fd, POP3D_IN_MAX, POP3D_LINE_MAX, 1 << 16);
    c->timeout = timeout;
    return c;
}

int pop3d_proto_tls(conn *c, SSL_CTX *ctx, char *why, size_t whylen)
{
    if (conn_tls_server(c, ctx) == 0)
        return 0;
    if (errno == ENOMEM) {
        snprintf(why, whylen, "SSL_new failed");
    } else if (errno == ETIMEDOUT) {
        snprintf(why, whylen, "TLS handshake timed out");
    } else {
        /* Dovecot's words; no OpenSSL error: the client went away. */
        unsigned long le = c->tls_err;
        const char *rs = le ? ERR_reason_error_string(le) : NULL;
        snprintf(why, whylen, "TLS handshaking: SSL_accept() failed: %s",
                 le ? rs ? rs : "error" : "Connection closed");
    }
    return -1;
}

int pop3d_proto_say(conn *c, const char *reply)
{
    return conn_write(c, reply, strlen(reply));
}
