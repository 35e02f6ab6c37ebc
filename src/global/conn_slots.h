/*
 * conn_slots - connection slots shared by the processes of one service
 * (smtpd, pop3d): counts for the total and per-address limits, and the
 * choice of a connection to close when the slots run out.  Postfix keeps
 * the counts in its anvil server and lets postscreen turn away slow
 * clients; Dovecot's login processes drop their oldest unauthenticated
 * client when client_limit is reached.  postie's services share one small
 * table instead: the one copy of connection limits (issue #10).
 *
 * The table is a file of fixed slots (owner pid, client address, state,
 * times) mapped shared and changed under flock(2).  A process that dies
 * leaves its slots behind; conn_slots_open clears the slots of processes
 * that no longer exist, so a crash costs at most a stale count until the
 * service restarts.  Times are CLOCK_MONOTONIC seconds (event_now), the
 * same clock in every process of the machine.
 *
 * Eviction (conn_slots_evict): when the slots are full, a newcomer may
 * take the place of a connection that is not busy (not in DATA/BDAT, not
 * logged in), from an address that holds more connections than the
 * newcomer's: the address with most connections first, and of its
 * connections the one that has been quiet longest (no command completed,
 * then the oldest completed command).  So a flood from a few addresses
 * gives way to a new address, and the flood cannot evict itself in
 * circles to starve everybody else.  The slot is flagged; its owner
 * process closes the connection (conn_slots_evicted), smtpd at its next
 * sweep, pop3d's service process at once.
 *
 * Does not: rate limits (connections per minute).
 */
#ifndef POSTIE_GLOBAL_CONN_SLOTS_H
#define POSTIE_GLOBAL_CONN_SLOTS_H

#include <stdbool.h>
#include <sys/types.h>

#define CONN_SLOTS_MAX 4096

/* What a connection is doing, for the choice of an eviction victim. */
#define CONN_SLOTS_NEW 0   /* no command completed yet */
#define CONN_SLOTS_IDLE 1  /* between commands */
#define CONN_SLOTS_BUSY 2  /* in DATA/BDAT or logged in: never evicted */

typedef struct conn_slots conn_slots;

/* Map the table at path (created when missing), or with path NULL an
 * anonymous one shared with the processes forked afterwards; NULL with
 * errno. */
conn_slots *conn_slots_open(const char *path);
void conn_slots_close(conn_slots **tp);
/* Count connections in all processes: all of them, and those from addr. */
void conn_slots_count(conn_slots *t, const char *addr, int *total_r, int *same_r);
/* Take a slot for a connection from addr owned by process owner; returns
 * the slot or -1 (table full). */
int conn_slots_add(conn_slots *t, const char *addr, pid_t owner, double now);
void conn_slots_del(conn_slots *t, int slot);
/* The connection's state (CONN_SLOTS_*) and, when a command completed,
 * its time (0: leave as it is). */
void conn_slots_mark(conn_slots *t, int slot, int state, double cmd_time);
/* Choose a victim for a newcomer from addr (see above) and flag it;
 * returns its slot (*owner_r its process, *victim_same_r the connections
 * from its address) or -1 when none may be evicted. */
int conn_slots_evict(conn_slots *t, const char *addr, pid_t *owner_r,
                     int *victim_same_r);
/* Was this slot flagged for eviction? */
bool conn_slots_evicted(conn_slots *t, int slot);

#endif
