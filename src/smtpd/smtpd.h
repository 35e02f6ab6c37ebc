/*
 * smtpd - the SMTP server (RFC 5321): one event-driven process serves many
 * sessions; smtpd_processes copies share the listening sockets.
 *
 * Layout (Postfix's habit: <prog>_<topic>.c, prefix = file name):
 *   smtpd.c          service entry, listening sockets, accept, limits on
 *                    connections, timers, graceful stop
 *   smtpd_session.c  one connection: input, reply output, the command /
 *                    DATA / BDAT input modes, logging of the session
 *   smtpd_cmd.c      the command table: allowed states, check, proceed
 *   smtpd_check*.c   restriction lists (client, helo, sender, relay,
 *                    recipient) at RCPT time; see smtpd_check.h
 *   smtpd_peer.c     the client's name and printable address
 *   smtpd_data.c     content lines, dot-unstuffing, end of data
 *   smtpd_deadline.c per-request deadlines, minimum data rate
 *   smtpd_tls.c      STARTTLS (RFC 3207): the server context, the
 *                    handshake in the event loop, its log lines
 * (connection counts shared by the smtpd processes: global/conn_slots.c)
 *
 * The session (connection, HELO, counters, errors) is a struct apart from
 * the transaction (MAIL, RCPT, content), which is created at MAIL and
 * dropped at RSET, end of data or disconnect (OpenSMTPD's split).
 *
 * Does not: AUTH, submission or implicit TLS (later steps of issue 11).
 */
#ifndef POSTIE_SMTPD_SMTPD_H
#define POSTIE_SMTPD_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cleanup/cleanup.h"
#include "global/mail_forbid.h"
#include "smtpd/smtpd_data.h"
#include "util/buf.h"
#include "util/conn.h"

/* The service entry: "postie service smtpd". */
int smtpd_service_main(int argc, char **argv);

/* RFC 5321 section 4.5.3.1.4: a command line is at most 512 octets with
 * its CRLF. */
#define SMTPD_CMD_LINE_MAX 512
/* Input held at once (a burst of pipelined commands or content). */
#define SMTPD_IN_MAX (64 * 1024)
/* Replies held before input processing pauses for the client to read. */
#define SMTPD_OUT_HIGH (32 * 1024)
/* How long a final reply may wait for a client that does not read. */
#define SMTPD_CLOSE_WAIT 10.0
/* How long sessions in DATA may finish after a stop request. */
#define SMTPD_STOP_GRACE 5.0

/* Transaction states, as bits for the command table. */
#define SMTPD_ST_IDLE 1   /* no MAIL yet */
#define SMTPD_ST_MAIL 2   /* MAIL accepted, no recipient yet */
#define SMTPD_ST_RCPT 4   /* at least one recipient accepted */
#define SMTPD_ST_BDAT 8   /* BDAT chunks under way (not LAST) */
#define SMTPD_ST_ANY 15

/* How input is read. */
enum smtpd_mode {
    SMTPD_MODE_CMD,     /* command lines */
    SMTPD_MODE_DATA,    /* DATA content up to CRLF.CRLF */
    SMTPD_MODE_BDAT,    /* a BDAT chunk of known size */
    SMTPD_MODE_CLOSING, /* last reply queued; close once written */
    SMTPD_MODE_TLS,     /* STARTTLS: 220 going out, then the handshake */
};

/* Commands counted for the disconnect line, in Postfix's order. */
enum smtpd_counter {
    SMTPD_C_HELO, SMTPD_C_EHLO, SMTPD_C_STARTTLS, SMTPD_C_MAIL, SMTPD_C_RCPT, SMTPD_C_DATA,
    SMTPD_C_BDAT, SMTPD_C_RSET, SMTPD_C_NOOP, SMTPD_C_VRFY, SMTPD_C_HELP,
    SMTPD_C_QUIT, SMTPD_C_UNKNOWN, SMTPD_C_COUNT
};

