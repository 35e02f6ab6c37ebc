/*
 * mail_service - what every service process does first.
 *
 * master forks and execs "postie service NAME" with the listening sockets
 * it bound for that service at descriptors 3, 4, ... and LISTEN_FDS=n in
 * the environment (systemd's convention), after dropping privileges for
 * every service but local.  The service then calls mail_service_init.
 * Without LISTEN_FDS (a developer running one service by hand) a service
 * binds its own sockets from the configuration.
 */
#ifndef POSTIE_GLOBAL_MAIL_SERVICE_H
#define POSTIE_GLOBAL_MAIL_SERVICE_H

#include <signal.h>
#include <stdbool.h>

/* Read postie.conf, open the log (maillog_file or syslog, syslog_name,
 * time format, host name), name the process NAME in log lines, ignore
 * SIGPIPE, and install SIGTERM/SIGHUP flags (below). */
void mail_service_init(const char *name);
/* Same logging set-up for a command (logs and also copies to stderr). */
void mail_command_init(const char *name);
/* Listening sockets inherited from master: returns their number and the
 * first descriptor in *first_r (3), or 0 when started by hand. */
int mail_service_listen_fds(int *first_r);

/* Set by signal handlers; services poll them in their event loop. */
extern volatile sig_atomic_t mail_service_stop;    /* SIGTERM, SIGINT */
extern volatile sig_atomic_t mail_service_reload;  /* SIGHUP */

#endif
