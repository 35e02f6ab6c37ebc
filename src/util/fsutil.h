/*
 * fsutil - durable file-system operations (the queue is the database).
 *
 * All return 0, or -1 with errno set; none prints.
 */
#ifndef POSTIE_UTIL_FSUTIL_H
#define POSTIE_UTIL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* fsync the directory that contains path (after create/rename/link). */
int fs_sync_parent(const char *path);
int fs_sync_dir(const char *dir);
/* write() all of it, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *p, size_t n);
/* mkdir -p with mode for the directories it creates. */
int fs_mkdirs(const char *path, mode_t mode);
/* Read a whole file (at most max bytes) into a new NUL-terminated string. */
char *fs_read_file(const char *path, size_t max, size_t *len_r);
/* Write a file atomically: tmp, fsync, rename, fsync dir. */
int fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode);
/* Join dir and name into a new string. */
char *fs_join(const char *dir, const char *name);

#endif
