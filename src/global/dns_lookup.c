/*
 * dns_lookup - MX, A and AAAA lookups for the delivery agents with c-ares;
 * see dns_lookup.h for the rules (RFC 5321 section 5.1, RFC 7505).
 *
 * One c-ares channel per dns_lookup_dest call: the agents call it once per
 * delivery request, in their own process, so there is nothing to share and
 * nothing to keep.  Queries of one step (A and AAAA of a host) go out
 * together and are waited for with poll(2).
 */
#include "global/dns_lookup.h"

#include <arpa/inet.h>
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/msg.h"

/* DNS types (RFC 1035, RFC 3596). */
#define DNS_T_A 1
#define DNS_T_MX 15
#define DNS_T_AAAA 28
#define DNS_C_IN 1

/* Postfix's texts for the resolver outcomes (its dns_strerror table), so
 * that log lines match theirs word for word. */
#define DNS_TXT_NOTFOUND "Host not found"
#define DNS_TXT_TRYAGAIN "Host not found, try again"
#define DNS_TXT_NODATA "Host found but no data record of requested type"

/* ---- ordering (pure, tested) ---- */

static int dns_mx_cmp(const void *a, const void *b)
{
    const dns_mx *x = a, *y = b;
    return (x->pref > y->pref) - (x->pref < y->pref);
}

void dns_mx_order(dns_mx *v, size_t n, unsigned (*rnd)(unsigned n))
{
    qsort(v, n, sizeof(*v), dns_mx_cmp);
    /* Fisher-Yates within each run of equal preference (RFC 5321 section
     * 5.1: the client randomizes among equal preferences). */
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && v[end].pref == v[start].pref)
            end++;
        for (size_t i = end - start; i > 1; i--) {
            size_t j = start + rnd((unsigned)i);
            dns_mx tmp = v[start + i - 1];
            v[start + i - 1] = v[j];
            v[j] = tmp;
        }
        start = end;
    }
}

static bool dns_name_eq(const char *a, const char *b)
{
    /* Names compare without case and without a trailing dot. */
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

size_t dns_mx_drop_self(dns_mx *v, size_t n, const char *self, bool *looped_r)
{
    *looped_r = false;
    if (self == NULL || *self == '\0')
        return n;
    for (size_t i = 0; i < n; i++) {
        if (dns_name_eq(v[i].host, self)) {
            /* v is sorted: everything from the first with this
             * preference on is as bad or worse than ourselves. */
            size_t keep = i;
            while (keep > 0 && v[keep - 1].pref == v[i].pref)
                keep--;
            *looped_r = true;
            return keep;
        }
    }
    return n;
}

bool dns_mx_is_null(const dns_mx *v, size_t n)
{
    /* RFC 7505 section 3: a single MX, preference 0, exchange ".". */
    return n == 1 && v[0].pref == 0 &&
           (v[0].host[0] == '\0' || strcmp(v[0].host, ".") == 0);
}

int dns_servers_csv(char **entries, char *out, size_t outlen)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; entries && entries[i]; i++) {
        char host[DNS_ADDR_TEXT];
        const char *e = entries[i], *port = NULL;
        unsigned char tmp[16];
        if (e[0] == '[') {
            const char *close = strchr(e, ']');
            if (close == NULL || (size_t)(close - e - 1) >= sizeof(host))
                return -1;
            memcpy(host, e + 1, (size_t)(close - e - 1));
            host[close - e - 1] = '\0';
            if (close[1] == ':')
                port = close + 2;
            else if (close[1] != '\0')
                return -1;
        } else {
            const char *colon = strchr(e, ':');
            if (colon != NULL && strchr(colon + 1, ':') != NULL)
                colon = NULL; /* a bare IPv6 address */
            size_t hl = colon ? (size_t)(colon - e) : strlen(e);
            if (hl >= sizeof(host))
                return -1;
            memcpy(host, e, hl);
            host[hl] = '\0';
            if (colon)
                port = colon + 1;
        }
        bool v6 = inet_pton(AF_INET6, host, tmp) == 1;
        if (!v6 && inet_pton(AF_INET, host, tmp) != 1)
            return -1;
        if (port != NULL) {
            char *endp;
            long p = strtol(port, &endp, 10);
            if (*port == '\0' || *endp != '\0' || p <= 0 || p > 65535)
                return -1;
        }
        int w = snprintf(out + len, outlen - len, "%s%s%s%s%s%s",
                         len ? "," : "", v6 ? "[" : "", host, v6 ? "]" : "",
                         port ? ":" : "", port ? port : "");
        if (w < 0 || (size_t)w >= outlen - len)
            return -1;
        len += (size_t)w;
    }
    return 0;
}

