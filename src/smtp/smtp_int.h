/*
 * smtp_int - the smtp/lmtp agent's internal types, shared by smtp.c (the
 * service), smtp_deliver.c (one request in a child: queue file, next hop,
 * the list of hosts, results, log lines) and smtp_session.c (one SMTP or
 * LMTP conversation with one host).
 */
#ifndef POSTIE_SMTP_SMTP_INT_H
#define POSTIE_SMTP_SMTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "global/deliver_request.h"
#include "global/queue_file.h"
#include "util/conn.h"

#define SMTP_TEXT_MAX 4096

/* The connection's limits (util/conn): reply lines longer than
 * SMTP_LINE_MAX with their CRLF are cut (RFC 5321 section 4.5.3.1.5 says
 * 512), SMTP_IN_MAX read ahead (pipelined replies), SMTP_OUT_MAX queued
 * (one pipelined group of commands plus a body chunk). */
#define SMTP_LINE_MAX 4096
#define SMTP_IN_MAX 16384
#define SMTP_OUT_MAX (1 << 22)

/* One recipient of the request and its result so far. */
typedef struct smtp_rcpt {
    const deliver_rcpt *dr;
    bool final;                /* result decided (sent, bounced, deferred) */
    bool accepted;             /* RCPT TO got 2xx in the current session */
    bool soft;                 /* a 4xx to RCPT at a host that was not the
                                * last: dsn/text hold it, the next host
                                * gets another try (final stays false) */
    bool dsn_passed;           /* NOTIFY went to a host that offers DSN in
                                * the current session: on success the
                                * notices are that host's (RFC 3461 5.2) */
    char dsn[16];
    char text[SMTP_TEXT_MAX];
    char relay[1420];          /* for the log line: "host[addr]:port" or "none" */
} smtp_rcpt;

/* One request from qmgr. */
typedef struct smtp_job {
    deliver_request *req;
    queue_msg *m;
    int qfd;                   /* the queue file, read-only */
    bool lmtp;
    smtp_rcpt *rs;
    size_t nrs;
    long long conn_done;       /* usec: session set up (delays=c/d split) */
    bool need_8bit;            /* content has bytes >= 0x80 */
    bool need_utf8;            /* an envelope address is not ASCII */
    bool final_host;           /* no address is left after this session's */
    /* The next hop could not be reached at all (every address refused
     * or timed out the connection, or the DNS failed for now): qmgr is
     * told with a "dead=" line and suspends the destination a while. */
    bool dead;
    char dead_dsn[16];
    char dead_text[SMTP_TEXT_MAX];
} smtp_job;

/* One connection to one host, possibly reused for more requests. */
typedef struct smtp_sess {
    conn *io;
    char host[256];            /* the name we looked up (MX host) */
    char addr[1024];           /* printable address, or the socket path */
    int port;                  /* 0 for a unix socket */
    char namaddr[1400];        /* "host[addr]" */
    char relay[1420];          /* "host[addr]:port" (log relay=) */
    bool esmtp, pipelining, eightbit, smtputf8, starttls, tls, dsn, size;
    long long size_max;        /* SIZE of EHLO; 0: no limit given */
    int ehlo_lines;
    bool broken;               /* no more commands on this connection */
    int tls_level;             /* SMTP_TLS_* in force for this session */
} smtp_sess;

enum smtp_tls_level { SMTP_TLS_NONE, SMTP_TLS_MAY, SMTP_TLS_ENCRYPT,
                      SMTP_TLS_VERIFY };

/* What a session attempt came to. */
enum smtp_outcome {
    SMTP_DONE,         /* every recipient has a result (or the rest are
                        * final for this host's reasons) */
    SMTP_NEXT,         /* this host failed before any recipient was
                        * decided: try the next one (job->last_* hold why) */
    SMTP_RETRY_PLAIN,  /* opportunistic TLS failed: connect again without */
};

/* The failure that stands when no host is left. */
typedef struct smtp_last {
    char dsn[16];
    char text[SMTP_TEXT_MAX];
    char relay[1420];
} smtp_last;

extern char *smtp_queue_dir;

/* smtp_deliver.c */
/* Serve the request text on the qmgr connection fd, then, while the
 * session can be kept, more requests handed over by the parent on ctl
 * (-1: no reuse).  Returns the exit code. */
int smtp_child(int fd, const char *text, size_t len, int ctl, bool lmtp);

/* smtp.c: the parent <-> child control messages (SOCK_SEQPACKET):
 *   child -> parent "I"           idle, with a session to its next hop
 *   parent -> child "J" request   another request, the qmgr connection
 *                                 attached (SCM_RIGHTS)
 *   parent -> child "Q"           quit (idle too long, or stopping) */
#define SMTP_CTL_MAX (DELIVER_REQUEST_MAX + 16)
int smtp_ctl_send(int ctl, const void *p, size_t n, int fd);
/* Returns the length, 0 at end of file, -1 on error; *fd_r gets an
 * attached descriptor or -1. */
ssize_t smtp_ctl_recv(int ctl, void *p, size_t max, int *fd_r);

/* smtp_session.c */
/* Greeting, EHLO/LHLO, STARTTLS as the level says.  SMTP_DONE means the
 * session is ready for mail; otherwise *last says why not. */
enum smtp_outcome smtp_session_open(smtp_job *job, smtp_sess *s,
                                    smtp_last *last);
/* One mail transaction for the job's recipients that are not final. */
enum smtp_outcome smtp_session_mail(smtp_job *job, smtp_sess *s,
                                    smtp_last *last);
/* QUIT (when the connection still works) and close. */
void smtp_session_close(smtp_sess *s);
/* Set a recipient's result. */
void smtp_rcpt_set(smtp_rcpt *r, const char *dsn, const char *relay,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Record the failure that stands if no later host does better. */
void smtp_last_set(smtp_last *l, const char *dsn, const char *relay,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int smtp_tls_level(void);

#endif
