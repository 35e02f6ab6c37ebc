/*
 * master_accounts - what a root "postie serve" needs from the system so
 * that it starts without set-up: the unprivileged accounts its services
 * run as (made with useradd --system when missing, and said so), an
 * instance directory those accounts can reach, and the name of the first
 * mail user.  Does not: change the accounts that exist, or touch any file
 * of the instance (master_instance does).
 */
#ifndef POSTIE_MASTER_MASTER_ACCOUNTS_H
#define POSTIE_MASTER_MASTER_ACCOUNTS_H

#include <stdbool.h>
#include <sys/types.h>

/* Make the system user NAME (role: the parameter that names it, for the
 * message) when it does not exist; print "made system user NAME (ROLE)"
 * on stdout.  0 (it exists now), or -1 with *err_r. */
int master_accounts_ensure_user(const char *name, const char *role,
                                char **err_r);

/* Can uid/gid enter every directory on the way to PATH (absolute), and PATH
 * itself when it exists?  By the mode bits of each directory (owner, group,
 * others); a part that does not exist yet ends the walk (root makes it 0755).
 * On false, *blocker_r (if not NULL) gets the first directory that is shut
 * (free it). */
bool master_accounts_reachable(const char *path, uid_t uid, gid_t gid,
                               char **blocker_r);

/* The name of the first mail user that a first start makes, for a master
 * run by uid whose login name is login (NULL: unknown) and, from sudo,
 * $SUDO_USER: a normal user gets their own name; root gets the user who
 * ran sudo, else "admin" (never "postie": that is mail_owner's name, nor
 * "root", whose mail an alias sends to an administrator).  Free it. */
char *master_accounts_first_user(uid_t uid, const char *login,
                                 const char *sudo_user);

#endif
