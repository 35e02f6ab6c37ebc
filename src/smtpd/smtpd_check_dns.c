/*
 * smtpd_check_dns - the restrictions that ask the DNS, and the asking:
 *
 *   reject_rbl_client zone[=d.d.d.d]   A of the reversed client address
 *                                      under zone (RFC 5782 section 2.1:
 *                                      IPv4 octets, IPv6 nibbles), an
 *                                      answer in 127.0.0.0/8 (or exactly
 *                                      d.d.d.d) lists it; the TXT of the
 *                                      same name is the reason
 *   reject_rhsbl_client/helo/sender/recipient zone
 *                                      A of the name (client name, HELO
 *                                      name, sender or recipient domain)
 *                                      under zone (RFC 5782 section 2.2)
 *   reject_unknown_sender_domain,
 *   reject_unknown_recipient_domain    no MX, no A and no AAAA: the domain
 *                                      does not exist for mail; a null MX
 *                                      (RFC 7505) refuses mail
 *
 * Asking: smtpd's own UDP messages (smtpd_dns.c) to the name server smtpd
 * names clients with (dns_servers, else /etc/resolv.conf), one question
 * at a time per session, SMTPD_CHECK_DNS_TIMEOUT seconds each, without
 * blocking the process: the evaluation stops (SMTPD_CHECK_WAIT), the
 * session waits, and the answer event wakes it.  Answers are kept for the
 * session, so a client's listing is asked about once however many
 * recipients it sends.  A name server that fails or does not answer is a
 * temporary failure: a DNSBL is then not applied (Postfix's rule: an
 * unreachable list must not refuse all mail), an unknown domain check
 * defers only what would otherwise be accepted (defer_if_permit).
 *
 * Does not: TCP fallback for truncated answers (a temporary failure),
 * DNSBL reply maps or weights (postscreen's business), answer filters
 * other than one address.
 */
#include "smtpd/smtpd_check_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "global/mail_addr.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

smtpd_check_state *smtpd_check_state_of(smtpd_session *s)
{
    if (s->check == NULL) {
        s->check = mem_zalloc(sizeof(*s->check));
        s->check->fd = -1;
    }
    return s->check;
}

void smtpd_check_dns_clear(smtpd_check_state *st)
{
    for (size_t i = 0; i < st->ncache; i++)
        mem_free(&st->cache[i].name);
    mem_free(&st->cache);
    st->ncache = 0;
}

void smtpd_check_cancel(smtpd_session *s)
{
    smtpd_check_state *st = s->check;
    s->waiting = false;
    if (st == NULL)
        return;
    if (st->timer != 0)
        event_cancel(st->timer);
    st->timer = 0;
    if (st->fd >= 0) {
        event_remove(st->fd);
        close(st->fd);
    }
    st->fd = -1;
    st->in_eval = false;
}

void smtpd_check_free(smtpd_session *s)
{
    if (s->check == NULL)
        return;
    smtpd_check_cancel(s);
    smtpd_check_dns_clear(s->check);
    mem_free(&s->check->ready_addr);
    mem_free(&s->check->ready_reply);
    mem_free(&s->check);
}

