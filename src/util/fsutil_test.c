/*
 * fsutil_test - durable file helpers: mkdir -p, atomic write (no temporary
 * left behind, mode kept), bounded whole-file read, write_all, join.
 */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "util/mem.h"
#include "util/test.h"

static char fs_test_dir[] = "/tmp/postie-fsutil-test-XXXXXX";

static char *fs_test_path(const char *name)
{
    return fs_join(fs_test_dir, name);
}

static void test_fs_join(void)
{
    char *p = fs_join("/a/b", "c");
    TEST_EQ_STR(p, "/a/b/c");
    mem_free(&p);
    TEST_TRUE(p == NULL);
}

static void test_fs_mkdirs(void)
{
    char *deep = fs_test_path("x/y/z");
    TEST_EQ_INT(fs_mkdirs(deep, 0700), 0);
    struct stat st;
    TEST_EQ_INT(stat(deep, &st), 0);
    TEST_TRUE(S_ISDIR(st.st_mode));
    TEST_EQ_INT(fs_mkdirs(deep, 0700), 0); /* exists: fine */
    char *file = fs_test_path("x/file");
    TEST_EQ_INT(fs_write_atomic(file, "1", 1, 0600), 0);
    char *under = fs_test_path("x/file/sub");
    TEST_EQ_INT(fs_mkdirs(under, 0700), -1); /* a file is in the way */
    TEST_EQ_INT(errno, ENOTDIR);
    mem_free(&deep);
    mem_free(&file);
    mem_free(&under);
}

static void test_fs_write_atomic_and_read(void)
{
    char *p = fs_test_path("atomic");
    TEST_EQ_INT(fs_write_atomic(p, "first", 5, 0640), 0);
    TEST_EQ_INT(fs_write_atomic(p, "second\0x", 8, 0640), 0);
    size_t len = 0;
    char *got = fs_read_file(p, 1024, &len);
    TEST_TRUE(got != NULL);
    TEST_EQ_INT(len, 8);
    TEST_EQ_INT(memcmp(got, "second\0x", 9), 0); /* NUL-terminated too */
    mem_free(&got);
    struct stat st;
    TEST_EQ_INT(stat(p, &st), 0);
    TEST_EQ_INT(st.st_mode & 0777, 0640 & ~0022 & 0777);
    /* No temporary file is left beside it. */
    DIR *d = opendir(fs_test_dir);
    struct dirent *de;
    int tmps = 0;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".tmp.") != NULL)
            tmps++;
    closedir(d);
    TEST_EQ_INT(tmps, 0);
    mem_free(&p);
}

static void test_fs_read_file_limits(void)
{
    char *p = fs_test_path("big");
    char data[10000];
    memset(data, 'a', sizeof(data));
    TEST_EQ_INT(fs_write_atomic(p, data, sizeof(data), 0600), 0);
    size_t len = 0;
    char *got = fs_read_file(p, sizeof(data), &len);
    TEST_TRUE(got != NULL);
    TEST_EQ_INT(len, sizeof(data));
    mem_free(&got);
    TEST_TRUE(fs_read_file(p, 100, &len) == NULL);
    TEST_EQ_INT(errno, EFBIG);
    char *missing = fs_test_path("missing");
    TEST_TRUE(fs_read_file(missing, 100, NULL) == NULL);
    TEST_EQ_INT(errno, ENOENT);
    char *empty = fs_test_path("empty");
    TEST_EQ_INT(fs_write_atomic(empty, "", 0, 0600), 0);
    got = fs_read_file(empty, 100, &len);
    TEST_TRUE(got != NULL);
    TEST_EQ_INT(len, 0);
    TEST_EQ_STR(got, "");
    mem_free(&got);
    mem_free(&p);
    mem_free(&missing);
    mem_free(&empty);
}

static void test_fs_write_all_and_sync(void)
{
    char *p = fs_test_path("written");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    TEST_TRUE(fd >= 0);
    TEST_EQ_INT(fs_write_all(fd, "hello", 5), 0);
    close(fd);
    TEST_EQ_INT(fs_sync_parent(p), 0);
    TEST_EQ_INT(fs_sync_dir(fs_test_dir), 0);
    TEST_EQ_INT(fs_sync_dir("/nonexistent-dir"), -1);
    TEST_EQ_INT(fs_write_all(-1, "x", 1), -1);
    mem_free(&p);
}

int main(void)
{
    if (mkdtemp(fs_test_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    TEST_RUN(test_fs_join);
    TEST_RUN(test_fs_mkdirs);
    TEST_RUN(test_fs_write_atomic_and_read);
    TEST_RUN(test_fs_read_file_limits);
    TEST_RUN(test_fs_write_all_and_sync);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fs_test_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fs_test_dir);
    return test_done();
}
