/*
 * master_pid - pid file and instance lock; see master_pid.h.
 */
#include "master/master_pid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"

static pid_t master_pid_read(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    long v = strtol(text, NULL, 10);
    return v > 0 ? (pid_t)v : 0;
}

int master_pid_lock(const char *data_dir, pid_t *other_r)
{
    char *path = fs_join(data_dir, MASTER_PID_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    mem_free(&path);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int saved = errno;
        if (saved == EWOULDBLOCK) {
            /* The holder may not have written its pid yet. */
            for (int i = 0; i < 20 && (*other_r = master_pid_read(fd)) == 0; i++)
                usleep(50000);
            close(fd);
            return -2;
        }
        close(fd);
        errno = saved;
        return -1;
    }
    char text[32];
    int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

pid_t master_pid_running(const char *data_dir)
{
    char *path = fs_join(data_dir, MASTER_PID_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    mem_free(&path);
    if (fd < 0)
        return 0;
    pid_t pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        for (int i = 0; i < 20 && (pid = master_pid_read(fd)) == 0; i++)
            usleep(50000);
    }
    close(fd);
    return pid;
}

void master_pid_remove(const char *data_dir, int fd)
{
    char *path = fs_join(data_dir, MASTER_PID_FILE);
    /* Unlink while still holding the lock: a new master that starts now
     * makes a new file instead of reading a half-removed one. */
    unlink(path);
    mem_free(&path);
    if (fd >= 0)
        close(fd);
}
