/*
 * doctor_test - the pure parts of postie doctor: reason keys, network
 * widths, relay lists, ages, listen targets, greetings, the report's
 * status rules and JSON, and the log pass over lines in memory.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "global/mail_conf.h"
#include "tools/doctor.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/test.h"

static void test_reason_key(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"connect to 192.0.2.1[192.0.2.1]:25: Connection refused",
         "connect to N.N.N.N[N.N.N.N]:N: Connection refused"},
        {"3F2A91C07B12: lost", "ID: lost"},
        {"ABCDEF", "ABCDEF"},                 /* too short for an ID */
        {"x3F2A91C07B12", "xNFNANCNBN"},      /* not standing alone */
        {"", ""},
        {"mailbox full", "mailbox full"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *k = doctor_reason_key(cases[i].in, strlen(cases[i].in));
        TEST_EQ_STR(k, cases[i].want);
        mem_free(&k);
    }
}

static void test_network_width(void)
{
    static const struct {
        const char *net;
        enum doctor_status want;
    } cases[] = {
        {"0.0.0.0/0", DOCTOR_FAIL},   {"[::]/0", DOCTOR_FAIL},
        {"::/0", DOCTOR_FAIL},        {"10.0.0.0/8", DOCTOR_WARN},
        {"127.0.0.0/8", DOCTOR_OK},   {"192.168.1.0/24", DOCTOR_OK},
        {"172.16.0.0/16", DOCTOR_OK}, {"2001:db8::/16", DOCTOR_WARN},
        {"[::1]/128", DOCTOR_OK},     {"192.0.2.7", DOCTOR_OK},
        {"2001:db8::/48", DOCTOR_OK}, {"1.2.3.4/x", DOCTOR_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TEST_EQ_INT(doctor_checks_network_width(cases[i].net), cases[i].want);
}

static void test_relay_closed(void)
{
    static const struct {
        const char *list;
        int want;
    } cases[] = {
        {"permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", 1},
        {"permit_mynetworks, defer_unauth_destination", 1},
        {"permit_mynetworks, permit", 0},
        {"permit, reject_unauth_destination", 0},
        {"permit_mynetworks", -1},
        {"", -1},
        {"check_client_access hash:/x, reject", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **v = conf_split_list(cases[i].list);
        TEST_EQ_INT(doctor_checks_relay_closed(v), cases[i].want);
        conf_free_list(&v);
    }
}

static void test_age(void)
{
    static const struct {
        long long s;
        const char *want;
    } cases[] = {
        {-5, "0s"},       {42, "42s"},      {119, "119s"},   {120, "2m"},
        {3600, "1h"},     {3720, "1h 2m"},  {86400, "1d"},   {90000, "1d 1h"},
    };
    char out[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        doctor_age(cases[i].s, out, sizeof(out));
        TEST_EQ_STR(out, cases[i].want);
    }
}

static void test_listen_targets(void)
{
    static const struct {
        const char *entry, *ifaces, *want;
    } cases[] = {
        {"2525", "loopback-only", "127.0.0.1 2525,::1 2525,"},
        {"25", "all", "127.0.0.1 25,::1 25,"},
        {"127.0.0.1:2525", "all", "127.0.0.1 2525,"},
        {"0.0.0.0:25", "loopback-only", "127.0.0.1 25,"},
        {"[::]:25", "loopback-only", "::1 25,"},
        {"[::1]:587", "all", "::1 587,"},
        {"25", "192.0.2.1, [2001:db8::1]", "192.0.2.1 25,2001:db8::1 25,"},
        {"25", "127.0.0.1, loopback-only", "127.0.0.1 25,::1 25,"},
        {"notaport", "all", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **ifs = conf_split_list(cases[i].ifaces);
        char hosts[8][64];
        int ports[8];
        size_t n = doctor_net_listen_targets(cases[i].entry, ifs, hosts, ports, 8);
        buf *b = buf_new(1024);
        for (size_t j = 0; j < n; j++)
            buf_printf(b, "%s %d,", hosts[j], ports[j]);
        TEST_EQ_STR(b->data, cases[i].want);
        buf_free(&b);
        conf_free_list(&ifs);
    }
}

static void test_disk(void)
{
    static const struct {
        unsigned long long avail, total;
        enum doctor_status want;
    } cases[] = {
        {0, 0, DOCTOR_OK},              /* unknown */
        {50 * 1024ULL << 20, 100 * 1024ULL << 20, DOCTOR_OK},
        {40ULL << 20, 100ULL << 30, DOCTOR_FAIL},   /* under 50 MB */
        {900ULL << 20, 100ULL << 30, DOCTOR_FAIL},  /* under 1% */
        {5ULL << 30, 100ULL << 30, DOCTOR_WARN},    /* under 10% */
        {400ULL << 20, 1ULL << 30, DOCTOR_WARN},    /* under 500 MB */
        {600ULL << 20, 1ULL << 30, DOCTOR_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TEST_EQ_INT(doctor_checks_disk_status(cases[i].avail, cases[i].total), cases[i].want);
}

static void test_greeting(void)
{
    static const struct {
        const char *proto, *line;
        enum doctor_status want;
    } cases[] = {
        {"smtp", "220 mail.example.org ESMTP postie", DOCTOR_OK},
        {"smtp", "220-mail.example.org", DOCTOR_OK},
        {"smtp", "421 4.7.0 too many connections", DOCTOR_WARN},
        {"smtp", "554 go away", DOCTOR_FAIL},
        {"smtp", "2200", DOCTOR_FAIL},
        {"smtp", "+OK POP3", DOCTOR_FAIL},
        {"pop3", "+OK POP3 server ready.", DOCTOR_OK},
        {"pop3", "-ERR busy", DOCTOR_FAIL},
        {"imap", "* OK [CAPABILITY IMAP4rev1] ready", DOCTOR_OK},
        {"imap", "* BYE shutting down", DOCTOR_WARN},
        {"pop3", "", DOCTOR_FAIL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TEST_EQ_INT(doctor_net_greeting_ok(cases[i].proto, cases[i].line), cases[i].want);
}

static void test_report(void)
{
    doctor_report r = {NULL, 0};
    doctor_check *a = doctor_add(&r, 1, "master");
    TEST_EQ_INT(doctor_exit(&r), 0);
    doctor_set(a, DOCTOR_OK, NULL, "fine");
    doctor_set(a, DOCTOR_FAIL, "start it", "not running");
    /* A milder finding later does not cover the worse one. */
    doctor_set(a, DOCTOR_WARN, "other", "something mild");
    doctor_set(a, DOCTOR_OK, NULL, "fine again");
    TEST_EQ_STR(a->finding, "not running");
    TEST_EQ_STR(a->next, "start it");
    TEST_EQ_INT(a->ndetails, 1);
    if (a->ndetails == 1)
        TEST_EQ_STR(a->details[0], "also (warn): something mild");
    doctor_check *b = doctor_add(&r, 2, "queue");
    doctor_set(b, DOCTOR_WARN, NULL, "deferred \"x\"\n");
    doctor_detail(b, "tab\there");
    doctor_detail(b, "bytes \xff\xc3\xa9 \xe2\x82 \x01 end");
    TEST_EQ_INT(doctor_exit(&r), 2);
    TEST_EQ_STR(r.v[0]->name, "master"); /* the first check survives a later add */

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    doctor_print_json(out, &r, "/x", 3600);
    fclose(out);
    TEST_TRUE(strstr(text, "\"status\": \"fail\", \"exit\": 2") != NULL);
    TEST_TRUE(strstr(text, "\"finding\": \"deferred \\\"x\\\"\\n\"") != NULL);
    TEST_TRUE(strstr(text, "\"details\": [\"tab\\there\", ") != NULL);
    /* A stray byte becomes '?', a whole character stays, a control is \u. */
    TEST_TRUE(strstr(text, "\"bytes ?\xc3\xa9 ?? \\u0001 end\"") != NULL);
    TEST_TRUE(strstr(text, "\"title\": \"Check service status\"") != NULL);
    free(text);
    doctor_report_free(&r);
    TEST_EQ_INT(r.n, 0);
}

/* "Mmm dd hh:mm:ss" of now - ago, local time, as the log writes it. */
static void test_stamp(char *out, size_t n, long long ago)
{
    time_t t = time(NULL) - (time_t)ago;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%b %e %H:%M:%S", &tm);
}

static void test_log_scan(void)
{
    char old[32], now[32];
    test_stamp(old, sizeof(old), 7200);
    test_stamp(now, sizeof(now), 30);
    buf *b = buf_new(1 << 16);
    /* The smtpd line is before the window: it still names pid 4242. */
    buf_printf(b, "%s vm postie/smtpd[4242]: connect from localhost[127.0.0.1]\n", old);
    buf_printf(b, "%s vm postie/local[77]: 0A1B2C3D4E5F: to=<a@example.org>, relay=local, "
               "delay=0.1, delays=0/0/0/0.1, dsn=5.1.1, status=bounced (old news)\n", old);
    buf_printf(b, "%s vm postie/master[1]: warning: process /usr/sbin/postie pid 4242 "
               "killed by signal 11\n", now);
    buf_printf(b, "%s vm postie/smtp[90]: 1A1B2C3D4E5F: to=<x@example.net>, relay=none, "
               "delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to "
               "192.0.2.1[192.0.2.1]:25: Connection refused)\n", now);
    buf_printf(b, "%s vm postie/smtp[91]: 2A1B2C3D4E5F: to=<y@example.net>, relay=none, "
               "delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to "
               "192.0.2.9[192.0.2.9]:25: Connection refused)\n", now);
    buf_printf(b, "%s vm postie/local[92]: 3A1B2C3D4E5F: to=<z@vm>, relay=local, "
               "delay=1, delays=0/0/0/1, dsn=4.2.0, status=deferred (create maildir file "
               "/m/tmp/x: Permission denied)\n", now);
    buf_printf(b, "%s vm postie/smtpd[93]: NOQUEUE: reject: RCPT from unknown[192.0.2.5]: "
               "554 5.7.1 <q@example.com>: Relay access denied; from=<a@b> to=<q@example.com> "
               "proto=ESMTP helo=<x>\n", now);
    buf_printf(b, "%s vm postie/qmgr[94]: fatal: open queue: Permission denied\n", now);
    buf_printf(b, "%s vm postie/master[1]: warning: /usr/sbin/postie: service pop3d: bad "
               "command startup -- throttling for 2s (ended 3 times in a row within 5s of "
               "its start)\n", now);
    doctor_log lg;
    doctor_log_scan_text(b->data, (long long)time(NULL), 3600, &lg);
    buf_free(&b);
    TEST_EQ_INT(lg.lines, 7);
    TEST_EQ_INT(lg.nrestarts, 1);
    if (lg.nrestarts == 1) {
        TEST_EQ_STR(lg.restarts[0].service, "smtpd");
        TEST_EQ_STR(lg.restarts[0].how, "killed by signal 11");
        TEST_EQ_INT(lg.restarts[0].pid, 4242);
    }
    TEST_EQ_INT(lg.throttled, 1);
    TEST_EQ_STR(lg.throttled_service, "pop3d");
    /* Two refused connections are one reason; the maildir one another. */
    TEST_EQ_INT(lg.deferred.n, 2);
    if (lg.deferred.n == 2) {
        TEST_EQ_INT(lg.deferred.v[0].count, 2);
        TEST_EQ_STR(lg.deferred.v[0].dsn, "4.4.1");
        TEST_EQ_STR(lg.deferred.v[0].id, "1A1B2C3D4E5F");
        TEST_TRUE(lg.deferred.v[0].cause != NULL); /* logexplain knows it */
        TEST_TRUE(strstr(lg.deferred.v[1].example, "Permission denied") != NULL);
    }
    TEST_EQ_INT(lg.bounced.n, 0); /* the bounce is before the window */
    TEST_EQ_INT(lg.rejected.n, 1);
    TEST_EQ_INT(lg.fatal.n, 1);
    if (lg.fatal.n == 1)
        TEST_EQ_STR(lg.fatal.v[0].example, "qmgr: open queue: Permission denied");
    TEST_EQ_INT(lg.warning.n, 0); /* restart lines are not counted twice */
    doctor_log_free(&lg);
}

/* Failed logins by address and user: pop3d's line counts its attempts;
 * Dovecot's auth_verbose line for the same attempt is not counted again. */
static void test_log_logins(void)
{
    char now[32];
    test_stamp(now, sizeof(now), 30);
    buf *b = buf_new(1 << 16);
    for (int i = 0; i < 4; i++)
        buf_printf(b, "%s vm postie/pop3d[%d]: pop3-login: Aborted login (auth failed, 3 "
                   "attempts in 3 secs): user=<u%d>, method=PLAIN, rip=203.0.113.9, "
                   "lip=127.0.0.1, session=<s%d>\n", now, 100 + i, i, i);
    buf_printf(b, "%s vm postie/pop3d[200]: pop3-login: Login: user=<alice>, method=PLAIN, "
               "rip=127.0.0.1, lip=127.0.0.1, mpid=201, session=<ok>\n", now);
    buf_printf(b, "%s vm dovecot: auth: passwd-file(bob,192.0.2.8,<x>): Password mismatch\n",
               now);
    buf_printf(b, "%s vm dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
               "secs): user=<bob>, method=PLAIN, rip=192.0.2.8, lip=192.0.2.1, session=<x>\n",
               now);
    doctor_log lg;
    doctor_log_scan_text(b->data, (long long)time(NULL), 3600, &lg);
    buf_free(&b);
    TEST_EQ_INT(lg.logins, 1);
    TEST_EQ_INT(doctor_groups_total(&lg.login_fail_addr), 13);
    TEST_EQ_INT(lg.login_fail_addr.n, 2);
    if (lg.login_fail_addr.n == 2) {
        TEST_EQ_STR(lg.login_fail_addr.v[0].key, "203.0.113.9");
        TEST_EQ_INT(lg.login_fail_addr.v[0].count, 12);
        TEST_EQ_INT(lg.login_fail_addr.v[1].count, 1);
    }
    TEST_EQ_INT(lg.login_fail_user.n, 5);
    doctor_log_free(&lg);
}

int main(void)
{
    TEST_RUN(test_reason_key);
    TEST_RUN(test_network_width);
    TEST_RUN(test_relay_closed);
    TEST_RUN(test_age);
    TEST_RUN(test_listen_targets);
    TEST_RUN(test_disk);
    TEST_RUN(test_greeting);
    TEST_RUN(test_report);
    TEST_RUN(test_log_scan);
    TEST_RUN(test_log_logins);
    return test_done();
}
