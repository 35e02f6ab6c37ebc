/*
 * smtpd_session_test - whole SMTP dialogues against a session without a
 * socket: input bytes in, reply bytes out, table-driven.  Covers the
 * command table's states, the limits, pipelining, BDAT, the relay and
 * local recipient checks and the disconnect counters (RFC 5321, 2920,
 * 3030, 3463).
 */
#include "smtpd/smtpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/queue_file.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/test.h"

static char dir[] = "/tmp/smtpd_session_test.XXXXXX";
static buf *output;

static void capture(smtpd_session *s, const char *p, size_t n)
{
    buf_append(output, p, n);
}

/* Run input through a new session from addr; returns the replies with
 * CRLF turned into LF (a static buffer), the greeting left out.  A \001
 * in the input splits it into separate reads (so that DATA is not
 * pipelined with its content). */
static const char *dialog(const char *addr, const char *input, size_t len)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
    inet_pton(AF_INET, addr, &sin.sin_addr);
    buf_reset(output);
    smtpd_session *s = smtpd_session_new(-1, (struct sockaddr *)&sin, sizeof(sin));
    smtpd_session_greet(s);
    smtpd_session_flush(s);
    buf_reset(output);
    while (len > 0) {
        const char *cut = memchr(input, '\001', len);
        size_t n = cut ? (size_t)(cut - input) : len;
        smtpd_session_input(s, input, n);
        input += n + (cut ? 1 : 0);
        len -= n + (cut ? 1 : 0);
    }
    smtpd_session_free(&s);
    static char out[1 << 16];
    size_t o = 0;
    for (size_t i = 0; i < output->len && o < sizeof(out) - 1; i++)
        if (output->data[i] != '\r')
            out[o++] = output->data[i];
    out[o] = '\0';
    return out;
}

