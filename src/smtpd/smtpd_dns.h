/*
 * smtpd_dns - the few DNS messages smtpd needs: to name a client, a PTR
 * query for its address and an A/AAAA query to confirm the name; for the
 * restrictions (smtpd_check_dns.c), A and TXT of DNSBL names and MX of
 * sender and recipient domains (RFC 1035 section 4 message format and
 * 3.3.9 MX, 3.3.14 TXT; RFC 3596 for AAAA and ip6.arpa).
 *
 * Pure functions over byte buffers: building a query and reading the
 * answers of a response, with name decompression (RFC 1035 section 4.1.4)
 * bounded so that a hostile response cannot loop or read out of bounds.
 * The sending, waiting and time limits are smtpd_peer's.
 *
 * Does not: recursion, TCP fallback, EDNS, DNSSEC, caching.
 */
#ifndef POSTIE_SMTPD_SMTPD_DNS_H
#define POSTIE_SMTPD_SMTPD_DNS_H

#include <stddef.h>
#include <stdint.h>

#define SMTPD_DNS_T_A 1
#define SMTPD_DNS_T_PTR 12
#define SMTPD_DNS_T_MX 15
#define SMTPD_DNS_T_TXT 16
#define SMTPD_DNS_T_AAAA 28

#define SMTPD_DNS_NAME_MAX 256

/* One answer: a name (PTR, MX), an address (A: 4 bytes, AAAA: 16) or a
 * text (TXT: its strings joined, control characters as '?', cut to fit). */
typedef struct smtpd_dns_rr {
    int type;
    char name[SMTPD_DNS_NAME_MAX]; /* PTR/MX target, no trailing dot; TXT */
    unsigned char addr[16];
    int pref;                      /* MX preference */
} smtpd_dns_rr;

/* The PTR owner name of a printable address ("4.3.2.1.in-addr.arpa").
 * Returns 0, or -1 when addr does not parse. */
int smtpd_dns_ptr_name(const char *addr, char *out, size_t outlen);
/* A query with recursion desired.  Returns its length, or -1. */
/* A fresh query ID from the kernel's random source: IDs must not be
 * guessable, or an off-path sender could forge answers (RFC 5452 §4). */
uint16_t smtpd_dns_new_id(void);
int smtpd_dns_query(unsigned char *out, size_t outlen, uint16_t id,
                    const char *name, int qtype);
/* The answers of type qtype in a response to query id.  Returns how many
 * were stored (up to max), 0 for none or NXDOMAIN, -1 for a malformed
 * response or one that is not ours. */
int smtpd_dns_answers(const unsigned char *p, size_t n, uint16_t id, int qtype,
                      smtpd_dns_rr *rr, int max);

#endif
