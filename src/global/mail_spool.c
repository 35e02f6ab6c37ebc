/*
 * mail_spool - the spool directory's mode and owner; see mail_spool.h.
 */
#include "global/mail_spool.h"

#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

void mail_spool_want(mail_spool_rule *r)
{
    r->mail_group = false;
    if (geteuid() != 0) {
        r->uid = geteuid();
        r->gid = getegid();
        r->mode = 0700;
        return;
    }
    r->uid = 0;
    r->gid = 0;
    r->mode = 0755;
    struct group *g = getgrnam("mail");
    if (g != NULL) {
        r->gid = g->gr_gid;
        r->mode = 02775;
        r->mail_group = true;
    }
}

int mail_spool_make(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    mail_spool_rule r;
    mail_spool_want(&r);
    if (fs_mkdirs(path, 0700) < 0)
        return -1;
    /* Made 0700 first and opened up only once it has its owner, so that
     * it is never writable by a group it does not belong to.  chmod after
     * chown: chown clears the setgid bit on some systems. */
    if (geteuid() == 0 && chown(path, r.uid, r.gid) < 0)
        return -1;
    return chmod(path, r.mode);
}