void smtpd_check_dns_store(smtpd_session *s, const char *name, int type,
                           int status, const smtpd_dns_rr *rr, int n)
{
    smtpd_check_state *st = smtpd_check_state_of(s);
    st->cache = mem_realloc(st->cache, (st->ncache + 1) * sizeof(*st->cache));
    smtpd_check_answer *a = &st->cache[st->ncache++];
    memset(a, 0, sizeof(*a));
    a->name = mem_strdup(name);
    for (char *p = a->name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    a->type = type;
    a->status = status;
    a->n = n > 4 ? 4 : n;
    if (a->n > 0)
        memcpy(a->rr, rr, (size_t)a->n * sizeof(*rr));
}

/* The question is answered (or given up): keep it, wake the session. */
static void smtpd_check_dns_done(smtpd_session *s, int status,
                                 const smtpd_dns_rr *rr, int n)
{
    smtpd_check_state *st = s->check;
    char name[SMTPD_DNS_NAME_MAX];
    snprintf(name, sizeof(name), "%s", st->qname);
    int type = st->qtype;
    bool in_eval = st->in_eval;
    smtpd_check_cancel(s); /* closes the socket, clears s->waiting */
    st->in_eval = in_eval;
    smtpd_check_dns_store(s, name, type, status, rr, n);
    smtpd_session_wake(s); /* the RCPT line runs again */
}

static void smtpd_check_dns_timeout(void *ctx)
{
    smtpd_session *s = ctx;
    s->check->timer = 0;
    smtpd_check_dns_done(s, SMTPD_CHECK_DNS_TEMP, NULL, 0);
}

static void smtpd_check_dns_event(int fd, int events, void *ctx)
{
    smtpd_session *s = ctx;
    smtpd_check_state *st = s->check;
    unsigned char p[4096];
    ssize_t n = recv(fd, p, sizeof(p), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        smtpd_check_dns_done(s, SMTPD_CHECK_DNS_TEMP, NULL, 0); /* ICMP unreachable */
        return;
    }
    /* Not a response to this question: keep waiting for the right one. */
    if (n < 12 || (((unsigned)p[0] << 8) | p[1]) != st->id || !(p[2] & 0x80))
        return;
    int rcode = p[3] & 15;
    smtpd_dns_rr rr[4];
    if (rcode == 3) {
        smtpd_check_dns_done(s, SMTPD_CHECK_DNS_NONE, NULL, 0);
    } else if (rcode != 0 || (p[2] & 0x02)) {
        /* SERVFAIL, REFUSED, ... or truncated. */
        smtpd_check_dns_done(s, SMTPD_CHECK_DNS_TEMP, NULL, 0);
    } else {
        int k = smtpd_dns_answers(p, (size_t)n, st->id, st->qtype, rr, 4);
        if (k < 0)
            smtpd_check_dns_done(s, SMTPD_CHECK_DNS_TEMP, NULL, 0);
        else
            smtpd_check_dns_done(s, k ? SMTPD_CHECK_DNS_FOUND : SMTPD_CHECK_DNS_NONE, rr, k);
    }
}

/* Send the question; 0, or -1 when it cannot be sent. */
static int smtpd_check_dns_ask(smtpd_session *s, const char *name, int type)
{
    smtpd_check_state *st = s->check;
    const struct sockaddr *srv = (const struct sockaddr *)&smtpd_cf.dns_server;
    unsigned char q[300];
    st->id = smtpd_dns_new_id();
    int qn = smtpd_dns_query(q, sizeof(q), st->id, name, type);
    if (qn < 0)
        return -1;
    int fd = socket(srv->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* connect(): the kernel then drops datagrams from anyone else. */
    if (connect(fd, srv, smtpd_cf.dns_server_len) < 0 ||
        send(fd, q, (size_t)qn, 0) != qn) {
        close(fd);
        return -1;
    }
    st->fd = fd;
    snprintf(st->qname, sizeof(st->qname), "%s", name);
    st->qtype = type;
    event_add(fd, EVENT_READ, smtpd_check_dns_event, s);
    st->timer = event_timer(SMTPD_CHECK_DNS_TIMEOUT, smtpd_check_dns_timeout, s);
    return 0;
}

int smtpd_check_dns_lookup(smtpd_check_eval *e, const char *name, int type,
                           const smtpd_check_answer **a_r)
{
    static smtpd_check_answer temp = {.status = SMTPD_CHECK_DNS_TEMP};
    smtpd_check_state *st = smtpd_check_state_of(e->s);
    /* (An answer returned here is used before the next lookup, which may
     * move the cache.) */
    for (size_t i = 0; i < st->ncache; i++) {
        if (st->cache[i].type == type && strcasecmp(st->cache[i].name, name) == 0) {
            *a_r = &st->cache[i];
            return 0;
        }
    }
    /* No name server, no way to wait, or a full cache in the middle of
     * one recipient's answers (so that no evaluation can go round in
     * circles): a temporary failure. */
    if (!e->may_wait || smtpd_cf.dns_server_len == 0 || st->fd >= 0 ||
        st->ncache >= SMTPD_CHECK_CACHE_MAX) {
        *a_r = &temp;
        return 0;
    }
    if (smtpd_check_dns_ask(e->s, name, type) < 0) {
        smtpd_check_dns_store(e->s, name, type, SMTPD_CHECK_DNS_TEMP, NULL, 0);
        *a_r = &st->cache[st->ncache - 1];
        return 0;
    }
    st->in_eval = true;
    return SMTPD_CHECK_WAIT;
}

int smtpd_check_dns_rbl_name(const char *addr, const char *zone, char *out,
                             size_t outlen)
{
    unsigned char a[16];
    int n;
    if (inet_pton(AF_INET, addr, a) == 1) {
        n = snprintf(out, outlen, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
    } else if (inet_pton(AF_INET6, addr, a) == 1) {
        static const char hex[] = "0123456789abcdef";
        char nib[64];
        size_t o = 0;
        for (int i = 15; i >= 0; i--) {
            nib[o++] = hex[a[i] & 15];
            nib[o++] = '.';
            nib[o++] = hex[a[i] >> 4];
            nib[o++] = '.';
        }
        n = snprintf(out, outlen, "%.*s%s", (int)o, nib, zone);
    } else {
        return -1;
    }
    return n < 0 || (size_t)n >= outlen || (size_t)n > 253 ? -1 : 0;
}

/* Is name listed in r's zone?  what is the thing named in the reply
 * ("Client host [192.0.2.9]"). */
static int smtpd_check_dns_listed(smtpd_check_eval *e, const smtpd_restr *r,
                                  const char *name, const char *class,
                                  const char *what)
{
    const smtpd_check_answer *a;
    if (smtpd_check_dns_lookup(e, name, SMTPD_DNS_T_A, &a) == SMTPD_CHECK_WAIT)
        return SMTPD_CHECK_WAIT;
    bool hit = false;
    for (int i = 0; a->status == SMTPD_CHECK_DNS_FOUND && i < a->n && !hit; i++)
        /* RFC 5782 section 2.3: listings answer in 127.0.0.0/8; anything
         * else is a wildcard or a broken list. */
        hit = a->rr[i].addr[0] == 127 &&
              (!r->has_want || memcmp(a->rr[i].addr, r->want, 4) == 0);
    if (!hit)
        return SMTPD_CHECK_DUNNO;
    const smtpd_check_answer *t;
    if (smtpd_check_dns_lookup(e, name, SMTPD_DNS_T_TXT, &t) == SMTPD_CHECK_WAIT)
        return SMTPD_CHECK_WAIT;
    const char *reason = t->status == SMTPD_CHECK_DNS_FOUND && t->n > 0 ? t->rr[0].name : "";
    int code = smtpd_check_cf.rbl_code;
    return smtpd_check_reject(e, "%d %s Service unavailable; %s [%s] blocked using %s%s%.200s",
                              code, code >= 500 ? "5.7.1" : "4.7.1", class, what, r->arg,
                              *reason ? "; " : "", reason);
}

int smtpd_check_dns_rbl_client(smtpd_check_eval *e, const smtpd_restr *r)
{
    char name[300];
    if (smtpd_check_dns_rbl_name(e->s->addr, r->arg, name, sizeof(name)) < 0)
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_dns_listed(e, r, name, "Client host", e->s->addr);
}

/* RHSBL: domain under the zone, when domain is a host name. */
static int smtpd_check_dns_rhsbl(smtpd_check_eval *e, const smtpd_restr *r,
                                 const char *domain, const char *class,
                                 const char *what)
{
    char name[600];
    if (*domain == '\0' || !smtpd_peer_valid_hostname(domain) ||
        (size_t)snprintf(name, sizeof(name), "%s.%s", domain, r->arg) > 253)
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_dns_listed(e, r, name, class, what);
}

int smtpd_check_dns_rhsbl_client(smtpd_check_eval *e, const smtpd_restr *r)
{
    if (strcmp(e->s->name, "unknown") == 0)
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_dns_rhsbl(e, r, e->s->name, "Client host", e->s->name);
}

int smtpd_check_dns_rhsbl_helo(smtpd_check_eval *e, const smtpd_restr *r)
{
    if (e->s->helo == NULL)
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_dns_rhsbl(e, r, e->s->helo, "Helo command", e->s->helo);
}

int smtpd_check_dns_rhsbl_sender(smtpd_check_eval *e, const smtpd_restr *r)
{
    char dom[300];
    smtpd_check_domain(e->sender, dom, sizeof(dom));
    return smtpd_check_dns_rhsbl(e, r, dom, "Sender address", e->sender);
}

int smtpd_check_dns_rhsbl_rcpt(smtpd_check_eval *e, const smtpd_restr *r)
{
    char dom[300];
    smtpd_check_domain(e->rcpt, dom, sizeof(dom));
    return smtpd_check_dns_rhsbl(e, r, dom, "Recipient address", e->rcpt);
}

/* The reply for a domain the DNS could not tell about: only when the
 * verdict would otherwise be accept (Postfix's defer_if_permit). */
static int smtpd_check_dns_defer_if_permit(smtpd_check_eval *e, int list,
                                           const char *detail)
{
    if (e->defer_reply == NULL) {
        char dsn[8];
        snprintf(dsn, sizeof(dsn), "4.%s", detail);
        smtpd_check_reject_class(e, list, 450, dsn, "Domain not found");
        e->defer_reply = e->reply;
        e->reply = NULL;
    }
    return SMTPD_CHECK_DUNNO;
}

/* Does domain exist for mail: MX, else A, else AAAA (RFC 5321 section
 * 5.1)?  detail is the DSN detail ("1.8" sender, "1.2" recipient). */
static int smtpd_check_dns_unknown(smtpd_check_eval *e, const char *domain,
                                   int list, const char *detail,
                                   const char *nullmx_dsn)
{
    if (*domain == '\0' || domain[0] == '[')
        return SMTPD_CHECK_DUNNO; /* no domain, or an address literal */
    static const int types[] = {SMTPD_DNS_T_MX, SMTPD_DNS_T_A, SMTPD_DNS_T_AAAA};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const smtpd_check_answer *a;
        if (smtpd_check_dns_lookup(e, domain, types[i], &a) == SMTPD_CHECK_WAIT)
            return SMTPD_CHECK_WAIT;
        if (a->status == SMTPD_CHECK_DNS_TEMP)
            return smtpd_check_dns_defer_if_permit(e, list, detail);
        if (a->status != SMTPD_CHECK_DNS_FOUND)
            continue;
        if (types[i] == SMTPD_DNS_T_MX && a->n == 1 && a->rr[0].name[0] == '\0') {
            /* RFC 7505 section 4: the domain accepts no mail at all. */
            char text[400];
            snprintf(text, sizeof(text), "Domain %s does not accept mail (nullMX)", domain);
            return smtpd_check_reject_class(e, list, 556, nullmx_dsn, text);
        }
        return SMTPD_CHECK_DUNNO;
    }
    int code = smtpd_check_cf.unknown_address_code;
    char dsn[8];
    snprintf(dsn, sizeof(dsn), "%c.%s", code >= 500 ? '5' : '4', detail);
    return smtpd_check_reject_class(e, list, code, dsn, "Domain not found");
}

int smtpd_check_dns_unknown_sender(smtpd_check_eval *e, const smtpd_restr *r)
{
    char dom[300];
    smtpd_check_domain(e->sender, dom, sizeof(dom));
    return smtpd_check_dns_unknown(e, dom, SMTPD_CHECK_SENDER, "1.8", "5.7.27");
}

int smtpd_check_dns_unknown_rcpt(smtpd_check_eval *e, const smtpd_restr *r)
{
    char dom[300];
    smtpd_check_domain(e->rcpt, dom, sizeof(dom));
    /* Postfix: only for domains this host is not the final destination of. */
    if (mail_addr_domain_is_local(dom))
        return SMTPD_CHECK_DUNNO;
    return smtpd_check_dns_unknown(e, dom, SMTPD_CHECK_RECIPIENT, "1.2", "5.1.10");
}
