/*
 * doctor - "postie doctor [--json] [--since DURATION] [--timeout SECONDS]":
 * the quick diagnostic workflow of the troubleshooting guide (seeds/004),
 * run by itself against one instance, step by step:
 *
 *   1 service status   master's pid file and lock, the services, restarts
 *   2 mail queue       counts, oldest message, deferral reasons, corrupt, hold
 *   3 logs             fatal/panic/warning lines, deferrals, bounces, rejects
 *                      of the last --since window, grouped, explained
 *   4 connectivity     each configured listener answers with its greeting
 *   5 DNS              resolver, myhostname, the destinations of deferred mail
 *   6 configuration    config check, relay sanity, queue and log permissions
 *   7 authentication   the users file, each user's mailbox and its owner
 *
 * Each check ends ok, warn or fail with a one-line finding and the next step
 * to take; the exit code is the worst of them (0 ok, 1 warn, 2 fail).
 *
 *   doctor.c         command line, the report, text and JSON output
 *   doctor_checks.c  steps 1, 2, 6 and 7 (processes, queue, files)
 *   doctor_log.c     step 3: one pass over the log, grouped by reason
 *   doctor_net.c     steps 4 and 5: loopback probes and DNS lookups
 *
 * Does not: change anything.  It reads files, connects only to the
 * instance's own configured local addresses, and asks the configured
 * resolver; every wait is bounded.  The fixes it suggests are for a human.
 */
#ifndef POSTIE_TOOLS_DOCTOR_H
#define POSTIE_TOOLS_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

int doctor_main(int argc, char **argv);

/* ---- the report (doctor.c) ---- */

enum doctor_status { DOCTOR_OK = 0, DOCTOR_WARN = 1, DOCTOR_FAIL = 2 };

typedef struct doctor_check {
    int step;                  /* 1..7, the workflow step */
    char *name;                /* "master", "queue", "listeners", ... */
    enum doctor_status status;
    char *finding;             /* one line: what was found */
    char *next;                /* one line: what to do ("" when nothing) */
    char **details;            /* what was looked at, one line each */
    size_t ndetails;
} doctor_check;

typedef struct doctor_report {
    doctor_check **v;
    size_t n;
} doctor_report;

/* A new check (status ok, empty finding), owned by the report. */
doctor_check *doctor_add(doctor_report *r, int step, const char *name);
/* Raise the status to s (never lower it) and, when raised or the first
 * time, set the finding and the next step (next may be NULL). */
