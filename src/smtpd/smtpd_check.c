/*
 * smtpd_check - evaluation of the restriction lists for one RCPT, the
 * reply texts, and the restrictions that need nothing but the session:
 * permit, reject, defer, permit_mynetworks, permit_sasl_authenticated,
 * reject/defer/permit_unauth_destination, reject_unlisted_recipient,
 * reject_non_fqdn_*, reject_invalid_helo_hostname.  See smtpd_check.h.
 *
 * Replies are Postfix's, code and text, because log readers and people
 * know them:
 *   554 5.7.1 <x@y>: Relay access denied
 *   550 5.1.1 <x@y>: Recipient address rejected: User unknown in local recipient table
 *   504 5.5.2 <x>: Recipient address rejected: need fully-qualified address
 *   554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied
 *
 * Waiting: an evaluation that needs a DNS answer not yet in the session's
 * cache stops with SMTPD_CHECK_WAIT after sending the question.  Nothing
 * of the evaluation is kept: it runs again from the start when the answer
 * is in, and finds it in the cache.  So a reload of the lists between the
 * two runs, or a session freed meanwhile, leaves nothing dangling; the
 * cost is re-running a few string checks.
 *
 * Does not: send DNS questions (smtpd_check_dns.c), read tables
 * (smtpd_check_access.c), log (the caller logs the reject line).
 */
#include "smtpd/smtpd_check_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "global/local_rcpt.h"
#include "global/mail_addr.h"
#include "util/mem.h"
#include "util/msg.h"

int smtpd_check_reject(smtpd_check_eval *e, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    mem_free(&e->reply);
    e->reply = mem_strdup(text);
    return SMTPD_CHECK_REJECT;
}

const char *smtpd_check_reply_name(const smtpd_check_eval *e, int list)
{
    switch (list) {
    case SMTPD_CHECK_CLIENT:
        return e->s->namaddr;
    case SMTPD_CHECK_HELO:
        return e->s->helo ? e->s->helo : "";
    case SMTPD_CHECK_SENDER:
        return e->sender;
    default:
        return e->rcpt;
    }
}

static const char *smtpd_check_class(int list)
{
    static const char *const classes[SMTPD_CHECK_NLISTS] = {
        "Client host", "Helo command", "Sender address", "Recipient address",
        "Recipient address",
    };
    return classes[list];
}

int smtpd_check_reject_class(smtpd_check_eval *e, int list, int code,
                             const char *dsn, const char *text)
{
    return smtpd_check_reject(e, "%d %s <%s>: %s rejected: %s", code, dsn,
                              smtpd_check_reply_name(e, list),
                              smtpd_check_class(list), text);
}

const char *smtpd_check_domain(const char *addr, char *out, size_t len)
{
    const char *at = strrchr(addr, '@');
    snprintf(out, len, "%s", at ? at + 1 : "");
    return out;
}

bool smtpd_check_fqdn(const char *domain)
{
    size_t n = strlen(domain);
    if (n >= 2 && domain[0] == '[' && domain[n - 1] == ']')
        return true; /* an address literal names its host fully */
    return strchr(domain, '.') != NULL && smtpd_peer_valid_hostname(domain);
}

/* Is the recipient's domain ours to accept from anyone: local
 * (mydestination) or relay_domains?  (Postfix's "authorized
 * destination".) */
static bool smtpd_check_auth_dest(const smtpd_check_eval *e)
{
    char dom[300];
    smtpd_check_domain(e->rcpt, dom, sizeof(dom));
    return mail_addr_domain_is_local(dom) ||
           mail_addr_domain_in_list(dom, smtpd_cf.relay_domains);
}

/* ---- the restrictions ---- */

int smtpd_check_permit(smtpd_check_eval *e, const smtpd_restr *r)
{
    return SMTPD_CHECK_OK;
}

int smtpd_check_reject_all(smtpd_check_eval *e, const smtpd_restr *r)
{
    return smtpd_check_reject_class(e, e->list, 554, "5.7.1", "Access denied");
}

int smtpd_check_defer_all(smtpd_check_eval *e, const smtpd_restr *r)
{
    return smtpd_check_reject_class(e, e->list, 450, "4.3.2", "Try again later");
}

int smtpd_check_permit_mynetworks(smtpd_check_eval *e, const smtpd_restr *r)
{
    return e->s->mynetworks ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
}

