/*
 * unix_bind - bind a UNIX-domain socket that is born with its final mode.
 *
 * bind(2) creates the socket file with the mode the umask leaves; a
 * chmod(2) after it leaves a window in which a client of another user gets
 * EACCES instead of "not there yet" (ENOENT, ECONNREFUSED), and a caller
 * that retries only on those takes it for a real failure.  Here the umask
 * is set for the bind alone, so the file never exists with another mode.
 * Not thread-safe (the umask is per process); postie's services are
 * single-threaded.
 */
#ifndef POSTIE_UNIX_BIND_H
#define POSTIE_UNIX_BIND_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* unlink(2) the path, then bind fd to it with the file mode (e.g. 0666).
 * 0 or -1 with errno. */
int unix_bind(int fd, const struct sockaddr_un *sun, mode_t mode);

#endif
