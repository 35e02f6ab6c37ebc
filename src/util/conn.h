/*
 * conn - one network connection: a descriptor, bounded input and output
 * buffers (util/buf), a bounded line reader, time limits, and TLS
 * (OpenSSL) on either side, from the first byte or switched on in the
 * middle of a session (STARTTLS, RFC 3207; STLS, RFC 2595).
 *
 * Two ways to drive it, on the same object:
 *   - blocking, in a child that serves one peer (pop3d, the smtp client,
 *     the doctor's probe): conn_line, conn_flush, conn_write, conn_tls_*
 *     each wait with poll(2) for at most c->timeout seconds of silence
 *     (Postfix's smtp_*_timeout, RFC 1939 section 3's autologout timer);
 *   - non-blocking, under the event loop (util/events): conn_fill (one
 *     read), conn_line_take (a line already in c->in, no I/O), conn_send
 *     (write what can go now), conn_tls_begin + conn_tls_step (a handshake
 *     in steps); conn_want says which readiness the last call that could
 *     not finish waits for.  conn never registers itself with the loop and
 *     arms no timer: the owner does, with c->last_io for idle limits.
 * The descriptor is non-blocking in both cases, so no single call can wait
 * longer than its limit.
 *
 * How smtpd uses it (smtpd_session.c): the session keeps
 * one conn per client; smtpd_session_event calls conn_fill on EVENT_READ,
 * takes command lines with conn_line_take (c->bare_lf tells it a line
 * ended in a bare LF, which RFC 5321 section 2.3.8 forbids and DATA must
 * refuse) and reads DATA/BDAT octets straight out of c->in; replies are
 * queued with conn_put/conn_printf and sent with conn_send, and a 0 from
 * conn_send or conn_fill means event_modify(fd, conn_want(c)).  STARTTLS
 * is conn_tls_begin(server) after the 220 is sent, then conn_tls_step on
 * each event until 1.  Its idle timer compares event_now() with
 * c->last_io.
 *
 * Invariants:
 *   - no line longer than line_max octets (with its line end) is ever
 *     returned whole: it is CONN_TOOLONG, its first line_max - 1 octets
 *     are given for callers that cut (a reply line), and the rest is
 *     dropped up to its LF (RFC 5321 section 4.5.3.1.4 says 1000 for a
 *     text line and 512 for a command; RFC 1939/2449 section 4 says 255
 *     for a POP3 command; the owner chooses);
 *   - a line ends at LF, and one CR before it is removed (RFC 5321
 *     section 2.3.8 and RFC 1939 section 3 both want CRLF, but the
 *     clients and servers of the field send bare LF; c->bare_lf says so);
 *   - when TLS starts, every octet that came in clear text and was not
 *     yet taken is discarded (c->tls_discarded counts them), so nothing
 *     sent before the handshake is read as if it came through it
 *     (RFC 3207 section 5, CVE-2011-0411's command injection);
 *   - output past out_max is refused as a whole (the conn fails: the next
 *     flush is -1, EMSGSIZE), never half-sent.
 *
 * Errors: blocking calls return -1 (or CONN_EOF/CONN_TIMEOUT/CONN_ERROR
 * for lines) and set errno: ETIMEDOUT for a time limit, EPIPE for a
 * connection the peer closed or reset (and TLS read/write failures),
 * EPROTO for a failed TLS handshake; anything else as the system said.
 * After a failed handshake c->tls_err holds OpenSSL's error code (0:
 * the peer closed) and c->tls_verify the certificate check's result, so
 * that each owner logs in its own grammar (Postfix's, Dovecot's).
 * Starting TLS with output still queued is a broken invariant (panic):
 * the reply that says "go ahead" must leave in clear text first.
 *
 * Does not: know any protocol, choose certificates, verify names beyond
 * what it is told (verify_name, RFC 6125), resolve names, log.
 */
#ifndef POSTIE_UTIL_CONN_H
#define POSTIE_UTIL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "util/buf.h"

/* What the line readers return. */
#define CONN_LINE     1   /* *line_r holds a line without its line end */
#define CONN_TOOLONG  2   /* a line over line_max: *line_r its first part */
#define CONN_AGAIN    0   /* non-blocking: no complete line / would block */
#define CONN_EOF     (-1) /* the peer closed (or reset) the connection */
#define CONN_TIMEOUT (-2) /* c->timeout seconds passed without progress */
#define CONN_ERROR   (-3) /* any other failure (errno) */

typedef struct conn {
    int fd;
    SSL *ssl;             /* NULL while clear text */
    buf *in;              /* read, not yet taken */
    buf *out;             /* queued; out->data[out_off..] not yet sent */
    size_t out_off;
    buf *line;            /* the line conn_line* returned last */
    size_t line_max;      /* with the line end */
    bool skip;            /* inside a line that was too long */
    bool toolong_at_end;  /* say CONN_TOOLONG when the long line ends */
    bool bare_lf;         /* the last line ended in LF without CR */
    bool failed;          /* output overflowed: nothing more is sent */
    double timeout;       /* seconds each blocking step may wait */
    double last_io;       /* event_now() of the last octet in or out */
    int want;             /* EVENT_READ/EVENT_WRITE the last AGAIN waits for */
    bool tls_server;      /* the side of the handshake under way */
    size_t tls_discarded; /* clear-text octets dropped when TLS started */
    unsigned long tls_err; /* OpenSSL's error of a failed handshake */
    long tls_verify;      /* SSL_get_verify_result of the last handshake */
} conn;

