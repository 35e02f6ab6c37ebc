/*
 * mynetworks_test - table-driven tests of CIDR matching, IPv4 and IPv6,
 * including IPv4-mapped IPv6 clients (RFC 4291 section 2.5.5.2).
 */
#include "global/mynetworks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "util/mem.h"
#include "util/test.h"

static void test_match(void)
{
    char *list[] = {"127.0.0.0/8", "[::1]/128", "192.0.2.7", "10.1.0.0/16",
                    "2001:db8::/32", "198.51.100.0/25", "[fe80::]/10", NULL};
    mynetworks *m;
    char *err = NULL;
    TEST_EQ_INT(mynetworks_parse(list, &m, &err), 0);
    static const struct {
        const char *addr;
        bool want;
    } cases[] = {
        {"127.0.0.1", true},
        {"127.255.255.254", true},
        {"128.0.0.1", false},
        {"::1", true},
        {"::2", false},
        {"192.0.2.7", true},
        {"192.0.2.8", false},
        {"10.1.200.3", true},
        {"10.2.0.1", false},
        {"2001:db8:1::5", true},
        {"2001:db9::5", false},
        {"198.51.100.127", true},
        {"198.51.100.128", false},
        {"fe80::1", true},
        {"febf::1", true},
        {"fec0::1", false},
        {"::ffff:127.0.0.1", true},
        {"::ffff:192.0.2.7", true},
        {"::ffff:192.0.2.9", false},
        {"not an address", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].addr;
        TEST_EQ_INT(mynetworks_match_str(m, cases[i].addr), cases[i].want);
    }
    mynetworks_free(&m);
    TEST_TRUE(m == NULL);
}

static void test_sockaddr(void)
{
    char *list[] = {"127.0.0.0/8", NULL};
    mynetworks *m;
    mynetworks_parse(list, &m, NULL);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.9", &sin.sin_addr);
    TEST_TRUE(mynetworks_match(m, (struct sockaddr *)&sin));
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:127.0.0.9", &sin6.sin6_addr);
    TEST_TRUE(mynetworks_match(m, (struct sockaddr *)&sin6));
    inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
    TEST_TRUE(!mynetworks_match(m, (struct sockaddr *)&sin6));
    mynetworks_free(&m);
}

static void test_bad_entries_are_reported_and_skipped(void)
{
    static char *bad[] = {"10.0.0.0/33", "hash:/etc/x", "10.0.0.0/", "[::1",
                                "::1/129", "10.0.0.0/8x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *list[] = {bad[i], "192.0.2.1", NULL};
        mynetworks *m;
        char *err = NULL;
        test_current = bad[i];
        TEST_EQ_INT(mynetworks_parse(list, &m, &err), -1);
        TEST_TRUE(err != NULL && strstr(err, "bad network") != NULL);
        TEST_TRUE(mynetworks_match_str(m, "192.0.2.1"));
        TEST_TRUE(!mynetworks_match_str(m, "10.0.0.1"));
        mem_free(&err);
        mynetworks_free(&m);
    }
}

int main(void)
{
    TEST_RUN(test_match);
    TEST_RUN(test_sockaddr);
    TEST_RUN(test_bad_entries_are_reported_and_skipped);
    return test_done();
}
