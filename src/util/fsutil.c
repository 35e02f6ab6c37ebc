/*
 * fsutil - durable file-system helpers; see fsutil.h.
 */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

int fs_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

int fs_sync_parent(const char *path)
{
    char *dir = mem_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        mem_free(&dir);
        return fs_sync_dir(".");
    }
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int r = fs_sync_dir(dir);
    mem_free(&dir);
    return r;
}

int fs_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int fs_mkdirs(const char *path, mode_t mode)
{
    char *p = mem_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            mem_free(&p);
            return -1;
        }
        *s = '/';
    }
    int r = mkdir(p, mode);
    mem_free(&p);
    if (r < 0 && errno != EEXIST)
        return -1;
    return 0;
}

char *fs_read_file(const char *path, size_t max, size_t *len_r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *d = mem_alloc(cap + 1);
    for (;;) {
        if (len == cap) {
            if (cap >= max) {
                /* Exactly max bytes is allowed: only a further byte makes
                 * the file too big, so look for end of file first. */
                char extra;
                ssize_t r;
                while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR)
                    ;
                if (r == 0)
                    break;
                int saved = r < 0 ? errno : EFBIG;
                mem_free(&d);
                close(fd);
                errno = saved;
                return NULL;
            }
            cap = cap * 2 > max ? max : cap * 2;
            d = mem_realloc(d, cap + 1);
        }
        ssize_t r = read(fd, d + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int saved = errno;
            mem_free(&d);
            close(fd);
            errno = saved;
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    d[len] = '\0';
    if (len_r)
        *len_r = len;
    return d;
}

int fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
        (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    if (fs_write_all(fd, p, n) < 0 || fsync(fd) < 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        errno = saved;
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return fs_sync_parent(path);
}

char *fs_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = mem_alloc(a + b + 2);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}
