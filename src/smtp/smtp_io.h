/*
 * smtp_io - one client connection of the smtp/lmtp agent: connect with a
 * time limit, read reply lines and write commands each with a time limit,
 * and switch to TLS in place (STARTTLS, RFC 3207) with OpenSSL.
 *
 * The socket is non-blocking and every wait is a poll(2) bounded by the
 * step's timeout (Postfix's smtp_*_timeout), so no peer can hold a
 * delivery longer than the configured limits.  Output is buffered so that
 * pipelined commands (RFC 2920) leave in one write.
 *
 * Errors: functions return -1 with errno: ETIMEDOUT for a time limit,
 * EPIPE for a connection closed by the peer, EPROTO for a TLS failure or
 * an over-long line; anything else as the system said.
 *
 * Does not: know SMTP (smtp_session does), choose certificates or levels.
 */
#ifndef POSTIE_SMTP_SMTP_IO_H
#define POSTIE_SMTP_SMTP_IO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "util/buf.h"

#define SMTP_IO_LINE_MAX 4096   /* longer reply lines are cut (RFC 5321 4.5.3.1.5: 512) */

typedef struct smtp_io {
    int fd;
    SSL *ssl;                   /* NULL until STARTTLS */
    char in[16384];
    size_t in_off, in_len;
    buf *out;
} smtp_io;

/* Connect to addr within timeout seconds.  Returns a new smtp_io, or NULL
 * with errno. */
smtp_io *smtp_io_connect(const struct sockaddr *sa, socklen_t salen,
                         double timeout);
/* Wrap a connected descriptor (a unix socket, a passed connection). */
smtp_io *smtp_io_new(int fd);
void smtp_io_free(smtp_io **iop);

/* Read one line without its CRLF (a bare LF ends a line too).  Returns its
 * length (cut at max - 1; the rest of the line is dropped), or -1. */
ssize_t smtp_io_line(smtp_io *io, char *line, size_t max, double timeout);
/* Queue output; smtp_io_flush sends it.  Never fails (bounded by the
 * caller: commands are short, the body is flushed in pieces). */
void smtp_io_put(smtp_io *io, const void *p, size_t n);
void smtp_io_printf(smtp_io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int smtp_io_flush(smtp_io *io, double timeout);
size_t smtp_io_pending(const smtp_io *io);
/* Is unread input waiting (a server talking out of turn)? */
bool smtp_io_has_input(const smtp_io *io);
/* Has the server said something, or closed, since we last read?  (An
 * idle connection that is about to be reused: a 421 or a close.) */
bool smtp_io_stale(const smtp_io *io);

/* TLS handshake as a client on the connection.  sni may be NULL.
 * Returns 0, or -1 with errno (EPROTO: handshake failed; the OpenSSL
 * reason is in why_r). */
int smtp_io_starttls(smtp_io *io, SSL_CTX *ctx, const char *sni,
                     const char *verify_name, double timeout, char *why_r,
                     size_t whylen);

#endif
