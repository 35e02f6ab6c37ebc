/*
 * pop3d_proto - the byte-level pieces of POP3 that both processes use:
 * command lines with RFC 2449's length limit, the multi-line response
 * encoding of RFC 1939 section 3 (CRLF line ends, dot-stuffing), and
 * blocking I/O with a timeout, in clear text or over TLS (RFC 2595 STLS;
 * OpenSSL).
 *
 * Does not: interpret commands (pop3d_login, pop3d_session), base64
 * (util/base64).
 */
#ifndef POSTIE_POP3D_POP3D_PROTO_H
#define POSTIE_POP3D_POP3D_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "util/buf.h"

/* RFC 2449 section 4: a command line is at most 255 octets with its CRLF. */
#define POP3D_LINE_MAX 255

/* Take one line (without CR LF) out of in.  1: *line_r and *len_r point into
 * a copy the caller frees; 0: no complete line yet; 2: a line longer than
 * POP3D_LINE_MAX was seen (its bytes are dropped up to its LF, *skip
 * remembers that across calls). */
int pop3d_proto_line(buf *in, bool *skip, char **line_r, size_t *len_r);

/* Split "CMD args" into an upper-case keyword (at most 4 letters in RFC
 * 1939, RFC 2449 allows up to 40 ASCII octets) and the argument text.
 * 0, or -1 for a line that is no command (empty, too long a keyword). */
int pop3d_proto_split(const char *line, char *kw, size_t kwlen,
                      const char **arg_r);

/* Encode message content as a multi-line response body (RFC 1939 section
 * 3): bare LF -> CR LF, a line starting with '.' gets one more '.'.
 * Feed chunks in order; state starts at 0 (= at the start of a line). */
typedef struct pop3d_dot {
    bool mid_line;   /* the last byte written was not a line end */
    bool cr;         /* the last byte seen was CR */
} pop3d_dot;
void pop3d_proto_dot(pop3d_dot *st, const char *p, size_t n, buf *out);
/* End the body: CR LF first when the content did not end with a line end,
 * then ".\r\n". */
void pop3d_proto_dot_end(pop3d_dot *st, buf *out);
/* The size in octets of content once its line ends are CR LF (RFC 1939
 * section 11: the "exact size" LIST reports, before dot-stuffing). */
long long pop3d_proto_crlf_size(const char *p, size_t n, bool *cr_state);

/* Blocking I/O on a non-blocking socket with an idle limit; through ssl
 * once TLS is on. */
typedef struct pop3d_io {
    int fd;
    buf *in;
    bool skip;
    double timeout;
    SSL *ssl;
} pop3d_io;
/* Server side of a TLS handshake on io->fd (RFC 2595 section 4): 0, or -1
 * with a reason in why (for the log). */
int pop3d_io_tls(pop3d_io *io, SSL_CTX *ctx, char *why, size_t whylen);
/* 1 line, 2 too long, 0 peer closed, -1 timeout, -2 error. */
int pop3d_io_line(pop3d_io *io, char **line_r, size_t *len_r);
/* Write everything; 0 or -1. */
int pop3d_io_write(pop3d_io *io, const char *p, size_t n);
int pop3d_io_printf(pop3d_io *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
