/*
 * unix_bind - bind a UNIX-domain socket with its final mode; see unix_bind.h.
 */
#include "util/unix_bind.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

int unix_bind(int fd, const struct sockaddr_un *sun, mode_t mode)
{
    unlink(sun->sun_path);
    mode_t old = umask(~mode & 0777);
    int r = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
    int saved = errno;
    umask(old);
    errno = saved;
    return r;
}
