/*
 * master_pid - the pid file in data_directory, held under an exclusive
 * flock(2) for master's whole life.
 *
 * The lock, not the pid in the file, says whether master runs: a pid file
 * left by a kill -9 is stale the moment its holder is gone, and a reused
 * pid cannot fool "postie status" or a second start.
 */
#ifndef POSTIE_MASTER_MASTER_PID_H
#define POSTIE_MASTER_MASTER_PID_H

#include <sys/types.h>

#define MASTER_PID_FILE "master.pid"

/* Take the lock and write our pid.  Returns the descriptor (keep it open),
 * -1 with errno, or -2 when another master holds it (*other_r its pid). */
int master_pid_lock(const char *data_dir, pid_t *other_r);
/* The pid of the running master, or 0 when none runs. */
pid_t master_pid_running(const char *data_dir);
/* Remove the file at a clean exit. */
void master_pid_remove(const char *data_dir, int fd);

#endif
