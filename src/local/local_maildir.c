/*
 * local_maildir - write one message into a Maildir; see local_maildir.h.
 */
#include "local/local_maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"

/* Maildir names must not hold '/' or ':' (maildir(5)): the host part is
 * escaped the way Courier and Dovecot do it. */
char *local_maildir_name(long long arrival_sec, const char *id, int index,
                         const char *target, size_t size)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = '\0';
    char esc[1024];
    size_t n = 0;
    for (const char *p = host; *p && n + 5 < sizeof(esc); p++) {
        if (*p == '/')
            n += (size_t)snprintf(esc + n, sizeof(esc) - n, "\\057");
        else if (*p == ':')
            n += (size_t)snprintf(esc + n, sizeof(esc) - n, "\\072");
        else
            esc[n++] = *p;
    }
    esc[n] = '\0';
    /* FNV-1a of the target: one name per (message, recipient, mailbox),
     * stable across retries. */
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++) {
        unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
        h = (h ^ c) * 16777619u;
    }
    char *name = mem_alloc(strlen(esc) + strlen(id) + 96);
    sprintf(name, "%lld.%s_%d_%08x.%s,S=%zu", arrival_sec, id, index, h, esc,
            size);
    return name;
}

static int local_maildir_mkdirs(const char *dir)
{
    static const char *const sub[] = {"tmp", "new", "cur"};
    for (int i = 0; i < 3; i++) {
        char *p = fs_join(dir, sub[i]);
        int r = fs_mkdirs(p, 0700);
        mem_free(&p);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Is NAME, or NAME:2,FLAGS, in cur/? */
static bool local_maildir_in_cur(const char *dir, const char *name)
{
    char *curd = fs_join(dir, "cur");
    DIR *d = opendir(curd);
    mem_free(&curd);
    if (d == NULL)
        return false;
    size_t n = strlen(name);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = strncmp(e->d_name, name, n) == 0 &&
                (e->d_name[n] == '\0' || e->d_name[n] == ':');
    closedir(d);
    return found;
}

int local_maildir_deliver(const char *dir, const char *name,
                          const local_msg *m, bool look_in_cur,
                          void (*release)(void *), void *release_ctx,
                          local_fail *f)
{
    char *tmpd = fs_join(dir, "tmp");
    char *newd = fs_join(dir, "new");
    char *tmp = fs_join(tmpd, name);
    char *dst = fs_join(newd, name);
    int r = -1;
    struct stat st;
    if (stat(dst, &st) == 0 ||
        (look_in_cur && local_maildir_in_cur(dir, name))) {
        r = 0; /* delivered before a crash took qmgr's mark with it */
        goto out;
    }
    if (stat(newd, &st) < 0 && local_maildir_mkdirs(dir) < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "create maildir %s", dir);
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "create maildir file %s", tmp);
        goto out;
    }
    if (local_mailbox_copy(fd, m) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "write maildir file %s", tmp);
        goto out;
    }
    /* The message is in tmp/, where no reader looks: what is left is the
     * wait for the disk (two journal commits on ext4).  The caller may let
     * the next delivery to this mailbox start meanwhile (docs/local.md,
     * "Speed"); the result is still reported only once all is durable. */
    if (release != NULL)
        release(release_ctx);
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "write maildir file %s", tmp);
        goto out;
    }
    if (close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "write maildir file %s", tmp);
        goto out;
    }
    /* link, not rename: it fails with EEXIST instead of replacing a copy
     * a reader may already hold (maildir(5)). */
    if (link(tmp, dst) < 0 && errno != EEXIST) {
        int e = errno;
        unlink(tmp);
        local_mailbox_fail(f, e, "4.2.0", "link maildir file %s", dst);
        goto out;
    }
    unlink(tmp);
    if (fs_sync_dir(newd) < 0) {
        local_mailbox_fail(f, errno, "4.2.0", "sync maildir %s", newd);
        goto out;
    }
    r = 0;
out:
    mem_free(&tmpd);
    mem_free(&newd);
    mem_free(&tmp);
    mem_free(&dst);
    return r;
}

