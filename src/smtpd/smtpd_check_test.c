/*
 * smtpd_check_test - the restriction lists: parsing (names, arguments,
 * errors), access tables (file syntax, lookup keys, actions), DNSBL names
 * (RFC 5782), and whole RCPT verdicts through a session without a socket,
 * with DNS answers put into the session's cache beforehand.
 */
#include "smtpd/smtpd_check_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/queue_file.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

static char dir[] = "/tmp/smtpd_check_test.XXXXXX";
static buf *output;

static void test_parse(void)
{
    static const struct {
        const char *value;
        int n;          /* restrictions parsed, or -1 for an error */
        const char *err;
    } cases[] = {
        {"", 0, NULL},
        {"permit_mynetworks, reject_unauth_destination", 2, NULL},
        {"PERMIT_MYNETWORKS reject", 2, NULL},
        {"reject_rbl_client zen.example, reject_rbl_client b.example=127.0.0.2", 2, NULL},
        {"check_sender_access hash:/etc/postie/sender_access permit", 2, NULL},
        {"permit_mynetworks, reject_bogus", -1, "unknown smtpd restriction: \"reject_bogus\""},
        {"reject_rbl_client", -1, "restriction reject_rbl_client needs a DNS zone"},
        {"reject_rbl_client permit", -1, "restriction reject_rbl_client needs a DNS zone"},
        {"check_client_access", -1, "restriction check_client_access needs a table"},
        {"reject_rbl_client zen.example=127.0.0", -1,
         "bad DNSBL answer filter in \"zen.example=127.0.0\" (want zone=d.d.d.d)"},
        {"reject_rbl_client bad..zone", -1, "bad DNS zone \"bad..zone\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].value;
        smtpd_check_rlist l;
        char *err = NULL;
        int r = smtpd_check_parse_list(cases[i].value, &l, &err);
        TEST_EQ_INT(r == 0 ? (int)l.n : -1, cases[i].n);
        TEST_EQ_STR(err, cases[i].err);
        mem_free(&err);
        smtpd_check_parse_free(&l);
    }
    test_current = "filter";
    smtpd_check_rlist l;
    char *err = NULL;
    TEST_EQ_INT(smtpd_check_parse_list("reject_rbl_client zen.example=127.0.0.10", &l, &err), 0);
    TEST_EQ_STR(l.v[0].arg, "zen.example");
    TEST_TRUE(l.v[0].has_want && l.v[0].want[3] == 10);
    smtpd_check_parse_free(&l);
    /* Open relay: neither list refuses other destinations. */
    smtpd_check_rlist relay, rcpt;
    smtpd_check_parse_list("permit_mynetworks", &relay, &err);
    smtpd_check_parse_list("permit", &rcpt, &err);
    TEST_TRUE(!smtpd_check_parse_closed(&relay, &rcpt));
    smtpd_check_parse_free(&rcpt);
    smtpd_check_parse_list("permit_mynetworks reject_unauth_destination", &rcpt, &err);
    TEST_TRUE(smtpd_check_parse_closed(&relay, &rcpt));
    smtpd_check_parse_free(&rcpt);
    smtpd_check_parse_free(&relay);
}

static void test_rbl_names(void)
{
    static const struct {
        const char *addr, *want;
    } cases[] = {
        {"127.0.0.2", "2.0.0.127.zen.example"},
        {"192.0.2.99", "99.2.0.192.zen.example"},
        /* RFC 5782 section 2.4: 32 nibbles, least significant first. */
        {"2001:db8:1:2:3:4:567:89ab",
         "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.example"},
        {"::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.zen.example"},
        {"unknown", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].addr;
        char out[300];
        int r = smtpd_check_dns_rbl_name(cases[i].addr, "zen.example", out, sizeof(out));
        TEST_EQ_STR(r == 0 ? out : NULL, cases[i].want);
    }
}

/* The keys as one string: "a b c". */
static const char *joined(char **keys, size_t n)
{
    static char out[2048];
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "", keys[i]);
        mem_free(&keys[i]);
    }
    return out;
}

