/*
 * logline - parse one mail log line, of any format postie knows, in place.
 *
 * Formats (detected line by line, so mixed files work): Postfix (traditional
 * "Mmm dd hh:mm:ss", RFC 3339 and RFC 5424 time stamps; any syslog name such
 * as "postfix-out" or "postfix/submission"), postie's own lines (the same
 * grammar, syslog name "postie"), qmail's send log (multilog "@4000..." TAI64N,
 * tai64nlocal "yyyy-mm-dd hh:mm:ss.nnnnnnnnn", splogger "qmail: 123.456"),
 * DMA, Exim's main log, Sendmail and Dovecot (syslog or its own log file).
 *
 * What it does not do: no I/O (see logreader.h), no allocation, no
 * correlation between lines (that is the tracer's job).  Every text field is
 * a logstr: a pointer and a length into the caller's line buffer, valid only
 * until the buffer is reused, NOT NUL-terminated.  An absent field has
 * p == NULL and n == 0; an absent number is -1.
 *
 * Cost: one left-to-right pass over the line with memchr/memcmp, no regex,
 * no malloc; fields are decoded only for the line kinds that carry them.
 */
#ifndef POSTIE_LOGTOOL_LOGLINE_H
#define POSTIE_LOGTOOL_LOGLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A string inside the line buffer. */
typedef struct logstr {
    const char *p;
    size_t n;
} logstr;

static inline bool logstr_eq(logstr s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p != NULL && s.n == n && memcmp(s.p, lit, n) == 0;
}
static inline bool logstr_set(logstr s) { return s.p != NULL; }

enum logline_format {
    LOGF_UNKNOWN = 0,
    LOGF_POSTFIX,
    LOGF_POSTIE,
    LOGF_QMAIL,
    LOGF_DMA,
    LOGF_EXIM,
    LOGF_SENDMAIL,
    LOGF_DOVECOT,
    LOGF_OTHER,     /* a syslog line of some other program (cron, kernel) */
    LOGF_COUNT
};

/* How the time stamp was written. */
enum logline_stamp {
    LOGT_NONE = 0,
    LOGT_TRADITIONAL,  /* Mmm dd hh:mm:ss (no year, local time) */
    LOGT_RFC3339,      /* 2024-01-31T10:00:00.123456+01:00 */
    LOGT_RFC5424,      /* <pri>1 2024-01-31T10:00:00Z host app pid msgid sd */
    LOGT_TAI64N,       /* @4000000064c12a5b36a8b5ac (multilog) */
    LOGT_ISO_SPACE,    /* 2023-07-26 14:28:27.917076500 (tai64nlocal, Exim) */
    LOGT_UNIX,         /* 1690381707.917076 (splogger) */
};

/*
 * What the line says, independent of the format where the meaning is the
 * same: a qmail "info msg", an Exim "<=" and a Postfix qmgr "from=..."
 * are all LOGE_QUEUED.
 */
