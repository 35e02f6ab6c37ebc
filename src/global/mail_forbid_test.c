/*
 * mail_forbid_test - smtpd_forbidden_commands parsing and matching, and
 * the header-label rule.
 */
#include "global/mail_forbid.h"

#include "util/test.h"

static void test_mail_forbid_default_and_lists(void)
{
    static const struct {
        const char *value;
        int want_rc;
        const char *word;
        bool want;
    } cases[] = {
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "POST", true},
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "get", true},
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "\x16\x03\x01", true}, /* TLS */
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "<html>", true},
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "1", true},
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "PUT", false},
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "GETX", false},
        {"CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", 0, "xyzzy", false},
        {"CONNECT GET POST", 0, "<html>", false},      /* Postfix <= 3.6 */
        {"CONNECT,GET,POST,USER,PASS", 0, "pass", true},
        {"", 0, "GET", false},
        {"GET hash:/etc/postfix/forbidden", -1, "GET", true},
        {"regexp:{{/^X/ nope}} GET", -1, "GET", true},
        {"regexp:{{/^[^A-Z]/ Bogus", -1, "GET", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mail_forbid f = {0};
        char why[256] = "";
        test_current = cases[i].value;
        TEST_EQ_INT(mail_forbid_parse(cases[i].value, &f, why, sizeof(why)),
                    cases[i].want_rc);
        if (cases[i].want_rc < 0)
            TEST_TRUE(why[0] != '\0');
        TEST_EQ_INT(mail_forbid_match(&f, cases[i].word, strlen(cases[i].word)),
                    cases[i].want);
        mail_forbid_free(&f);
        TEST_TRUE(f.names == NULL);
    }
}

static void test_mail_forbid_header_labels(void)
{
    static const struct {
        const char *word;
        bool want;
    } cases[] = {
        {"Host:", true}, {"User-Agent:", true}, {"Content-Type:", true},
        {"Subject:", true}, {"X:Y", true}, {":", false}, {"MAIL", false},
        {"TO:<a@b>", true}, {"", false}, {"a\x01:", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].word;
        TEST_EQ_INT(mail_forbid_is_header(cases[i].word, strlen(cases[i].word)),
                    cases[i].want);
    }
}

int main(void)
{
    TEST_RUN(test_mail_forbid_default_and_lists);
    TEST_RUN(test_mail_forbid_header_labels);
    return test_done();
}