static void test_lookup_keys(void)
{
    char *keys[64];
    test_current = "domain";
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_domain("Mx.Example.COM.", keys, 64)),
                "mx.example.com .example.com example.com .com com");
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_domain("[192.0.2.1]", keys, 64)),
                "[192.0.2.1]");
    test_current = "addr";
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_addr("192.0.2.9", keys, 64)),
                "192.0.2.9 192.0.2 192.0 192");
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_addr("2001:db8::1", keys, 64)),
                "2001:db8::1 2001:db8 2001");
    test_current = "mail";
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_mail("Bob+news@Sub.Example.org", keys, 64)),
                "bob+news@sub.example.org bob@sub.example.org sub.example.org "
                ".example.org example.org .org org bob+news@ bob@");
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_mail("", keys, 64)), "<>");
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_mail("postmaster", keys, 64)),
                "postmaster postmaster@");
    /* The limit is kept. */
    TEST_EQ_STR(joined(keys, smtpd_check_access_keys_domain("a.b.c", keys, 2)), "a.b.c .b.c");
}

typedef struct problem {
    char text[300];
    int line;
} problem;
static problem problems[8];
static int nproblems;

static void collect(const char *path, int line, const char *text, void *ctx)
{
    if (nproblems < 8) {
        snprintf(problems[nproblems].text, sizeof(problems[0].text), "%s", text);
        problems[nproblems].line = line;
    }
    nproblems++;
}

static void test_tables(void)
{
    char *path = fs_join(dir, "access");
    const char *text = "# comment\n"
                       "Spam@Example.org   REJECT  go away  \n"   /* 2 */
                       "example.net 550 5.7.0 no\n"               /* 3 */
                       "\n"
                       "long.example DEFER\n"                     /* 5 */
                       "  not today\n"                            /* 6: continues 5 */
                       "example.net OK\n"                         /* 7: duplicate */
                       "bad.example FROB\n"                       /* 8 */
                       "lonely\n"                                 /* 9 */
                       "ok.example reject_unauth_destination\n";  /* 10 */
    fs_write_atomic(path, text, strlen(text), 0600);
    nproblems = 0;
    char *err = NULL;
    char spec[600];
    snprintf(spec, sizeof(spec), "hash:%s", path);
    smtpd_check_table *t = smtpd_check_access_load(spec, collect, NULL, &err);
    TEST_EQ_STR(err, NULL);
    int line = 0;
    TEST_EQ_STR(smtpd_check_access_get(t, "spam@example.org", &line), "REJECT  go away");
    TEST_EQ_INT(line, 2);
    TEST_EQ_STR(smtpd_check_access_get(t, "example.net", &line), "550 5.7.0 no");
    TEST_EQ_STR(smtpd_check_access_get(t, "long.example", &line), "DEFER not today");
    TEST_EQ_INT(line, 5);
    TEST_EQ_STR(smtpd_check_access_get(t, "ok.example", NULL), "reject_unauth_destination");
    TEST_EQ_STR(smtpd_check_access_get(t, "nothing", NULL), NULL);
    TEST_EQ_INT(nproblems, 3);
    TEST_EQ_STR(problems[0].text, "unknown action: \"FROB\"");
    TEST_EQ_INT(problems[0].line, 8);
    TEST_EQ_STR(problems[1].text, "missing action: \"lonely\"");
    TEST_EQ_INT(problems[1].line, 9);
    TEST_EQ_STR(problems[2].text, "duplicate key (the first is used): \"example.net\"");
    TEST_EQ_INT(problems[2].line, 7);
    smtpd_check_access_free(&t);
    t = smtpd_check_access_load("cidr:/x", NULL, NULL, &err);
    TEST_EQ_STR(err, "table cidr:/x: type cidr is not supported (plain text access tables only)");
    mem_free(&err);
    smtpd_check_access_free(&t);
    t = smtpd_check_access_load("/nonexistent/table", NULL, NULL, &err);
    TEST_TRUE(err != NULL && strstr(err, "cannot read access table /nonexistent/table") != NULL);
    mem_free(&err);
    smtpd_check_access_free(&t);
    static const struct {
        const char *action;
        const char *bad;
    } actions[] = {
        {"OK", NULL}, {"ok", NULL}, {"DUNNO", NULL}, {"REJECT", NULL},
        {"REJECT some text", NULL}, {"DEFER", NULL}, {"DEFER_IF_PERMIT x", NULL},
        {"450 try later", NULL}, {"554 5.7.1 no", NULL}, {"permit_mynetworks", NULL},
        {"OK but", "OK and DUNNO take no text"}, {"250 fine", "a reply code must be 4NN or 5NN"},
        {"HOLD", "unknown action"}, {"check_client_access x", "unknown action"},
    };
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        test_current = actions[i].action;
        TEST_EQ_STR(smtpd_check_access_bad_action(actions[i].action), actions[i].bad);
    }
    mem_free(&path);
}