/* ---- the resolver ---- */

typedef struct dns_answer {
    int status;             /* ARES_* */
    unsigned char *abuf;
    int alen;
    bool done;
} dns_answer;

static void dns_answer_cb(void *arg, int status, int timeouts,
                          unsigned char *abuf, int alen)
{
    dns_answer *a = arg;
    a->status = status;
    a->done = true;
    if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
        a->abuf = mem_dup(abuf, (size_t)alen);
        a->alen = alen;
    }
}

static void dns_answer_free(dns_answer *a)
{
    mem_free(&a->abuf);
    a->alen = 0;
}

static ares_channel dns_channel_new(dns_error *err)
{
    static bool inited;
    if (!inited) {
        if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
            msg_fatal("c-ares: library initialisation failed");
        inited = true;
    }
    struct ares_options o = {0};
    /* Names are absolute: no search list (RFC 5321 section 5.1 looks up
     * the domain as given). */
    o.flags = ARES_FLAG_NOSEARCH;
    o.timeout = 2000; /* per try, milliseconds */
    o.tries = 3;
    ares_channel ch;
    int r = ares_init_options(&ch, &o,
                              ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
                                  ARES_OPT_TRIES);
    if (r != ARES_SUCCESS) {
        snprintf(err->dsn, sizeof(err->dsn), "4.3.0");
        snprintf(err->text, sizeof(err->text), "resolver initialisation: %s",
                 ares_strerror(r));
        return NULL;
    }
    char **servers = var_list("dns_servers");
    if (servers && servers[0]) {
        char csv[1024];
        if (dns_servers_csv(servers, csv, sizeof(csv)) < 0)
            msg_fatal("dns_servers: not a list of address[:port]: %s",
                      var_str("dns_servers"));
        r = ares_set_servers_ports_csv(ch, csv);
        if (r != ARES_SUCCESS)
            msg_fatal("dns_servers: %s: %s", csv, ares_strerror(r));
    }
    conf_free_list(&servers);
    return ch;
}

/* Run the channel until every query sent so far has its answer. */
static void dns_wait(ares_channel ch)
{
    for (;;) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        int n = 0;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = 0;
            /* c-ares' ARES_GETSOCK_* macros shift a signed 1 into the
             * sign bit for the last socket (undefined): unsigned here. */
            if (((unsigned)bits >> i) & 1u)
                ev |= POLLIN;
            if (((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
                ev |= POLLOUT;
            if (ev == 0)
                continue;
            pfd[n].fd = socks[i];
            pfd[n].events = ev;
            pfd[n].revents = 0;
            n++;
        }
        if (n == 0)
            return; /* nothing pending: all callbacks have run */
        struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
        int ms = tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
        int r = poll(pfd, (nfds_t)n, ms);
        if (r < 0 && errno != EINTR)
            msg_fatal("poll: %m");
        if (r <= 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
            continue;
        }
        for (int i = 0; i < n; i++) {
            ares_socket_t rd = ARES_SOCKET_BAD, wr = ARES_SOCKET_BAD;
            if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
                rd = pfd[i].fd;
            if (pfd[i].revents & POLLOUT)
                wr = pfd[i].fd;
            if (rd != ARES_SOCKET_BAD || wr != ARES_SOCKET_BAD)
                ares_process_fd(ch, rd, wr);
        }
    }
}

static const char *dns_type_name(int type)
{
    return type == DNS_T_MX ? "MX" : type == DNS_T_AAAA ? "AAAA" : "A";
}

/* Postfix's classes: NXDOMAIN is "not found" (permanent), no record of
 * the type is "no data" (permanent), everything else (SERVFAIL, REFUSED,
 * timeouts, no server) may go away: "try again". */
static bool dns_status_temporary(int status)
{
    return status != ARES_ENOTFOUND && status != ARES_ENODATA &&
           status != ARES_EBADNAME && status != ARES_SUCCESS;
}

static void dns_set_error(dns_error *err, const char *name, int type,
                          int status)
{
    const char *what = status == ARES_ENOTFOUND || status == ARES_EBADNAME
                           ? DNS_TXT_NOTFOUND
                       : status == ARES_ENODATA ? DNS_TXT_NODATA
                                                : DNS_TXT_TRYAGAIN;
    snprintf(err->dsn, sizeof(err->dsn), "%s",
             dns_status_temporary(status) ? "4.4.3" : "5.4.4");
    snprintf(err->text, sizeof(err->text),
             "Host or domain name not found. Name service error for "
             "name=%s type=%s: %s",
             name, dns_type_name(type), what);
}

static void dns_list_add(dns_addr_list *l, const char *host, int pref,
                         int family, const void *addr)
{
    /* The same address twice (two MX names for one host) is tried once. */
    size_t alen = family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].family == family && memcmp(l->v[i].addr, addr, alen) == 0)
            return;
    l->v = mem_realloc(l->v, (l->n + 1) * sizeof(*l->v));
    dns_addr *a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    snprintf(a->host, sizeof(a->host), "%s", host);
    a->pref = pref;
    a->family = family;
    memcpy(a->addr, addr, alen);
    inet_ntop(family, addr, a->text, sizeof(a->text));
}

