/*
 * pop3d_maildir - Maildir snapshot, lock, UIDL, UPDATE; see
 * pop3d_maildir.h.
 *
 * The lock is flock(2) on the Maildir directory itself: no lock file to
 * create, clean up or leave behind after a crash (the kernel drops it with
 * the process).  Only POP3 sessions take it; local's delivery needs no
 * lock (tmp/ -> new/ is atomic), so mail keeps arriving during a session.
 */
#include "pop3d/pop3d_maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pop3d/pop3d_proto.h"
#include "util/fsutil.h"
#include "util/mem.h"

static char *pop3d_maildir_err(const char *what, const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s %s: %s", what, path, strerror(errno));
    return mem_strdup(tmp);
}

void pop3d_maildir_uidl(const char *name, char out[POP3D_UIDL_MAX + 1])
{
    size_t n = strcspn(name, ":,");
    bool ok = n >= 1 && n <= POP3D_UIDL_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = name[i] >= 0x21 && name[i] <= 0x7e;
    if (ok) {
        memcpy(out, name, n);
        out[n] = '\0';
        return;
    }
    /* A name another program made that is too long or has odd bytes:
     * FNV-1a 64 of the same base is just as stable. */
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)name[i];
        h *= 0x100000001b3ULL;
    }
    snprintf(out, POP3D_UIDL_MAX + 1, "H%016llx", h);
}

char *pop3d_maildir_seen_name(const char *name)
{
    const char *info = strstr(name, ":2,");
    if (info == NULL) {
        size_t n = strlen(name);
        char *s = mem_alloc(n + 5);
        snprintf(s, n + 5, "%s:2,S", name);
        return s;
    }
    const char *flags = info + 3;
    if (strchr(flags, 'S') != NULL)
        return mem_strdup(name);
    /* Maildir flags are kept in ASCII order. */
    size_t n = strlen(name);
    char *s = mem_alloc(n + 2);
    size_t pre = (size_t)(flags - name);
    memcpy(s, name, pre);
    size_t o = pre;
    bool put = false;
    for (const char *f = flags; *f; f++) {
        if (!put && *f > 'S') {
            s[o++] = 'S';
            put = true;
        }
        s[o++] = *f;
    }
    if (!put)
        s[o++] = 'S';
    s[o] = '\0';
    return s;
}

static int pop3d_maildir_cmp(const void *a, const void *b)
{
    const pop3d_msg *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* The size with CR LF line ends: read the file once. */
static int pop3d_maildir_size(int dfd, const char *name, long long *size_r)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    char tmp[65536];
    long long size = 0;
    bool cr = false;
    ssize_t n;
    while ((n = read(fd, tmp, sizeof(tmp))) > 0)
        size += pop3d_proto_crlf_size(tmp, (size_t)n, &cr);
    close(fd);
    if (n < 0)
        return -1;
    *size_r = size;
    return 0;
}

static int pop3d_maildir_scan(pop3d_maildir *md, const char *sub, char **err_r)
{
    char *dir = fs_join(md->path, sub);
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) { /* a Maildir nothing was delivered to yet */
            mem_free(&dir);
            return 0;
        }
        *err_r = pop3d_maildir_err("opendir", dir);
        mem_free(&dir);
        return -1;
    }
    int cap = md->n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        long long size;
        if (pop3d_maildir_size(dirfd(d), e->d_name, &size) < 0)
            continue; /* gone meanwhile, or not a plain file */
        if (md->n == cap) {
            cap = cap ? cap * 2 : 64;
            md->v = mem_realloc(md->v, (size_t)cap * sizeof(*md->v));
        }
        pop3d_msg *m = &md->v[md->n++];
        memset(m, 0, sizeof(*m));
        snprintf(m->sub, sizeof(m->sub), "%s", sub);
        m->name = mem_strdup(e->d_name);
        pop3d_maildir_uidl(m->name, m->uidl);
        m->size = size;
        md->total += size;
    }
    closedir(d);
    mem_free(&dir);
    return 0;
}