static void capture(smtpd_session *s, const char *p, size_t n)
{
    buf_append(output, p, n);
}

/* Lists set, lines in from addr with these DNS answers cached; the
 * replies after the greeting, CRLF as LF. */
typedef struct answer {
    const char *name;
    int type;
    int status;
    const char *value;   /* A: address; TXT/MX: text/name */
} answer;

static const char *dialog(const char *addr, const answer *answers, const char *input)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
    inet_pton(AF_INET, addr, &sin.sin_addr);
    buf_reset(output);
    smtpd_session *s = smtpd_session_new(-1, (struct sockaddr *)&sin, sizeof(sin));
    for (const answer *a = answers; a && a->name; a++) {
        smtpd_dns_rr rr = {.type = a->type};
        if (a->type == SMTPD_DNS_T_A && a->value)
            inet_pton(AF_INET, a->value, rr.addr);
        else if (a->value)
            snprintf(rr.name, sizeof(rr.name), "%s", a->value);
        smtpd_check_dns_store(s, a->name, a->type, a->status, &rr,
                              a->status == SMTPD_CHECK_DNS_FOUND);
    }
    smtpd_session_input(s, input, strlen(input));
    smtpd_session_free(&s);
    static char out[1 << 14];
    size_t o = 0;
    for (size_t i = 0; i < output->len && o < sizeof(out) - 1; i++)
        if (output->data[i] != '\r')
            out[o++] = output->data[i];
    out[o] = '\0';
    return out;
}

static void lists(const char *client, const char *sender, const char *rcpt)
{
    var_set("smtpd_client_restrictions", client);
    var_set("smtpd_sender_restrictions", sender);
    var_set("smtpd_recipient_restrictions", rcpt);
    smtpd_conf_load();
    smtpd_cf.dns_server_len = 0; /* an answer not cached is a failure */
}

