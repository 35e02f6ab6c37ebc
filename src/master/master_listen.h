/*
 * master_listen - the listening sockets master binds for a service.
 *
 * A service's listen parameter (smtpd_listen, ...) is a list of entries:
 * "port" means that port on every address of inet_interfaces
 * ("loopback-only" = 127.0.0.1 and ::1 when the host has it, "all" = the
 * wildcard of each protocol, or a list of addresses); "addr:port" and
 * "[v6addr]:port" name one address.  inet_protocols filters the families.
 *
 * master binds before any service starts (so a root master can bind port 25
 * and the service never needs root) and hands the descriptors to the service
 * at fd 3, 4, ... (mail_service.h).
 */
#ifndef POSTIE_MASTER_MASTER_LISTEN_H
#define POSTIE_MASTER_MASTER_LISTEN_H

#include <stddef.h>

typedef struct master_sock {
    int fd;
    char *label;   /* "127.0.0.1:2525" or "[::1]:2525", for humans */
} master_sock;

typedef struct master_listen {
    master_sock *v;
    size_t n;
    char *spec;    /* the parameter values it was made from (reload) */
} master_listen;

/* Bind every address of the named listen parameter.  Returns 0 (an empty
 * parameter gives no sockets), or -1 with *err_r (a new string); on error
 * nothing stays open. */
int master_listen_open(const char *param, master_listen *l, char **err_r);
/* The same, for a reload: an address that old already has is taken over
 * (duplicated) instead of bound again, which would fail while the old
 * processes still hold it.  old may be NULL. */
int master_listen_reopen(const char *param, const master_listen *old,
                         master_listen *l, char **err_r);
/* The parameters that decide a service's sockets, as one string: when it
 * changes across a reload, the sockets are made again. */
char *master_listen_spec(const char *param);
void master_listen_close(master_listen *l);
/* "127.0.0.1:2525, [::1]:2525" (a new string). */
char *master_listen_labels(const master_listen *l);

#endif