int smtpd_check_permit_sasl(smtpd_check_eval *e, const smtpd_restr *r)
{
    return SMTPD_CHECK_DUNNO; /* no SASL yet: nobody is authenticated */
}

int smtpd_check_reject_unauth(smtpd_check_eval *e, const smtpd_restr *r)
{
    if (smtpd_check_auth_dest(e))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject(e, "554 5.7.1 <%s>: Relay access denied", e->rcpt);
}

int smtpd_check_defer_unauth(smtpd_check_eval *e, const smtpd_restr *r)
{
    if (smtpd_check_auth_dest(e))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject(e, "450 4.7.1 <%s>: Relay access denied", e->rcpt);
}

int smtpd_check_permit_auth(smtpd_check_eval *e, const smtpd_restr *r)
{
    return smtpd_check_auth_dest(e) ? SMTPD_CHECK_OK : SMTPD_CHECK_DUNNO;
}

int smtpd_check_unlisted(smtpd_check_eval *e, const smtpd_restr *r)
{
    e->unlisted_done = true;
    char dom[300];
    smtpd_check_domain(e->rcpt, dom, sizeof(dom));
    /* Only local domains have a recipient table (no relay_recipient_maps
     * yet); postmaster is always there (RFC 5321 section 4.5.1). */
    if (!mail_addr_domain_is_local(dom) || mail_addr_is_postmaster(e->rcpt))
        return SMTPD_CHECK_DUNNO;
    char *why = NULL;
    int known = local_rcpt_check(e->rcpt, &why);
    int v = SMTPD_CHECK_DUNNO;
    if (known == 0) {
        v = smtpd_check_reject(e, "550 5.1.1 <%s>: Recipient address rejected: "
                               "User unknown in local recipient table", e->rcpt);
    } else if (known < 0) {
        /* The reason (an unreadable users or alias file) is for the
         * administrator, not for the client. */
        msg_warn("local recipient lookup for %s: %s", e->rcpt, why ? why : "failed");
        v = smtpd_check_reject(e, "451 4.3.0 <%s>: Temporary lookup failure", e->rcpt);
    }
    mem_free(&why);
    return v;
}

int smtpd_check_nonfqdn_sender(smtpd_check_eval *e, const smtpd_restr *r)
{
    char dom[300];
    if (*e->sender == '\0' || smtpd_check_fqdn(smtpd_check_domain(e->sender, dom, sizeof(dom))))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject_class(e, SMTPD_CHECK_SENDER, 504, "5.5.2",
                                    "need fully-qualified address");
}

int smtpd_check_nonfqdn_rcpt(smtpd_check_eval *e, const smtpd_restr *r)
{
    char dom[300];
    if (smtpd_check_fqdn(smtpd_check_domain(e->rcpt, dom, sizeof(dom))))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject_class(e, SMTPD_CHECK_RECIPIENT, 504, "5.5.2",
                                    "need fully-qualified address");
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 section 4.1.3). */
static bool smtpd_check_addr_literal(const char *h)
{
    size_t n = strlen(h);
    if (n < 3 || h[0] != '[' || h[n - 1] != ']' || n > 60)
        return false;
    char a[64];
    snprintf(a, sizeof(a), "%.*s", (int)(n - 2), h + 1);
    unsigned char bin[16];
    if (strncasecmp(a, "IPv6:", 5) == 0)
        return inet_pton(AF_INET6, a + 5, bin) == 1;
    return inet_pton(AF_INET, a, bin) == 1;
}

int smtpd_check_nonfqdn_helo(smtpd_check_eval *e, const smtpd_restr *r)
{
    const char *h = e->s->helo;
    if (h == NULL || smtpd_check_addr_literal(h) ||
        (strchr(h, '.') != NULL && smtpd_peer_valid_hostname(h)))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject_class(e, SMTPD_CHECK_HELO, 504, "5.5.2",
                                    "need fully-qualified hostname");
}

int smtpd_check_invalid_helo(smtpd_check_eval *e, const smtpd_restr *r)
{
    const char *h = e->s->helo;
    if (h == NULL || smtpd_check_addr_literal(h) || smtpd_peer_valid_hostname(h))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_reject_class(e, SMTPD_CHECK_HELO, 501, "5.5.2", "Invalid name");
}

/* ---- evaluation ---- */

