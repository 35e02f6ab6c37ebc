/*
 * mail_users - mail users: virtual users from the users file (Dovecot's
 * passwd-file syntax) and system users from the password database, as
 * mail_user_source chooses.  Both delivery (local) and login (pop3d, imapd)
 * use this module.
 *
 * Users file, one user per line ('#' comment lines and empty lines allowed):
 *
 *     name:{SCHEME}hash:uid:gid:gecos:home:shell:extra
 *
 * Only name and password are required; empty uid/gid mean mail_owner's
 * rights, an empty home means virtual_mailbox_base/name; a relative home is
 * relative to the configuration directory.  Passwords are stored only as
 * crypt(3) hashes ({SHA512-CRYPT} is written; {SHA256-CRYPT}, {BLF-CRYPT},
 * {CRYPT}, {MD5-CRYPT} are verified through crypt(3)); clear text is never
 * written and never logged.
 *
 * Does not: decide which domains are local, expand aliases.
 */
#ifndef POSTIE_GLOBAL_MAIL_USERS_H
#define POSTIE_GLOBAL_MAIL_USERS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mail_user {
    char *name;       /* lower case */
    char *password;   /* "{SCHEME}hash", "" when none (login refused) */
    long uid;         /* -1: not given */
    long gid;         /* -1: not given */
    char *gecos;
    char *home;       /* as in the file ("" when not given) */
    char *shell;
    char *extra;      /* everything after the 7th field, "" when none */
    bool system;      /* from getpwnam, not from the users file */
} mail_user;

void mail_user_free(mail_user **up);

/* Parse one line of the users file.  0, or -1 with *err_r. */
int mail_users_parse_line(const char *line, mail_user **u_r, char **err_r);
/* Format a user back into one line (no newline); a new string. */
char *mail_users_format(const mail_user *u);
/* Is this a name the users file accepts (no ':', no white space, no '/',
 * not empty, at most 64 octets, RFC 5321 section 4.5.3.1.1)? */
bool mail_users_name_ok(const char *name);

/* Find a user in one users file.  1 found, 0 not found (also when the file
 * does not exist), -1 error with *err_r. */
int mail_users_file_find(const char *path, const char *name, mail_user **u_r,
                         char **err_r);
/* All users of a file, in file order; *v_r is NULL-terminated. */
int mail_users_file_list(const char *path, mail_user ***v_r, char **err_r);
void mail_users_list_free(mail_user ***vp);

/* Change the file under an fcntl lock on PATH.lock, then write it
 * atomically (mode 0600).  add: -1 when the user exists; del and passwd:
 * -1 when it does not. */
int mail_users_file_add(const char *path, const mail_user *u, char **err_r);
int mail_users_file_del(const char *path, const char *name, char **err_r);
int mail_users_file_passwd(const char *path, const char *name,
                           const char *hash, char **err_r);

/* Find a user by the configuration: mail_user_source ("file", "system" or
 * both, in that order) and mail_users_file.  Same results as above. */
int mail_users_find(const char *name, mail_user **u_r, char **err_r);
/* The first user of the users file (postmaster's fallback), or NULL. */
char *mail_users_first(void);

/* The home directory delivery uses: absolute, a new string. */
char *mail_users_home(const mail_user *u);

/* Hash a password as {SHA512-CRYPT} with a random salt.  0 or -1. */
int mail_users_hash(const char *password, char **hash_r, char **err_r);
/* Check a password against a stored "{SCHEME}hash": 1 match, 0 no, -1
 * unknown scheme. */
int mail_users_verify(const char *stored, const char *password);

#endif
