/*
 * pop3d_login_test - the AUTHORIZATION state as a table of dialogues:
 * each case is a list of client lines, the replies wanted, and the action
 * after the last line.
 */
#include "pop3d/pop3d_login.h"

#include "util/test.h"

#define TOO_LONG "\x01"   /* marks a line the splitter found too long */

static void test_pop3d_login_dialogues(void)
{
    static const struct {
        const char *lines[6];
        const char *want;                 /* all replies concatenated */
        enum pop3d_login_act act;         /* after the last line */
        const char *user, *pass;          /* for VERIFY */
    } cases[] = {
        {{"USER alice", "PASS secret"}, "+OK\r\n", POP3D_LOGIN_VERIFY, "alice", "secret"},
        {{"user alice", "pass with spaces "}, "+OK\r\n", POP3D_LOGIN_VERIFY, "alice", "with spaces "},
        {{"PASS x"}, "-ERR No username given.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"USER"}, "-ERR USER: Missing argument.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"QUIT"}, "+OK Logging out.\r\n", POP3D_LOGIN_CLOSE, NULL, NULL},
        {{"STAT"}, "-ERR Unknown command in AUTHORIZATION state.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"XYZZY"}, "-ERR Unknown command.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{TOO_LONG}, "-ERR Input line too long.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"APOP a b"}, "-ERR Not supported.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"STLS"}, "-ERR TLS support isn't enabled.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"CAPA"}, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\nSASL PLAIN\r\n"
                   "AUTH-RESP-CODE\r\nIMPLEMENTATION postie\r\n.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        /* RFC 5034: initial response, continuation, cancel, bad data. */
        {{"AUTH PLAIN AGFsaWNlAHB3"}, "", POP3D_LOGIN_VERIFY, "alice", "pw"},
        {{"AUTH PLAIN YWxpY2UAYWxpY2UAcHc="}, "", POP3D_LOGIN_VERIFY, "alice", "pw"},
        {{"AUTH PLAIN", "AGFsaWNlAHB3"}, "+ \r\n", POP3D_LOGIN_VERIFY, "alice", "pw"},
        {{"AUTH PLAIN", "*"}, "+ \r\n-ERR Authentication aborted by client.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"AUTH PLAIN !!!!"}, "-ERR Invalid base64 data in response.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"AUTH PLAIN Ym9iAGFsaWNlAHB3"}, "-ERR [AUTH] Authorization as another user is not supported.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"AUTH PLAIN YWxpY2U="}, "-ERR [AUTH] Invalid AUTH PLAIN response.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"AUTH CRAM-MD5"}, "-ERR Unsupported authentication mechanism.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
        {{"AUTH"}, "-ERR Unsupported authentication mechanism.\r\n", POP3D_LOGIN_NONE, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pop3d_login l;
        pop3d_login_init(&l, 3);
        buf *out = buf_new(4096);
        enum pop3d_login_act a = POP3D_LOGIN_NONE;
        for (int j = 0; cases[i].lines[j]; j++) {
            bool tl = strcmp(cases[i].lines[j], TOO_LONG) == 0;
            a = pop3d_login_line(&l, tl ? "" : cases[i].lines[j], tl, out);
        }
        TEST_EQ_STR(buf_str(out), cases[i].want);
        TEST_EQ_INT(a, cases[i].act);
        if (a == POP3D_LOGIN_VERIFY) {
            TEST_EQ_STR(l.user, cases[i].user);
            TEST_EQ_STR(l.pass, cases[i].pass);
        }
        buf_free(&out);
    }
}

