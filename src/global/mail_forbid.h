/*
 * mail_forbid - the smtpd_forbidden_commands list (postconf(5)): command
 * names that make the SMTP server hang up at once, because a client that
 * sends them is not speaking SMTP (an HTTP request sent to port 25 by a
 * browser or a proxy, the cross-protocol attack).
 *
 * Syntax, as Postfix's: names separated by white space or commas, any case.
 * Postfix also takes lookup tables there; postie has none, and takes only
 * the one inline table of Postfix's default, "regexp:{{/^[^A-Z]/ text}}",
 * whose meaning (Postfix regexp tables ignore case) is "a first word that
 * does not start with a letter".  Any other table is a configuration error.
 *
 * Apart from the list, Postfix always refuses a first word in the form of a
 * message header label ("Host:", "User-Agent:"): mail_forbid_is_header.
 */
#ifndef POSTIE_GLOBAL_MAIL_FORBID_H
#define POSTIE_GLOBAL_MAIL_FORBID_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mail_forbid {
    char **names;      /* NULL-terminated, upper case */
    bool nonalpha;     /* regexp:{{/^[^A-Z]/ ...}} was given */
} mail_forbid;

/* Parse value into *f (freed and replaced).  0, or -1 with a reason in
 * why (f then holds what could be parsed). */
int mail_forbid_parse(const char *value, mail_forbid *f, char *why, size_t whylen);
void mail_forbid_free(mail_forbid *f);
/* Is the command word w[0..n) forbidden by the list? */
bool mail_forbid_match(const mail_forbid *f, const char *w, size_t n);
/* Is w[0..n) a header label: printable non-space octets, then ':'? */
bool mail_forbid_is_header(const char *w, size_t n);

#endif
