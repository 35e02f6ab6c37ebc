/*
 * smtpd_check - Postfix's SMTP restriction lists, evaluated at RCPT time
 * (Postfix's smtpd_delay_reject = yes: client, HELO and sender checks wait
 * for the recipient, so that every reject line names from= and to=).
 *
 *   smtpd_client_restrictions, smtpd_helo_restrictions,
 *   smtpd_sender_restrictions, smtpd_relay_restrictions,
 *   smtpd_recipient_restrictions
 *
 * are evaluated in that order for each RCPT.  In a list, the first
 * restriction that decides ends the list: "permit" (OK) goes on with the
 * next list, a reject ends everything; DUNNO goes on with the next
 * restriction.  After the lists, smtpd_reject_unlisted_recipient = yes
 * applies reject_unlisted_recipient (the local recipient table).
 *
 * Files: smtpd_check.c (evaluation, replies, the checks that need
 * nothing but the session), smtpd_check_parse.c (name -> function table,
 * list parsing, configuration load and "postie config check"),
 * smtpd_check_dns.c (DNSBL, RHSBL, unknown domains; non-blocking DNS with
 * a per-session answer cache), smtpd_check_access.c (access(5) tables in
 * plain text).  docs/smtpd.md lists the restrictions and their replies.
 *
 * Does not: SASL (permit_sasl_authenticated never permits: nothing
 * authenticates yet), policy services, smtpd_delay_reject = no, compiled
 * (postmap) tables, cidr/pcre/regexp tables.
 */
#ifndef POSTIE_SMTPD_SMTPD_CHECK_H
#define POSTIE_SMTPD_SMTPD_CHECK_H

#include <stdbool.h>

#include "smtpd/smtpd.h"

/* Parse the five lists and load their tables (smtpd_conf_load calls it
 * at start and on reload).  An unknown restriction, a missing argument or
 * lists that would make an open relay are fatal. */
void smtpd_check_conf_load(void);

/* smtpd_check_rcpt (smtpd.h) evaluates the lists for one recipient. */

/* Before a command line runs: true when it is a RCPT whose restrictions
 * need DNS answers that are not in yet.  The questions are sent; the
 * caller keeps the line and waits (s->waiting) until smtpd_session_wake
 * runs it again, when the verdict is ready. */
bool smtpd_check_wait(smtpd_session *s, const char *line);

/* Give up the question under way (the session ends or is stopped). */
void smtpd_check_cancel(smtpd_session *s);
/* Free the per-session state (answer cache). */
void smtpd_check_free(smtpd_session *s);

/* "postie config check": each problem of the restriction parameters and
 * their tables as (path, line, text); returns how many. */
typedef void (*smtpd_check_report_fn)(const char *path, int line,
                                      const char *text, void *ctx);
int smtpd_check_config(smtpd_check_report_fn report, void *ctx);

#endif