void dns_addr_list_free(dns_addr_list *list)
{
    mem_free(&list->v);
    list->n = 0;
}

static void dns_families(bool *v4_r, bool *v6_r)
{
    char **v = var_list("inet_protocols");
    *v4_r = *v6_r = false;
    for (size_t i = 0; v && v[i]; i++) {
        if (strcasecmp(v[i], "all") == 0)
            *v4_r = *v6_r = true;
        else if (strcasecmp(v[i], "ipv4") == 0)
            *v4_r = true;
        else if (strcasecmp(v[i], "ipv6") == 0)
            *v6_r = true;
    }
    if (!*v4_r && !*v6_r)
        *v4_r = *v6_r = true;
    conf_free_list(&v);
}

/* /etc/hosts first (the administrator's word beats the DNS's, as with
 * Postfix's smtp_host_lookup = dns, native).  Returns how many addresses
 * it added. */
static size_t dns_hosts_file(ares_channel ch, const char *host, int pref,
                             bool v4, bool v6, dns_addr_list *l)
{
    size_t before = l->n;
    int fams[2] = {v4 ? AF_INET : 0, v6 ? AF_INET6 : 0};
    for (int f = 0; f < 2; f++) {
        if (fams[f] == 0)
            continue;
        struct hostent *he = NULL;
        if (ares_gethostbyname_file(ch, host, fams[f], &he) != ARES_SUCCESS ||
            he == NULL)
            continue;
        for (char **ap = he->h_addr_list; ap && *ap; ap++)
            dns_list_add(l, host, pref, he->h_addrtype, *ap);
        ares_free_hostent(he);
    }
    return l->n - before;
}

/* The addresses of one host.  0 with addresses added, or -1 with err. */
static int dns_lookup_host(ares_channel ch, const char *host, int pref,
                           dns_addr_list *l, dns_error *err)
{
    bool v4, v6;
    dns_families(&v4, &v6);
    unsigned char lit[16];
    if (inet_pton(AF_INET, host, lit) == 1) {
        dns_list_add(l, host, pref, AF_INET, lit);
        return 0;
    }
    if (inet_pton(AF_INET6, host, lit) == 1) {
        dns_list_add(l, host, pref, AF_INET6, lit);
        return 0;
    }
    if (dns_hosts_file(ch, host, pref, v4, v6, l) > 0)
        return 0;
    dns_answer a4 = {0}, a6 = {0};
    if (v4)
        ares_query(ch, host, DNS_C_IN, DNS_T_A, dns_answer_cb, &a4);
    if (v6)
        ares_query(ch, host, DNS_C_IN, DNS_T_AAAA, dns_answer_cb, &a6);
    dns_wait(ch);
    size_t before = l->n;
    if (v4 && a4.status == ARES_SUCCESS) {
        struct ares_addrttl t[32];
        int nt = 32;
        if (ares_parse_a_reply(a4.abuf, a4.alen, NULL, t, &nt) == ARES_SUCCESS)
            for (int i = 0; i < nt; i++)
                dns_list_add(l, host, pref, AF_INET, &t[i].ipaddr);
        else
            a4.status = ARES_EBADRESP;
    }
    if (v6 && a6.status == ARES_SUCCESS) {
        struct ares_addr6ttl t[32];
        int nt = 32;
        if (ares_parse_aaaa_reply(a6.abuf, a6.alen, NULL, t, &nt) ==
            ARES_SUCCESS)
            for (int i = 0; i < nt; i++)
                dns_list_add(l, host, pref, AF_INET6, &t[i].ip6addr);
        else
            a6.status = ARES_EBADRESP;
    }
    dns_answer_free(&a4);
    dns_answer_free(&a6);
    if (l->n > before)
        return 0;
    /* No address: the most hopeful reason wins (a temporary failure of
     * either query means "try again later"), then A's. */
    if (v4 && dns_status_temporary(a4.status))
        dns_set_error(err, host, DNS_T_A, a4.status);
    else if (v6 && dns_status_temporary(a6.status))
        dns_set_error(err, host, DNS_T_AAAA, a6.status);
    else if (v4 && a4.status == ARES_ENOTFOUND)
        dns_set_error(err, host, DNS_T_A, a4.status);
    else if (v6 && a6.status != ARES_SUCCESS)
        dns_set_error(err, host, DNS_T_AAAA, a6.status);
    else
        dns_set_error(err, host, v4 ? DNS_T_A : DNS_T_AAAA,
                      v4 ? a4.status : a6.status);
    return -1;
}