/* Run every list; SMTPD_CHECK_OK, _REJECT (e->reply) or _WAIT. */
static int smtpd_check_eval_lists(smtpd_check_eval *e)
{
    for (int l = 0; l < SMTPD_CHECK_NLISTS; l++) {
        const smtpd_check_rlist *list = &smtpd_check_cf.lists[l];
        e->list = l;
        for (size_t i = 0; i < list->n; i++) {
            int v = list->v[i].op->fn(e, &list->v[i]);
            if (v == SMTPD_CHECK_OK)
                break;
            if (v != SMTPD_CHECK_DUNNO)
                return v;
        }
    }
    /* Postfix's smtpd_reject_unlisted_recipient: after the lists, even
     * when they permitted (a trusted client cannot make an unknown local
     * user known). */
    if (smtpd_check_cf.reject_unlisted_recipient && !e->unlisted_done) {
        e->list = SMTPD_CHECK_RECIPIENT;
        int v = smtpd_check_unlisted(e, NULL);
        if (v != SMTPD_CHECK_DUNNO)
            return v;
    }
    if (e->defer_reply != NULL) {
        mem_free(&e->reply);
        e->reply = e->defer_reply;
        e->defer_reply = NULL;
        return SMTPD_CHECK_REJECT;
    }
    return SMTPD_CHECK_OK;
}

static int smtpd_check_run(smtpd_session *s, const char *addr, bool may_wait,
                           char **reply_r)
{
    smtpd_check_eval e = {
        .s = s, .rcpt = addr, .sender = s->tx && s->tx->sender ? s->tx->sender : "",
        .may_wait = may_wait,
    };
    int v = smtpd_check_eval_lists(&e);
    mem_free(&e.defer_reply);
    if (v == SMTPD_CHECK_REJECT)
        *reply_r = e.reply;
    else
        mem_free(&e.reply);
    return v;
}

int smtpd_check_rcpt(smtpd_session *s, const char *addr, char **reply_r)
{
    smtpd_check_state *st = smtpd_check_state_of(s);
    if (st->ready_addr != NULL && strcmp(st->ready_addr, addr) == 0) {
        /* smtpd_check_wait evaluated this RCPT with its answers in. */
        int result = st->ready_result;
        *reply_r = st->ready_reply;
        st->ready_reply = NULL;
        mem_free(&st->ready_addr);
        return result;
    }
    mem_free(&st->ready_addr);
    mem_free(&st->ready_reply);
    /* Without a wait first (no restriction asks the DNS), nothing is
     * missing; were an answer missing anyway, it counts as a temporary
     * failure instead of stalling the process. */
    return smtpd_check_run(s, addr, false, reply_r) == SMTPD_CHECK_OK ? 1 : 0;
}

bool smtpd_check_wait(smtpd_session *s, const char *line)
{
    if (!smtpd_check_cf.uses_dns || s->tx == NULL ||
        !(s->state & (SMTPD_ST_MAIL | SMTPD_ST_RCPT)) ||
        strncasecmp(line, "RCPT", 4) != 0 || (line[4] != ' ' && line[4] != '\0'))
        return false;
    smtpd_check_state *st = smtpd_check_state_of(s);
    mem_free(&st->ready_addr);
    mem_free(&st->ready_reply);
    const char *p = line + 4;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "TO:", 3) != 0)
        return false;
    /* The same parse as smtpd_cmd's RCPT: what it refuses is not checked. */
    char *addr = NULL;
    const char *end, *why;
    int flags = MAIL_ADDR_POSTMASTER_OK | MAIL_ADDR_LENIENT | MAIL_ADDR_UTF8_OK;
    if (mail_addr_parse_path(p + 3, flags, &addr, &end, &why) != 0 ||
        s->tx->rcpt_ok >= smtpd_cf.recipient_limit ||
        (!s->tx->smtputf8 && mail_addr_is_8bit(addr))) {
        mem_free(&addr);
        return false;
    }
    /* A new recipient (not the same one again after an answer) may
     * start the session's answers over. */
    if (!st->in_eval && st->ncache >= SMTPD_CHECK_CACHE_MAX)
        smtpd_check_dns_clear(st);
    char *reply = NULL;
    int v = smtpd_check_run(s, addr, true, &reply);
    st->in_eval = v == SMTPD_CHECK_WAIT;
    if (v == SMTPD_CHECK_WAIT) {
        mem_free(&addr);
        s->where = "RCPT"; /* "lost connection after RCPT" meanwhile */
        return true;
    }
    st->ready_addr = addr;
    st->ready_result = v == SMTPD_CHECK_OK ? 1 : 0;
    st->ready_reply = reply;
    return false;
}
