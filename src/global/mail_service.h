/*
 * mail_service - what every service process does: start-up and its loop.
 *
 * master forks and execs "postie service NAME" with the listening sockets
 * it bound for that service at descriptors 3, 4, ... and LISTEN_FDS=n in
 * the environment (systemd's convention), after dropping privileges for
 * every service but local.  The service then calls mail_service_init,
 * sets itself up, and hands control to mail_service_run, which runs the
 * event loop until the service has stopped.  Without LISTEN_FDS (a
 * developer running one service by hand) a service binds its own sockets
 * from the configuration.
 *
 * Signals (SIGHUP reload, SIGTERM/SIGINT stop) come through the event
 * loop: mail_service_run blocks them and reads them from a signalfd, as
 * master does, so no handler runs in signal context and a signal that
 * arrives just before the loop sleeps still wakes it.  What a service does
 * on each is its hooks' business (below).  One turn of the loop, always in
 * this order: after a SIGHUP, re-read postie.conf (mail_conf_reload) and
 * call .reload; call .turn; after a stop, call .stop once, then end the
 * loop as soon as .stopped says so; sleep until an event, a timer or
 * .wait seconds.
 *
 * Processes a service forks get the signal mask and dispositions a
 * service child had before (SIGTERM and SIGINT default, SIGHUP ignored,
 * nothing blocked) and not the signalfd: a pthread_atfork handler resets
 * them in every child, so that kill(pid, SIGTERM) still ends a delivery
 * or a session and an exec'd program is not deaf.
 *
 * Does not: reap children (a service's .turn does, with waitpid
 * WNOHANG, as each has its own bookkeeping), or know about sockets.
 */
#ifndef POSTIE_GLOBAL_MAIL_SERVICE_H
#define POSTIE_GLOBAL_MAIL_SERVICE_H

#include <signal.h>
#include <stdbool.h>

/* Read postie.conf, open the log (maillog_file or syslog, syslog_name,
 * time format, host name), name the process NAME in log lines, ignore
 * SIGPIPE, and hold SIGTERM, SIGINT and SIGHUP for mail_service_run
 * (none is lost while the service sets itself up). */
void mail_service_init(const char *name);
/* Same logging set-up for a command (logs and also copies to stderr). */
void mail_command_init(const char *name);
/* Listening sockets inherited from master: returns their number and the
 * first descriptor in *first_r (3), or 0 when started by hand. */
int mail_service_listen_fds(int *first_r);

/* A service's part in the loop.  Every hook may be NULL. */
typedef struct mail_service_hooks {
    /* Longest sleep between two turns, in seconds: how often .turn runs
     * when nothing happens. */
    double wait;
    /* End as on SIGTERM when master is gone (our parent is no longer the
     * one we started with).  PR_SET_PDEATHSIG is not available everywhere
     * (gVisor), so services that must not outlive master look. */
    bool watch_master;
    /* Every turn, before the loop sleeps (and once before the first
     * sleep): reap children, sweep sessions, scan a directory. */
    void (*turn)(void);
    /* After SIGHUP, once postie.conf has been read again. */
    void (*reload)(void);
    /* Once, at SIGTERM/SIGINT (or master gone): stop taking new work. */
    void (*stop)(void);
    /* Each turn after .stop: true when the loop may end (NULL: at once). */
    bool (*stopped)(void);
} mail_service_hooks;

/* Run the event loop with these hooks until the service has stopped;
 * returns 0 (the service's exit status).  Call once, after event_init and
 * the service's own event_add calls. */
int mail_service_run(const mail_service_hooks *hooks);
/* Has a stop been asked for?  For long work inside one turn (a scan of
 * many files) that should end early; it also notices a SIGTERM that the
 * loop has not read yet. */
bool mail_service_stopping(void);

/* Set by the signal handlers of mail_service_init for the services that
 * still poll them; mail_service_run takes over from them. */
extern volatile sig_atomic_t mail_service_stop;    /* SIGTERM, SIGINT */
extern volatile sig_atomic_t mail_service_reload;  /* SIGHUP */

#endif
