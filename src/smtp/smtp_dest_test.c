/*
 * smtp_dest_test - next-hop forms of relayhost and the lmtp transport.
 */
#include "smtp/smtp_dest.h"

#include "util/test.h"

static void test_dest_cases(void)
{
    static const struct {
        const char *in;
        bool lmtp;
        int ok;
        int kind;
        const char *host;
        int port;
        bool mx;
    } cases[] = {
        {"example.org", false, 0, SMTP_DEST_INET, "example.org", 25, true},
        {"example.org:2525", false, 0, SMTP_DEST_INET, "example.org", 2525, true},
        {"[mx.example.org]", false, 0, SMTP_DEST_INET, "mx.example.org", 25, false},
        {"[192.0.2.1]:587", false, 0, SMTP_DEST_INET, "192.0.2.1", 587, false},
        {"[::1]:26", false, 0, SMTP_DEST_INET, "::1", 26, false},
        {"[ipv6:::1]", false, 0, SMTP_DEST_INET, "::1", 25, false},
        {"::1", false, -1, 0, NULL, 0, false},
        {"[x", false, -1, 0, NULL, 0, false},
        {"[x]y", false, -1, 0, NULL, 0, false},
        {"x:0", false, -1, 0, NULL, 0, false},
        {"x:70000", false, -1, 0, NULL, 0, false},
        {"x:", false, -1, 0, NULL, 0, false},
        {"", false, -1, 0, NULL, 0, false},
        {"unix:/run/lmtp", true, 0, SMTP_DEST_UNIX, "/run/lmtp", 0, false},
        {"unix:private/dovecot-lmtp", true, 0, SMTP_DEST_UNIX, "private/dovecot-lmtp", 0, false},
        {"inet:127.0.0.1:24", true, 0, SMTP_DEST_INET, "127.0.0.1", 24, false},
        {"inet:[::1]:2400", true, 0, SMTP_DEST_INET, "::1", 2400, false},
        {"store.example", true, 0, SMTP_DEST_INET, "store.example", 25, false},
        {"unix:", true, -1, 0, NULL, 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        smtp_dest d;
        const char *why;
        int r = smtp_dest_parse(cases[i].in, cases[i].lmtp, 25, &d, &why);
        TEST_EQ_INT(r, cases[i].ok);
        if (r < 0) {
            TEST_TRUE(why != NULL);
            continue;
        }
        TEST_EQ_INT(d.kind, cases[i].kind);
        TEST_EQ_STR(d.host, cases[i].host);
        TEST_EQ_INT(d.port, cases[i].port);
        TEST_EQ_INT(d.mx, cases[i].mx);
    }
}

int main(void)
{
    TEST_RUN(test_dest_cases);
    return test_done();
}
