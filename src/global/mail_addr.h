/*
 * mail_addr - envelope addresses: parse an SMTP path (RFC 5321 section
 * 4.1.2), split an address into local part and domain, and decide whether
 * a domain is delivered here (mydestination).
 *
 * Addresses are kept in the form the client wrote them, without the angle
 * brackets and without a source route: "alice@example.org", "" for the null
 * reverse-path "<>", "postmaster" for the bare "<Postmaster>" forward-path
 * (RFC 5321 section 4.1.1.3).  A quoted local part keeps its quotes.
 *
 * Does not: look up users or aliases (local_rcpt), parse RFC 5322 header
 * addresses, or convert between internal and external (quoted) forms.
 */
#ifndef POSTIE_GLOBAL_MAIL_ADDR_H
#define POSTIE_GLOBAL_MAIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 section 4.5.3.1: sizes of the parts of a path. */
#define MAIL_ADDR_LOCAL_MAX 64
#define MAIL_ADDR_DOMAIN_MAX 255
#define MAIL_ADDR_PATH_MAX 256

/* Flags for mail_addr_parse_path. */
#define MAIL_ADDR_NULL_OK 1       /* "<>" is allowed (reverse-path) */
#define MAIL_ADDR_POSTMASTER_OK 2 /* "<postmaster>" without a domain */
#define MAIL_ADDR_UTF8_OK 4       /* non-ASCII allowed (RFC 6531 SMTPUTF8) */
#define MAIL_ADDR_LENIENT 8       /* no brackets / space after the colon */

/* Results of mail_addr_parse_path other than 0. */
#define MAIL_ADDR_ERR_SYNTAX (-1)
#define MAIL_ADDR_ERR_UTF8 (-2)   /* non-ASCII without MAIL_ADDR_UTF8_OK */
#define MAIL_ADDR_ERR_LENGTH (-3) /* longer than section 4.5.3.1 allows */

/*
 * Parse a path at s (what follows "MAIL FROM:" or "RCPT TO:").  On success
 * returns 0, *addr_r is a new string (see above) and *end_r points just
 * after the path (at the ESMTP parameters, if any).  On failure returns one
 * of MAIL_ADDR_ERR_* and *why_r is a static text for the reply.
 */
int mail_addr_parse_path(const char *s, int flags, char **addr_r,
                         const char **end_r, const char **why_r);

/* Check a bare mailbox (no brackets): 0 or MAIL_ADDR_ERR_*. */
int mail_addr_check(const char *addr, int flags, const char **why_r);

/* Does the string hold a byte >= 0x80? */
bool mail_addr_is_8bit(const char *s);

/*
 * Split at the last '@' (a domain never contains one; a quoted local part
 * may).  Both results are new strings; *domain_r is "" when the address has
 * no domain.  Returns 1 when there was a domain, 0 when not.
 */
int mail_addr_split(const char *addr, char **local_r, char **domain_r);

/* Is the domain in the list?  Case-insensitive, a trailing dot ignored. */
bool mail_addr_domain_in_list(const char *domain, char *const *list);
/* Is the domain delivered here: in mydestination (or empty, as for the bare
 * "postmaster")? */
bool mail_addr_domain_is_local(const char *domain);

/* Is the local part "postmaster" (any case, RFC 5321 section 4.5.1)? */
bool mail_addr_is_postmaster(const char *addr);

#endif
