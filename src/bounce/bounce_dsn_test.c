/*
 * bounce_dsn_test - the notice's text: structure, per-recipient fields in
 * RFC 3464 order, diagnostic splitting, folding, headers vs full return.
 */
#include "bounce/bounce_dsn.h"

#include <string.h>

#include "util/buf.h"
#include "util/test.h"

static void test_collect(const char *line, size_t len, void *ctx)
{
    buf *b = ctx;
    buf_append(b, line, len);
    buf_putc(b, '\n');
}

static const char original[] =
    "Received: by mx.example.org (postie)\n\tid 1234567890AB\n"
    "From: alice@example.org\nSubject: lunch\n\nbody line\nsecond\n";

static buf *test_compose(enum bounce_kind kind, bool full,
                         const bounce_dsn_rcpt *rs, size_t n)
{
    bounce_dsn d = {
        .kind = kind,
        .myhostname = "mx.example.org",
        .queue_id = "1234567890AB",
        .sender = "alice@example.org",
        .to = "alice@example.org",
        .envid = kind == BOUNCE_KIND_FAILURE ? "ENV1" : NULL,
        .arrival_sec = 1763913600,
        .now_sec = 1763913700,
        .retry_until = kind == BOUNCE_KIND_DELAY ? 1764345600 : 0,
        .rcpts = rs,
        .nrcpt = n,
        .content = original,
        .content_len = sizeof(original) - 1,
        .full = full,
    };
    buf *b = buf_new(1 << 20);
    bounce_dsn_compose(&d, test_collect, b);
    return b;
}

/* Does b hold the lines of want, in that order (not necessarily
 * adjacent)? */
static bool test_in_order(const buf *b, const char *const *want)
{
    const char *at = b->data;
    for (; *want; want++) {
        const char *p = strstr(at, *want);
        if (p == NULL) {
            fprintf(stderr, "missing after offset %zu: %s\n",
                    (size_t)(at - b->data), *want);
            return false;
        }
        at = p + strlen(*want);
    }
    return true;
}

static void test_failure_notice(void)
{
    bounce_dsn_rcpt rs[] = {
        {.addr = "bob@example.net", .orcpt = "rfc822;Bob@Example.NET",
         .action = "failed", .status = "5.1.1",
         .text = "host mx.example.net[192.0.2.7] said: 550 5.1.1 <bob@example.net>: "
                 "Recipient address rejected (in reply to RCPT TO command)"},
        {.addr = "carol@localhost", .action = "failed", .status = "5.1.1",
         .text = "unknown user: \"carol\""},
    };
    buf *b = test_compose(BOUNCE_KIND_FAILURE, false, rs, 2);
    static const char *const want[] = {
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n",
        "Subject: Undelivered Mail Returned to Sender\n",
        "To: <alice@example.org>\n",
        "Auto-Submitted: auto-replied\n",
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        "\tboundary=\"1234567890AB.1763913700/mx.example.org\"\n",
        "--1234567890AB.1763913700/mx.example.org\n",
        "Content-Type: text/plain; charset=us-ascii\n\n",
        "This is the mail system at host mx.example.org.\n",
        "<bob@example.net>: host mx.example.net[192.0.2.7] said:",
        "<carol@localhost>: unknown user: \"carol\"\n",
        "--1234567890AB.1763913700/mx.example.org\n",
        "Content-Type: message/delivery-status\n\n",
        "Original-Envelope-Id: ENV1\n",
        "Reporting-MTA: dns; mx.example.org\n",
        "Arrival-Date: ",
        "X-Postie-Queue-ID: 1234567890AB\n",
        "X-Postie-Sender: rfc822; alice@example.org\n\n",
        "Original-Recipient: rfc822; Bob@Example.NET\n",
        "Final-Recipient: rfc822; bob@example.net\n",
        "Action: failed\n",
        "Status: 5.1.1\n",
        "Remote-MTA: dns; mx.example.net\n",
        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected\n",
        "Last-Attempt-Date: ",
        "\nFinal-Recipient: rfc822; carol@localhost\n",
        "Diagnostic-Code: X-Postie; unknown user: \"carol\"\n",
        "Content-Type: text/rfc822-headers\n\n",
        "Received: by mx.example.org (postie)\n\tid 1234567890AB\n",
        "Subject: lunch\n",
        "--1234567890AB.1763913700/mx.example.org--\n",
        NULL,
    };
    TEST_TRUE(test_in_order(b, want));
    /* Headers only: the body stays home. */
    TEST_TRUE(strstr(b->data, "body line") == NULL);
    /* carol has no ORCPT and no remote MTA. */
    const char *carol = strstr(b->data, "Final-Recipient: rfc822; carol");
    TEST_TRUE(carol != NULL && strstr(carol, "Remote-MTA") == NULL);
    TEST_TRUE(strstr(b->data, "Original-Recipient: rfc822; carol") == NULL);
    /* No line over 998 octets, none with a CR. */
    size_t longest = 0, cur = 0;
    for (size_t i = 0; i < b->len; i++) {
        cur = b->data[i] == '\n' ? 0 : cur + 1;
        if (cur > longest)
            longest = cur;
    }
    TEST_TRUE(longest <= 998);
    TEST_TRUE(strchr(b->data, '\r') == NULL);
    buf_free(&b);
}

