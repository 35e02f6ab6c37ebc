/*
 * pop3d_auth - one client connection, from accept to the end: the
 * supervisor process (the service's rights: root on a system install)
 * starts the login process, checks each password it forwards, and on
 * success becomes the mailbox owner and runs the session.
 *
 * Trust: the login process reads the network and may be subverted; the
 * supervisor reads from it only fixed-form packets on a socketpair
 * (SOCK_SEQPACKET, bounded) and never reads the network while it is
 * privileged.
 *
 * With TLS (STLS) the login process keeps the TLS session after the login
 * and relays clear text between the client and the session over a
 * socketpair (Dovecot's login proxy): the session never holds the key.
 *
 * Does not: PAM (system users' crypt hashes come from getspnam), mbox.
 */
#ifndef POSTIE_POP3D_POP3D_AUTH_H
#define POSTIE_POP3D_POP3D_AUTH_H

#include <stdbool.h>

#include <openssl/ssl.h>

typedef struct pop3d_conf {
    SSL_CTX *tls;             /* NULL: no STLS (no certificate) */
    bool tls_auth_only;       /* pop3d_tls_auth_only */
    bool implicit_tls;        /* pop3s: TLS before the greeting */
    double timeout;           /* pop3d_timeout */
    int attempt_limit;        /* pop3d_auth_attempt_limit */
    long login_uid, login_gid;/* pop3d_login_user, -1 when not root */
    struct conn_slots *slots; /* the service's connection table, or NULL */
    int slot;                 /* this connection's slot there, or -1 */
} pop3d_conf;

/* Serve the client on fd; never returns (exits the process). */
void pop3d_auth_conn(int fd, const pop3d_conf *cf) __attribute__((noreturn));

#endif
