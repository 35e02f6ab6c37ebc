/*
 * master - reads the configuration, binds the listening sockets, starts the
 * services, restarts one that dies, reloads and stops cleanly.
 *
 *   postie serve [--dir DIR]   the whole system in the foreground (makes DIR
 *                              on first start; default ./postie-data)
 *   postie start [--dir DIR]   the same as a daemon; stop, status, reload
 *                              act on it through the pid file
 *   postie service NAME        internal: what master runs for each service
 *
 * The instance: --dir, else -c DIR / $MAIL_CONFIG; else, for serve,
 * ./postie-data, and for start, stop, status and reload /etc/postie when it
 * holds a postie.conf (a system installation), else ./postie-data.
 */
#ifndef POSTIE_MASTER_MASTER_H
#define POSTIE_MASTER_MASTER_H

#include <stdbool.h>

#include "global/mail_conf.h"

/* A service entry as src/postie/main.c knows it; fn is NULL when the
 * component is not part of this build (master then does not start it). */
typedef int (*master_service_fn)(int argc, char **argv);
typedef struct master_service_entry {
    const char *name;
    master_service_fn fn;
} master_service_entry;

/* The services of this build (a table ending with a NULL name). */
void master_set_services(const master_service_entry *table);

/* Parameters set in postie.conf for a service this build does not have
 * (imapd_listen, submission_listen, ...): report(path, line, "parameter
 * NAME: service SVC is not built into this postie") for each, and return
 * how many.  Warnings, not errors: the value is kept and unused, as
 * Postfix keeps an unused parameter. */
int master_check_unbuilt(mail_conf_report_fn report, void *ctx);

int master_serve_main(int argc, char **argv);
int master_start_main(int argc, char **argv);
int master_stop_main(int argc, char **argv);
int master_status_main(int argc, char **argv);
int master_reload_main(int argc, char **argv);
/* "service NAME": run one service of the table. */
int master_service_main(int argc, char **argv);

#endif
