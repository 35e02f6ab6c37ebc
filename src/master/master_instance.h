/*
 * master_instance - make what an instance needs, where it is missing:
 * the directory, a commented postie.conf, the queue, the data directory,
 * the users file with a first user, the alias file and the mailboxes.
 *
 * "postie serve" and "postie start" both call it, so a first start needs no
 * set-up and a later start repairs a missing directory (as postfix-script
 * does).  When master runs as root, the parts the unprivileged services
 * write belong to mail_owner.
 */
#ifndef POSTIE_MASTER_MASTER_INSTANCE_H
#define POSTIE_MASTER_MASTER_INSTANCE_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct master_instance_report {
    bool created_dir;      /* the configuration directory was new */
    bool created_conf;     /* postie.conf was written */
    char *first_user;      /* a user was made: its name (free it) */
    char *first_password;  /* and its password, shown once (free it) */
    char *serve_cert;      /* serve's self-signed certificate (free it) */
    bool made_cert;        /* ... made now */
} master_instance_report;

/* Make the configuration directory and postie.conf when missing (before the
 * configuration is read).  0, or -1 with *err_r. */
int master_instance_conf(const char *dir, master_instance_report *r,
                         char **err_r);
/* After the configuration is read: queue, data, users, aliases, mailboxes.
 * owner_uid/gid: who the services run as (-1: no change of owner). */
int master_instance_dirs(uid_t owner_uid, gid_t owner_gid,
                         master_instance_report *r, char **err_r);
/* serve: when smtpd_tls_cert_file is not set, make a self-signed
 * certificate with its key (data_directory/MAIL_CONF_SERVE_CERT, owned by
 * the services' user, mode 0600) unless it is there, so that STARTTLS and
 * STLS are on out of the box.  Failing is no reason not to start: a
 * warning, and no TLS. */
void master_instance_tls(uid_t owner_uid, gid_t owner_gid, master_instance_report *r);
void master_instance_report_free(master_instance_report *r);

#endif
