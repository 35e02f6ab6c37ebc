/*
 * smtp_session_test - the client conversation against a scripted server
 * in a child process on a socketpair: what the client sends, in which
 * order (PIPELINING: RCPTs and DATA before the MAIL reply is read), and
 * what each recipient's result says.  Table-driven: each case is the
 * server's script, one step per command it expects.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "global/deliver_request.h"
#include "global/mail_conf.h"
#include "smtp/smtp_int.h"
#include "util/test.h"

/* One step of the server: read `lines` command lines (a DATA body counts
 * as one, up to the dot), check the first starts with `expect`, then
 * write `reply` (CRLF-separated lines, may be empty). */
typedef struct step {
    int lines;
    const char *expect;
    const char *reply;
} step;

typedef struct tcase {
    const char *name;
    bool lmtp;
    bool more_hosts;           /* another address follows this one */
    const char *greeting;
    step steps[12];
    int want_open;             /* enum smtp_outcome of open */
    int want_mail;             /* of mail (when open is DONE) */
    const char *want_dsn[3];   /* per recipient; NULL: not final */
    const char *want_text[3];
    const char *want_last;     /* last->text when NEXT */
    const char *want_received; /* the commands, "|"-joined, bodies as BODY */
} tcase;

static const tcase cases[] = {
    {"pipelined", false, false, "220 mx ESMTP",
     {{1, "EHLO ", "250-mx\r\n250-PIPELINING\r\n250 SIZE 100000"},
      /* all four arrive before any reply: pipelining */
      {4, "MAIL FROM:<alice@one.test> SIZE=", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
          "550 5.1.1 <b@x.test>: no such user\r\n354 go"},
      {1, "BODY", "250 2.0.0 Ok: queued as XYZ"},
      {0}},
     SMTP_DONE, SMTP_DONE,
     {"2.0.0", "5.1.1", NULL},
     {"250 2.0.0 Ok: queued as XYZ",
      "host mx.x.test[192.0.2.1] said: 550 5.1.1 <b@x.test>: no such user "
      "(in reply to RCPT TO command)"},
     NULL,
     "EHLO|MAIL|RCPT|RCPT|DATA|BODY"},
    {"one at a time", false, false, "220 mx ESMTP",
     {{1, "EHLO ", "250 mx"},
      {1, "MAIL FROM:<alice@one.test>", "250 Ok"},
      {1, "RCPT TO:<a@x.test>", "451 4.3.0 try later"},
      {1, "RCPT TO:<b@x.test>", "250 Ok"},
      {1, "DATA", "354 go"},
      {1, "BODY", "250 Ok"},
      {0}},
     SMTP_DONE, SMTP_DONE,
     {"4.3.0", "2.0.0", NULL},
     {"host mx.x.test[192.0.2.1] said: 451 4.3.0 try later (in reply to "
      "RCPT TO command)",
      "250 Ok"},
     NULL,
     "EHLO|MAIL|RCPT|RCPT|DATA|BODY"},
    {"none accepted: RSET, no DATA", false, false, "220 mx",
     {{1, "EHLO ", "250 mx"},
      {1, "MAIL FROM:", "250 Ok"},
      {1, "RCPT TO:<a@x.test>", "550 5.1.1 no"},
      {1, "RCPT TO:<b@x.test>", "550 5.1.1 no"},
      {1, "RSET", "250 Ok"},
      {0}},
     SMTP_DONE, SMTP_DONE,
     {"5.1.1", "5.1.1", NULL},
     {NULL, NULL},
     NULL,
     "EHLO|MAIL|RCPT|RCPT|RSET"},
    {"HELO after a refused EHLO", false, false, "220 mx",
     {{1, "EHLO ", "502 5.5.2 what"},
      {1, "HELO ", "250 mx"},
      {1, "MAIL FROM:<alice@one.test>", "250 Ok"},
      {1, "RCPT TO:<a@x.test>", "250 Ok"},
      {1, "RCPT TO:<b@x.test>", "250 Ok"},
      {1, "DATA", "354 go"},
      {1, "BODY", "250-2.0.0 Ok\r\n250 2.0.0 queued"},
      {0}},
     SMTP_DONE, SMTP_DONE,
     {"2.0.0", "2.0.0", NULL},
     {"250-2.0.0 Ok 250 2.0.0 queued", "250-2.0.0 Ok 250 2.0.0 queued"},
     NULL,
     "EHLO|HELO|MAIL|RCPT|RCPT|DATA|BODY"},
    {"LMTP: a reply per recipient", true, false, "220 store LMTP",
     {{1, "LHLO ", "250-store\r\n250 PIPELINING"},
      {4, "MAIL FROM:", "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go"},
      {1, "BODY", "250 2.0.0 <a@x.test> Saved\r\n452 4.2.2 <b@x.test> full"},
      {0}},
     SMTP_DONE, SMTP_DONE,
     {"2.0.0", "4.2.2", NULL},
     {"250 2.0.0 <a@x.test> Saved",
      "host mx.x.test[192.0.2.1] said: 452 4.2.2 <b@x.test> full (in reply "
      "to end of DATA command)"},
     NULL,
     "LHLO|MAIL|RCPT|RCPT|DATA|BODY"},
    {"4xx to MAIL FROM: next host", false, true, "220 mx",
     {{1, "EHLO ", "250 mx"},
      {1, "MAIL FROM:", "451 4.7.1 greylisted"},
      {0}},
     SMTP_DONE, SMTP_NEXT,
     {NULL, NULL, NULL},
     {NULL, NULL},
     "host mx.x.test[192.0.2.1] said: 451 4.7.1 greylisted (in reply to "
     "MAIL FROM command)",
     "EHLO|MAIL"},
    {"refused greeting: next host", false, true, "554 5.7.1 go away",
     {{0}},
     SMTP_NEXT, 0,
     {NULL, NULL, NULL},
     {NULL, NULL},
     "host mx.x.test[192.0.2.1] refused to talk to me: 554 5.7.1 go away",
     ""},
    {"lost after RCPT: next host", false, true, "220 mx",
     {{1, "EHLO ", "250 mx"},
      {1, "MAIL FROM:", "250 Ok"},
      {1, "RCPT TO:", NULL},  /* hangs up */
      {0}},
     SMTP_DONE, SMTP_NEXT,
     {NULL, NULL, NULL},
     {NULL, NULL},
     "lost connection with mx.x.test[192.0.2.1] while sending RCPT TO",
     "EHLO|MAIL|RCPT"},
    {"4xx to RCPT with another host left: kept open", false, true, "220 mx",
     {{1, "EHLO ", "250 mx"},
      {1, "MAIL FROM:", "250 Ok"},
      {1, "RCPT TO:<a@x.test>", "450 4.2.0 greylisted"},
      {1, "RCPT TO:<b@x.test>", "250 Ok"},
      {1, "DATA", "354 go"},
      {1, "BODY", "250 Ok"},
      {0}},
     SMTP_DONE, SMTP_DONE,
     {NULL, "2.0.0", NULL},
     {NULL, "250 Ok"},
     NULL,
     "EHLO|MAIL|RCPT|RCPT|DATA|BODY"},
};

