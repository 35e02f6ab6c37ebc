/*
 * qmgr - the queue manager: moves new and due messages into active/, hands
 * each recipient to a delivery agent within the concurrency limits, marks
 * each result in the queue file, retries deferred mail with back-off,
 * expires old mail, and removes what is done.  docs/queue.md is the state
 * table this program implements.
 *
 * Does not: open mailboxes or the network (the agents do), or write new
 * messages.
 */
#ifndef POSTIE_QMGR_QMGR_H
#define POSTIE_QMGR_QMGR_H

/* "postie service qmgr": runs until SIGTERM, then waits for the deliveries
 * in flight to report and be marked, and exits 0. */
int qmgr_service_main(int argc, char **argv);

#endif