int pop3d_maildir_open(const char *path, pop3d_maildir **md_r, char **err_r)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        /* Nothing delivered yet: an empty maildrop, not an error. */
        fs_mkdirs(path, 0700);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) {
        *err_r = pop3d_maildir_err("open", path);
        return -1;
    }
    /* RFC 1939 section 8: an exclusive-access lock on the maildrop. */
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return -2;
        errno = e;
        *err_r = pop3d_maildir_err("lock", path);
        return -1;
    }
    pop3d_maildir *md = mem_zalloc(sizeof(*md));
    md->path = mem_strdup(path);
    md->lock_fd = fd;
    if (pop3d_maildir_scan(md, "cur", err_r) < 0 ||
        pop3d_maildir_scan(md, "new", err_r) < 0) {
        pop3d_maildir_free(&md);
        return -1;
    }
    /* Oldest first: our names (and most delivery agents') begin with the
     * arrival time in seconds. */
    if (md->n > 1)
        qsort(md->v, (size_t)md->n, sizeof(*md->v), pop3d_maildir_cmp);
    *md_r = md;
    return 0;
}

/* The file of message m in cur/ whatever its flags are now; a new name
 * or NULL. */
static char *pop3d_maildir_find_cur(pop3d_maildir *md, const pop3d_msg *m)
{
    size_t base = strcspn(m->name, ":");
    char *dir = fs_join(md->path, "cur");
    DIR *d = opendir(dir);
    mem_free(&dir);
    if (d == NULL)
        return NULL;
    char *found = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, m->name, base) == 0 &&
            (e->d_name[base] == ':' || e->d_name[base] == '\0')) {
            found = mem_strdup(e->d_name);
            break;
        }
    }
    closedir(d);
    return found;
}

int pop3d_maildir_fopen(pop3d_maildir *md, int i)
{
    pop3d_msg *m = &md->v[i];
    char *p = fs_join(md->path, m->sub);
    char *f = fs_join(p, m->name);
    int fd = open(f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    mem_free(&f);
    mem_free(&p);
    if (fd >= 0)
        return fd;
    /* An IMAP client or a mail reader may have moved or re-flagged it. */
    char *now = pop3d_maildir_find_cur(md, m);
    if (now == NULL)
        return -1;
    mem_free(&m->name);
    m->name = now;
    snprintf(m->sub, sizeof(m->sub), "cur");
    p = fs_join(md->path, "cur");
    f = fs_join(p, m->name);
    fd = open(f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    mem_free(&f);
    mem_free(&p);
    return fd;
}

int pop3d_maildir_update(pop3d_maildir *md)
{
    int removed = 0;
    char *newd = fs_join(md->path, "new");
    char *curd = fs_join(md->path, "cur");
    bool cur_made = false;
    for (int i = 0; i < md->n; i++) {
        pop3d_msg *m = &md->v[i];
        char *dir = strcmp(m->sub, "new") == 0 ? newd : curd;
        char *f = fs_join(dir, m->name);
        if (m->deleted) {
            if (unlink(f) == 0 || errno == ENOENT) {
                removed++;
            } else {
                /* Moved meanwhile: look for it once in cur/. */
                char *now = pop3d_maildir_find_cur(md, m);
                if (now) {
                    char *g = fs_join(curd, now);
                    if (unlink(g) == 0)
                        removed++;
                    mem_free(&g);
                    mem_free(&now);
                }
            }
        } else if (strcmp(m->sub, "new") == 0 || m->seen) {
            /* Dovecot's habit: a message a client has seen through POP3
             * is no longer new; its S flag tells an IMAP client it was
             * read. */
            if (!cur_made) {
                mkdir(curd, 0700);
                cur_made = true;
            }
            char *to_name = m->seen ? pop3d_maildir_seen_name(m->name)
                                    : strstr(m->name, ":2,") ? mem_strdup(m->name)
                                    : NULL;
            if (to_name == NULL) {
                size_t n = strlen(m->name) + 4;
                to_name = mem_alloc(n);
                snprintf(to_name, n, "%s:2,", m->name);
            }
            char *t = fs_join(curd, to_name);
            if (strcmp(f, t) != 0)
                (void)rename(f, t); /* gone meanwhile: nothing to move */
            mem_free(&t);
            mem_free(&to_name);
        }
        mem_free(&f);
    }
    if (removed > 0 || cur_made) {
        /* The removals and moves survive a crash once the directories are
         * synced; a lost one would only show a message again. */
        fs_sync_dir(newd);
        fs_sync_dir(curd);
    }
    mem_free(&newd);
    mem_free(&curd);
    return removed;
}

void pop3d_maildir_free(pop3d_maildir **mdp)
{
    pop3d_maildir *md = *mdp;
    if (md == NULL)
        return;
    for (int i = 0; i < md->n; i++)
        mem_free(&md->v[i].name);
    mem_free(&md->v);
    if (md->lock_fd >= 0)
        close(md->lock_fd);
    mem_free(&md->path);
    mem_free(mdp);
}
