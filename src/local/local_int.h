/*
 * local_int - local's internal interface between the service (local.c)
 * and the per-request child (local_deliver.c).  local_queue_dir is set by
 * local.c at start, before local_deliver_init.
 */
#ifndef POSTIE_LOCAL_LOCAL_INT_H
#define POSTIE_LOCAL_LOCAL_INT_H

extern char *local_queue_dir;

/* In the parent, at start and after a reload: what every child would
 * otherwise look up again (mail_owner's uid and gid, the time zone). */
void local_deliver_init(void);

/* Serve one request on fd in a child process; returns the exit code. */
int local_deliver_child(int fd);

#endif
