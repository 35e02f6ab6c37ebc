/*
 * local_rcpt - is this address a known local recipient?  (smtpd asks at
 * RCPT time for domains in mydestination; RFC 5321 section 3.3 lets a
 * server refuse an unknown mailbox with 550 at that point instead of
 * accepting and bouncing later.)
 *
 * Known means: postmaster (always, RFC 5321 section 4.5.1), an alias in
 * alias_maps, or a user of mail_user_source (the users file and/or the
 * system password database).  The local part is compared without case and
 * without its recipient_delimiter extension ("bob+news" is "bob").
 *
 * Does not: check the domain (the caller decided it is local) or deliver.
 */
#ifndef POSTIE_GLOBAL_LOCAL_RCPT_H
#define POSTIE_GLOBAL_LOCAL_RCPT_H

/* addr is "local@domain" (or a bare local part).  Returns 1 for a known
 * local recipient, 0 for an unknown user (*why_r: text for a 550 5.1.1
 * reply), -1 for a temporary failure such as an unreadable users or alias
 * file (*why_r: text for a 451 4.3.0 reply).  *why_r is a new string on 0
 * and -1 (free it), untouched on 1; why_r may be NULL. */
int local_rcpt_check(const char *addr, char **why_r);

/* The local part of addr as local lookups see it: lower case, without the
 * extension.  Sets *ext_r (may be NULL) to the extension, or NULL.  Both are
 * new strings. */
char *local_rcpt_base(const char *addr, char **ext_r);

#endif