static void test_full_return_and_kinds(void)
{
    bounce_dsn_rcpt r = {.addr = "bob@example.net", .action = "failed",
                         .status = "5.0.0", .text = "no"};
    buf *b = test_compose(BOUNCE_KIND_FAILURE, true, &r, 1);
    static const char *const full[] = {
        "Content-Type: message/rfc822\n\n", "Subject: lunch\n\nbody line\nsecond\n",
        NULL};
    TEST_TRUE(test_in_order(b, full));
    buf_free(&b);

    /* A delay notice: headers only even with full, Will-Retry-Until. */
    r.action = "delayed";
    r.status = "4.4.1";
    b = test_compose(BOUNCE_KIND_DELAY, true, &r, 1);
    static const char *const delay[] = {
        "Subject: Delayed Mail (still being retried)\n", "Action: delayed\n", "Status: 4.4.1\n",
        "Will-Retry-Until: ", "Content-Type: text/rfc822-headers\n", NULL};
    TEST_TRUE(test_in_order(b, delay));
    TEST_TRUE(strstr(b->data, "body line") == NULL);
    buf_free(&b);

    r.action = "delivered";
    r.status = "2.0.0";
    r.text = "delivered to maildir";
    b = test_compose(BOUNCE_KIND_SUCCESS, false, &r, 1);
    static const char *const ok[] = {
        "Subject: Successful Mail Delivery Report\n", "Action: delivered\n", "Status: 2.0.0\n", NULL};
    TEST_TRUE(test_in_order(b, ok));
    TEST_TRUE(strstr(b->data, "Last-Attempt-Date") == NULL);
    buf_free(&b);

    /* To postmaster: the bare envelope name gets a domain in To:. */
    bounce_dsn d = {.kind = BOUNCE_KIND_FAILURE, .to_postmaster = true,
                    .myhostname = "mx.example.org", .queue_id = "1", .sender = "",
                    .to = "postmaster", .rcpts = &r, .nrcpt = 1,
                    .content = original, .content_len = sizeof(original) - 1};
    b = buf_new(1 << 20);
    bounce_dsn_compose(&d, test_collect, b);
    static const char *const pm[] = {"Subject: Postmaster Copy: Undelivered Mail\n",
                                     "To: <postmaster@mx.example.org>\n",
                                     "X-Postie-Sender: rfc822; \n", NULL};
    TEST_TRUE(test_in_order(b, pm));
    buf_free(&b);
}

static void test_diag(void)
{
    static const struct {
        const char *text, *remote, *type, *diag;
    } cases[] = {
        {"host mx.example.net[192.0.2.7] said: 550 5.1.1 no (in reply to RCPT TO command)",
         "mx.example.net", "smtp", "550 5.1.1 no"},
        {"host mx[::1] said: 552 too big (in reply to end of DATA command)", "mx", "smtp",
         "552 too big"},
        {"host x said: 550 plain", "x", "smtp", "550 plain"},
        {"unknown user: \"x\"", "", "X-Postie", "unknown user: \"x\""},
        {"Host or domain name not found. Name service error", "", "X-Postie",
         "Host or domain name not found. Name service error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char remote[64], diag[256];
        const char *type;
        bounce_dsn_diag(cases[i].text, remote, sizeof(remote), &type, diag, sizeof(diag));
        TEST_EQ_STR(remote, cases[i].remote);
        TEST_EQ_STR(type, cases[i].type);
        TEST_EQ_STR(diag, cases[i].diag);
    }
}

static void test_long_reason_is_folded_and_cut(void)
{
    char text[3000];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    for (size_t i = 50; i < sizeof(text) - 1; i += 60)
        text[i] = ' ';
    bounce_dsn_rcpt r = {.addr = "a@b", .action = "failed", .status = "5.0.0",
                         .text = text};
    buf *b = test_compose(BOUNCE_KIND_FAILURE, false, &r, 1);
    const char *diag = strstr(b->data, "Diagnostic-Code: X-Postie; ");
    TEST_TRUE(diag != NULL);
    /* Folded: the next line is a continuation line. */
    const char *nl = diag ? strchr(diag, '\n') : NULL;
    TEST_TRUE(nl != NULL && nl[1] == ' ');
    TEST_TRUE(nl != NULL && nl - diag <= 78);
    buf_free(&b);
}

int main(void)
{
    TEST_RUN(test_failure_notice);
    TEST_RUN(test_full_return_and_kinds);
    TEST_RUN(test_diag);
    TEST_RUN(test_long_reason_is_folded_and_cut);
    return test_done();
}