enum logline_event {
    LOGE_UNKNOWN = 0,   /* no format recognised the line */
    LOGE_OTHER,         /* recognised header, text not decoded */
    /* sessions (smtpd, postscreen, dovecot) */
    LOGE_CONNECT,       /* connect from host[addr] */
    LOGE_DISCONNECT,    /* disconnect from host[addr] counters... */
    LOGE_LOST,          /* lost connection / timeout / too many errors after STAGE */
    LOGE_TLS,           /* TLS connection established */
    LOGE_SASL_FAIL,     /* SASL authentication failed */
    LOGE_POSTSCREEN,    /* CONNECT/PASS NEW/PASS OLD/DNSBL/PREGREET/HANGUP/... */
    LOGE_ANVIL,         /* statistics: max connection rate ... */
    /* a message's life */
    LOGE_CLIENT,        /* QID: client=host[addr] (smtpd), Exim has it on <= */
    LOGE_PICKUP,        /* QID: uid=N from=<x> (pickup / sendmail) */
    LOGE_MESSAGE_ID,    /* QID: message-id=<x> (cleanup) */
    LOGE_QUEUED,        /* QID: from=<x>, size=N, nrcpt=N (queue active) */
    LOGE_DELIVERY_START,/* qmail "starting delivery N", DMA "trying delivery" */
    LOGE_DELIVERY,      /* QID: to=<x>, relay=, delay=, dsn=, status=sent|... */
    LOGE_HOST_SAID,     /* QID: host X said: 450 ... (in reply to ...) */
    LOGE_BOUNCE,        /* QID: sender non-delivery notification: NEWQID */
    LOGE_EXPIRED,       /* QID: from=<x>, status=expired, returned to sender */
    LOGE_REMOVED,       /* QID: removed (qmgr, postsuper), qmail "end msg" */
    LOGE_REJECT,        /* NOQUEUE|QID: reject: STAGE from host[addr]: ... */
    LOGE_HOLD,          /* QID: hold: ... or placed on hold */
    LOGE_RELEASED,      /* QID: released from hold */
    LOGE_REQUEUED,      /* QID: requeued */
    LOGE_DISCARD,       /* QID: discard: ... */
    LOGE_FILTER,        /* QID: filter: ... / redirect: ... */
    /* diagnostics */
    LOGE_WARNING,
    LOGE_ERROR,
    LOGE_FATAL,
    LOGE_PANIC,
    /* queue state lines */
    LOGE_QMAIL_STATUS,  /* status: local 1/10 remote 0/255 */
    /* mailbox access (dovecot) */
    LOGE_LOGIN,         /* imap-login: Login: user=<u>, ... */
    LOGE_LOGIN_FAIL,    /* imap-login: Disconnected (auth failed ...) */
    LOGE_LOGOUT,        /* imap(u): Disconnected: Logged out in=.. out=.. */
    LOGE_COUNT
};

/* A delivery's outcome (status= and its equivalents in other formats). */
enum logline_status {
    LOGS_NONE = 0,
    LOGS_SENT,          /* delivered, accepted by the next hop */
    LOGS_DEFERRED,      /* temporary failure, will be retried */
    LOGS_BOUNCED,       /* permanent failure, a DSN goes to the sender */
    LOGS_EXPIRED,       /* gave up after maximal_queue_lifetime */
    LOGS_DELIVERABLE,   /* sendmail -bv: would be delivered */
    LOGS_UNDELIVERABLE, /* sendmail -bv: would bounce */
    LOGS_SOFTBOUNCE,    /* soft_bounce turned a bounce into a deferral */
    LOGS_DISCARDED,     /* dropped on purpose */
    LOGS_COUNT
};

