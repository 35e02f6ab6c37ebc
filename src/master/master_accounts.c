/*
 * master_accounts - the accounts and places a root "postie serve" needs;
 * see master_accounts.h.
 *
 * DESIGN.md: "without any set-up, as a normal user or as root, postie serve
 * runs the whole system".  Run by root, master runs its services as
 * mail_owner and POP3's login processes as pop3d_login_user; a bare system
 * has neither account until a package makes them (debian/postinst), so
 * serve makes the missing one itself, the way the package would, and says
 * so.  Only serve does: "postie start" with a real configuration expects
 * an installed system and stops with a message instead.
 */
#include "master/master_accounts.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "global/mail_users.h"
#include "util/buf.h"
#include "util/mem.h"

__attribute__((format(printf, 1, 2)))
static char *master_accounts_err(const char *fmt, ...)
{
    buf *e = buf_new(1024);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(e, fmt, ap);
    va_end(ap);
    char *s = mem_strdup(e->data);
    buf_free(&e);
    return s;
}

int master_accounts_ensure_user(const char *name, const char *role,
                                char **err_r)
{
    if (getpwnam(name) != NULL)
        return 0;
    if (!mail_users_name_ok(name)) {
        *err_r = master_accounts_err("%s \"%s\" is not a user of this system, "
                                     "and not a name to make one with", role, name);
        return -1;
    }
    /* As debian/postinst does (with adduser there): a system account with
     * its own group, no home and no shell. */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        *err_r = master_accounts_err("fork for useradd %s: %s", name, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char *user = mem_strdup(name);
        char *argv[] = {(char *)"useradd", (char *)"--system", (char *)"--user-group",
                        (char *)"--no-create-home", (char *)"--home-dir",
                        (char *)"/nonexistent", (char *)"--shell",
                        (char *)"/usr/sbin/nologin", (char *)"--comment",
                        (char *)"postie serve", user, NULL};
        /* sudo's secure_path has sbin; a plain user's PATH may not. */
        execv("/usr/sbin/useradd", argv);
        execvp("useradd", argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || getpwnam(name) == NULL) {
        *err_r = master_accounts_err(
            "%s \"%s\" is not a user of this system, and useradd could not make it "
            "(see above): make it, or set that parameter in postie.conf", role, name);
        return -1;
    }
    printf("made system user %s (%s)\n", name, role);
    return 0;
}

/* May uid/gid search (x) a directory of this mode and owner? */
static bool master_accounts_can_enter(const struct stat *st, uid_t uid, gid_t gid)
{
    if (uid == 0)
        return true;
    if (st->st_uid == uid)
        return (st->st_mode & S_IXUSR) != 0;
    if (st->st_gid == gid)
        return (st->st_mode & S_IXGRP) != 0;
    return (st->st_mode & S_IXOTH) != 0;
}

bool master_accounts_reachable(const char *path, uid_t uid, gid_t gid,
                               char **blocker_r)
{
    char *p = mem_strdup(path);
    size_t n = strlen(p);
    bool ok = true;
    /* Each prefix that ends before a '/', then the whole path. */
    for (size_t i = 1; i <= n && ok; i++) {
        if (i < n && p[i] != '/')
            continue;
        char save = p[i];
        p[i] = '\0';
        struct stat st;
        if (stat(p, &st) < 0) {
            p[i] = save;
            break; /* made later, by root, 0755 */
        }
        if (S_ISDIR(st.st_mode) && !master_accounts_can_enter(&st, uid, gid)) {
            ok = false;
            if (blocker_r != NULL)
                *blocker_r = mem_strdup(p);
        }
        p[i] = save;
    }
    mem_free(&p);
    return ok;
}

char *master_accounts_first_user(uid_t uid, const char *login,
                                 const char *sudo_user)
{
    const char *pick = NULL;
    if (uid != 0)
        pick = login;
    else
        pick = sudo_user;
    if (pick != NULL && *pick && mail_users_name_ok(pick) &&
        strcmp(pick, "root") != 0 && strcmp(pick, "postie") != 0)
        return mem_strdup(pick);
    return mem_strdup("admin");
}
