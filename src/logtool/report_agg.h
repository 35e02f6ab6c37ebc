/*
 * report_agg - the aggregates of "postie log report", fed one parsed line
 * at a time (logline.h), in one pass.
 *
 * What it counts follows pflogsumm where both count the same thing, so the
 * totals of a Postfix log agree (docs/logreport.md lists the differences):
 *   received   smtpd "client=" lines + pickup lines (+ Exim "<=" that are not
 *              Exim's own bounces);
 *   delivered  status=sent recipients, except "forwarded as" (forwarded);
 *   deferred   messages with at least one deferral (deferrals: the lines);
 *   bounced    status=bounced recipients; expired is counted apart;
 *   rejected   reject lines of smtpd/cleanup/postscreen (one per recipient),
 *              with held, discarded and reject warnings apart.
 * Dovecot's mailbox deliveries and logins are counted apart from the MTA's,
 * so a Postfix + Dovecot log does not count a message twice.
 *
 * Memory: bounded.  Open messages (queue ID -> size and flags, dropped at
 * "removed") are capped at REPORT_AGG_MAX_OPEN, open smtpd sessions at
 * REPORT_AGG_MAX_SESSIONS; every top list is a report_topk of fixed size;
 * delays are report_hist histograms; days are capped at REPORT_AGG_MAX_DAYS.
 */
#ifndef POSTIE_LOGTOOL_REPORT_AGG_H
#define POSTIE_LOGTOOL_REPORT_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include "logtool/logline.h"
#include "logtool/report_hist.h"
#include "logtool/report_topk.h"

#define REPORT_AGG_MAX_OPEN (1u << 20)
#define REPORT_AGG_MAX_SESSIONS (1u << 16)
#define REPORT_AGG_MAX_DAYS 4000
#define REPORT_AGG_TOPK 4096        /* strings kept per top list */
#define REPORT_AGG_KEYMAX 160       /* longer strings are cut */

/* Per-hour and per-day series. */
enum report_series {
    REPORT_S_RECEIVED,
    REPORT_S_DELIVERED,
    REPORT_S_DEFERRED,
    REPORT_S_BOUNCED,
    REPORT_S_REJECTED,
    REPORT_S_COUNT
};

typedef struct report_day {
    int ymd;                    /* 20240131 */
    uint64_t c[REPORT_S_COUNT];
} report_day;

/* The delays= parts, and the total delay=. */
enum report_delay {
    REPORT_D_TOTAL,
    REPORT_D_A,                 /* before the queue manager */
    REPORT_D_B,                 /* in the queue manager */
    REPORT_D_C,                 /* connection setup */
    REPORT_D_D,                 /* transmission */
    REPORT_D_COUNT
};

/* An open message: what later lines of the same queue ID need. */
typedef struct report_msg {
    char qid[31];
    uint8_t len;                /* 0: empty slot */
    uint8_t flags;
    uint8_t client_len;
    long long size;             /* -1 unknown */
    char client[30];            /* the client's domain, for senders without one */
} report_msg;

typedef struct report_session {
    long pid;                   /* 0: empty slot */
    long long since;
} report_session;

typedef struct report_agg {
    /* lines */
    uint64_t lines, unknown, truncated, binary, other;
    uint64_t by_format[LOGF_COUNT];
    long long first_time, last_time;    /* -1 none */
    long utcoff;                        /* for local hours and days */

    /* grand totals (see the header comment) */
    uint64_t received, delivered, forwarded, deferred, deferrals, bounced,
        expired, rejected, reject_warnings, held, discarded, notifications;
    uint64_t bytes_received, bytes_delivered;
    uint64_t no_size;           /* deliveries whose size was not in the log */

    uint64_t hour[24][REPORT_S_COUNT];
    report_day *days;
    size_t ndays;

    /* top lists */
    report_topk *senders, *sender_domains, *recipients, *recipient_domains;
    report_topk *sending_hosts, *relays;
    report_topk *defer_domains;         /* deferrals by recipient domain */
    report_topk *defer_reasons, *bounce_reasons, *reject_reasons;
    report_topk *held_reasons, *discard_reasons, *warn_reasons;
    report_topk *warnings, *errors, *fatals, *panics;

    /* delays of delivered recipients */
    report_hist delay[REPORT_D_COUNT];

    /* SMTP server sessions */
    uint64_t connects, disconnects, lost, tls, sasl_failures;
    uint64_t commands, bad_commands;
    report_hist session_time;
    report_topk *connect_hosts, *lost_stages, *sasl_hosts;
    uint64_t postscreen;

    /* diagnostics totals */
    uint64_t n_warnings, n_errors, n_fatals, n_panics;

    /* mailbox access (Dovecot) */
    uint64_t mbox_deliveries, mbox_delivery_failures, logins, login_failures, logouts;
    report_topk *login_users, *login_fail_users, *login_fail_hosts;

    /* bounded state */
    report_msg *msgs;
    size_t msgs_slots, msgs_n;
    uint64_t msgs_untracked;    /* not tracked: the open-message cap was reached */
    uint64_t msgs_left_open;    /* computed at the end: never "removed" */
    report_session *sess;
    size_t sess_slots, sess_n;
    /* the hour of the last counted line (see report_agg_count_time) */
    long long cache_hkey;
    int cache_hour, cache_ymd;
} report_agg;

report_agg *report_agg_new(long utcoff);
void report_agg_free(report_agg **ap);
/* Count one parsed line; cut: the reader cut it at its maximum length. */
void report_agg_line(report_agg *a, const logline *ll, bool cut);
/* Rejected and discarded percentages, as pflogsumm computes them. */
int report_agg_pct(const report_agg *a, uint64_t part);

#endif
