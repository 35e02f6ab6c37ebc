/*
 * queue_file - the queue file: create, append, commit (writer, used by
 * cleanup), read and mark recipients (reader, used by qmgr and the delivery
 * agents).  Format and crash guarantees: docs/queue.md.
 *
 * Does not: decide states or move files between directories (qmgr does).
 */
#ifndef POSTIE_GLOBAL_QUEUE_FILE_H
#define POSTIE_GLOBAL_QUEUE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define QUEUE_ID_LEN 12
#define QUEUE_ID_SIZE (QUEUE_ID_LEN + 1)

/* Recipient status bytes (docs/queue.md). */
#define QUEUE_RCPT_TODO '-'
#define QUEUE_RCPT_DONE 'D'
#define QUEUE_RCPT_FAILED 'B'

/* Queue subdirectories. */
#define QUEUE_MAILDROP "maildrop"
#define QUEUE_INCOMING "incoming"
#define QUEUE_ACTIVE "active"
#define QUEUE_DEFERRED "deferred"
#define QUEUE_HOLD "hold"
#define QUEUE_CORRUPT "corrupt"
#define QUEUE_DEFER "defer"
#define QUEUE_PUBLIC "public"
#define QUEUE_PRIVATE "private"

/* Create every queue subdirectory (mode 0700, or 0730 for maildrop). */
int queue_dirs_create(const char *queue_dir);
/* Is this a well-formed queue ID? */
bool queue_id_valid(const char *id);

/* ---- writer ---- */
typedef struct queue_file queue_file;

/* Create incoming/ID (mode 0600) with a fresh ID; arrival is now. */
int queue_file_create(const char *queue_dir, queue_file **qf_r, char **err_r);
const char *queue_file_id(const queue_file *qf);
long long queue_file_arrival(const queue_file *qf);
int queue_file_sender(queue_file *qf, const char *sender);
int queue_file_attr(queue_file *qf, const char *name, const char *value);
/* orcpt may be NULL. */
int queue_file_rcpt(queue_file *qf, const char *addr, const char *orcpt);
int queue_file_nrcpt(const queue_file *qf);
/* Content: call begin once, then write any number of times. */
int queue_file_content_begin(queue_file *qf);
int queue_file_content(queue_file *qf, const void *p, size_t n);
size_t queue_file_content_size(const queue_file *qf);
/* End marker, length, mode 0700, fsync file and directory.  On success the
 * message is accepted and qf is freed.  On failure the file is removed. */
int queue_file_commit(queue_file **qf, char **err_r);
/* Throw away (RSET, lost connection, rejected content). */
void queue_file_abort(queue_file **qf);

/* ---- reader ---- */
typedef struct queue_rcpt {
    char *addr;
    char *orcpt;       /* NULL when not given */
    char status;       /* QUEUE_RCPT_* */
    int index;
    off_t status_off;  /* offset of the status byte in the file */
} queue_rcpt;

typedef struct queue_attr {
    char *name;
    char *value;
} queue_attr;

typedef struct queue_msg {
    char id[QUEUE_ID_SIZE];
    long long arrival_usec;
    char *sender;            /* "" for the null sender */
    queue_attr *attrs;
    size_t nattr;
    queue_rcpt *rcpts;
    size_t nrcpt;
    off_t content_off;       /* where the content starts in the file */
    size_t content_len;
} queue_msg;

/* The one way to open an existing queue file (docs/queue.md, "Opening a
 * queue file"): the queue directories belong to mail_owner, the user the
 * network-facing services run as, so a compromised smtpd could plant
 * active/ID -> /root/secret or a hard link to another user's file for
 * root's local to read.  flags is O_RDONLY, O_WRONLY or O_RDWR; the file
 * is opened with O_NOFOLLOW | O_NONBLOCK (a FIFO does not block the open)
 * | O_CLOEXEC, and fstat on that descriptor must show a regular file with
 * one link, owned by owner (QUEUE_FILE_ANY_OWNER: maildrop/, whose files
 * belong to their submitters).  Returns the descriptor (with *st_r filled
 * when st_r is not NULL), or -1 with *err_r: errno EPERM when the check
 * failed -- then "warning: PATH: uid N: REASON" is logged here, and the
 * caller must leave the file alone (no delivery, no removal) -- else the
 * errno of open or fstat. */
#define QUEUE_FILE_ANY_OWNER ((uid_t)-1)
int queue_file_open(const char *path, int flags, uid_t owner,
                    struct stat *st_r, char **err_r);
/* Who queue files must belong to: when root, the owner of
 * queue_directory (master gives the tree to mail_owner), else ourselves.
 * Found once per process (the first call); queue_file_owner_set
 * overrides it (tests). */
uid_t queue_file_owner(void);
void queue_file_owner_set(uid_t uid);
/* Read and validate the queue file open on fd (queue_file_open); path
 * names it in messages and gives the ID to check.  The descriptor's
 * offset is not used (pread): the caller may read the content from it. */
int queue_file_read(int fd, const char *path, queue_msg **m_r, char **err_r);
/* Set a recipient's status byte in place through fd (opened O_WRONLY or
 * O_RDWR by queue_file_open) and fsync.  0 or -1 (errno). */
int queue_file_mark(int fd, const queue_rcpt *r, char status);

/* Open (queue_file_open: owner queue_file_owner(), any owner in
 * maildrop/), read and validate a queue file.  Returns 0, or -1 with
 * *err_r (a new string) when it cannot be read (errno kept; EPERM: an
 * unsafe file, left alone) or is corrupt (errno EINVAL). */
int queue_msg_read(const char *path, queue_msg **m_r, char **err_r);
const char *queue_msg_attr(const queue_msg *m, const char *name);
/* queue_file_open (O_WRONLY, queue_file_owner()), then queue_file_mark.
 * 0 or -1 (errno; EPERM: an unsafe file, warned). */
int queue_msg_mark(const char *path, const queue_rcpt *r, char status);
/* Recipients not done or failed. */
size_t queue_msg_pending(const queue_msg *m);
void queue_msg_free(queue_msg **mp);

#endif