static unsigned dns_random(unsigned n)
{
    return arc4random_uniform(n);
}

/* The MX records of domain.  Returns 1 with *mx_r, 0 for "no MX record"
 * (implicit MX), -1 with err. */
static int dns_lookup_mx(ares_channel ch, const char *domain, dns_mx **mx_r,
                         size_t *n_r, dns_error *err)
{
    dns_answer a = {0};
    ares_query(ch, domain, DNS_C_IN, DNS_T_MX, dns_answer_cb, &a);
    dns_wait(ch);
    if (a.status == ARES_ENODATA) {
        dns_answer_free(&a);
        return 0;
    }
    struct ares_mx_reply *head = NULL;
    if (a.status == ARES_SUCCESS &&
        ares_parse_mx_reply(a.abuf, a.alen, &head) != ARES_SUCCESS)
        a.status = ARES_EBADRESP;
    dns_answer_free(&a);
    if (a.status != ARES_SUCCESS) {
        dns_set_error(err, domain, DNS_T_MX, a.status);
        return -1;
    }
    size_t n = 0;
    for (struct ares_mx_reply *p = head; p; p = p->next)
        n++;
    if (n == 0) {
        ares_free_data(head);
        return 0; /* an answer holding only other types (a CNAME) */
    }
    dns_mx *v = mem_zalloc(n * sizeof(*v));
    size_t i = 0;
    for (struct ares_mx_reply *p = head; p; p = p->next, i++) {
        snprintf(v[i].host, sizeof(v[i].host), "%s", p->host ? p->host : "");
        v[i].pref = p->priority;
    }
    ares_free_data(head);
    *mx_r = v;
    *n_r = n;
    return 1;
}

int dns_lookup_dest(const char *name, bool mx, dns_addr_list *list_r,
                    dns_error *err_r)
{
    memset(list_r, 0, sizeof(*list_r));
    memset(err_r, 0, sizeof(*err_r));
    ares_channel ch = dns_channel_new(err_r);
    if (ch == NULL)
        return -1;
    int ret = -1;
    dns_mx *v = NULL;
    size_t n = 0;
    int r = mx ? dns_lookup_mx(ch, name, &v, &n, err_r) : 0;
    if (r < 0)
        goto out;
    if (r == 0) {
        /* No MX: the host itself (RFC 5321 section 5.1, implicit MX). */
        ret = dns_lookup_host(ch, name, -1, list_r, err_r);
        goto out;
    }
    if (dns_mx_is_null(v, n)) {
        /* RFC 7505 section 4.1: permanent, with 5.1.10. */
        snprintf(err_r->dsn, sizeof(err_r->dsn), "5.1.10");
        snprintf(err_r->text, sizeof(err_r->text),
                 "Domain %s does not accept mail (nullMX)", name);
        goto out;
    }
    dns_mx_order(v, n, dns_random);
    bool looped;
    n = dns_mx_drop_self(v, n, var_str("myhostname"), &looped);
    if (n == 0) {
        snprintf(err_r->dsn, sizeof(err_r->dsn), "5.4.6");
        snprintf(err_r->text, sizeof(err_r->text),
                 "mail for %s loops back to myself", name);
        goto out;
    }
    /* Every host's addresses, in MX order.  A host that does not resolve
     * is skipped; its error is reported only when no host is left, and a
     * temporary one then wins (the mail may still go later). */
    dns_error first = {{0}, {0}};
    for (size_t i = 0; i < n; i++) {
        dns_error e;
        if (dns_lookup_host(ch, v[i].host, v[i].pref, list_r, &e) < 0 &&
            (first.dsn[0] == '\0' || (e.dsn[0] == '4' && first.dsn[0] != '4')))
            first = e;
    }
    if (list_r->n > 0)
        ret = 0;
    else
        *err_r = first;
out:
    mem_free(&v);
    ares_destroy(ch);
    if (ret < 0)
        dns_addr_list_free(list_r);
    return ret;
}