typedef struct smtpd_tx {
    char *sender;          /* "" for <> */
    unsigned long long declared_size;
    bool smtputf8;
    int dsn_ret;           /* RFC 3461 RET: DSN_RET_* (0: not given) */
    char *dsn_envid;       /* RFC 3461 ENVID, decoded, or NULL */
    int rcpt_ok;           /* accepted recipients */
    cleanup *cl;           /* the queue file, from the first accepted RCPT */
    char id[16];           /* its queue ID, kept after commit for logs */
    char *last_rcpt;       /* for reject log lines after DATA */
    smtpd_data data;       /* content parser (DATA or BDAT) */
    bool data_begun;
    unsigned long long bytes;  /* raw octets of content received */
    bool too_big;          /* message_size_limit passed */
    bool bare_lf_logged;
    unsigned long long bdat_left;  /* octets left in the current chunk */
    bool bdat_last;
    bool bdat_discard;     /* the chunk is read but not kept (rejected) */
    const char *bdat_reply;/* why it is discarded */
} smtpd_tx;

typedef struct smtpd_session {
    int fd;                 /* -1 in tests and fuzzing */
    char addr[64];          /* printable address */
    char name[256];         /* verified name or "unknown" */
    char namaddr[340];      /* name[addr], as every log line has it */
    int port;
    bool ipv6;
    bool mynetworks;        /* trusted: may relay, no connection limits */
    char *helo;
    bool esmtp;             /* EHLO was used */
    int state;              /* SMTPD_ST_* */
    enum smtpd_mode mode;
    smtpd_tx *tx;
    conn *c;                /* the connection (util/conn): I/O, TLS */
    buf *in, *out;          /* c's input and output buffers */
    /* A RCPT line that waits for DNS answers (see waiting below): taken
     * out of the input already, run again when the answers are in. */
    bool held;
    char held_line[SMTPD_CMD_LINE_MAX + 1];
    int errors, junk;
    int last_code;          /* of the last reply, for the counters */
    const char *where;      /* "CONNECT", "EHLO", "DATA", ... for logs */
    int count_ok[SMTPD_C_COUNT], count_all[SMTPD_C_COUNT];
    double start, last_io;
    bool pipelining_logged;
    bool greet_pending;     /* smtpd_greet_pause under way: no 220 yet */
    uint64_t greet_timer;
    bool bare_lf_logged;
    bool stopping;          /* graceful stop requested */
    bool closed;            /* done: smtpd.c frees it after the event */
    int conn_slot;          /* in the shared connection table, or -1 */
    double deadline;        /* of the request under way (smtpd_deadline.c) */
    double tls_deadline;    /* of the STARTTLS handshake under way */
    char tls_facts[160];    /* "TLSv1.3 with cipher X (256/256 bits)"; "": clear */
    int deadline_cmds;      /* commands counted when it was set */
    double cmd_time;        /* when the last command completed, 0: none */
    uint64_t pause_timer;   /* error sleep under way: replies wait */
    /* A RCPT line waits for DNS answers of its restrictions: the input
     * from it on waits, and the line runs when they are in (smtpd_check.c). */
    bool waiting;
    struct smtpd_check_state *check;
    /* Client name lookup under way (smtpd_peer.c). */
    int dns_fd;             /* UDP socket to the name server, or -1 */
    uint64_t dns_timer;
    uint16_t dns_id;
    int dns_step;           /* SMTPD_PEER_* */
    char dns_name[256];     /* the PTR answer being confirmed */
    void (*dns_done)(struct smtpd_session *s);
    struct smtpd_session *next, *prev;
} smtpd_session;

/* ---- smtpd_session.c ---- */
/* A new session for an accepted connection (fd may be -1 for fuzzing);
 * names the client from the hosts file and logs "connect from".  The
 * caller then greets or refuses. */
smtpd_session *smtpd_session_new(int fd, const struct sockaddr *sa,
                                 socklen_t salen);
/* The same without the log line: smtpd.c may look the name up in the DNS
 * first, then calls smtpd_session_log_connect. */
smtpd_session *smtpd_session_create(int fd, const struct sockaddr *sa,
                                    socklen_t salen);
void smtpd_session_log_connect(smtpd_session *s);
/* Where replies of sessions without a socket (fd -1) go: tests set it,
 * the fuzzer leaves it NULL and replies are dropped. */
