/*
 * pop3d_session - the TRANSACTION and UPDATE states of RFC 1939 (sections
 * 5 and 6) for one logged-in user, in the process that runs as the
 * mailbox's owner: STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET, QUIT,
 * CAPA (RFC 2449).
 *
 * Does not: read passwords (the login process did), run as root.
 */
#ifndef POSTIE_POP3D_POP3D_SESSION_H
#define POSTIE_POP3D_POP3D_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "pop3d/pop3d_maildir.h"
#include "pop3d/pop3d_proto.h"
#include "util/buf.h"

typedef struct pop3d_session {
    conn *io;
    pop3d_maildir *md;
    const char *user;
    const char *sid;             /* session id, as in the login lines */
    int top_n, retr_n, del_n;
    long long top_bytes, retr_bytes;
    int bad_commands;
    bool quit;
} pop3d_session;

/* Serve until QUIT, close, timeout or too many bad commands; logs the
 * Disconnected line.  The greeting ("+OK Logged in.") is sent here. */
void pop3d_session_run(pop3d_session *s);

/* One command line; replies into out, except the content of RETR and TOP,
 * which goes straight to the client through s->io (flushing out first).
 * Returns 1 after QUIT, -1 when the connection should end, else 0. */
int pop3d_session_line(pop3d_session *s, const char *line, bool too_long,
                       buf *out);

/* Parse a message number of RFC 1939 section 5 ("1" .. n): index, or -1. */
int pop3d_session_msgno(const char *arg, int n, const char **rest_r);

/* TOP (section 7): how many of n octets to send of a message whose
 * header ends at the first empty line, followed by `lines` body lines.
 * Feed chunks in order; *done is set when the cut is reached. */
typedef struct pop3d_top {
    bool body;        /* past the empty line */
    bool bol;         /* at the start of a line */
    bool cr_line;     /* the header line so far is a lone CR */
    long lines;       /* body lines still to send */
    bool done;
} pop3d_top;
void pop3d_session_top_init(pop3d_top *t, long lines);
size_t pop3d_session_top_cut(pop3d_top *t, const char *p, size_t n);

#endif
