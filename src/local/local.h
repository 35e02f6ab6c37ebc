/*
 * local - the local delivery agent: takes one recipient per connection on
 * queue/private/local (protocol: global/deliver_request.h), resolves it
 * through aliases and users, writes Maildir or mbox mailboxes as the
 * mailbox's owner, forwards alias members in other domains as a new
 * message, logs each delivery and answers qmgr.
 *
 * Does not: mark the queue file (qmgr does), deliver to commands or files
 * named in aliases or .forward files.
 */
#ifndef POSTIE_LOCAL_LOCAL_H
#define POSTIE_LOCAL_LOCAL_H

/* "postie service local": runs until SIGTERM.  Each request runs in its
 * own child process; a stop waits for the children. */
int local_service_main(int argc, char **argv);

#endif
