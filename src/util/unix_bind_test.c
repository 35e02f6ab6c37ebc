/*
 * unix_bind_test - the socket file is created with the asked mode, whatever
 * the umask, and the umask is left as it was.
 */
#include "util/unix_bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/test.h"

int main(void)
{
    static const struct {
        mode_t umask;
        mode_t mode;
    } cases[] = {
        {022, 0666}, {077, 0666}, {0, 0660}, {022, 0600}, {0777, 0666},
    };
    char dir[] = "/tmp/unix_bind_test.XXXXXX";
    TEST_TRUE(mkdtemp(dir) != NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s%zu", dir, i);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        TEST_TRUE(fd >= 0);
        umask(cases[i].umask);
        TEST_TRUE(unix_bind(fd, &sun, cases[i].mode) == 0);
        TEST_TRUE(umask(cases[i].umask) == cases[i].umask);
        struct stat st;
        TEST_TRUE(stat(sun.sun_path, &st) == 0);
        TEST_EQ_INT((int)(st.st_mode & 0777), (int)cases[i].mode);
        /* A second bind replaces a stale file from an earlier run. */
        int fd2 = socket(AF_UNIX, SOCK_STREAM, 0);
        TEST_TRUE(unix_bind(fd2, &sun, cases[i].mode) == 0);
        close(fd2);
        close(fd);
        unlink(sun.sun_path);
    }
    umask(022);
    rmdir(dir);
    return test_done();
}
