/*
 * mail_trigger - datagram wake-ups between services; see mail_trigger.h.
 */
#include "global/mail_trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/msg.h"
#include "util/unix_bind.h"

static int mail_trigger_addr(struct sockaddr_un *sun, const char *queue_dir,
                             const char *service)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/public/%s",
                     queue_dir, service);
    if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

void mail_trigger(const char *queue_dir, const char *service)
{
    struct sockaddr_un sun;
    if (mail_trigger_addr(&sun, queue_dir, service) < 0)
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    /* A full socket buffer means the service has wake-ups pending already. */
    (void)!sendto(fd, "W", 1, 0, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
}

int mail_trigger_listen(const char *queue_dir, const char *service)
{
    struct sockaddr_un sun;
    if (mail_trigger_addr(&sun, queue_dir, service) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* Writers may run as other users of the mail system's group. */
    if (unix_bind(fd, &sun, 0660) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

void mail_trigger_drain(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof(b), 0) > 0)
        ;
}