/* One decoded line.  Fields are filled only when the line carries them. */
typedef struct logline {
    logstr raw;                 /* the whole line, without the newline */
    enum logline_format format;
    enum logline_event event;
    enum logline_stamp stamp_kind;
    logstr stamp;               /* the time stamp as written */
    long long time;             /* epoch seconds (UTC), -1 unknown */
    int usec;                   /* microseconds, -1 unknown */

    /* syslog header */
    logstr host;                /* "mail" (empty for qmail, Exim, dovecot files) */
    logstr sysname;             /* "postfix", "postfix-out", "postfix/submission", "postie" */
    logstr program;             /* "smtpd", "qmgr", "dma", "sendmail", "imap-login", "lmtp" */
    long pid;                   /* -1 unknown */
    logstr user;                /* dovecot "imap(user)", "lmtp(user)" */
    bool dovecot;               /* the text is in Dovecot's grammar: Dovecot's
                                   own lines and postie's pop3d/imapd lines
                                   (format LOGF_POSTIE), for the mailbox
                                   logic of trace, report and doctor */
    logstr text;                /* the message after "program[pid]: " */

    logstr queue_id;            /* Postfix/postie QID, qmail msg number, Exim id, DMA id */
    bool noqueue;               /* "NOQUEUE: ..." (queue_id stays empty) */
    logstr body;                /* text after "QID: " (or = text) */

    /* client / session */
    logstr client_host;         /* "unknown", "mail.example.com" */
    logstr client_addr;         /* "192.0.2.1", "2001:db8::c8" */
    long client_port;           /* -1 unknown */
    logstr sasl_method, sasl_username;
    logstr counters;            /* disconnect: "ehlo=1 mail=1 ... commands=5" */
    long commands;              /* disconnect: commands=N (total), -1 unknown */
    long commands_bad;          /* disconnect: commands=N/M: M - N, else -1 */
    logstr stage;               /* lost connection/reject: "RCPT", "DATA", "CONNECT" */
    logstr what;                /* lost/timeout/too many errors; postscreen verdict */

    /* message */
    logstr message_id;          /* without the <> */
    logstr from;                /* envelope sender, without the <>; "" for <> */
    logstr to;                  /* recipient, without the <> */
    logstr orig_to;             /* orig_to=<x> */
    logstr relay;               /* "local", "mx.example.org[198.51.100.2]:25", "none" */
    logstr uid;                 /* pickup uid=, qmail uid */
    long long size;             /* bytes, -1 unknown */
    long nrcpt;                 /* -1 unknown */
    double delay;               /* total seconds, < 0 unknown */
    double delays[4];           /* a/b/c/d, < 0 unknown */
    logstr tls;                 /* Postfix 3.11 tls=... */
    logstr dsn;                 /* "2.0.0" */
    enum logline_status status;
    logstr status_word;         /* "sent", "success", "Sent", "=>" ... as written */
    logstr status_text;         /* text in (...) after status=, or the reason */
    logstr new_queue_id;        /* bounce/notification/"queued as" new QID */
    logstr notify_kind;         /* "sender non-delivery notification" ... */

    /* reject (smtpd, cleanup, postscreen) */
    logstr reject_action;       /* "reject", "defer", "hold", "discard", "warn" */
    int reply_code;             /* 554, -1 unknown */
    logstr reject_text;         /* "Relay access denied", the whole reason */
    logstr proto;               /* "ESMTP" */
    logstr helo;                /* helo=<x> without <> */

    /* diagnostics */
    logstr severity_text;       /* text after "warning: " etc. */

    /* qmail */
    long delivery_no;           /* "starting delivery 373", "delivery 374:" */
    logstr channel;             /* "local" or "remote" on starting delivery */
    long qp;                    /* qmail qp, Exim/ DMA pid for the queue process */

    /* problems spotted while parsing */
    bool truncated;             /* the line ends inside a field */
    bool binary;                /* NUL or control bytes */
} logline;

/*
 * Context carried from line to line: the year for time stamps without one
 * (kept monotonic across a December->January roll-over), and the local UTC
 * offset used to turn local times into epoch seconds.
 */
typedef struct logline_ctx {
    int year;                   /* for "Mmm dd" stamps */
    int last_month;             /* 0..11, -1 none yet */
    int ref_month;              /* 0..11: month of "year"'s reference time (a
                                   file's mtime); a first stamp in a later
                                   month is of the year before.  -1 none */
    long utcoff;                /* seconds east of UTC for local stamps */
} logline_ctx;

/* Defaults: this year, the process's local time zone. */
void logline_ctx_init(logline_ctx *ctx);

/*
 * Parse one line (without its newline; NUL bytes allowed).  Always fills
 * *ll (event LOGE_UNKNOWN when nothing matched) and returns the event.
 * The line is only read; ll's fields point into it.
 */
enum logline_event logline_parse(logline_ctx *ctx, const char *line, size_t len,
                                 logline *ll);

/*
 * Dovecot's auth process's own verdict on one attempt ("auth: passwd-file(
 * u,addr,<session>): Password mismatch", "unknown user"), logged only with
 * auth_verbose = yes, besides the login process's "Disconnected (auth
 * failed, ...)" for the same attempt, and also for userdb lookups that are
 * no login at all (LMTP's recipient check).  Counters of failed logins
 * count the login process's line only.
 */
static inline bool logline_is_auth_verbose(const logline *ll)
{
    return ll->dovecot && (logstr_eq(ll->program, "auth") || logstr_eq(ll->program, "auth-worker"));
}

/* Names for output and JSON: "postfix", "smtp delivery", "sent", ... */
const char *logline_format_name(enum logline_format f);
const char *logline_event_name(enum logline_event e);
const char *logline_status_name(enum logline_status s);

/* Does s look like a Postfix/postie queue ID (short hex or long form)? */
bool logline_is_queue_id(const char *s, size_t n);
/* Is the line Postfix's "warning: QID: queue file size limit exceeded"
 * (the message passed message_size_limit and was refused with 552 5.3.4;
 * no reject line follows)?  Its reason text into *why_r when it is. */
bool logline_is_size_limit(const logline *ll, logstr *why_r);

#endif
