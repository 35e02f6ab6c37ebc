/*
 * queue_cmd - "postie queue" and "mailq": look into the queue and repair it,
 * as Postfix's postqueue, postsuper, postcat and qshape do
 * (docs/queue-commands.md has the table of equivalents).
 *
 *   queue_cmd.c        dispatch, list (mailq, --json), show, flush, deliver
 *   queue_cmd_list.c   one pass over the queue directories and the output
 *                      formats of mailq and postqueue -j
 *   queue_cmd_super.c  delete, hold, release, requeue (postsuper)
 *   queue_cmd_shape.c  shape (qshape)
 *
 * Does not: deliver or schedule anything (qmgr does); it only renames,
 * unlinks and touches files, and wakes qmgr.  Files in active/ are never
 * moved or removed: qmgr marks recipients in place by path, so a file
 * moved under it would lose marks or be delivered twice
 * (docs/queue-commands.md, "Safety").
 */
#ifndef POSTIE_TOOLS_QUEUE_CMD_H
#define POSTIE_TOOLS_QUEUE_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "global/queue_file.h"

int queue_main(int argc, char **argv);   /* postie queue ... */
int mailq_main(int argc, char **argv);   /* mailq, sendmail -bp */

/* ---- shared by the queue_cmd_*.c files ---- */

/* The queues a listing walks, in Postfix's showq order. */
extern const char *const queue_cmd_queues[];

/* One message found in a queue directory. */
typedef struct queue_cmd_entry {
    const char *queue;         /* one of queue_cmd_queues */
    char id[QUEUE_ID_SIZE];
    queue_msg *msg;            /* envelope as read */
    char **reasons;            /* per recipient of msg: deferral text or NULL */
} queue_cmd_entry;

/* Called for each readable message; return non-zero to stop the walk. */
typedef int (*queue_cmd_visit_fn)(const queue_cmd_entry *e, void *ctx);

/* Walk the named queues (NULL: all of queue_cmd_queues).  Files being
 * written and files that vanish are skipped; a message that qmgr moves
 * during the walk is shown once.  Returns the number of messages visited,
 * or -1 when the queue directory cannot be read (errno). */
int queue_cmd_list_walk(const char *queue_dir, const char *const *queues,
                        queue_cmd_visit_fn fn, void *ctx);

/* The last deferral reason of each recipient from defer/ID: a vector of
 * m->nrcpt entries (NULL where none); free with queue_cmd_list_free_reasons. */
char **queue_cmd_list_reasons(const char *queue_dir, const queue_msg *m);
void queue_cmd_list_free_reasons(char ***rp, size_t n);

/* Output formats, apart from the walk so that unit tests can drive them. */
typedef struct queue_cmd_fmt {
    FILE *out;
    unsigned long count;       /* messages printed */
    unsigned long long bytes;  /* their content sizes */
} queue_cmd_fmt;
void queue_cmd_list_text(queue_cmd_fmt *f, const queue_cmd_entry *e);
void queue_cmd_list_text_end(queue_cmd_fmt *f);
void queue_cmd_list_json(queue_cmd_fmt *f, const queue_cmd_entry *e);
/* A JSON string body (no quotes) for s, into out. */
void queue_cmd_list_json_quote(FILE *out, const char *s);

/* Find a message by ID: the queue it is in (a queue_cmd_queues entry) and
 * its path (new string), or NULL when it is in none. */
const char *queue_cmd_find(const char *queue_dir, const char *id,
                           char **path_r);

/* May the caller change the queue?  Root, the owner of the queue
 * directory, or a member of queue_admin_group. */
bool queue_cmd_authorized(const char *queue_dir);

/* Wake qmgr: "D" = scan deferred/ now (files whose time has come), "F" =
 * flush: every deferred message is due now (postqueue -f). */
void queue_cmd_wake_qmgr(const char *queue_dir, const char *what);

/* The showq protocol (docs/queue-commands.md, "showq"): the client writes
 * "text\n" or "json\n"; the answer is the line "showq 1", the listing,
 * then a NUL and "ok\n" or "error TEXT\n".  The listing is made of C
 * strings, so it holds no NUL; an answer without the end mark was cut
 * short, and is never taken for a complete (or empty) queue. */
#define QUEUE_SHOWQ_HELLO "showq 1\n"
#define QUEUE_SHOWQ_DOWN (-1)     /* not reached: errno from connect */
#define QUEUE_SHOWQ_BROKEN (-2)   /* an answer without the protocol's frame */
#define QUEUE_SHOWQ_FAILED (-3)   /* the service said why it failed */

/* Ask pickup's showq service (public/showq) for the listing and copy it to
 * standard output.  0, or one of QUEUE_SHOWQ_* with the reason in why
 * (BROKEN, FAILED) or errno (DOWN). */
int queue_cmd_showq(const char *queue_dir, bool json, char *why, size_t whylen);
/* Say why the listing failed, as postqueue does ("fatal: Queue report
 * unavailable - ..."), and return the exit status. */
int queue_cmd_showq_fail(int r, const char *queue_dir, const char *why);
/* The server's end mark on fd: "ok" when error is NULL, else the error
 * (hello and listing written before, output flushed). */
void queue_cmd_showq_end(int fd, const char *error);

int queue_cmd_super_main(const char *op, int argc, char **argv);
int queue_cmd_shape_main(int argc, char **argv);

#endif