static const struct {
    const char *name;
    const char *addr;
    const char *in;
    const char *want;
} cases[] = {
    {"helo and quit", "127.0.0.1", "HELO c\r\nQUIT\r\n",
     "250 mx.example.test\n221 2.0.0 Bye\n"},
    /* No certificate here: Postfix's replies, arguments checked first,
     * then the transaction (RFC 3207 section 4). */
    {"starttls without a certificate", "127.0.0.1",
     "HELO c\r\nSTARTTLS x\r\nSTARTTLS\r\nMAIL FROM:<>\r\nSTARTTLS\r\n",
     "250 mx.example.test\n501 5.5.4 Syntax: STARTTLS\n"
     "502 5.5.1 Error: command not implemented\n250 2.1.0 Ok\n"
     "503 5.5.1 Error: MAIL transaction in progress\n"},
    {"mail needs no helo (Postfix)", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n"},
    {"state errors", "127.0.0.1",
     "RCPT TO:<bob@localhost>\r\nDATA\r\nMAIL FROM:<>\r\nMAIL FROM:<>\r\n",
     "503 5.5.1 Error: need MAIL command\n503 5.5.1 Error: need RCPT command\n"
     "250 2.1.0 Ok\n503 5.5.1 Error: nested MAIL command\n"},
    {"relay denied outside mynetworks", "192.0.2.1",
     "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@far.example>\r\n",
     NULL},
    {"unknown local user", "192.0.2.1",
     "HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nobody@localhost>\r\n"
     "RCPT TO:<BOB@MX.EXAMPLE.TEST>\r\nRCPT TO:<postmaster>\r\n",
     "250 mx.example.test\n250 2.1.0 Ok\n550 5.1.1 <nobody@localhost>: Recipient "
     "address rejected: User unknown in local recipient table\n250 2.1.5 Ok\n"
     "250 2.1.5 Ok\n"},
    {"relay allowed from mynetworks", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<x@far.example>\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n"},
    {"data and dot", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n\001"
     "Subject: x\r\n\r\n..a\r\n.\r\nNOOP\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"
     "250 2.0.0 Ok: queued as ID\n250 2.0.0 Ok\n"},
    {"content pipelined with data", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\nDATA\r\n"
     "Subject: x\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n503 5.5.0 Error: improper use of SMTP command "
     "pipelining\n221 2.7.0 Error: I can break rules, too. Goodbye.\n"},
    {"bdat", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\nBDAT 5\r\nab\r\ncBDAT 0 LAST\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.0.0 Ok: 5 bytes\n250 2.0.0 Ok: queued as ID\n"},
    {"bdat without size hangs up", "127.0.0.1", "BDAT x\r\nNOOP\r\n",
     "501 5.5.4 Syntax: BDAT count [LAST]\n"},
    {"bdat 0 without last", "127.0.0.1", "BDAT 0\r\n",
     "501 5.5.4 Syntax: BDAT count [LAST]\n"},
    {"data after bdat", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\nBDAT 1\r\nxDATA\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.0.0 Ok: 1 bytes\n503 5.5.1 Error: DATA after BDAT\n"},
    {"long command line", "127.0.0.1", NULL, "500 5.5.2 Error: line too long\n250 2.0.0 Ok\n"},
    {"recipient limit", "127.0.0.1",
     "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\nRCPT TO:<bob@localhost>\r\n"
     "RCPT TO:<bob@localhost>\r\n",
     "250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n452 4.5.3 Error: too many recipients\n"},
    {"size declared too big", "127.0.0.1", "MAIL FROM:<a@b.example> SIZE=100001\r\n",
     "552 5.3.4 Message size exceeds fixed limit\n"},
    {"hard error limit", "127.0.0.1", "X\r\nX\r\nX\r\nX\r\nX\r\nX\r\nNOOP\r\n",
     "502 5.5.2 Error: command not recognized\n502 5.5.2 Error: command not recognized\n502 5.5.2 Error: command not recognized\n"
     "502 5.5.2 Error: command not recognized\n502 5.5.2 Error: command not recognized\n"
     "502 5.5.2 Error: command not recognized\n421 4.7.0 mx.example.test Error: too many errors\n"},
    {"quit stops input", "127.0.0.1", "QUIT\r\nNOOP\r\n", "221 2.0.0 Bye\n"},
    {"rset is not a transaction", "127.0.0.1", "RSET x\r\nRSET\r\n",
     "501 5.5.4 Syntax: RSET\n250 2.0.0 Ok\n"},
};

static void test_dialogues(void)
{
    char longline[700];
    snprintf(longline, sizeof(longline), "NOOP %0600d\r\nNOOP\r\n", 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_current = cases[i].name;
        const char *in = cases[i].in ? cases[i].in : longline;
        const char *got = dialog(cases[i].addr, in, strlen(in));
        /* Queue IDs vary: compare with "ID" in their place. */
        char norm[1 << 16];
        snprintf(norm, sizeof(norm), "%s", got);
        char *q;
        while ((q = strstr(norm, "queued as ")) != NULL && q[10] != 'I') {
            char *end = q + 10;
            while (*end && *end != '\n')
                end++;
            memmove(q + 12, end, strlen(end) + 1);
            memcpy(q + 10, "ID", 2);
        }
        if (cases[i].want)
            TEST_EQ_STR(norm, cases[i].want);
        else
            TEST_TRUE(strstr(norm, "554 5.7.1 <x@far.example>: Relay access denied\n") != NULL);
    }
}

/* Every prefix of a pipelined dialogue, fed one byte at a time, gives the
 * same replies as the whole. */
static void test_byte_at_a_time_equals_whole(void)
{
    const char *in = "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\n"
                     "DATA\r\n\001Subject: y\r\n\r\nbody\r\n.\r\nRSET\r\nQUIT\r\n";
    char whole[4096];
    snprintf(whole, sizeof(whole), "%s", dialog("127.0.0.1", in, strlen(in)));
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    buf_reset(output);
    smtpd_session *s = smtpd_session_new(-1, (struct sockaddr *)&sin, sizeof(sin));
    for (size_t i = 0; in[i]; i++)
        if (in[i] != '\001')
            smtpd_session_input(s, in + i, 1);
    smtpd_session_free(&s);
    /* Same reply codes in the same order (queue IDs differ). */
    TEST_EQ_INT(output->len > 0, 1);
    int lines_whole = 0, lines_bytes = 0;
    for (const char *p = whole; *p; p++)
        lines_whole += *p == '\n';
    for (size_t i = 0; i < output->len; i++)
        lines_bytes += output->data[i] == '\n';
    TEST_EQ_INT(lines_bytes, lines_whole);
    TEST_TRUE(strstr(output->data, "221 2.0.0 Bye") != NULL);
}

static void test_disconnect_counters(void)
{
    smtpd_session s;
    memset(&s, 0, sizeof(s));
    s.count_all[SMTPD_C_EHLO] = 1;
    s.count_ok[SMTPD_C_EHLO] = 1;
    s.count_all[SMTPD_C_MAIL] = 1;
    s.count_ok[SMTPD_C_MAIL] = 1;
    s.count_all[SMTPD_C_RCPT] = 2;
    s.count_ok[SMTPD_C_RCPT] = 1;
    s.count_all[SMTPD_C_UNKNOWN] = 1;
    buf *b = buf_new(256);
    smtpd_session_counts(&s, b);
    TEST_EQ_STR(b->data, " ehlo=1 mail=1 rcpt=1/2 unknown=0/1 commands=3/5");
    buf_reset(b);
    s.count_all[SMTPD_C_RCPT] = 1;
    s.count_all[SMTPD_C_UNKNOWN] = 0;
    smtpd_session_counts(&s, b);
    TEST_EQ_STR(b->data, " ehlo=1 mail=1 rcpt=1 commands=3");
    buf_reset(b);
    memset(&s, 0, sizeof(s));
    smtpd_session_counts(&s, b);
    TEST_EQ_STR(b->data, " commands=0/0"); /* Postfix's form for none */
    buf_free(&b);
}

static void test_vrfy_when_enabled(void)
{
    smtpd_cf.disable_vrfy = false;
    const char *in = "VRFY <bob@localhost>\r\nVRFY nobody@localhost\r\n"
                     "VRFY someone@far.example\r\nVRFY\r\n";
    TEST_EQ_STR(dialog("127.0.0.1", in, strlen(in)),
                "252 2.0.0 bob@localhost\n550 5.1.1 <nobody@localhost>: Recipient "
                "address rejected: User unknown in local recipient table\n"
                "252 2.0.0 someone@far.example\n501 5.5.4 Syntax: VRFY address\n");
    smtpd_cf.disable_vrfy = true;
}

/* Lines that are not SMTP, or not well-formed, whatever the state.  A
 * \001 splits reads, so that nothing is pipelined. */
static void test_forbidden_and_malformed_lines(void)
{
    static const struct {
        const char *name;
        const char *in;
        size_t len;
        const char *want;
    } t[] = {
        {"http post", "POST / HTTP/1.1\r\nHost: x\r\n\r\nEHLO x\r\n", 0,
         "221 2.7.0 Error: I can break rules, too. Goodbye.\n"},
        {"get after ehlo", "EHLO c\r\n\001get /\r\n\001NOOP\r\n", 0,
         "250-mx.example.test\n", },
        {"header line", "Content-Type: text/plain\r\n\001NOOP\r\n", 0,
         "221 2.7.0 Error: I can break rules, too. Goodbye.\n"},
        {"tls hello", "\x16\x03\x01\x02\r\n\001NOOP\r\n", 0,
         "221 2.7.0 Error: I can break rules, too. Goodbye.\n"},
        {"unknown but a word", "XYZZY\r\n\001NOOP\r\n", 0,
         "502 5.5.2 Error: command not recognized\n250 2.0.0 Ok\n"},
        {"nul in rcpt", "MAIL FROM:<a@b.example>\r\n\001RCPT TO:<bob@localhost>\0<x@far."
         "example>\r\n\001RCPT TO:<bob@localhost>\r\n", 0,
         "250 2.1.0 Ok\n500 5.5.2 Error: bad syntax\n250 2.1.5 Ok\n"},
        {"latin-1 rcpt", "MAIL FROM:<a@b.example> SMTPUTF8\r\n\001RCPT TO:<b\xe9" "b@localhost>"
         "\r\n", 0, "250 2.1.0 Ok\n500 5.5.2 Error: bad UTF-8 syntax\n"},
        {"overlong sender", "MAIL FROM:<\xc0\xaf" "a@b.example> SMTPUTF8\r\n", 0,
         "500 5.5.2 Error: bad UTF-8 syntax\n"},
        {"surrogate sender", "MAIL FROM:<\xed\xa0\x80@b.example> SMTPUTF8\r\n", 0,
         "500 5.5.2 Error: bad UTF-8 syntax\n"},
        {"good utf-8", "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8\r\n", 0,
         "250 2.1.0 Ok\n"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        test_current = t[i].name;
        size_t len = t[i].len ? t[i].len : strlen(t[i].in);
        if (strstr(t[i].name, "nul") != NULL)
            len = strlen(t[i].in) + 1 + strlen(t[i].in + strlen(t[i].in) + 1);
        const char *got = dialog("127.0.0.1", t[i].in, len);
        if (strcmp(t[i].name, "get after ehlo") == 0)
            TEST_TRUE(strstr(got, "250 CHUNKING\n221 2.7.0 Error: I can break rules, "
                                  "too. Goodbye.\n") != NULL && strstr(got, "250 2.0.0") == NULL);
        else
            TEST_EQ_STR(got, t[i].want);
    }
}

/* smtpd_forbid_unauth_pipelining = yes: sending ahead where RFC 2920 does
 * not allow it ends the session with 554 5.5.0 (Postfix 3.9).  A \001
 * splits the input into separate reads: what is after it was sent after
 * the reply. */
static void test_unsync_hangs_up(void)
{
    static const struct {
        const char *name;
        const char *in;
        const char *want;
    } t[] = {
        {"pipelining after helo", "HELO c\r\nMAIL FROM:<a@b.example>\r\n",
         "250 mx.example.test\n554 5.5.0 Error: SMTP protocol synchronization\n"},
        {"no pipelining offered", "MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@localhost>\r\n",
         "250 2.1.0 Ok\n554 5.5.0 Error: SMTP protocol synchronization\n"},
        {"pipelined after ehlo", "EHLO c\r\nMAIL FROM:<a@b.example>\r\n",
         "250 CHUNKING\n554 5.5.0 Error: SMTP protocol synchronization\n"},
        {"group after ehlo is fine", "EHLO c\r\n\001MAIL FROM:<a@b.example>\r\n"
         "RCPT TO:<bob@localhost>\r\nRSET\r\n\001QUIT\r\n",
         "250 CHUNKING\n250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.0.0 Ok\n221 2.0.0 Bye\n"},
        {"content before 354", "EHLO c\r\n\001MAIL FROM:<a@b.example>\r\n"
         "RCPT TO:<bob@localhost>\r\nDATA\r\nSubject: x\r\n",
         "250 2.1.5 Ok\n554 5.5.0 Error: SMTP protocol synchronization\n"},
        {"bdat without pipelining", "HELO c\r\n\001MAIL FROM:<a@b.example>\r\n\001"
         "RCPT TO:<bob@localhost>\r\n\001BDAT 2 LAST\r\nhiQUIT\r\n",
         "250 2.1.5 Ok\n554 5.5.0 Error: SMTP protocol synchronization\n"},
        {"bdat pipelined after ehlo", "EHLO c\r\n\001MAIL FROM:<a@b.example>\r\n"
         "RCPT TO:<bob@localhost>\r\nBDAT 2\r\nhiBDAT 0 LAST\r\n\001QUIT\r\n",
         "250 2.0.0 Ok: 2 bytes\n250 2.0.0 Ok: queued as ID\n221 2.0.0 Bye\n"},
    };
    smtpd_cf.forbid_unauth_pipelining = true;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        test_current = t[i].name;
        const char *got = dialog("127.0.0.1", t[i].in, strlen(t[i].in));
        /* The tail: the last replies, queue IDs masked. */
        char norm[4096];
        snprintf(norm, sizeof(norm), "%s", got);
        char *q = strstr(norm, "queued as ");
        if (q != NULL) {
            char *e = strchr(q, '\n');
            memmove(q + 12, e, strlen(e) + 1);
            memcpy(q + 10, "ID", 2);
        }
        size_t wl = strlen(t[i].want), nl = strlen(norm);
        TEST_TRUE(nl >= wl && strcmp(norm + nl - wl, t[i].want) == 0);
        if (!(nl >= wl && strcmp(norm + nl - wl, t[i].want) == 0))
            fprintf(stderr, "  got: %s\n", norm);
    }
    smtpd_cf.forbid_unauth_pipelining = false;
}

/* A client that talks before the greeting (socketpair stands in for the
 * accepted connection). */
static void test_pregreet_is_logged(void)
{
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    TEST_EQ_INT(write(sv[1], "EHLO early\r\n", 12), 12);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
    smtpd_session *s = smtpd_session_new(sv[0], (struct sockaddr *)&sin, sizeof(sin));
    smtpd_session_pregreet(s);
    /* The octets are still there for the session to read. */
    char b[32];
    TEST_EQ_INT(recv(sv[0], b, sizeof(b), MSG_DONTWAIT), 12);
    s->fd = -1;
    smtpd_session_free(&s);
    close(sv[0]);
    close(sv[1]);
}

static void test_log_lines(void)
{
    char *log = fs_join(dir, "maillog");
    size_t len;
    char *text = fs_read_file(log, 1 << 20, &len);
    TEST_TRUE(text != NULL);
    if (text == NULL)
        return;
    TEST_TRUE(strstr(text, "NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 "
                           "<x@far.example>: Relay access denied; from=<a@b.example> "
                           "to=<x@far.example> proto=ESMTP helo=<c>\n") != NULL);
    TEST_TRUE(strstr(text, "reject: RCPT from unknown[192.0.2.1]: 550 5.1.1 "
                           "<nobody@localhost>: Recipient address rejected: User "
                           "unknown in local recipient table; from=<a@b.example> "
                           "to=<nobody@localhost> proto=SMTP helo=<c>\n") != NULL);
    TEST_TRUE(strstr(text, "too many errors after UNKNOWN from ") != NULL);
    TEST_TRUE(strstr(text, "warning: command line too long from ") != NULL);
    TEST_TRUE(strstr(text, "NOQUEUE: reject: MAIL from ") != NULL);
    TEST_TRUE(strstr(text, "improper command pipelining after CONNECT from "
                           "unknown[192.0.2.9]: EHLO early\n") != NULL);
    /* 127.0.0.1's name is whatever /etc/hosts says (a minbase chroot has
     * none): only the address and the line are the session's. */
    TEST_TRUE(strstr(text, "warning: non-SMTP command from ") != NULL);
    TEST_TRUE(strstr(text, "[127.0.0.1]: POST / HTTP/1.1\n") != NULL);
    TEST_TRUE(strstr(text, "warning: disallowed <NUL> received from ") != NULL);
    TEST_TRUE(strstr(text, "warning: malformed UTF-8 received from ") != NULL);
    TEST_TRUE(strstr(text, "improper command pipelining after BDAT from ") != NULL);
    TEST_TRUE(strstr(text, "disconnect from unknown[192.0.2.1] ehlo=1 mail=1 rcpt=0/1 "
                           "commands=2/3\n") != NULL);
    mem_free(&text);
    mem_free(&log);
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
    var_set("smtpd_recipient_limit", "2");
    var_set("message_size_limit", "100000");
    var_set("smtpd_hard_error_limit", "6");
    /* The dialogues send whole pipelined groups for brevity; the rule of
     * RFC 2920 against that has its own cases (test_unsync_*). */
    var_set("smtpd_forbid_unauth_pipelining", "no");
    msg_init("smtpd");
    msg_open_file(log);
    smtpd_conf_load();
    output = buf_new(1 << 20);
    smtpd_session_output_hook = capture;
    TEST_RUN(test_dialogues);
    TEST_RUN(test_byte_at_a_time_equals_whole);
    TEST_RUN(test_disconnect_counters);
    TEST_RUN(test_vrfy_when_enabled);
    TEST_RUN(test_pregreet_is_logged);
    TEST_RUN(test_forbidden_and_malformed_lines);
    TEST_RUN(test_unsync_hangs_up);
    TEST_RUN(test_log_lines);
    buf_free(&output);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)!system(cmd);
    mem_free(&q);
    mem_free(&users);
    mem_free(&aliases);
    mem_free(&log);
    return test_done();
}
