/*
 * sendmail_hdr_test - address lists (RFC 5322 section 3.4) and the header
 * walk, table-driven.
 */
#include <string.h>

#include "tools/sendmail_hdr.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/test.h"

static const struct {
    const char *input;
    const char *want; /* addresses joined by '|' */
} addr_cases[] = {
    {"bob@example.org", "bob@example.org"},
    {"Bob <bob@example.org>, carol@example.org", "bob@example.org|carol@example.org"},
    {"\"Doe, John\" <john@example.org>", "john@example.org"},
    {"bob@example.org (Bob, the builder)", "bob@example.org"},
    {"team: a@x.org, b@y.org;, c@z.org", "a@x.org|b@y.org|c@z.org"},
    {"undisclosed-recipients:;", ""},
    {"<@relay.example:user@example.org>", "user@example.org"},
    {"  root  ", "root"},
    {"\"odd\\\"quote\"@example.org", "\"odd\\\"quote\"@example.org"},
    {"", ""},
};

static void test_addresses(void)
{
    for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
        char **v = sendmail_hdr_addresses(addr_cases[i].input);
        buf *b = buf_new(4096);
        for (char **p = v; *p; p++)
            buf_printf(b, "%s%s", p == v ? "" : "|", *p);
        TEST_EQ_STR(b->data, addr_cases[i].want);
        buf_free(&b);
        conf_free_list(&v);
    }
}

typedef struct seen {
    char text[1024];
} seen;

static int collect(const char *name, const char *value, size_t off, size_t len, void *ctx)
{
    seen *s = ctx;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof(s->text) - n, "[%s=%s@%zu+%zu]", name, value, off, len);
    return 0;
}

static void test_walk(void)
{
    const char *msg = "To: a@x,\n b@y\nSubject: hi\n\nbody\nX: not a header\n";
    seen s = {{0}};
    size_t body = sendmail_hdr_walk(msg, strlen(msg), collect, &s);
    TEST_EQ_STR(s.text, "[To=a@x, b@y@0+14][Subject=hi@14+12]");
    TEST_EQ_STR(msg + body, "body\nX: not a header\n");
    /* No empty line: the header ends at the first line that is not a field. */
    const char *nohdr = "just text\n";
    seen s2 = {{0}};
    TEST_EQ_INT(sendmail_hdr_walk(nohdr, strlen(nohdr), collect, &s2), 0);
    TEST_EQ_STR(s2.text, "");
}

int main(void)
{
    TEST_RUN(test_addresses);
    TEST_RUN(test_walk);
    return test_done();
}
