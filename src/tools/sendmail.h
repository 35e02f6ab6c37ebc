/*
 * sendmail - local submission: the Sendmail command line (sendmail.c) and
 * the maildrop writer behind it (postdrop.c).  docs/architecture.md,
 * "Local submission", explains who may write maildrop/ and why no setuid
 * root is needed.
 *
 * Does not: talk to the network or touch the queue proper; pickup moves a
 * maildrop file into the queue through cleanup.
 */
#ifndef POSTIE_TOOLS_SENDMAIL_H
#define POSTIE_TOOLS_SENDMAIL_H

#include <stddef.h>
#include <sys/types.h>

#include "global/queue_file.h"

int sendmail_main(int argc, char **argv);   /* postie sendmail, sendmail */
int postdrop_main(int argc, char **argv);   /* the setgid helper */

/* One submission, as sendmail hands it to postdrop. */
typedef struct postdrop_msg {
    char *sender;        /* "" for the null sender; unqualified is fine */
    char *full_name;     /* NULL when not given (-F) */
    char **rcpts;        /* NULL-terminated */
    size_t nrcpt;
    const char *content; /* the message, LF line ends */
    size_t content_len;
} postdrop_msg;

/* The stream sendmail writes to the helper's standard input:
 *   "F sender\n" ["N full name\n"] ("R addr\n")* "C length\n" content
 * Serialize into a new buffer (*len_r bytes). */
char *postdrop_stream(const postdrop_msg *m, size_t *len_r);
/* Parse it back; the strings point into a copy owned by *m (free with
 * postdrop_msg_free).  0, or -1 with *why_r (static text). */
int postdrop_parse(const char *data, size_t len, postdrop_msg *m,
                   const char **why_r);
void postdrop_msg_free(postdrop_msg *m);

/* Write maildrop/ID durably (docs/architecture.md): mode 0600 while
 * written, queue-file records (docs/queue.md) with ID = file name, then
 * fsync, mode 0404 ("complete"), fsync of the directory, and a wake-up for
 * pickup.  Returns 0 and the ID, or -1 with *err_r (new string) and errno. */
int postdrop_store(const char *queue_dir, const postdrop_msg *m,
                   char id_r[QUEUE_ID_SIZE], char **err_r);

#endif
