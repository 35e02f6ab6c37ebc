/*
 * pop3d - the POP3 server (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH PLAIN):
 * lets a person with a mail client read the Maildir that local wrote.
 *
 * Layout (prefix = file name):
 *   pop3d.c          service entry: listening sockets, accept, the
 *                    connection limit, one supervisor process per client
 *   pop3d_auth.c     the supervisor: starts the login process, checks the
 *                    passwords it forwards, becomes the logged-in session
 *   pop3d_login.c    AUTHORIZATION state (RFC 1939 section 4): a parser
 *                    with no I/O, run by the unprivileged login process
 *   pop3d_session.c  TRANSACTION and UPDATE states (sections 5, 6)
 *   pop3d_maildir.c  the snapshot of a Maildir taken at login, UIDL,
 *                    UPDATE (unlink, new/ -> cur/)
 *   pop3d_proto.c    line splitting with the RFC 2449 length limit,
 *                    dot-stuffing and LF -> CRLF, base64, blocking I/O in
 *                    clear text or TLS
 *
 * Processes (docs/pop3d.md): the service process (root when master is)
 * accepts and forks a supervisor per connection; the supervisor forks the
 * login process, which drops to pop3d_login_user and alone reads the
 * network until a password is accepted; the supervisor then drops to the
 * mailbox owner and serves the session.  Nothing that reads the network
 * keeps root.
 *
 * TLS: STLS (RFC 2595) on pop3d_listen, implicit TLS on pop3s_listen
 * (the same program run as "pop3s"); the login process does the TLS and,
 * after a login, relays clear text to the session.
 *
 * Does not: mbox, APOP, PAM (system users' passwords come from the shadow
 * file through getspnam).
 */
#ifndef POSTIE_POP3D_POP3D_H
#define POSTIE_POP3D_POP3D_H

/* The service entry: "postie service pop3d". */
int pop3d_service_main(int argc, char **argv);

#endif