static const char test_body[] = "Subject: t\n\n.dot\nline\n";

/* The scripted server: runs in a child, writes the commands it saw
 * (joined with "|") to out_fd at the end. */
static void server(int fd, const tcase *c, int out_fd)
{
    FILE *in = fdopen(fd, "r");
    char seen[1024] = "";
    char line[2048];
    dprintf(fd, "%s\r\n", c->greeting);
    for (int i = 0; c->steps[i].lines > 0; i++) {
        const step *st = &c->steps[i];
        bool ok = true;
        for (int l = 0; l < st->lines; l++) {
            if (fgets(line, sizeof(line), in) == NULL) {
                ok = false;
                break;
            }
            char word[16];
            bool body = strcmp(st->expect, "BODY") == 0;
            if (body) {
                /* the body up to the lone dot */
                while (strcmp(line, ".\r\n") != 0 &&
                       fgets(line, sizeof(line), in) != NULL)
                    ;
                snprintf(word, sizeof(word), "BODY");
            } else {
                sscanf(line, "%15[A-Z]", word);
                if (l == 0 && strncmp(line, st->expect, strlen(st->expect)) != 0)
                    dprintf(2, "server: got \"%s\", want \"%s...\"\n", line,
                            st->expect);
            }
            if (seen[0])
                strcat(seen, "|");
            strcat(seen, word);
        }
        if (!ok)
            break;
        if (st->reply == NULL) {
            shutdown(fd, SHUT_WR); /* hang up on the client */
            break;
        }
        dprintf(fd, "%s\r\n", st->reply);
    }
    /* QUIT, if the client says it */
    if (fgets(line, sizeof(line), in) != NULL && strncmp(line, "QUIT", 4) == 0)
        dprintf(fd, "221 bye\r\n");
    dprintf(out_fd, "%s", seen);
    _exit(0);
}