static void test_verdicts(void)
{
    static const answer listed[] = {
        {"9.2.0.192.zen.example", SMTPD_DNS_T_A, SMTPD_CHECK_DNS_FOUND, "127.0.0.2"},
        {"9.2.0.192.zen.example", SMTPD_DNS_T_TXT, SMTPD_CHECK_DNS_NONE, NULL},
        {"10.2.0.192.zen.example", SMTPD_DNS_T_A, SMTPD_CHECK_DNS_FOUND, "127.0.0.3"},
        {"10.2.0.192.zen.example", SMTPD_DNS_T_TXT, SMTPD_CHECK_DNS_FOUND, "see http://zen/x"},
        {"11.2.0.192.zen.example", SMTPD_DNS_T_A, SMTPD_CHECK_DNS_FOUND, "192.0.2.1"},
        {"nowhere.example", SMTPD_DNS_T_MX, SMTPD_CHECK_DNS_NONE, NULL},
        {"nowhere.example", SMTPD_DNS_T_A, SMTPD_CHECK_DNS_NONE, NULL},
        {"nowhere.example", SMTPD_DNS_T_AAAA, SMTPD_CHECK_DNS_NONE, NULL},
        {"good.example", SMTPD_DNS_T_MX, SMTPD_CHECK_DNS_FOUND, "mx.good.example"},
        {"null.example", SMTPD_DNS_T_MX, SMTPD_CHECK_DNS_FOUND, ""},
        {"bad.rhsbl.example", SMTPD_DNS_T_A, SMTPD_CHECK_DNS_FOUND, "127.0.0.2"},
        {NULL, 0, 0, NULL},
    };
    /* The seed's line: a listed client. */
    lists("reject_rbl_client zen.example", "", "");
    test_current = "dnsbl";
    TEST_EQ_STR(dialog("192.0.2.9", listed, "HELO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"),
                "250 mx.example.test\n250 2.1.0 Ok\n"
                "554 5.7.1 Service unavailable; Client host [192.0.2.9] blocked using zen.example\n");
    /* ... and its log line, word for word the seed's
     * (../shared/seeds/003_515ca660043e21f8.txt). */
    test_current = "dnsbl log line";
    dialog("192.0.2.9", listed, "EHLO h\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
    char *logpath = fs_join(dir, "maillog");
    char *logtext = fs_read_file(logpath, 1 << 20, NULL);
    TEST_TRUE(logtext != NULL &&
              strstr(logtext, " postie/smtpd[") != NULL &&
              strstr(logtext, "]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 "
                              "Service unavailable; Client host [192.0.2.9] blocked using "
                              "zen.example; from=<a@b> to=<c@d> proto=ESMTP helo=<h>\n") != NULL);
    mem_free(&logtext);
    mem_free(&logpath);
    test_current = "dnsbl reason";
    TEST_EQ_STR(dialog("192.0.2.10", listed, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n554 5.7.1 Service unavailable; Client host [192.0.2.10] "
                "blocked using zen.example; see http://zen/x\n");
    test_current = "dnsbl answer outside 127/8";
    TEST_EQ_STR(dialog("192.0.2.11", listed, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n250 2.1.5 Ok\n");
    test_current = "dnsbl no answer";
    TEST_EQ_STR(dialog("192.0.2.12", listed, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n250 2.1.5 Ok\n");
    lists("reject_rbl_client zen.example=127.0.0.3", "", "");
    test_current = "dnsbl filter";
    TEST_EQ_STR(dialog("192.0.2.9", listed, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n250 2.1.5 Ok\n");
    /* permit_mynetworks before the list: a trusted client is not asked
     * about; an unknown local user is refused all the same. */
    lists("permit_mynetworks reject_rbl_client zen.example", "", "");
    var_set("mynetworks", "192.0.2.9");
    smtpd_conf_load();
    test_current = "permit ends the list";
    TEST_EQ_STR(dialog("192.0.2.9", listed, "MAIL FROM:<a@b>\r\nRCPT TO:<x@far.example>\r\n"
                                             "RCPT TO:<nobody@localhost>\r\n"),
                "250 2.1.0 Ok\n250 2.1.5 Ok\n550 5.1.1 <nobody@localhost>: Recipient address "
                "rejected: User unknown in local recipient table\n");
    var_set("mynetworks", "127.0.0.0/8");
    lists("", "reject_unknown_sender_domain, reject_rhsbl_sender rhsbl.example", "");
    test_current = "unknown sender domain";
    TEST_EQ_STR(dialog("192.0.2.1", listed, "MAIL FROM:<a@nowhere.example>\r\nRCPT TO:<bob@localhost>\r\n"
                                             "RSET\r\nMAIL FROM:<a@good.example>\r\nRCPT TO:<bob@localhost>\r\n"
                                             "RSET\r\nMAIL FROM:<a@null.example>\r\nRCPT TO:<bob@localhost>\r\n"
                                             "RSET\r\nMAIL FROM:<a@temp.example>\r\nRCPT TO:<bob@localhost>\r\n"
                                             "RCPT TO:<nobody@localhost>\r\n"),
                "250 2.1.0 Ok\n450 4.1.8 <a@nowhere.example>: Sender address rejected: Domain not found\n"
                "250 2.0.0 Ok\n250 2.1.0 Ok\n250 2.1.5 Ok\n"
                "250 2.0.0 Ok\n250 2.1.0 Ok\n556 5.7.27 <a@null.example>: Sender address rejected: "
                "Domain null.example does not accept mail (nullMX)\n"
                /* not cached: a temporary failure defers only an accept */
                "250 2.0.0 Ok\n250 2.1.0 Ok\n450 4.1.8 <a@temp.example>: Sender address rejected: "
                "Domain not found\n550 5.1.1 <nobody@localhost>: Recipient address rejected: User "
                "unknown in local recipient table\n");
    test_current = "rhsbl sender";
    TEST_EQ_STR(dialog("192.0.2.1", listed, "MAIL FROM:<x@bad>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n554 5.7.1 Service unavailable; Sender address [x@bad] blocked "
                "using rhsbl.example\n");
    lists("", "", "reject_non_fqdn_recipient");
    test_current = "non-fqdn recipient";
    TEST_EQ_STR(dialog("127.0.0.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<x@nodot>\r\n"
                                          "RCPT TO:<x@[192.0.2.1]>\r\n"),
                "250 2.1.0 Ok\n504 5.5.2 <x@nodot>: Recipient address rejected: need "
                "fully-qualified address\n250 2.1.5 Ok\n");
    var_set("smtpd_helo_restrictions", "reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname");
    lists("", "", "");
    test_current = "helo";
    TEST_EQ_STR(dialog("127.0.0.1", NULL, "HELO bad_$name\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"
                                          "HELO nodot\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"
                                          "HELO [127.0.0.1]\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 mx.example.test\n250 2.1.0 Ok\n501 5.5.2 <bad_$name>: Helo command rejected: "
                "Invalid name\n250 mx.example.test\n250 2.1.0 Ok\n504 5.5.2 <nodot>: Helo command "
                "rejected: need fully-qualified hostname\n250 mx.example.test\n250 2.1.0 Ok\n"
                "250 2.1.5 Ok\n");
    var_set("smtpd_helo_restrictions", "");
    lists("reject", "", "");
    test_current = "reject in the client list";
    TEST_EQ_STR(dialog("192.0.2.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied\n");
    lists("", "defer", "");
    test_current = "defer in the sender list";
    TEST_EQ_STR(dialog("192.0.2.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n450 4.3.2 <a@b>: Sender address rejected: Try again later\n");
    /* Access tables in the lists, by network, parent domain and action. */
    char *tab = fs_join(dir, "policy");
    const char *text = "192.0.2 REJECT no network\n"
                       "192.0.2.7 DUNNO\n"
                       ".spam.example 554 5.7.0 spammy helo\n"
                       "bob@ DEFER_IF_PERMIT come back\n"
                       "far.example reject_unauth_destination\n"
                       "odd.example FROB\n";
    fs_write_atomic(tab, text, strlen(text), 0600);
    char spec[600];
    snprintf(spec, sizeof(spec), "check_client_access %s", tab);
    var_set("smtpd_helo_restrictions", "");
    lists(spec, "", "");
    test_current = "client by network";
    TEST_EQ_STR(dialog("192.0.2.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: no network\n");
    test_current = "DUNNO for one host";
    TEST_EQ_STR(dialog("192.0.2.7", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n250 2.1.5 Ok\n");
    snprintf(spec, sizeof(spec), "check_helo_access %s", tab);
    var_set("smtpd_helo_restrictions", spec);
    snprintf(spec, sizeof(spec), "check_recipient_access %s", tab);
    lists("", "", spec);
    test_current = "helo by parent domain, recipient actions";
    TEST_EQ_STR(dialog("127.0.0.1", NULL,
                       "HELO a.b.spam.example\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"
                       "HELO ok.example\r\nMAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"
                       "RCPT TO:<bob@far.example>\r\nRCPT TO:<x@odd.example>\r\n"),
                "250 mx.example.test\n250 2.1.0 Ok\n554 5.7.0 <a.b.spam.example>: Helo command "
                "rejected: spammy helo\n250 mx.example.test\n250 2.1.0 Ok\n"
                /* DEFER_IF_PERMIT: the verdict would be accept, so defer */
                "450 4.7.1 <bob@localhost>: Recipient address rejected: come back\n"
                /* the relay list permitted (mynetworks); the table's
                 * restriction refuses the foreign domain */
                "554 5.7.1 <bob@far.example>: Relay access denied\n"
                "451 4.3.5 Server configuration error\n");
    var_set("smtpd_helo_restrictions", "");
    mem_free(&tab);
    /* Relay control: relay_domains from anywhere; defer instead of reject. */
    var_set("relay_domains", "relay.example");
    var_set("smtpd_relay_restrictions", "permit_mynetworks, defer_unauth_destination");
    lists("", "", "");
    test_current = "relay";
    TEST_EQ_STR(dialog("192.0.2.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<x@relay.example>\r\n"
                                          "RCPT TO:<x@far.example>\r\n"),
                "250 2.1.0 Ok\n250 2.1.5 Ok\n450 4.7.1 <x@far.example>: Relay access denied\n");
    var_set("relay_domains", "");
    var_set("smtpd_relay_restrictions",
            "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
    /* A reload with a bad list keeps the lists in force. */
    lists("reject", "", "");
    lists("reject_bogus", "", "");
    test_current = "bad reload";
    TEST_EQ_STR(dialog("192.0.2.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied\n");
    var_set("smtpd_relay_restrictions", "permit_mynetworks");
    lists("", "", "");
    TEST_EQ_STR(dialog("192.0.2.1", NULL, "MAIL FROM:<a@b>\r\nRCPT TO:<bob@localhost>\r\n"),
                "250 2.1.0 Ok\n554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied\n");
    var_set("smtpd_relay_restrictions",
            "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination");
    lists("", "", "");
    char *logpath2 = fs_join(dir, "maillog");
    char *logtext2 = fs_read_file(logpath2, 1 << 20, NULL);
    TEST_TRUE(logtext2 != NULL &&
              strstr(logtext2, "warning: unknown smtpd restriction: \"reject_bogus\": keeping "
                               "the previous smtpd restrictions\n") != NULL &&
              strstr(logtext2, "that would be an open relay: keeping the previous smtpd "
                               "restrictions\n") != NULL);
    mem_free(&logtext2);
    mem_free(&logpath2);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    char *q = fs_join(dir, "queue");
    queue_dirs_create(q);
    char *users = fs_join(dir, "users");
    fs_write_atomic(users, "bob:{SHA512-CRYPT}$6$x$y::::::\n", 31, 0600);
    char *aliases = fs_join(dir, "aliases");
    fs_write_atomic(aliases, "", 0, 0600);
    char *log = fs_join(dir, "maillog");
    mail_conf_set_dir(dir);
    var_set("queue_directory", q);
    var_set("mail_users_file", users);
    var_set("alias_maps", aliases);
    var_set("myhostname", "mx.example.test");
    var_set("mydestination", "$myhostname, localhost");
    var_set("message_size_limit", "100000");
    /* The dialogues send whole pipelined groups for brevity; the rule of
     * RFC 2920 against that has its own cases (smtpd_session_test.c). */
    var_set("smtpd_forbid_unauth_pipelining", "no");
    msg_init("smtpd");
    msg_open_file(log);
    smtpd_conf_load();
    output = buf_new(1 << 20);
    smtpd_session_output_hook = capture;
    TEST_RUN(test_parse);
    TEST_RUN(test_rbl_names);
    TEST_RUN(test_lookup_keys);
    TEST_RUN(test_tables);
    TEST_RUN(test_verdicts);
    buf_free(&output);
    for (int l = 0; l < SMTPD_CHECK_NLISTS; l++)
        smtpd_check_parse_free(&smtpd_check_cf.lists[l]);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)!system(cmd);
    mem_free(&q);
    mem_free(&users);
    mem_free(&aliases);
    mem_free(&log);
    return test_done();
}
