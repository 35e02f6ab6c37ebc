/*
 * mail_spool - the mode and owner of mail_spool_directory, the directory
 * of mbox files (docs/local.md, "The spool").
 *
 * Not world-writable (issue 14): in a 1777 spool any user could create
 * spool/alice before alice's first mail, or hold spool/alice.lock.  As
 * Debian's /var/mail: 2775 root:mail when the group "mail" exists (mail
 * readers that dotlock run setgid mail), else 0755 root:root; local, as
 * root, creates each mbox with O_EXCL and gives it to its user.  Without
 * root everything belongs to the one user the instance runs as: 0700.
 *
 * Does not: change a spool that exists (the administrator's /var/mail is
 * theirs; the doctor says what is wrong with it), deliver, or log.
 */
#ifndef POSTIE_GLOBAL_MAIL_SPOOL_H
#define POSTIE_GLOBAL_MAIL_SPOOL_H

#include <stdbool.h>
#include <sys/types.h>

/* What the spool should be, for the user we run as. */
typedef struct mail_spool_rule {
    uid_t uid;
    gid_t gid;
    mode_t mode;
    bool mail_group;  /* gid is the group "mail" */
} mail_spool_rule;

void mail_spool_want(mail_spool_rule *r);
/* Make a missing spool directory (and its parents) by the rule.  0 when
 * it exists or was made, else -1 (errno). */
int mail_spool_make(const char *path);

#endif
