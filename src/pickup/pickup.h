/*
 * pickup - the service that takes local submissions (files that sendmail
 * and postdrop leave in maildrop/) into the queue through cleanup, and logs
 * "QUEUEID: uid=N from=<sender>" as Postfix's pickup does.
 *
 * Everything in maildrop/ comes from local users, so each file is checked
 * again here: a regular file with one link, complete (mode 0404), a valid
 * queue file, within message_size_limit.  Only the envelope sender, the
 * recipients, the full name and the content are taken from it; the uid is
 * the file's owner as the kernel recorded it, never a claim in the file.
 *
 * Adds: the domain myorigin to unqualified addresses, and a From header
 * when the message has none (cleanup adds Date and Message-ID).
 *
 * Also answers the queue listing on public/showq for users who cannot
 * read the queue themselves (pickup.c, "showq").
 *
 * Does not: decide who may submit (the permissions of maildrop/ do), or
 * deliver.  A message submitted while postie is stopped waits in maildrop/
 * and is taken at the next start.
 */
#ifndef POSTIE_PICKUP_PICKUP_H
#define POSTIE_PICKUP_PICKUP_H

/* "postie service pickup": runs until SIGTERM. */
int pickup_service_main(int argc, char **argv);

/* Take one maildrop file (its name) into the queue.  1 taken (file
 * removed), 0 not ready or not ours (left alone or cleaned away), -1
 * failed for now (left for the next scan). */
int pickup_file(const char *queue_dir, const char *name);

/* Scan maildrop/ once; returns the number of messages taken. */
int pickup_scan(const char *queue_dir);

#endif
