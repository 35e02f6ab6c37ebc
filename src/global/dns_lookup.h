/*
 * dns_lookup - where mail for a domain goes: the mail exchangers of a
 * domain and their addresses (RFC 5321 section 5.1), or the addresses of
 * one host, for the smtp and lmtp delivery agents.
 *
 *   - MX records sorted by preference, equal preferences in random order
 *     (RFC 5321 section 5.1: "randomize" among equals, to spread load);
 *   - no MX record at all: the domain's own A/AAAA records (the "implicit
 *     MX" of section 5.1);
 *   - a null MX (RFC 7505: one MX with preference 0 and the root name "."):
 *     the domain accepts no mail, a permanent 5.1.10 failure;
 *   - MX hosts named like this host (myhostname) and those of equal or
 *     worse preference are dropped (section 5.1: a relay must not send to
 *     itself); only those left is "mail loops back to myself" (5.4.6);
 *   - host names are looked up in /etc/hosts first, then in the DNS, A and
 *     AAAA, as inet_protocols allows;
 *   - the DNS servers are those of dns_servers ("host:port" list) when set,
 *     else /etc/resolv.conf's.
 *
 * Failures come back with Postfix's texts and status codes, so log lines
 * read like Postfix's:
 *   "Host or domain name not found. Name service error for name=X
 *    type=MX: Host not found, try again"            (4.4.3, deferred)
 *   "... type=A: Host not found"                     (5.4.4, bounced)
 *
 * Built on c-ares.  The calls wait for their answers (each smtp delivery
 * runs in its own process, so a slow lookup stalls only that delivery);
 * every query is bounded by the resolver's timeout and tries.
 *
 * Does not: cache, DNSSEC/DANE, SRV, TLSA.
 */
#ifndef POSTIE_GLOBAL_DNS_LOOKUP_H
#define POSTIE_GLOBAL_DNS_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>

#define DNS_NAME_MAX 256
#define DNS_ADDR_TEXT 48   /* INET6_ADDRSTRLEN and some */

/* One address to try, in the order to try them. */
typedef struct dns_addr {
    char host[DNS_NAME_MAX];   /* the MX host (or the host itself) */
    int pref;                  /* MX preference; -1 without an MX */
    int family;                /* AF_INET or AF_INET6 */
    unsigned char addr[16];    /* 4 or 16 bytes, network order */
    char text[DNS_ADDR_TEXT];  /* printable address */
} dns_addr;

typedef struct dns_addr_list {
    dns_addr *v;
    size_t n;
} dns_addr_list;

/* A failed lookup: Postfix's text and an RFC 3463 status, "4.4.3" for a
 * failure that may go away (the sender's mail is deferred), else 5.x. */
typedef struct dns_error {
    char dsn[16];
    char text[512];
} dns_error;

/* The mail exchangers of domain and their addresses, in order (mx), or
 * the addresses of one host (!mx; an address literal is taken as is).
 * Returns 0 with at least one address in *list_r (free with
 * dns_addr_list_free), or -1 with *err_r filled. */
int dns_lookup_dest(const char *name, bool mx, dns_addr_list *list_r,
                    dns_error *err_r);
void dns_addr_list_free(dns_addr_list *list);

/* ---- exposed for tests ---- */

typedef struct dns_mx {
    char host[DNS_NAME_MAX];
    int pref;
} dns_mx;

/* Sort by preference and shuffle each run of equal preferences, with
 * rnd(n) returning a number in [0, n). */
void dns_mx_order(dns_mx *v, size_t n, unsigned (*rnd)(unsigned n));
/* Drop this host (self) and everything as bad or worse (RFC 5321 section
 * 5.1).  Returns the new count; *looped_r is set when self was found. */
size_t dns_mx_drop_self(dns_mx *v, size_t n, const char *self,
                        bool *looped_r);
/* Is this MX list a null MX (RFC 7505 section 3)? */
bool dns_mx_is_null(const dns_mx *v, size_t n);
/* "host:port", "[v6]:port", "host" entries as c-ares' server list
 * ("1.2.3.4:53,[::1]:5353").  Returns 0, or -1 for an entry that is not
 * an address. */
int dns_servers_csv(char **entries, char *out, size_t outlen);

#endif
