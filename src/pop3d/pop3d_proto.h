/*
 * pop3d_proto - the byte-level pieces of POP3 that both processes use:
 * command lines with RFC 2449's length limit, the multi-line response
 * encoding of RFC 1939 section 3 (CRLF line ends, dot-stuffing), and
 * pop3d's settings of the connection layer (limits, TLS in Dovecot's
 * log words).
 *
 * Does not: interpret commands (pop3d_login, pop3d_session), read or
 * write sockets or run TLS (util/conn), base64 (util/base64).
 */
#ifndef POSTIE_POP3D_POP3D_PROTO_H
#define POSTIE_POP3D_POP3D_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "util/buf.h"
#include "util/conn.h"

/* RFC 2449 section 4: a command line is at most 255 octets with its CRLF
 * (the line limit of pop3d's conn: longer is CONN_TOOLONG). */
#define POP3D_LINE_MAX 255

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

/* The connection of the login process and of the session (util/conn):
 * command lines of at most POP3D_LINE_MAX octets, POP3D_IN_MAX read ahead
 * (what the login process hands to the session after a pipelined
 * login), timeout seconds of idle limit per step.  fd becomes the
 * conn's. */
#define POP3D_IN_MAX 4096
conn *pop3d_proto_conn(int fd, double timeout);
/* Server side of a TLS handshake (RFC 2595 section 4), from the first
 * byte or after STLS (conn drops clear text read before it): 0, or -1
 * with a reason in why for the log, in Dovecot's words. */
int pop3d_proto_tls(conn *c, SSL_CTX *ctx, char *why, size_t whylen);
/* Send one fixed reply now: 0 or -1. */
int pop3d_proto_say(conn *c, const char *reply);

#endif
