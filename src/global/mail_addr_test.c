/*
 * mail_addr_test - table-driven tests of SMTP path parsing (RFC 5321
 * section 4.1.2), splitting and mydestination matching.
 */
#include "global/mail_addr.h"

#include <stdlib.h>

#include "global/mail_conf.h"
#include "util/mem.h"
#include "util/test.h"

#define RF (MAIL_ADDR_NULL_OK | MAIL_ADDR_LENIENT)          /* MAIL FROM */
#define RT (MAIL_ADDR_POSTMASTER_OK | MAIL_ADDR_LENIENT)    /* RCPT TO */

static void test_parse_path(void)
{
    static const struct {
        const char *in;
        int flags;
        int want;          /* 0 or MAIL_ADDR_ERR_* */
        const char *addr;  /* on success */
        const char *rest;  /* what follows the path */
    } cases[] = {
        {"<alice@example.org>", RF, 0, "alice@example.org", ""},
        {"<alice@example.org> SIZE=100", RF, 0, "alice@example.org", " SIZE=100"},
        {"<>", RF, 0, "", ""},
        {"<> BODY=8BITMIME", RF, 0, "", " BODY=8BITMIME"},
        {"<>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {" <bob@example.org>", RF, 0, "bob@example.org", ""},
        {"bob@example.org", RF, 0, "bob@example.org", ""},
        {"bob@example.org SIZE=1", RF, 0, "bob@example.org", " SIZE=1"},
        {"bob@example.org", 0, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<Postmaster>", RT, 0, "Postmaster", ""},
        {"<postmaster>", RF, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<bob>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<@relay.example,@b.example:bob@example.org>", RT, 0, "bob@example.org", ""},
        {"<@relay.example bob@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<\"john doe\"@example.org>", RT, 0, "\"john doe\"@example.org", ""},
        {"<\"a>b@c\"@example.org>", RT, 0, "\"a>b@c\"@example.org", ""},
        {"<\"unterminated@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a..b@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<.a@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a.@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a b@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@exa_mple.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@-example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@example-.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@example..org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<@example.org>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@[127.0.0.1]>", RT, 0, "a@[127.0.0.1]", ""},
        {"<a@[IPv6:::1]>", RT, 0, "a@[IPv6:::1]", ""},
        {"<a@[IPv6:zz]>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@[300.1.1.1]>", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<a@example.org", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"", RT, MAIL_ADDR_ERR_SYNTAX, NULL, NULL},
        {"<j\xc3\xb6rg@example.org>", RT, MAIL_ADDR_ERR_UTF8, NULL, NULL},
        {"<j\xc3\xb6rg@example.org>", RT | MAIL_ADDR_UTF8_OK, 0, "j\xc3\xb6rg@example.org", ""},
        {"<a@b\xc3\xbc.example>", RT, MAIL_ADDR_ERR_UTF8, NULL, NULL},
        {"<x+tag=1/2@example.org>", RT, 0, "x+tag=1/2@example.org", ""},
        {"<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org>",
         RT, MAIL_ADDR_ERR_LENGTH, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *addr = NULL;
        const char *end = NULL, *why = NULL;
        test_current = cases[i].in;
        int r = mail_addr_parse_path(cases[i].in, cases[i].flags, &addr, &end, &why);
        TEST_EQ_INT(r, cases[i].want);
        if (r == 0 && cases[i].want == 0) {
            TEST_EQ_STR(addr, cases[i].addr);
            TEST_EQ_STR(end, cases[i].rest);
        }
        if (r != 0)
            TEST_TRUE(why != NULL && addr == NULL);
        mem_free(&addr);
    }
}

static void test_long_domain_is_rejected(void)
{
    char in[400];
    char *p = in;
    p += sprintf(p, "<a@");
    for (int i = 0; i < 30; i++)
        p += sprintf(p, "abcdefghi.");
    sprintf(p, "org>");
    char *addr = NULL;
    const char *end, *why;
    TEST_EQ_INT(mail_addr_parse_path(in, RT, &addr, &end, &why), MAIL_ADDR_ERR_LENGTH);
}

static void test_split(void)
{
    static const struct {
        const char *in, *local, *domain;
        int want;
    } cases[] = {
        {"alice@example.org", "alice", "example.org", 1},
        {"postmaster", "postmaster", "", 0},
        {"\"a@b\"@example.org", "\"a@b\"", "example.org", 1},
        {"", "", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *l, *d;
        test_current = cases[i].in;
        TEST_EQ_INT(mail_addr_split(cases[i].in, &l, &d), cases[i].want);
        TEST_EQ_STR(l, cases[i].local);
        TEST_EQ_STR(d, cases[i].domain);
        mem_free(&l);
        mem_free(&d);
    }
}

static void test_domain_is_local(void)
{
    var_set("myhostname", "mail.example.org");
    var_set("mydestination", "$myhostname, localhost, example.org");
    static const struct {
        const char *domain;
        bool want;
    } cases[] = {
        {"mail.example.org", true},
        {"MAIL.Example.ORG", true},
        {"mail.example.org.", true},
        {"localhost", true},
        {"example.org", true},
        {"", true},
        {"example.com", false},
        {"sub.example.org", false},
        {"localhost.", true},
        {"localhos", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].domain;
        TEST_EQ_INT(mail_addr_domain_is_local(cases[i].domain), cases[i].want);
    }
}

static void test_postmaster(void)
{
    TEST_TRUE(mail_addr_is_postmaster("postmaster"));
    TEST_TRUE(mail_addr_is_postmaster("PostMaster@example.org"));
    TEST_TRUE(!mail_addr_is_postmaster("postmasters@example.org"));
    TEST_TRUE(!mail_addr_is_postmaster("post@example.org"));
}

int main(void)
{
    TEST_RUN(test_parse_path);
    TEST_RUN(test_long_domain_is_rejected);
    TEST_RUN(test_split);
    TEST_RUN(test_domain_is_local);
    TEST_RUN(test_postmaster);
    return test_done();
}