static void test_pop3d_login_failures_close_at_the_limit(void)
{
    pop3d_login l;
    pop3d_login_init(&l, 2);
    buf *out = buf_new(4096);
    TEST_EQ_INT(pop3d_login_line(&l, "USER a", false, out), POP3D_LOGIN_NONE);
    TEST_EQ_INT(pop3d_login_line(&l, "PASS b", false, out), POP3D_LOGIN_VERIFY);
    TEST_EQ_INT(pop3d_login_result(&l, false, out), POP3D_LOGIN_NONE);
    TEST_EQ_STR(l.pass, ""); /* wiped once answered */
    /* Section 7: after a failed PASS the client starts again with USER. */
    TEST_EQ_INT(pop3d_login_line(&l, "PASS c", false, out), POP3D_LOGIN_NONE);
    TEST_EQ_INT(pop3d_login_line(&l, "USER a", false, out), POP3D_LOGIN_NONE);
    TEST_EQ_INT(pop3d_login_line(&l, "PASS c", false, out), POP3D_LOGIN_VERIFY);
    buf_reset(out);
    TEST_EQ_INT(pop3d_login_result(&l, false, out), POP3D_LOGIN_CLOSE);
    TEST_EQ_STR(buf_str(out), "-ERR [AUTH] Authentication failed.\r\n");
    TEST_EQ_INT(l.attempts, 2);
    /* Success: no reply here, the session greets. */
    pop3d_login_init(&l, 2);
    buf_reset(out);
    pop3d_login_line(&l, "USER a", false, out);
    pop3d_login_line(&l, "PASS good", false, out);
    TEST_EQ_INT(pop3d_login_result(&l, true, out), POP3D_LOGIN_NONE);
    TEST_EQ_STR(buf_str(out), "+OK\r\n");
    buf_free(&out);
}

static void test_pop3d_login_ends_a_client_that_speaks_no_pop3(void)
{
    pop3d_login l;
    pop3d_login_init(&l, 3);
    buf *out = buf_new(8192);
    enum pop3d_login_act a = POP3D_LOGIN_NONE;
    int n = 0;
    while (a == POP3D_LOGIN_NONE && n < 100) {
        a = pop3d_login_line(&l, "GET / HTTP/1.0", false, out);
        n++;
    }
    TEST_EQ_INT(a, POP3D_LOGIN_CLOSE);
    TEST_EQ_INT(n, 10);
    buf_free(&out);
}

static void test_pop3d_login_stls(void)
{
    pop3d_login l;
    pop3d_login_init(&l, 3);
    l.tls_offer = true;
    l.tls_auth_only = true;
    buf *out = buf_new(4096);
    pop3d_login_capa(out, &l);
    TEST_TRUE(strstr(buf_str(out), "STLS\r\n") != NULL);
    TEST_TRUE(strstr(buf_str(out), "USER\r\n") == NULL);
    buf_reset(out);
    /* No passwords in clear text when tls_auth_only. */
    TEST_EQ_INT(pop3d_login_line(&l, "USER alice", false, out), POP3D_LOGIN_NONE);
    TEST_TRUE(strncmp(buf_str(out), "-ERR [AUTH] Plaintext", 21) == 0);
    buf_reset(out);
    TEST_EQ_INT(pop3d_login_line(&l, "stls", false, out), POP3D_LOGIN_STARTTLS);
    TEST_EQ_STR(buf_str(out), "+OK Begin TLS negotiation now.\r\n");
    pop3d_login_tls_started(&l);
    buf_reset(out);
    TEST_EQ_INT(pop3d_login_line(&l, "STLS", false, out), POP3D_LOGIN_NONE);
    TEST_EQ_STR(buf_str(out), "-ERR TLS is already active.\r\n");
    buf_reset(out);
    pop3d_login_capa(out, &l);
    TEST_TRUE(strstr(buf_str(out), "STLS") == NULL);
    TEST_TRUE(strstr(buf_str(out), "USER\r\n") != NULL);
    buf_reset(out);
    TEST_EQ_INT(pop3d_login_line(&l, "USER alice", false, out), POP3D_LOGIN_NONE);
    TEST_EQ_INT(pop3d_login_line(&l, "PASS pw", false, out), POP3D_LOGIN_VERIFY);
    buf_free(&out);
}

int main(void)
{
    TEST_RUN(test_pop3d_login_stls);
    TEST_RUN(test_pop3d_login_dialogues);
    TEST_RUN(test_pop3d_login_failures_close_at_the_limit);
    TEST_RUN(test_pop3d_login_ends_a_client_that_speaks_no_pop3);
    return test_done();
}
