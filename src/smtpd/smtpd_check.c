/*
 * smtpd_check - recipient policy at RCPT time, in Postfix's default order:
 * relay control first (smtpd_relay_restrictions = permit_mynetworks,
 * reject_unauth_destination), then the local recipient table.
 *
 *   - postmaster, bare or at a local domain: always accepted (RFC 5321
 *     section 4.5.1);
 *   - a domain in mydestination: the user must exist (local_rcpt), else
 *     550 5.1.1 ... User unknown in local recipient table;
 *   - a domain in relay_domains, or any domain from a client in
 *     mynetworks: accepted for relaying;
 *   - anything else: 554 5.7.1 <x@y>: Relay access denied (no open relay).
 *
 * Does not: log (the caller logs the reject line with the reply).
 */
#include "smtpd/smtpd.h"

#include <stdio.h>

#include "global/local_rcpt.h"
#include "global/mail_addr.h"
#include "util/mem.h"
#include "util/msg.h"

/* "CODE <addr>: TEXT" as a new string. */
static char *smtpd_check_reply(const char *code, const char *addr,
                               const char *text)
{
    char reply[700];
    snprintf(reply, sizeof(reply), "%s <%s>: %s", code, addr, text);
    return mem_strdup(reply);
}

int smtpd_check_rcpt(smtpd_session *s, const char *addr, char **reply_r)
{
    char *local, *domain;
    mail_addr_split(addr, &local, &domain);
    int r;
    if (mail_addr_domain_is_local(domain)) {
        char *why = NULL;
        int known = mail_addr_is_postmaster(addr) ? 1 : local_rcpt_check(addr, &why);
        if (known == 1) {
            r = 1;
        } else if (known == 0) {
            *reply_r = smtpd_check_reply("550 5.1.1", addr,
                                         "Recipient address rejected: User "
                                         "unknown in local recipient table");
            r = 0;
        } else {
            /* The reason (an unreadable users or alias file) is for the
             * administrator, not for the client. */
            msg_warn("local recipient lookup for %s: %s", addr, why ? why : "failed");
            *reply_r = smtpd_check_reply("451 4.3.0", addr,
                                         "Temporary lookup failure");
            r = 0;
        }
        mem_free(&why);
    } else if (s->mynetworks ||
               mail_addr_domain_in_list(domain, smtpd_cf.relay_domains)) {
        r = 1;
    } else {
        *reply_r = smtpd_check_reply("554 5.7.1", addr, "Relay access denied");
        r = 0;
    }
    mem_free(&local);
    mem_free(&domain);
    return r;
}
