/*
 * smtpd_dns - DNS query building and response reading; see smtpd_dns.h.
 *
 * Every read is checked against the response length; a compressed name
 * may follow at most 32 pointers (a loop otherwise) and is at most
 * SMTPD_DNS_NAME_MAX octets long.
 */
#include "smtpd/smtpd_dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/msg.h"

int smtpd_dns_ptr_name(const char *addr, char *out, size_t outlen)
{
    unsigned char a[16];
    size_t o = 0;
    if (inet_pton(AF_INET, addr, a) == 1) {
        int n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
        return n < 0 || (size_t)n >= outlen ? -1 : 0;
    }
    if (inet_pton(AF_INET6, addr, a) != 1 || outlen < 64 + 9)
        return -1;
    /* RFC 3596 section 2.5: nibbles in reverse order. */
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[o++] = hex[a[i] & 15];
        out[o++] = '.';
        out[o++] = hex[a[i] >> 4];
        out[o++] = '.';
    }
    snprintf(out + o, outlen - o, "ip6.arpa");
    return 0;
}

int smtpd_dns_query(unsigned char *out, size_t outlen, uint16_t id,
                    const char *name, int qtype)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > 253 || outlen < 12 + nl + 2 + 4)
        return -1;
    memset(out, 0, 12);
    out[0] = (unsigned char)(id >> 8);
    out[1] = (unsigned char)id;
    out[2] = 0x01; /* RD */
    out[5] = 1;    /* QDCOUNT */
    size_t o = 12;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63)
            return -1;
        out[o++] = (unsigned char)l;
        memcpy(out + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (unsigned char)qtype;
    out[o++] = 0;
    out[o++] = 1; /* class IN */
    return (int)o;
}

/* Read a (possibly compressed) name at *off; advance *off past it in the
 * message.  0, or -1. */
static int smtpd_dns_name(const unsigned char *p, size_t n, size_t *off,
                          char *out, size_t outlen)
{
    size_t pos = *off, o = 0;
    int jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= n)
            return -1;
        unsigned char l = p[pos];
        if ((l & 0xc0) == 0xc0) {
            if (pos + 1 >= n || ++jumps > 32)
                return -1;
            if (!jumped)
                *off = pos + 2;
            jumped = true;
            pos = ((size_t)(l & 0x3f) << 8) | p[pos + 1];
            continue;
        }
        if (l & 0xc0)
            return -1;
        pos++;
        if (l == 0)
            break;
        if (pos + l > n || o + l + 2 > outlen)
            return -1;
        if (o > 0)
            out[o++] = '.';
        for (size_t i = 0; i < l; i++)
            out[o++] = (char)tolower(p[pos + i]);
        pos += l;
    }
    if (!jumped)
        *off = pos;
    out[o] = '\0';
    return 0;
}

static unsigned smtpd_dns_u16(const unsigned char *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

int smtpd_dns_answers(const unsigned char *p, size_t n, uint16_t id, int qtype,
                      smtpd_dns_rr *rr, int max)
{
    if (n < 12 || smtpd_dns_u16(p) != id || !(p[2] & 0x80))
        return -1;
    int rcode = p[3] & 15;
    if (rcode == 3)
        return 0; /* NXDOMAIN */
    if (rcode != 0)
        return -1;
    unsigned qd = smtpd_dns_u16(p + 4), an = smtpd_dns_u16(p + 6);
    size_t off = 12;
    char name[SMTPD_DNS_NAME_MAX];
    for (unsigned i = 0; i < qd; i++) {
        if (smtpd_dns_name(p, n, &off, name, sizeof(name)) < 0 || off + 4 > n)
            return -1;
        off += 4;
    }
    int found = 0;
    for (unsigned i = 0; i < an && found < max; i++) {
        if (smtpd_dns_name(p, n, &off, name, sizeof(name)) < 0 || off + 10 > n)
            return -1;
        unsigned type = smtpd_dns_u16(p + off), class = smtpd_dns_u16(p + off + 2);
        size_t rdlen = smtpd_dns_u16(p + off + 8);
        off += 10;
        if (off + rdlen > n)
            return -1;
        if (class == 1 && (int)type == qtype) {
            smtpd_dns_rr *r = &rr[found];
            memset(r, 0, sizeof(*r));
            r->type = (int)type;
            if (type == SMTPD_DNS_T_PTR || type == SMTPD_DNS_T_MX) {
                size_t o2 = off;
                if (type == SMTPD_DNS_T_MX) {
                    if (rdlen < 3)
                        return -1;
                    r->pref = (int)smtpd_dns_u16(p + off);
                    o2 += 2;
                }
                if (smtpd_dns_name(p, n, &o2, r->name, sizeof(r->name)) < 0)
                    return -1;
                found++;
            } else if (type == SMTPD_DNS_T_TXT) {
                /* <character-string>s: a length octet, then the octets. */
                size_t o = 0;
                for (size_t k = off; k < off + rdlen;) {
                    size_t l = p[k++];
                    if (k + l > off + rdlen)
                        return -1;
                    for (size_t j = 0; j < l && o + 1 < sizeof(r->name); j++) {
                        unsigned char ch = p[k + j];
                        r->name[o++] = ch < 32 || ch > 126 ? '?' : (char)ch;
                    }
                    k += l;
                }
                r->name[o] = '\0';
                found++;
            } else if ((type == SMTPD_DNS_T_A && rdlen == 4) ||
                       (type == SMTPD_DNS_T_AAAA && rdlen == 16)) {
                memcpy(r->addr, p + off, rdlen);
                found++;
            }
        }
        off += rdlen;
    }
    return found;
}

uint16_t smtpd_dns_new_id(void)
{
    uint16_t id;
    if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
        msg_fatal("getrandom: %m");
    return id;
}
