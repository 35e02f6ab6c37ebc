/*
 * smtpd_dns_test - DNS messages (RFC 1035 section 4): PTR names for IPv4
 * and IPv6 (RFC 3596), queries byte for byte, answers with compression,
 * and responses that must be refused (wrong ID, truncated, pointer loops).
 */
#include "smtpd/smtpd_dns.h"

#include <string.h>

#include "smtpd/smtpd.h"
#include "util/test.h"

static void test_ptr_names(void)
{
    static const struct {
        const char *addr, *want;
    } cases[] = {
        {"192.0.2.7", "7.2.0.192.in-addr.arpa"},
        {"::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa"},
        {"2001:db8::567:89ab",
         "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        test_current = cases[i].addr;
        TEST_EQ_INT(smtpd_dns_ptr_name(cases[i].addr, out, sizeof(out)), 0);
        TEST_EQ_STR(out, cases[i].want);
    }
    char out[128];
    TEST_EQ_INT(smtpd_dns_ptr_name("not-an-address", out, sizeof(out)), -1);
}

static void test_query_bytes(void)
{
    unsigned char q[64];
    int n = smtpd_dns_query(q, sizeof(q), 0x1234, "a.bc", SMTPD_DNS_T_A);
    static const unsigned char want[] = {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                         1, 'a', 2, 'b', 'c', 0, 0, 1, 0, 1};
    TEST_EQ_INT(n, sizeof(want));
    TEST_TRUE(memcmp(q, want, sizeof(want)) == 0);
    TEST_EQ_INT(smtpd_dns_query(q, sizeof(q), 1, "a..b", SMTPD_DNS_T_A), -1);
}

/* A response to query id for qname with the given answer records (already
 * encoded: owner as a pointer to the question, type, class, ttl, rdata). */
static size_t response(unsigned char *out, uint16_t id, int rcode, int qtype,
                       const char *qname, int an, const unsigned char *answers,
                       size_t alen)
{
    int n = smtpd_dns_query(out, 512, id, qname, qtype);
    out[2] = 0x81;
    out[3] = (unsigned char)(0x80 | rcode);
    out[7] = (unsigned char)an;
    if (alen > 0)
        memcpy(out + n, answers, alen);
    return (size_t)n + alen;
}

static void test_answers(void)
{
    unsigned char m[512];
    smtpd_dns_rr rr[4];
    /* PTR: owner 0xc00c, type 12, class 1, ttl, rdlen, "mx.example" with
     * upper case (answers are compared without case). */
    static const unsigned char ptr[] = {0xc0, 0x0c, 0, 12, 0, 1, 0, 0, 0, 60, 0, 12,
                                        2, 'M', 'X', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    size_t n = response(m, 7, 0, SMTPD_DNS_T_PTR, "7.2.0.192.in-addr.arpa", 1, ptr, sizeof(ptr));
    TEST_EQ_INT(smtpd_dns_answers(m, n, 7, SMTPD_DNS_T_PTR, rr, 4), 1);
    TEST_EQ_STR(rr[0].name, "mx.example");
    /* Wrong ID: not ours. */
    TEST_EQ_INT(smtpd_dns_answers(m, n, 8, SMTPD_DNS_T_PTR, rr, 4), -1);
    /* Every truncation is refused or yields nothing, never more. */
    for (size_t k = 0; k < n; k++)
        TEST_TRUE(smtpd_dns_answers(m, k, 7, SMTPD_DNS_T_PTR, rr, 4) <= 0);
    /* NXDOMAIN: no answer. */
    n = response(m, 7, 3, SMTPD_DNS_T_PTR, "7.2.0.192.in-addr.arpa", 0, NULL, 0);
    TEST_EQ_INT(smtpd_dns_answers(m, n, 7, SMTPD_DNS_T_PTR, rr, 4), 0);
    /* Two A records and a CNAME in between (skipped). */
    static const unsigned char a[] = {
        0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 0x0c,
        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7,
        0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 8};
    n = response(m, 9, 0, SMTPD_DNS_T_A, "mx.example", 3, a, sizeof(a));
    TEST_EQ_INT(smtpd_dns_answers(m, n, 9, SMTPD_DNS_T_A, rr, 4), 2);
    TEST_EQ_INT(rr[1].addr[3], 8);
    /* A compression loop: the PTR target points at itself. */
    static const unsigned char loop[] = {0xc0, 0x0c, 0, 12, 0, 1, 0, 0, 0, 60, 0, 2,
                                         0xc0, 0};
    n = response(m, 7, 0, SMTPD_DNS_T_PTR, "x.example", 1, loop, sizeof(loop));
    /* patch the pointer to the rdata's own offset */
    m[n - 1] = (unsigned char)(n - 2);
    TEST_EQ_INT(smtpd_dns_answers(m, n, 7, SMTPD_DNS_T_PTR, rr, 4), -1);
}

static void test_mx_and_txt(void)
{
    unsigned char m[512];
    smtpd_dns_rr rr[4];
    /* MX 10 mx.b and the null MX (RFC 7505: preference 0, target "."). */
    static const unsigned char mx[] = {
        0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 0, 60, 0, 8, 0, 10, 2, 'm', 'x', 1, 'b', 0,
        0xc0, 0x0c, 0, 15, 0, 1, 0, 0, 0, 60, 0, 3, 0, 0, 0};
    size_t n = response(m, 3, 0, SMTPD_DNS_T_MX, "b", 2, mx, sizeof(mx));
    TEST_EQ_INT(smtpd_dns_answers(m, n, 3, SMTPD_DNS_T_MX, rr, 4), 2);
    TEST_EQ_INT(rr[0].pref, 10);
    TEST_EQ_STR(rr[0].name, "mx.b");
    TEST_EQ_INT(rr[1].pref, 0);
    TEST_EQ_STR(rr[1].name, "");
    /* TXT: two strings joined, a control character made harmless. */
    static const unsigned char txt[] = {0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0, 60, 0, 8,
                                        3, 'a', 'b', '\n', 3, 'c', 'd', 'e'};
    n = response(m, 4, 0, SMTPD_DNS_T_TXT, "2.0.0.127.zen.example", 1, txt, sizeof(txt));
    TEST_EQ_INT(smtpd_dns_answers(m, n, 4, SMTPD_DNS_T_TXT, rr, 4), 1);
    TEST_EQ_STR(rr[0].name, "ab?cde");
    /* A string longer than its record is refused. */
    m[n - 4] = 9;
    TEST_EQ_INT(smtpd_dns_answers(m, n, 4, SMTPD_DNS_T_TXT, rr, 4), -1);
}

static void test_valid_hostname(void)
{
    TEST_TRUE(smtpd_peer_valid_hostname("mx.example.org"));
    TEST_TRUE(smtpd_peer_valid_hostname("a-b.c"));
    TEST_TRUE(!smtpd_peer_valid_hostname("-a.c"));
    TEST_TRUE(!smtpd_peer_valid_hostname("a-.c"));
    TEST_TRUE(!smtpd_peer_valid_hostname("a..c"));
    TEST_TRUE(!smtpd_peer_valid_hostname("1.2.3.4"));
    TEST_TRUE(!smtpd_peer_valid_hostname("a b"));
    TEST_TRUE(!smtpd_peer_valid_hostname(""));
}

int main(void)
{
    TEST_RUN(test_ptr_names);
    TEST_RUN(test_query_bytes);
    TEST_RUN(test_answers);
    TEST_RUN(test_mx_and_txt);
    TEST_RUN(test_valid_hostname);
    return test_done();
}
