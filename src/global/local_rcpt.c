/*
 * local_rcpt - the local recipient check; see local_rcpt.h.
 *
 * The order is the one local delivery resolves in (src/local), so that a
 * recipient smtpd accepts is one local can deliver: aliases of the full
 * local part ("bob+news"), then of the base ("bob"), then users.
 */
#include "global/local_rcpt.h"

#include <ctype.h>
#include <string.h>

#include "global/mail_aliases.h"
#include "global/mail_conf.h"
#include "global/mail_users.h"
#include "util/conf.h"
#include "util/mem.h"

char *local_rcpt_base(const char *addr, char **ext_r)
{
    const char *at = strrchr(addr, '@');
    size_t n = at ? (size_t)(at - addr) : strlen(addr);
    char *local = mem_strndup(addr, n);
    for (char *p = local; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (ext_r)
        *ext_r = NULL;
    const char *delim = var_str("recipient_delimiter");
    if (*delim != '\0' && local[0] != '\0') {
        /* Postfix splits at the first delimiter character; a local part
         * that starts with one ("+x") has no base and is kept whole. */
        size_t cut = strcspn(local + 1, delim) + 1;
        if (local[cut] != '\0') {
            if (ext_r)
                *ext_r = mem_strdup(local + cut + 1);
            local[cut] = '\0';
        }
    }
    return local;
}

int local_rcpt_check(const char *addr, char **why_r)
{
    const char *at = strrchr(addr, '@');
    size_t n = at ? (size_t)(at - addr) : strlen(addr);
    char *full = mem_strndup(addr, n);
    for (char *p = full; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *base = local_rcpt_base(addr, NULL);
    char *err = NULL;
    int r = 0;

    /* RFC 5321 section 4.5.1: postmaster must always be accepted. */
    if (strcmp(base, "postmaster") == 0) {
        r = 1;
        goto done;
    }
    r = mail_aliases_lookup(full, NULL, &err);
    if (r == 0 && strcmp(full, base) != 0)
        r = mail_aliases_lookup(base, NULL, &err);
    if (r == 0)
        r = mail_users_find(base, NULL, &err);

done:
    if (r == 0 && why_r)
        *why_r = mem_strdup("User unknown in local recipient table");
    else if (r < 0 && why_r)
        *why_r = err ? err : mem_strdup("temporary lookup failure");
    else
        mem_free(&err);
    mem_free(&full);
    mem_free(&base);
    return r;
}