void doctor_set(doctor_check *c, enum doctor_status s, const char *next,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void doctor_detail(doctor_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The worst status: the exit code. */
int doctor_exit(const doctor_report *r);
void doctor_report_free(doctor_report *r);
/* The seed's name of a step ("Check service status"). */
const char *doctor_step_title(int step);
const char *doctor_status_name(enum doctor_status s);
void doctor_print_text(FILE *out, const doctor_report *r);
void doctor_print_json(FILE *out, const doctor_report *r, const char *dir,
                       long long since);

/* "postie -c DIR": how every suggested command starts, so that it can be
 * pasted as is for this instance. */
const char *doctor_postie(void);

/* A formatted string for one doctor_set call (a small ring of them,
 * each kept until eight later calls). */
const char *doctor_tmp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- shared facts, gathered once ---- */

/* A count by text, most frequent first when sorted. */
typedef struct doctor_group {
    char *key;        /* what is grouped on (normalised text) */
    char *example;    /* one real text, as written */
    char *id;         /* one queue ID, "" when none */
    char *cause;      /* logexplain's likely cause, or NULL */
    char *check;      /* and what to check */
    char *dsn;        /* "4.4.1" or "" */
    unsigned long count;
} doctor_group;

typedef struct doctor_groups {
    doctor_group *v;
    size_t n;
} doctor_groups;

/* Count one more under key (example, id, cause, check, dsn: kept from the
 * first one seen; any may be NULL). */
void doctor_groups_add(doctor_groups *g, const char *key, const char *example,
                       const char *id, const char *cause, const char *check,
                       const char *dsn);
/* Most frequent first, then by key. */
void doctor_groups_sort(doctor_groups *g);
unsigned long doctor_groups_total(const doctor_groups *g);
void doctor_groups_free(doctor_groups *g);
/* The grouping key of a reason: digits and hex queue IDs masked, so that
 * "connect to 192.0.2.1[192.0.2.1]:25: Connection refused" of two
 * messages, ports or addresses falls in one group.  A new string. */
char *doctor_reason_key(const char *text, size_t n);

/* What the log pass found (doctor_log.c). */
typedef struct doctor_restart {
    char *service;   /* from the pid's own lines, "?" when unseen */
    char *how;       /* "killed by signal 9", "exit status 1" */
    long pid;
    long long time;  /* of the line, epoch seconds */
} doctor_restart;

typedef struct doctor_log {
    bool have_file;           /* maillog_file set and readable */
    char *path;
    char *error;              /* why it could not be read, or NULL */
    int error_errno;          /* and its errno (EACCES: not ours to read) */
    unsigned long lines;      /* lines in the window */
    doctor_groups fatal;      /* fatal and panic lines */
    doctor_groups warning;
    doctor_groups deferred;
    doctor_groups bounced;
    doctor_groups rejected;
    doctor_restart *restarts;
    size_t nrestarts;
    unsigned long throttled;  /* "bad command startup -- throttling" */
    char *throttled_service;
    unsigned long logins;     /* POP3/IMAP logins that succeeded */
    doctor_groups login_fail_addr;  /* failed logins (POP3/IMAP/SMTP AUTH) by client address */
    doctor_groups login_fail_user;  /* and by user name */
} doctor_log;

/* Failed logins from one address in the window that make a finding: more
 * than a user mistyping a password, the shape of a guessing run. */
#define DOCTOR_LOGIN_GUESSES 10

/* Read the log lines of the last since seconds (now: the reference). */
void doctor_log_scan(const char *path, long long now, long long since,
                     doctor_log *lg);
/* The same over lines in memory (tests): text holds lines ending in \n. */
void doctor_log_scan_text(const char *text, long long now, long long since,
                          doctor_log *lg);
void doctor_log_free(doctor_log *lg);

/* The facts steps pass on to later steps. */
typedef struct doctor_facts {
    pid_t master;                 /* 0: not running */
    uid_t service_uid;            /* who the services run (or would run) as */
    gid_t service_gid;
    bool service_uid_known;
    char **running;               /* services master runs now (NULL-ended) */
    doctor_groups dest_domains;   /* recipient domains of deferred mail */
    unsigned long deferred;       /* deferred messages */
    doctor_log log;
    double timeout;               /* seconds per network wait */
} doctor_facts;

/* Is the service part of this build (doctor_checks.c)? */
bool doctor_checks_in_build(const char *service);
/* Its listen parameter (doctor_net.c), NULL for a service without one. */
const char *doctor_net_listen_param(const char *service);

/* ---- the steps ---- */
void doctor_checks_service(doctor_report *r, doctor_facts *f);
void doctor_checks_queue(doctor_report *r, doctor_facts *f);
void doctor_log_check(doctor_report *r, doctor_facts *f, long long since);
void doctor_log_logins(doctor_report *r, doctor_facts *f, long long since);
void doctor_net_listeners(doctor_report *r, doctor_facts *f);
void doctor_net_dns(doctor_report *r, doctor_facts *f);
void doctor_checks_config(doctor_report *r, doctor_facts *f);
void doctor_checks_auth(doctor_report *r, doctor_facts *f);

/* ---- pure helpers (unit-tested) ---- */

/* Is this mynetworks entry too wide for a relay list?  DOCTOR_FAIL for
 * the whole Internet (a /0), DOCTOR_WARN for a network wider than an
 * IPv4 /16 or an IPv6 /32 (loopback excepted), else DOCTOR_OK. */
enum doctor_status doctor_checks_network_width(const char *entry);
/* Does a relay restriction list close the relay?  1 closed (a
 * reject_unauth_destination, defer_unauth_destination or reject comes
 * before any plain permit), 0 open (a permit first), -1 undecided (the
 * list says nothing either way). */
int doctor_checks_relay_closed(char *const *list);
/* An age in words: "42s", "17m", "3h 5m", "2d 4h". */
void doctor_age(long long seconds, char *out, size_t n);
/* The addresses one listen entry means under inet_interfaces, as
 * "host port" pairs to probe (loopback for "loopback-only"; for "all" the
 * loopback addresses, the only ones doctor connects to).  Returns the
 * count written to hosts_r/ports_r (at most max). */
size_t doctor_net_listen_targets(const char *entry, char *const *ifaces,
                             char hosts_r[][64], int *ports_r, size_t max);
/* Free space on a file system: DOCTOR_FAIL under 1% or 50 MB (mail is
 * refused or deferred any moment now), DOCTOR_WARN under 10% or 500 MB,
 * else DOCTOR_OK.  Sizes in bytes; total 0 means unknown (ok). */
enum doctor_status doctor_checks_disk_status(unsigned long long avail,
                                      unsigned long long total);
/* Judge a greeting line for a protocol ("smtp", "pop3", "imap"). */
enum doctor_status doctor_net_greeting_ok(const char *proto, const char *line);

#endif
