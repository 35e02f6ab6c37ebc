/*
 * logexplain_test - the explanation tables: DSN codes (RFC 3463), the
 * delays breakdown, and failure causes found from the reason text.
 */
#include "logtool/logexplain.h"

#include <stdio.h>

#include "util/test.h"

typedef struct logexplain_dsn_case {
    const char *dsn;
    int rc;
    const char *contains;
} logexplain_dsn_case;

static const logexplain_dsn_case logexplain_dsn_cases[] = {
    {"2.0.0", 0, "2.0.0: success"},
    {"5.1.1", 0, "does not exist"},
    {"4.4.1", 0, "no answer from the host"},
    {"4.2.2", 0, "full"},
    {"5.7.1", 0, "security or policy"},
    {"5.7.26", 0, "several authentication checks"},
    {"4.7.0", 0, "temporary failure"},
    {"5.9.9", 0, "permanent failure"},
    {"9.9.9", -1, NULL},
    {"5.1", -1, NULL},
    {"5.1.1.1", -1, NULL},
    {"x", -1, NULL},
    {"", -1, NULL},
    {"5.1234.1", -1, NULL},
};

static void test_logexplain_dsn(void)
{
    for (size_t i = 0; i < sizeof(logexplain_dsn_cases) / sizeof(logexplain_dsn_cases[0]); i++) {
        const logexplain_dsn_case *c = &logexplain_dsn_cases[i];
        buf *b = buf_new(4096);
        logstr s = {c->dsn, strlen(c->dsn)};
        TEST_EQ_INT(logexplain_dsn(s, b), c->rc);
        if (c->contains != NULL && strstr(buf_str(b), c->contains) == NULL)
            TEST_FAIL_AT("dsn %s: \"%s\" lacks \"%s\"", c->dsn, buf_str(b), c->contains);
        buf_free(&b);
    }
}

typedef struct logexplain_cause_case {
    const char *line;
    const char *cause;          /* substring of the cause, NULL: none */
} logexplain_cause_case;

/* clang-format off */
static const logexplain_cause_case logexplain_cause_cases[] = {
    {"Mar  1 10:00:00 m postfix/smtp[1]: 1111111111: to=<a@b>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to b[192.0.2.1]:25: Connection refused)", "not listening"},
    {"Mar  1 10:00:00 m postfix/local[1]: 1111111111: to=<a@b>, relay=local, delay=1, delays=0/0/0/1, dsn=4.3.0, status=deferred (alias database unavailable)", "alias database"},
    {"Mar  1 10:00:00 m postfix/smtp[1]: 1111111111: to=<a@b>, relay=none, delay=1, delays=0/0/1/0, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=b type=MX: Host not found)", "DNS"},
    {"Mar  1 10:00:00 m postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 5.7.1 <a@b>: Relay access denied; from=<c@d> to=<a@b> proto=ESMTP helo=<x>", "relay"},
    {"Mar  1 10:00:00 m postfix/smtpd[1]: warning: x[192.0.2.1]: SASL PLAIN authentication failed: bad", "password"},
    {"Mar  1 10:00:00 m postfix/smtp[1]: 1111111111: to=<a@b>, relay=b[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.2.2, status=bounced (host b said: 552 5.2.2 Mailbox full)", "full"},
    {"Mar  1 10:00:00 m postfix/smtp[1]: 1111111111: to=<a@b>, relay=b[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host b said: 550 sorry)", "does not exist"},
    {"Mar  1 10:00:00 m postfix/smtpd[1]: warning: 1111111111: queue file size limit exceeded", "message_size_limit"},
    {"Mar  1 10:00:00 m postie/smtpd[1]: warning: non-SMTP command from x[192.0.2.1]: POST / HTTP/1.1", "HTTP"},
    {"Mar  1 10:00:00 m postie/smtpd[1]: improper command pipelining after CONNECT from x[192.0.2.1]: EHLO x", "554 5.5.0"},
    {"Mar  1 10:00:00 m postie/smtpd[1]: warning: disallowed <NUL> received from x[192.0.2.1] after MAIL", "NUL"},
    {"Mar  1 10:00:00 m postie/smtpd[1]: warning: malformed UTF-8 received from x[192.0.2.1] after EHLO", "UTF-8"},
    {"Mar  1 10:00:00 m postfix/local[1]: 1111111111: to=<a@b>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)", NULL},
    /* issue 13 */
    {"Mar  1 10:00:00 m postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 450 4.2.0 <a@b>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/b.html; from=<c@d> to=<a@b> proto=ESMTP helo=<x>", "greylisting"},
    {"2026-11-23 16:52:36 1xVXHP-00023D-2d == user@deadhost.test R=to_remote_dead T=smtp_dead defer (-54): retry time not reached for any host for 'deadhost.test'", "retry time"},
    {"Mar  1 10:00:00 m dovecot: lmtp(bob)<8><s>: Error: msgid=<m@x>: save failed to INBOX: Internal error occurred. Refer to server log for more information.", "temporary error"},
    {"Mar  1 10:00:00 m postfix/smtpd[1]: warning: hostname h.example does not resolve to address 192.0.2.4: Name or service not known", "reverse DNS"},
    {"Mar  1 10:00:00 m postfix/qmgr[1]: warning: mail for [127.0.0.1]:10025 is using up 4001 of 4010 active queue entries", "congestion"},
    {"Mar  1 10:00:00 m postie/master[1]: warning: process /usr/sbin/postie pid 7 killed by signal 11", "died on a signal"},
    {"Mar  1 10:00:00 m postie/pop3d[1]: pop3-login: Disconnected (auth failed, 1 attempts in 1 secs): user=<a>, method=PLAIN, rip=192.0.2.1, lip=127.0.0.1, session=<s>", "wrong user name or password"},
};
/* clang-format on */

