/*
 * dns_lookup_test - the pure parts of dns_lookup: MX ordering (RFC 5321
 * section 5.1), dropping ourselves, null MX (RFC 7505), dns_servers.
 * The lookups themselves are tested end to end against unbound on
 * loopback (tests/e2e/test_smtp_*.py).
 */
#include "global/dns_lookup.h"

#include <stdint.h>
#include <stdlib.h>

#include "util/test.h"

static unsigned test_rnd_state;
static unsigned test_rnd(unsigned n)
{
    test_rnd_state = test_rnd_state * 1103515245u + 12345u;
    return (test_rnd_state >> 16) % n;
}

static void test_mx_order_by_preference(void)
{
    dns_mx v[] = {{"c", 30}, {"a", 10}, {"b", 20}, {"a2", 10}, {"b2", 20}};
    for (test_rnd_state = 0; test_rnd_state < 50; test_rnd_state += 7) {
        dns_mx w[5];
        memcpy(w, v, sizeof(v));
        dns_mx_order(w, 5, test_rnd);
        TEST_EQ_INT(w[0].pref, 10);
        TEST_EQ_INT(w[1].pref, 10);
        TEST_EQ_INT(w[2].pref, 20);
        TEST_EQ_INT(w[3].pref, 20);
        TEST_EQ_INT(w[4].pref, 30);
        TEST_EQ_STR(w[4].host, "c");
    }
}

static void test_mx_order_shuffles_equals(void)
{
    /* Over many orderings, each of 4 equal hosts comes first sometimes. */
    int first[4] = {0};
    test_rnd_state = 1;
    for (int round = 0; round < 400; round++) {
        dns_mx w[] = {{"h0", 5}, {"h1", 5}, {"h2", 5}, {"h3", 5}};
        dns_mx_order(w, 4, test_rnd);
        first[w[0].host[1] - '0']++;
    }
    for (int i = 0; i < 4; i++)
        TEST_TRUE(first[i] > 40);
}

static void test_mx_drop_self(void)
{
    static const struct {
        const char *self;
        size_t want;
        bool looped;
    } cases[] = {
        {"mx1.example.org", 0, true},    /* best MX is us: nothing left */
        {"MX2.example.org.", 1, true},   /* case and trailing dot ignored */
        {"mx3.example.org", 1, true},    /* equal preference to mx2 too */
        {"other.example", 4, false},
        {"", 4, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dns_mx v[] = {{"mx1.example.org", 10}, {"mx2.example.org", 20},
                      {"mx3.example.org", 20}, {"mx4.example.org", 30}};
        bool looped;
        TEST_EQ_INT(dns_mx_drop_self(v, 4, cases[i].self, &looped),
                    cases[i].want);
        TEST_EQ_INT(looped, cases[i].looped);
    }
}

static void test_mx_null(void)
{
    dns_mx null1[] = {{"", 0}};
    dns_mx null2[] = {{".", 0}};
    dns_mx notnull1[] = {{"", 10}};
    dns_mx notnull2[] = {{"mx.example", 0}};
    dns_mx two[] = {{"", 0}, {"mx.example", 10}};
    TEST_TRUE(dns_mx_is_null(null1, 1));
    TEST_TRUE(dns_mx_is_null(null2, 1));
    TEST_TRUE(!dns_mx_is_null(notnull1, 1));
    TEST_TRUE(!dns_mx_is_null(notnull2, 1));
    TEST_TRUE(!dns_mx_is_null(two, 2));
}

static void test_servers_csv(void)
{
    static const struct {
        char *in[3];
        const char *want; /* NULL: rejected */
    } cases[] = {
        {{"127.0.0.1:5353"}, "127.0.0.1:5353"},
        {{"127.0.0.1", "[::1]:53"}, "127.0.0.1,[::1]:53"},
        {{"::1"}, "[::1]"},
        {{"[::1]"}, "[::1]"},
        {{"ns.example:53"}, NULL},
        {{"127.0.0.1:0"}, NULL},
        {{"127.0.0.1:99999"}, NULL},
        {{"[::1"}, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[256];
        int r = dns_servers_csv((char **)(uintptr_t)cases[i].in, out, sizeof(out));
        if (cases[i].want == NULL) {
            TEST_EQ_INT(r, -1);
        } else {
            TEST_EQ_INT(r, 0);
            TEST_EQ_STR(out, cases[i].want);
        }
    }
}

int main(void)
{
    TEST_RUN(test_mx_order_by_preference);
    TEST_RUN(test_mx_order_shuffles_equals);
    TEST_RUN(test_mx_drop_self);
    TEST_RUN(test_mx_null);
    TEST_RUN(test_servers_csv);
    return test_done();
}
