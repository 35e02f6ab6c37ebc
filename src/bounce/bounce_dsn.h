/*
 * bounce_dsn - compose one delivery status notification (RFC 3464) as
 * the lines of a message: top headers, then multipart/report (RFC 6522)
 * with three parts: a text/plain explanation for people, the
 * message/delivery-status report for programs, and the original message
 * (message/rfc822, RET=FULL) or its headers (text/rfc822-headers).
 *
 * Pure: no I/O, no configuration (the caller passes host name and
 * limits), so the unit tests check the exact text.
 *
 * Does not: decide who gets a notice or enqueue it (bounce_notify).
 */
#ifndef POSTIE_BOUNCE_BOUNCE_DSN_H
#define POSTIE_BOUNCE_BOUNCE_DSN_H

#include <stdbool.h>
#include <stddef.h>

enum bounce_kind {
    BOUNCE_KIND_FAILURE,    /* Action: failed */
    BOUNCE_KIND_DELAY,      /* Action: delayed */
    BOUNCE_KIND_SUCCESS,    /* Action: delivered / relayed */
};

typedef struct bounce_dsn_rcpt {
    const char *addr;       /* Final-Recipient */
    const char *orcpt;      /* "type;addr" or a bare address, or NULL */
    const char *action;     /* failed, delayed, delivered, relayed */
    const char *status;     /* X.Y.Z */
    const char *text;       /* the agent's reason, as logged */
} bounce_dsn_rcpt;

typedef struct bounce_dsn {
    enum bounce_kind kind;
    bool to_postmaster;     /* a notice about mail from <> */
    const char *myhostname;
    const char *queue_id;   /* of the original */
    const char *sender;     /* of the original, "" for <> */
    const char *to;         /* who gets this notice */
    const char *envid;      /* RFC 3461 ENVID, or NULL */
    long long arrival_sec;  /* of the original */
    long long now_sec;      /* for the boundary and Last-Attempt-Date */
    long long retry_until;  /* delay notices: Will-Retry-Until */
    const bounce_dsn_rcpt *rcpts;
    size_t nrcpt;
    const char *content;    /* the original as queued (LF line ends) */
    size_t content_len;
    bool full;              /* return it all, not only the headers */
} bounce_dsn;

typedef void (*bounce_dsn_line_fn)(const char *line, size_t len, void *ctx);

/* Emit the notice line by line (without line ends). */
void bounce_dsn_compose(const bounce_dsn *d, bounce_dsn_line_fn fn,
                        void *ctx);

/* Split an agent's reason into Remote-MTA and Diagnostic-Code (RFC 3464
 * sections 2.3.5, 2.3.6): "host mx.example.org[192.0.2.1] said: 550 5.1.1
 * <x>: no such user (in reply to RCPT TO command)" gives remote
 * "mx.example.org", type "smtp" and "550 5.1.1 <x>: no such user"; any
 * other text gives remote "" and type "X-Postie".  Results are copied
 * into the caller's arrays (truncated to their size). */
void bounce_dsn_diag(const char *text, char *remote, size_t remotelen,
                     const char **type_r, char *diag, size_t diaglen);

/* RFC 5322 date-time of epoch seconds (local time zone). */
void bounce_dsn_date(char *out, size_t outlen, long long epoch_sec);

#endif
