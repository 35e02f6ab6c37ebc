/*
 * pop3d_maildir - the maildrop of one POP3 session: a snapshot of a
 * Maildir (new/ and cur/) taken at login, the exclusive lock RFC 1939
 * section 8 asks for, UIDL, and the UPDATE state (section 6).
 *
 * The snapshot fixes message numbers and sizes for the session (section
 * 5: numbers do not change while the session lasts); mail that arrives
 * meanwhile is seen at the next login.  Size is the exact size with CR LF
 * line ends (section 11), found by reading every message once at login:
 * O(mailbox bytes), the price of not keeping an index.
 *
 * Does not: mbox, Maildir++ folders (POP3 sees only INBOX), keywords.
 */
#ifndef POSTIE_POP3D_POP3D_MAILDIR_H
#define POSTIE_POP3D_POP3D_MAILDIR_H

#include <stdbool.h>

/* RFC 1939 section 7 (UIDL): 1 to 70 characters 0x21 to 0x7E. */
#define POP3D_UIDL_MAX 70

typedef struct pop3d_msg {
    char sub[4];                  /* "new" or "cur", where it was found */
    char *name;                   /* file name in sub/ */
    char uidl[POP3D_UIDL_MAX + 1];
    long long size;               /* octets with CR LF line ends */
    bool deleted;                 /* DELE (undone by RSET) */
    bool seen;                    /* RETR or TOP: gets the S flag */
} pop3d_msg;

typedef struct pop3d_maildir {
    char *path;
    int lock_fd;
    pop3d_msg *v;
    int n;
    long long total;              /* sum of sizes */
} pop3d_maildir;

/* Lock the Maildir and take the snapshot.  0; -2 when another session
 * holds the lock; -1 with *err_r. */
int pop3d_maildir_open(const char *path, pop3d_maildir **md_r, char **err_r);
/* Open message i (0-based) for reading; it may have moved from new/ to
 * cur/ or had its flags changed by another program meanwhile.  A file
 * descriptor, or -1 (gone: expunged by another program). */
int pop3d_maildir_fopen(pop3d_maildir *md, int i);
/* UPDATE: unlink what is deleted, move the rest of new/ to cur/ (with the
 * S flag when retrieved).  Returns the number of messages removed; files
 * another program already removed count as removed. */
int pop3d_maildir_update(pop3d_maildir *md);
/* Unlocks; the files stay as they are. */
void pop3d_maildir_free(pop3d_maildir **mdp);

/* The unique-id of a Maildir file name: the base name before ':' (the
 * flags, which change) and before ',' (size fields, which other delivery
 * agents may add later), when it is a valid unique-id; else a hash of it.
 * Stable for the life of the message. */
void pop3d_maildir_uidl(const char *name, char out[POP3D_UIDL_MAX + 1]);
/* name with the S flag set in its ":2," info (a new string). */
char *pop3d_maildir_seen_name(const char *name);

#endif
