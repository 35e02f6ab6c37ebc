/*
 * smtpd_conn - connection counts shared by all smtpd processes of an
 * instance, for smtpd_connection_limit and
 * smtpd_client_connection_count_limit (Postfix keeps these in its anvil
 * server; postie's smtpd processes share a small table instead).
 *
 * The table (queue_directory/pid/smtpd.conn) is a file of fixed slots
 * (pid, client address) mapped shared by every smtpd process and changed
 * under flock(2).  A process that dies leaves its slots behind; the next
 * smtpd to start clears the slots of processes that no longer exist, so a
 * crash costs at most a stale count until master restarts the service.
 *
 * Does not: rate limits (connections per minute) - later.
 */
#ifndef POSTIE_SMTPD_SMTPD_CONN_H
#define POSTIE_SMTPD_SMTPD_CONN_H

#define SMTPD_CONN_SLOTS 4096

/* Map the table at path (created when missing).  0, or -1 with errno: the
 * caller then counts in its own process only. */
int smtpd_conn_open(const char *path);
/* Count connections in all processes: all of them, and those from addr. */
void smtpd_conn_count(const char *addr, int *total_r, int *same_r);
/* Take a slot for a new connection; returns the slot or -1 (table full or
 * not open). */
int smtpd_conn_add(const char *addr);
void smtpd_conn_del(int slot);

#endif