extern void (*smtpd_session_output_hook)(smtpd_session *s, const char *p,
                                         size_t n);
/* Before the greeting: a client that already talks is logged as Postfix
 * does ("improper command pipelining after CONNECT") and, with
 * smtpd_forbid_unauth_pipelining, refused with 554 5.5.0.  Returns 1 when
 * the session was ended, else 0. */
int smtpd_session_pregreet(smtpd_session *s);
/* Queue the 220 greeting, now or after smtpd_greet_pause (the caller
 * flushes). */
void smtpd_session_greet(smtpd_session *s);
/* The client sent ahead where RFC 2920 does not allow it (what is the
 * pending input): log as Postfix does, once, and with
 * smtpd_forbid_unauth_pipelining end the session with 554 5.5.0.  Returns
 * 1 when the session was ended, else 0. */
int smtpd_session_unsync(smtpd_session *s, const char *after, const char *data,
                         size_t n);
/* Feed input octets (the socket reader and the fuzzer call this). */
void smtpd_session_input(smtpd_session *s, const char *p, size_t n);
/* Queue a reply line; a '-' after the code makes a continuation line. */
void smtpd_session_reply(smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Queue a final reply and close once it is written. */
void smtpd_session_end(smtpd_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Log and free; the session is unusable afterwards. */
void smtpd_session_free(smtpd_session **sp);
/* "ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4" into out. */
void smtpd_session_counts(const smtpd_session *s, buf *out);
/* Log "timeout after X from host[addr]" and end with 421 4.4.2. */
void smtpd_session_timeout(smtpd_session *s);
/* "DATA (123 bytes)" or "RCPT": what the session was doing, for logs. */
void smtpd_session_where(const smtpd_session *s, char *out, size_t outlen);
/* Drop the transaction (RSET, new MAIL, end of data). */
void smtpd_session_tx_free(smtpd_session *s);
/* Log "NOQUEUE: reject: CMD from host[addr]: REPLY; from=<> to=<> ..." */
void smtpd_session_log_reject(smtpd_session *s, const char *cmd,
                              const char *reply, const char *to);
/* message_size_limit is passed: log Postfix's "warning: ID: queue file
 * size limit exceeded", once per message, and keep no more content. */
void smtpd_session_too_big(smtpd_session *s);
/* The content line callback of smtpd_data: into cleanup. */
void smtpd_session_content(const char *line, size_t len, void *ctx);
/* Handlers for the socket (smtpd.c registers them). */
void smtpd_session_event(int fd, int events, void *ctx);
/* Write what is queued; closes when a final reply has gone out. */
void smtpd_session_flush(smtpd_session *s);
/* The wait for DNS answers is over: process the input that waited. */
void smtpd_session_wake(smtpd_session *s);

/* ---- smtpd_cmd.c ---- */
/* Run one command line (without its line end). */
void smtpd_cmd_run(smtpd_session *s, char *line);
/* Content of DATA ended / BDAT chunk done: finish the message. */
void smtpd_cmd_data_end(smtpd_session *s);
void smtpd_cmd_bdat_end(smtpd_session *s);
/* Must this command line be the last of a pipelined group (RFC 2920
 * section 3.1)? */
bool smtpd_cmd_ends_group(const char *line);

/* ---- smtpd_check.c ---- */
/* Recipient policy at RCPT.  Returns 1 accept, 0 reject (*reply_r a new
 * string: "554 5.7.1 <x@y>: Relay access denied"). */
int smtpd_check_rcpt(smtpd_session *s, const char *addr, char **reply_r);

/* ---- smtpd_peer.c ---- */
#define SMTPD_PEER_DONE 0  /* no lookup under way */
#define SMTPD_PEER_PTR 1   /* waiting for the PTR answer */
#define SMTPD_PEER_FWD 2   /* waiting for the A/AAAA answer */
/* Seconds a name server gets per question before the client is "unknown". */
#define SMTPD_PEER_DNS_TIMEOUT 2.0
/* Fill addr, name, port, ipv6, namaddr from the peer's socket address;
 * the name from the hosts file (see smtpd_peer.c). */
void smtpd_peer_init(smtpd_session *s, const struct sockaddr *sa,
                     socklen_t salen);
/* Look the name up in the DNS when the hosts file did not know it: PTR,
 * then A/AAAA to confirm.  Returns 1 when a lookup started (done(s) runs
 * when it ends, name set or "unknown"), 0 when there is nothing to do. */
int smtpd_peer_resolve(smtpd_session *s, void (*done)(smtpd_session *s));
/* Give up a lookup under way (session freed). */
void smtpd_peer_cancel(smtpd_session *s);
/* Is this name a syntactically valid host name (RFC 1123 section 2.1)? */
bool smtpd_peer_valid_hostname(const char *name);
/* Find the first name of addr in a hosts(5) file; 1 found, 0 not. */
int smtpd_peer_hosts_lookup(const char *hosts_path, const char *addr,
                            char *name, size_t namelen);

/* ---- smtpd_deadline.c ---- */
/* A new request deadline from now (greeting, command completed). */
void smtpd_deadline_start(smtpd_session *s, double now);
/* n octets were read; content: they were DATA/BDAT content. */
void smtpd_deadline_read(smtpd_session *s, size_t n, bool content, double now);
/* Has the session passed its deadline (or, without per-request
 * deadlines, been idle for smtpd_timeout)?  Also starts a new deadline
 * when a command completed without a read (after a DNS wait). */
bool smtpd_deadline_expired(smtpd_session *s, double now);

/* ---- smtpd_tls.c ---- */
#define SMTPD_TLS_NONE 0
#define SMTPD_TLS_MAY 1
#define SMTPD_TLS_ENCRYPT 2
/* (Re)make the server context from the smtpd_tls_* parameters into
 * smtpd_cf (a new SSL_CTX: sessions under way keep the old one). */
void smtpd_tls_conf_load(void);
/* May this session be offered STARTTLS (a context, TLS not yet on)? */
bool smtpd_tls_offered(const smtpd_session *s);
/* The 220 to STARTTLS has gone out: start the handshake. */
void smtpd_tls_begin(smtpd_session *s);
/* The socket is ready for the handshake under way: one step. */
void smtpd_tls_step(smtpd_session *s);

/* ---- smtpd.c ---- */
/* Per-process settings read once at start. */
typedef struct smtpd_conf {
    char *queue_dir;
    const char *myhostname;
    unsigned long long message_size_limit;
    int recipient_limit;
    double timeout, total_timeout;
    bool per_request_deadline;   /* smtpd_per_request_deadline */
    double min_data_rate;        /* smtpd_min_data_rate, bytes/s */
    int hard_error_limit, soft_error_limit, junk_limit;
    double error_sleep;          /* smtpd_error_sleep_time */
    bool forbid_bare_lf_reject;  /* smtpd_forbid_bare_newline = reject */
    mail_forbid forbidden;       /* smtpd_forbidden_commands */
    bool forbid_unauth_pipelining;  /* smtpd_forbid_unauth_pipelining */
    double greet_pause;          /* smtpd_greet_pause */
    bool disable_vrfy;
    struct mynetworks *mynetworks;
    char **relay_domains;
    bool peername_lookup;        /* smtpd_peername_lookup */
    struct sockaddr_storage dns_server;  /* first of dns_servers/resolv.conf */
    socklen_t dns_server_len;    /* 0: none known */
    bool dns_servers_set;        /* dns_servers given: ask even for loopback */
    SSL_CTX *tls;                /* server context; NULL: no STARTTLS */
    int tls_level;               /* smtpd_tls_security_level: SMTPD_TLS_* */
    int tls_loglevel;            /* smtpd_tls_loglevel */
    bool tls_received_header;    /* smtpd_tls_received_header */
    double starttls_timeout;     /* smtpd_starttls_timeout */
} smtpd_conf;
extern smtpd_conf smtpd_cf;
/* Read the parameters into smtpd_cf (also used by tests and the fuzzer). */
void smtpd_conf_load(void);

#endif