/* A connection on fd, made non-blocking; it owns fd from now on.  in_max
 * bounds what is read ahead (pipelining), line_max the longest line (with
 * its line end, at most in_max), out_max what may be queued.  fd may be
 * -1 for a conn that only parses what the caller puts in c->in (tests,
 * fuzz targets). */
conn *conn_new(int fd, size_t in_max, size_t line_max, size_t out_max);
/* Connect to sa within timeout seconds: a new conn (with the limits of
 * conn_new), or NULL with errno (ETIMEDOUT, ECONNREFUSED, ...). */
conn *conn_connect(const struct sockaddr *sa, socklen_t salen, double timeout,
                   size_t in_max, size_t line_max, size_t out_max);
/* Send TLS close_notify (without waiting for the peer's), close fd, free;
 * *cp becomes NULL. */
void conn_free(conn **cp);
/* conn_free with a short lingering close: close_notify under TLS, then
 * our FIN, then a bounded, non-waiting read of what already arrived, so
 * that unread input does not make the kernel answer the last reply with
 * a RST that destroys it before the peer reads it. */
void conn_linger_free(conn **cp);
/* Free without closing: returns the descriptor (for a caller that still
 * owns it).  A TLS state is freed without close_notify. */
int conn_release(conn **cp);

/* ---- input ---- */

/* Take one line out of c->in, no I/O: CONN_LINE, CONN_TOOLONG, or
 * CONN_AGAIN.  *line_r is NUL-terminated, writable (to wipe a password)
 * and valid until the next call.  With c->toolong_at_end, a line that
 * is too long is dropped as it comes and CONN_TOOLONG comes when its LF
 * has arrived, not as soon as the line is known to be too long (an SMTP
 * server replies to a command once the command is complete). */
int conn_line_take(conn *c, char **line_r, size_t *len_r);
/* Blocking: the next line, reading as needed.  CONN_LINE, CONN_TOOLONG,
 * CONN_EOF, CONN_TIMEOUT or CONN_ERROR. */
int conn_line(conn *c, char **line_r, size_t *len_r);
/* Non-blocking: one read into c->in (through TLS when on; never more than
 * c->in can hold).  >0 octets, CONN_AGAIN (see conn_want), CONN_EOF or
 * CONN_ERROR.  With c->in full it reads nothing and returns CONN_AGAIN
 * with conn_want 0: the owner takes input first. */
ssize_t conn_fill(conn *c);
/* Non-blocking look at what waits on the socket, without taking it (a
 * client that talks before the greeting): octets copied to p, 0 for
 * none or a closed connection, -1 with errno.  Clear text only. */
ssize_t conn_peek(conn *c, void *p, size_t n);
/* Is input waiting: in c->in, inside TLS, or on the socket (readable,
 * closed or in error)?  (A connection about to be reused: has the server
 * said 421 or gone away meanwhile?) */
bool conn_input_waiting(const conn *c);

/* ---- output ---- */

/* Queue output: 0, or -1 past out_max (the conn has failed, see above). */
int conn_put(conn *c, const void *p, size_t n);
int conn_printf(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Non-blocking: send what can go now.  1 all sent, CONN_AGAIN (see
 * conn_want), -1 with errno. */
int conn_send(conn *c);
/* Blocking: send everything queued.  0, or -1 with errno; the queue is
 * empty afterwards either way. */
int conn_flush(conn *c);
/* Blocking: flush, then send n octets straight from p (large bodies need
 * no copy).  0 or -1 with errno. */
int conn_write(conn *c, const void *p, size_t n);

/* ---- TLS ---- */

/* Start a handshake: discard unread clear text (counted in
 * c->tls_discarded), make the SSL state.  Client side: sni (may be NULL)
 * is sent as server_name, and with verify_name the certificate must name
 * that host (RFC 6125 section 6, no partial wildcards).  0, or -1
 * (EPROTO). */
int conn_tls_begin(conn *c, SSL_CTX *ctx, bool server, const char *sni,
                   const char *verify_name);
/* Non-blocking: one step of the handshake.  1 done, CONN_AGAIN (see
 * conn_want), -1 failed (EPROTO; tls_err, tls_verify set; the SSL state
 * is gone and the connection must be closed). */
int conn_tls_step(conn *c);
/* Blocking handshakes: 0, or -1 with errno ETIMEDOUT, EPROTO, or ENOMEM
 * when no SSL state could be made.  Output must have been flushed. */
int conn_tls_server(conn *c, SSL_CTX *ctx);
int conn_tls_client(conn *c, SSL_CTX *ctx, const char *sni, const char *verify_name);

/* The readiness (EVENT_READ / EVENT_WRITE) the last CONN_AGAIN waits for;
 * under TLS a read may wait to write and the other way round. */
static inline int conn_want(const conn *c) { return c->want; }

#endif