static void test_logexplain_causes(void)
{
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    for (size_t i = 0; i < sizeof(logexplain_cause_cases) / sizeof(logexplain_cause_cases[0]); i++) {
        const logexplain_cause_case *c = &logexplain_cause_cases[i];
        logline ll;
        logline_parse(&ctx, c->line, strlen(c->line), &ll);
        const logexplain_cause *f = ll.status == LOGS_SENT ? NULL : logexplain_cause_find(&ll);
        if (c->cause == NULL) {
            TEST_TRUE(f == NULL);
        } else if (f == NULL) {
            TEST_FAIL_AT("no cause for: %s", c->line);
        } else if (strstr(f->cause, c->cause) == NULL && strstr(f->check, c->cause) == NULL) {
            TEST_FAIL_AT("cause \"%s\" lacks \"%s\" for: %s", f->cause, c->cause, c->line);
        }
    }
}

static void test_logexplain_delays(void)
{
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    static const struct {
        const char *delays;
        int dominant;
        const char *says;
    } cases[] = {
        {"0.08/0.01/0/0", 0, "all fast"},
        {"0.1/0/30/0", 2, "connection setup"},
        {"3630/0/0/0", 0, "deferred queue"},
        {"0/20/0/1", 1, "queue manager"},
        {"0/0/1/9", 3, "transmission"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[512];
        snprintf(line, sizeof(line),
                 "Mar  1 10:00:00 m postfix/smtp[1]: 1111111111: to=<a@b>, relay=x, delays=%s, dsn=2.0.0, status=sent (ok)",
                 cases[i].delays);
        logline ll;
        logline_parse(&ctx, line, strlen(line), &ll);
        buf *b = buf_new(4096);
        TEST_EQ_INT(logexplain_delays(&ll, b), cases[i].dominant);
        if (strstr(buf_str(b), cases[i].says) == NULL)
            TEST_FAIL_AT("delays %s: \"%s\" lacks \"%s\"", cases[i].delays, buf_str(b), cases[i].says);
        buf_free(&b);
    }
}

static void test_logexplain_line(void)
{
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    const char *l = "Feb 14 15:05:48 host postfix/smtpd[24327]: disconnect from unknown[2001:db8::c8] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4";
    logline ll;
    logline_parse(&ctx, l, strlen(l), &ll);
    buf *b = buf_new(1 << 16);
    logexplain_line(&ll, b);
    TEST_TRUE(strstr(buf_str(b), "session closed") != NULL);
    TEST_TRUE(strstr(buf_str(b), "1 of 4 failed") != NULL);
    buf_free(&b);
}

int main(void)
{
    TEST_RUN(test_logexplain_dsn);
    TEST_RUN(test_logexplain_causes);
    TEST_RUN(test_logexplain_delays);
    TEST_RUN(test_logexplain_line);
    return test_done();
}
