/*
 * pop3d_login - the AUTHORIZATION state of RFC 1939 section 4 as a parser
 * without I/O: each command line in, the reply bytes and an action out.
 * The unprivileged login process runs it; the fuzz target drives it.
 *
 * Commands: USER, PASS (section 7), QUIT (section 4), CAPA (RFC 2449),
 * AUTH PLAIN (RFC 5034, with an initial response or a continuation), STLS
 * (RFC 2595 section 4) when a certificate is configured.  Not: APOP (it
 * needs the clear-text password on the server).
 *
 * A password lives in the struct only between the command that carried it
 * and pop3d_login_result, which wipes it.  Nothing here logs.
 */
#ifndef POSTIE_POP3D_POP3D_LOGIN_H
#define POSTIE_POP3D_POP3D_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "pop3d/pop3d_proto.h"
#include "util/buf.h"

/* RFC 5321 section 4.5.3.1.1 local-part length, as mail_users_name_ok. */
#define POP3D_USER_MAX 64

enum pop3d_login_act {
    POP3D_LOGIN_NONE,     /* reply in out, wait for the next line */
    POP3D_LOGIN_VERIFY,   /* user and pass are set: ask, then _result */
    POP3D_LOGIN_CLOSE,    /* reply in out, then close (QUIT, too many) */
    POP3D_LOGIN_STARTTLS, /* reply in out, drop buffered input, handshake,
                           * then pop3d_login_tls_started */
};

typedef struct pop3d_login {
    char user[POP3D_USER_MAX + 1];
    bool have_user;            /* USER was accepted */
    char pass[POP3D_LINE_MAX + 1];
    const char *method;        /* "PLAIN" for USER/PASS and AUTH PLAIN */
    bool sasl_wait;            /* AUTH PLAIN sent "+ ", expects a response */
    int attempts;              /* passwords tried */
    int attempt_limit;         /* failed attempts before the connection ends */
    int bad_commands;          /* unknown or out-of-state commands */
    bool quit;                 /* the client said QUIT */
    bool tls_offer;            /* STLS is possible (a certificate is set) */
    bool tls_active;           /* the handshake is done */
    bool tls_auth_only;        /* no passwords in clear text */
} pop3d_login;

void pop3d_login_init(pop3d_login *l, int attempt_limit);
/* The greeting (RFC 1939 section 4). */
void pop3d_login_greeting(buf *out);
/* One command line (without CRLF); a too-long line is too_long = true. */
enum pop3d_login_act pop3d_login_line(pop3d_login *l, const char *line,
                                      bool too_long, buf *out);
/* The answer to VERIFY.  ok: no reply here (the session greets); not ok:
 * "-ERR [AUTH]" and NONE, or CLOSE once attempt_limit is reached. */
enum pop3d_login_act pop3d_login_result(pop3d_login *l, bool ok, buf *out);
/* STLS succeeded: passwords may now be sent. */
void pop3d_login_tls_started(pop3d_login *l);
/* The capability list (RFC 2449 section 5); l is NULL after login. */
void pop3d_login_capa(buf *out, const pop3d_login *l);

#endif
