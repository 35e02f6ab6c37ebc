/*
 * dsn_param - the SMTP DSN extension's parameters (RFC 3461): xtext
 * (section 4), NOTIFY (4.1), ORCPT (4.2), RET (4.3), ENVID (4.4), and how
 * postie keeps them in a queue file (docs/queue.md):
 *
 *   A dsn_ret=FULL|HDRS           message: RET
 *   A dsn_envid=<decoded ENVID>   message: ENVID
 *   A dsn_notify.N=SUCCESS,DELAY  recipient N: NOTIFY (NEVER alone)
 *   R - N addr\trfc822;orig       recipient N: ORCPT, decoded
 *
 * smtpd parses them, the smtp client encodes them again for a peer that
 * offers DSN, bounce decides by them.
 *
 * Does not: any I/O or policy.  Decoded values never hold control
 * characters (they go into queue records and header fields): a parameter
 * that would decode to one is refused.
 */
#ifndef POSTIE_GLOBAL_DSN_PARAM_H
#define POSTIE_GLOBAL_DSN_PARAM_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* NOTIFY bits (RFC 3461 section 4.1).  0 means "not given": the MTA's
 * default applies, which for postie is FAILURE,DELAY (section 4.1 lets
 * the MTA choose; Postfix chooses the same). */
#define DSN_NOTIFY_NEVER 1
#define DSN_NOTIFY_SUCCESS 2
#define DSN_NOTIFY_FAILURE 4
#define DSN_NOTIFY_DELAY 8

#define DSN_RET_NONE 0
#define DSN_RET_FULL 1
#define DSN_RET_HDRS 2

/* RFC 3461 section 4.4: ENVID is at most 100 characters (encoded); the
 * ORCPT address part at most 500 (section 4.2). */
#define DSN_ENVID_MAX 100
#define DSN_ORCPT_MAX 500

/* Decode xtext (RFC 3461 section 4: "+" followed by two upper-case hex
 * digits, other printable ASCII but "+" and "=" as they are) into out.
 * Returns 0, or -1 for bad syntax, a longer result than max, or a decoded
 * control character or non-ASCII octet. */
int dsn_param_xtext_decode(const char *in, size_t inlen, buf *out);
/* Encode s as xtext onto out: "+", "=", and octets outside 33..126 become
 * "+XX". 0, or -1 when out is full. */
int dsn_param_xtext_encode(const char *s, buf *out);

/* NOTIFY value: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY (any
 * case, each at most once).  Returns the bits, or -1. */
int dsn_param_notify_parse(const char *value);
/* "NEVER", "SUCCESS,FAILURE,DELAY", ... ("" for 0) into out (>= 32). */
void dsn_param_notify_format(int bits, char *out, size_t outlen);
/* Does this recipient want a notice of this kind (DSN_NOTIFY_SUCCESS,
 * _FAILURE or _DELAY)?  bits 0 (not given) means FAILURE,DELAY. */
bool dsn_param_notify_wants(int bits, int kind);

/* The NOTIFY bits of a copy that local forwarding (an alias member or a
 * .forward address) sends on, from the original recipient's bits.  postie
 * reports the success of that step itself ("expanded", RFC 3464 section
 * 2.3.3) when SUCCESS was asked for, so the copy carries the rest: SUCCESS
 * goes (the sender hears of success once: RFC 3461 section 6.2.7's choice
 * for an alias with several members, taken for one member too), FAILURE
 * and DELAY stay, and a list left empty becomes NEVER (SUCCESS alone asked
 * for no failure notice).  0 (not given) and NEVER stay as they are. */
int dsn_param_notify_forwarded(int bits);

/* RET value: DSN_RET_FULL or DSN_RET_HDRS, or -1. */
int dsn_param_ret_parse(const char *value);

/* ORCPT value "addr-type;xtext" (section 4.2): addr-type is an atom
 * (RFC 3461 uses "rfc822"; others are kept as they are).  *out_r gets
 * "type;decoded" (a new string).  0 or -1. */
int dsn_param_orcpt_parse(const char *value, char **out_r);

/* ENVID value (xtext) decoded into a new string.  0 or -1. */
int dsn_param_envid_parse(const char *value, char **out_r);

/* The NOTIFY bits of recipient index as stored in a queue file's
 * attributes (name "dsn_notify.N"): attr_value is that attribute's value
 * or NULL.  Returns 0 for NULL or bad values (the default applies). */
int dsn_param_notify_attr(const char *attr_value);

#endif