static void run_case(const tcase *c)
{
    test_current = c->name;
    int sv[2], outp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(outp) < 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        close(outp[0]);
        server(sv[1], c, outp[1]);
    }
    close(sv[1]);
    close(outp[1]);

    /* The job: two recipients, a body in a temporary file. */
    char path[] = "/tmp/smtp_session_test.XXXXXX";
    int qfd = mkstemp(path);
    unlink(path);
    if (write(qfd, test_body, strlen(test_body)) < 0)
        abort();
    queue_msg m = {.content_off = 0, .content_len = strlen(test_body)};
    deliver_rcpt drs[2] = {{.index = 0, .addr = (char *)"a@x.test"},
                           {.index = 1, .addr = (char *)"b@x.test"}};
    deliver_request req = {.sender = (char *)"alice@one.test",
                           .rcpts = drs, .nrcpt = 2};
    smtp_rcpt rs[2];
    memset(rs, 0, sizeof(rs));
    rs[0].dr = &drs[0];
    rs[1].dr = &drs[1];
    smtp_job job = {.req = &req, .m = &m, .qfd = qfd, .lmtp = c->lmtp,
                    .rs = rs, .nrs = 2, .final_host = !c->more_hosts};
    smtp_sess s;
    memset(&s, 0, sizeof(s));
    s.io = conn_new(sv[0], SMTP_IN_MAX, SMTP_LINE_MAX, SMTP_OUT_MAX);
    snprintf(s.host, sizeof(s.host), "mx.x.test");
    snprintf(s.addr, sizeof(s.addr), "192.0.2.1");
    snprintf(s.namaddr, sizeof(s.namaddr), "mx.x.test[192.0.2.1]");
    snprintf(s.relay, sizeof(s.relay), "mx.x.test[192.0.2.1]:25");
    s.tls_level = SMTP_TLS_NONE;
    smtp_last last;
    memset(&last, 0, sizeof(last));

    enum smtp_outcome o = smtp_session_open(&job, &s, &last);
    TEST_EQ_INT(o, c->want_open);
    if (o == SMTP_DONE) {
        o = smtp_session_mail(&job, &s, &last);
        TEST_EQ_INT(o, c->want_mail);
    }
    for (int i = 0; i < 2; i++) {
        if (c->want_dsn[i] == NULL) {
            TEST_TRUE(!rs[i].final);
            continue;
        }
        TEST_TRUE(rs[i].final);
        TEST_EQ_STR(rs[i].dsn, c->want_dsn[i]);
        if (c->want_text[i])
            TEST_EQ_STR(rs[i].text, c->want_text[i]);
    }
    if (c->want_last)
        TEST_EQ_STR(last.text, c->want_last);
    smtp_session_close(&s);

    char seen[1024];
    ssize_t n = read(outp[0], seen, sizeof(seen) - 1);
    seen[n > 0 ? n : 0] = '\0';
    TEST_EQ_STR(seen, c->want_received);
    close(outp[0]);
    close(qfd);
    int status;
    waitpid(pid, &status, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* Short limits: a client that waits for a reply that the script does
     * not send (no pipelining) fails the case instead of hanging. */
    var_set("smtp_mail_timeout", "3s");
    var_set("smtp_rcpt_timeout", "3s");
    var_set("smtp_data_init_timeout", "3s");
    var_set("smtp_quit_timeout", "3s");
    var_set("smtp_helo_name", "client.test");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
    return test_done();
}
