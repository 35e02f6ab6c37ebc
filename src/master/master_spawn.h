/*
 * master_spawn - the service processes: start each as "postie service NAME",
 * notice when one ends, log it Postfix's way, restart it (throttled after
 * fast repeated deaths), signal them all, stop them all.
 *
 * A child gets its listening sockets at fd 3.. with LISTEN_FDS=n, and,
 * when master is root, drops to mail_owner (setgid, initgroups, setuid)
 * before exec, except the services that must keep root (local, which
 * switches to each mailbox owner per delivery).
 */
#ifndef POSTIE_MASTER_MASTER_SPAWN_H
#define POSTIE_MASTER_MASTER_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "master/master_listen.h"

/* exe: the postie binary (what the children exec).  drop: change to
 * owner/uid/gid in the children that are not privileged. */
void master_spawn_init(const char *exe, bool drop, const char *owner,
                       uid_t uid, gid_t gid);
/* Declare a service (or change it on reload).  socks is borrowed and must
 * live as long as the service; NULL for none. */
void master_spawn_service(const char *name, int count, bool privileged,
                          const master_listen *socks);
/* Start every process that is missing and not throttled. */
void master_spawn_start(void);
/* Collect ended children (after SIGCHLD) and arrange their restart. */
void master_spawn_reap(void);
/* Send sig to every child. */
void master_spawn_signal(int sig);
/* Stop one service's processes gracefully; they come back at once (new
 * sockets or settings after a reload). */
void master_spawn_recycle(const char *name);
/* No more restarts: send SIGTERM to all. */
void master_spawn_stop(void);
/* Children alive. */
int master_spawn_running(void);

#endif
