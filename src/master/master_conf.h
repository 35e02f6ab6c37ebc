/*
 * master_conf - master reads postie.conf once, checks that text, and hands
 * the very text it accepted to every service it starts, as a sealed memory
 * file (memfd_create(2), F_SEAL_WRITE) at the descriptor named by
 * $POSTIE_CONF_FD.
 *
 * Why: a reload with a bad value is refused and the services keep the
 * previous configuration; but a service that starts afterwards (a crash, a
 * recycled process, a count raised) would otherwise read the file as it is
 * now, die on the value master refused, and be restarted in a throttled
 * loop.  With the snapshot it runs with the configuration master runs with.
 * A service re-reads the file itself only on SIGHUP, which master sends
 * only after it accepted the file.
 *
 * Does not: watch the file, or decide what a reload changes (master.c).
 */
#ifndef POSTIE_MASTER_MASTER_CONF_H
#define POSTIE_MASTER_MASTER_CONF_H

#include "global/mail_conf.h"

/* Read and check postie.conf; when every value is good, make it the
 * configuration in force (mail_conf_read_text) and the snapshot for new
 * services, and return 0.  Otherwise report each problem, change nothing
 * and return how many there are.  Unknown names are reported but do not
 * count, as Postfix only warns about them. */
int master_conf_load(mail_conf_report_fn report, void *ctx);

/* The snapshot's descriptor (close-on-exec in master), -1 before the
 * first load or when memfd_create is missing (the services read the file
 * then, as before). */
int master_conf_fd(void);

#endif
