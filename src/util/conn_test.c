/*
 * conn_test - the connection layer: the bounded line reader (limits, bare
 * LF, over-long lines across reads), blocking reads with their time limit
 * and end of file, queued output and its maximum, non-blocking writes on
 * a full socket, TLS over a socketpair with a self-signed certificate made
 * here (both sides blocking in two processes, and both non-blocking in
 * one), certificate name checks, handshake failures and time limits, and
 * STARTTLS with clear text already buffered (RFC 3207 section 5,
 * CVE-2011-0411): that text must never be read after TLS starts.
 */
#include "util/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util/events.h"
#include "util/test.h"

/* ---- the line reader, no I/O ---- */

static void test_conn_line_take_limits_and_line_ends(void)
{
    static const struct {
        size_t line_max;
        const char *chunks[4];
        /* what each take returns, in order, until CONN_AGAIN */
        struct {
            int rc;
            const char *line;
            bool bare_lf;
        } want[6];
    } cases[] = {
        {255, {"USER a\r\nPASS b\r\n", NULL}, {{1, "USER a", 0}, {1, "PASS b", 0}}},
        {255, {"NOOP\n", NULL}, {{1, "NOOP", 1}}}, /* bare LF taken, noted */
        {255, {"NO", "OP\r", "\n", NULL}, {{1, "NOOP", 0}}},
        {255, {"\r\n\n", NULL}, {{1, "", 0}, {1, "", 1}}},
        {255, {"a\rb\r\n", NULL}, {{1, "a\rb", 0}}}, /* a lone CR is data */
        /* 8 octets with CRLF fit a limit of 8; 9 do not. */
        {8, {"123456\r\n1234567\r\nok\r\n", NULL},
         {{1, "123456", 0}, {2, "1234567", 0}, {1, "ok", 0}}},
        /* A line over the limit without its LF yet: said at once, its
         * first line_max - 1 octets given, the rest dropped as it comes. */
        {8, {"0123456789", "abcdef", "gh\r\nnext\r\n", NULL},
         {{2, "0123456", 0}, {1, "next", 0}}},
        {4, {"abc", NULL}, {{0, NULL, 0}}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        conn *c = conn_new(-1, 4096, cases[i].line_max, 64);
        size_t w = 0;
        for (int j = 0; cases[i].chunks[j]; j++) {
            buf_puts(c->in, cases[i].chunks[j]);
            for (;;) {
                char *line;
                size_t len;
                int r = conn_line_take(c, &line, &len);
                if (r == CONN_AGAIN)
                    break;
                TEST_EQ_INT(r, cases[i].want[w].rc);
                TEST_EQ_STR(line, cases[i].want[w].line);
                TEST_EQ_INT(len, strlen(cases[i].want[w].line));
                if (r == CONN_LINE)
                    TEST_EQ_INT(c->bare_lf, cases[i].want[w].bare_lf);
                w++;
            }
        }
        size_t nwant = 0;
        while (nwant < 6 && cases[i].want[nwant].line)
            nwant++;
        TEST_EQ_INT(w, nwant);
        conn_free(&c);
        TEST_TRUE(c == NULL);
    }
}

/* toolong_at_end (smtpd): the over-long line is answered when its LF
 * comes, and only then; what follows it is the next line. */
static void test_conn_line_toolong_at_end(void)
{
    conn *c = conn_new(-1, 4096, 8, 64);
    c->toolong_at_end = true;
    char *line;
    size_t len;
    buf_puts(c->in, "0123456789");
    TEST_EQ_INT(conn_line_take(c, &line, &len), CONN_AGAIN);
    buf_puts(c->in, "abcdef");
    TEST_EQ_INT(conn_line_take(c, &line, &len), CONN_AGAIN);
    buf_puts(c->in, "gh\r\nnext\r\n");
    TEST_EQ_INT(conn_line_take(c, &line, &len), CONN_TOOLONG);
    TEST_EQ_STR(line, "0123456");
    TEST_EQ_INT(conn_line_take(c, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "next");
    /* With its LF in the same buffer: at once. */
    buf_puts(c->in, "123456789\r\nok\n");
    TEST_EQ_INT(conn_line_take(c, &line, &len), CONN_TOOLONG);
    TEST_EQ_INT(conn_line_take(c, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "ok");
    TEST_TRUE(c->bare_lf);
    conn_free(&c);
}

/* conn_peek looks without taking; conn_linger_free closes with a FIN
 * (the peer reads everything sent, then EOF). */
static void test_conn_peek_and_linger_close(void)
{
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn *c = conn_new(sv[0], 4096, 512, 4096);
    char b[32];
    TEST_EQ_INT(conn_peek(c, b, sizeof(b)), 0);
    TEST_EQ_INT(write(sv[1], "EHLO x\r\n", 8), 8);
    TEST_EQ_INT(conn_peek(c, b, sizeof(b)), 8);
    TEST_EQ_INT(conn_fill(c), 8); /* still there to read */
    conn_put(c, "bye\r\n", 5);
    TEST_EQ_INT(conn_send(c), 1);
    TEST_EQ_INT(write(sv[1], "unread", 6), 6);
    conn_linger_free(&c);
    TEST_TRUE(c == NULL);
    TEST_EQ_INT(read(sv[1], b, sizeof(b)), 5);
    TEST_EQ_INT(read(sv[1], b, sizeof(b)), 0);
    close(sv[1]);
}

/* ---- blocking I/O over a socketpair ---- */

static void test_conn_line_blocking_timeout_and_eof(void)
{
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn *c = conn_new(sv[0], 4096, 512, 4096);
    c->timeout = 0.2;
    char *line;
    size_t len;
    TEST_EQ_INT(write(sv[1], "220 ready\r\n250 pa", 17), 17);
    TEST_EQ_INT(conn_line(c, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "220 ready");
    /* Half a line and then silence: the time limit, with ETIMEDOUT. */
    double t0 = event_now();
    errno = 0;
    TEST_EQ_INT(conn_line(c, &line, &len), CONN_TIMEOUT);
    TEST_EQ_INT(errno, ETIMEDOUT);
    TEST_TRUE(event_now() - t0 >= 0.19 && event_now() - t0 < 2);
    /* The rest arrives: the line is whole, nothing was lost. */
    TEST_EQ_INT(write(sv[1], "rt\r\n", 4), 4);
    TEST_EQ_INT(conn_line(c, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "250 part");
    /* End of file with half a line: EOF, and the half stays in c->in. */
    TEST_EQ_INT(write(sv[1], "tail", 4), 4);
    close(sv[1]);
    TEST_EQ_INT(conn_line(c, &line, &len), CONN_EOF);
    TEST_EQ_INT(errno, EPIPE);
    TEST_EQ_INT(c->in->len, 4);
    TEST_TRUE(conn_input_waiting(c));
    conn_free(&c);
}

static void test_conn_output_queue_flush_and_maximum(void)
{
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn *c = conn_new(sv[0], 4096, 512, 32);
    c->timeout = 1;
    TEST_EQ_INT(conn_printf(c, "MAIL FROM:<%s>\r\n", "a@b"), 0);
    TEST_EQ_INT(conn_put(c, "RCPT\r\n", 6), 0);
    TEST_EQ_INT(conn_flush(c), 0);
    TEST_EQ_INT(c->out->len, 0);
    char got[64] = "";
    TEST_EQ_INT(read(sv[1], got, sizeof(got) - 1), 23);
    TEST_EQ_STR(got, "MAIL FROM:<a@b>\r\nRCPT\r\n");
    /* Straight writes need no room in the queue. */
    char big[1000];
    memset(big, 'x', sizeof(big));
    TEST_EQ_INT(conn_write(c, big, sizeof(big)), 0);
    TEST_EQ_INT(read(sv[1], big, sizeof(big)), 1000);
    /* Past out_max: refused whole, and the conn sends nothing more. */
    TEST_EQ_INT(conn_put(c, "0123456789012345678901234567890123456789", 40), -1);
    TEST_EQ_INT(conn_put(c, "x", 1), -1);
    errno = 0;
    TEST_EQ_INT(conn_flush(c), -1);
    TEST_EQ_INT(errno, EMSGSIZE);
    conn_free(&c);
    close(sv[1]);
}

static void test_conn_send_nonblocking_on_a_full_socket(void)
{
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    conn *c = conn_new(sv[0], 4096, 512, 1 << 20);
    static char chunk[1 << 18];
    memset(chunk, 'y', sizeof(chunk));
    TEST_EQ_INT(conn_put(c, chunk, sizeof(chunk)), 0);
    TEST_EQ_INT(conn_send(c), CONN_AGAIN);
    TEST_EQ_INT(conn_want(c), EVENT_WRITE);
    TEST_TRUE(c->out_off > 0 && c->out_off < sizeof(chunk));
    /* The peer drains; each EVENT_WRITE sends more, until 1. */
    size_t got = 0;
    int r = CONN_AGAIN;
    char tmp[65536];
    for (int turns = 0; turns < 100000 && (r == CONN_AGAIN || got < sizeof(chunk)); turns++) {
        ssize_t n = read(sv[1], tmp, sizeof(tmp));
        if (n > 0)
            got += (size_t)n;
        if (r == CONN_AGAIN)
            r = conn_send(c);
    }
    TEST_EQ_INT(r, 1);
    TEST_EQ_INT(got, sizeof(chunk));
    TEST_EQ_INT(c->out->len, 0);
    /* The peer is gone: an error, EPIPE. */
    close(sv[1]);
    conn_put(c, "x", 1);
    TEST_EQ_INT(conn_flush(c), -1);
    TEST_EQ_INT(errno, EPIPE);
    conn_free(&c);
}

static void test_conn_connect_refused_and_accepted(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    TEST_EQ_INT(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
    TEST_EQ_INT(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
    TEST_EQ_INT(listen(l, 1), 0);
    conn *c = conn_connect((struct sockaddr *)&sin, sl, 2, 4096, 512, 4096);
    TEST_TRUE(c != NULL);
    conn_free(&c);
    close(l); /* nobody listens on that port any more */
    errno = 0;
    c = conn_connect((struct sockaddr *)&sin, sl, 2, 4096, 512, 4096);
    TEST_TRUE(c == NULL);
    TEST_EQ_INT(errno, ECONNREFUSED);
}

/* ---- TLS ---- */

static EVP_PKEY *conn_test_key;
static X509 *conn_test_cert;

/* A self-signed certificate for "conn.test", made now (no files). */
static void conn_test_make_cert(void)
{
    conn_test_key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, conn_test_key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"conn.test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:conn.test");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, conn_test_key, EVP_sha256());
    conn_test_cert = x;
}

static SSL_CTX *conn_test_server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, conn_test_cert);
    SSL_CTX_use_PrivateKey(ctx, conn_test_key);
    return ctx;
}

/* trust: the certificate is the client's only trust anchor. */
static SSL_CTX *conn_test_client_ctx(bool trust)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (trust) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), conn_test_cert);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* Both sides in one process, non-blocking, a step each in turn: the way
 * the event loop drives a handshake.  Returns the two results. */
static void conn_test_handshake_nb(conn *srv, conn *cli, SSL_CTX *sctx, SSL_CTX *cctx,
                                   const char *verify_name, int *srv_r, int *cli_r)
{
    TEST_EQ_INT(conn_tls_begin(srv, sctx, true, NULL, NULL), 0);
    TEST_EQ_INT(conn_tls_begin(cli, cctx, false, "conn.test", verify_name), 0);
    int rs = CONN_AGAIN, rc = CONN_AGAIN;
    for (int turns = 0; turns < 100 && (rs == CONN_AGAIN || rc == CONN_AGAIN); turns++) {
        if (rc == CONN_AGAIN)
            rc = conn_tls_step(cli);
        if (rs == CONN_AGAIN)
            rs = conn_tls_step(srv);
        if (rc < 0 && rs == CONN_AGAIN) {
            /* The client gave up (and sent its alert): the server's next
             * step sees it, or the end of the connection. */
            shutdown(cli->fd, SHUT_WR);
        }
    }
    *srv_r = rs;
    *cli_r = rc;
}

static void test_conn_tls_nonblocking_both_sides(void)
{
    SSL_CTX *sctx = conn_test_server_ctx(), *cctx = conn_test_client_ctx(true);
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn *srv = conn_new(sv[0], 4096, 512, 4096), *cli = conn_new(sv[1], 4096, 512, 4096);
    int rs, rc;
    conn_test_handshake_nb(srv, cli, sctx, cctx, "conn.test", &rs, &rc);
    TEST_EQ_INT(rs, 1);
    TEST_EQ_INT(rc, 1);
    TEST_EQ_INT(cli->tls_verify, X509_V_OK);
    /* Lines both ways through TLS, pipelined, read with conn_fill. */
    TEST_EQ_INT(conn_printf(cli, "EHLO a\r\nMAIL FROM:<>\r\n"), 0);
    TEST_EQ_INT(conn_send(cli), 1);
    char *line;
    size_t len;
    int r = CONN_AGAIN;
    for (int turns = 0; turns < 20 && r == CONN_AGAIN; turns++) {
        if (conn_fill(srv) == CONN_ERROR)
            break;
        r = conn_line_take(srv, &line, &len);
    }
    TEST_EQ_INT(r, CONN_LINE);
    TEST_EQ_STR(line, "EHLO a");
    TEST_EQ_INT(conn_line_take(srv, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "MAIL FROM:<>");
    TEST_EQ_INT(conn_line_take(srv, &line, &len), CONN_AGAIN);
    TEST_EQ_INT(conn_fill(srv), CONN_AGAIN);
    TEST_EQ_INT(conn_want(srv), EVENT_READ);
    /* A close_notify is an end of file. */
    conn_free(&cli);
    r = CONN_AGAIN;
    for (int turns = 0; turns < 20 && r == CONN_AGAIN; turns++)
        r = (int)conn_fill(srv);
    TEST_EQ_INT(r, CONN_EOF);
    conn_free(&srv);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

static void test_conn_tls_client_checks_the_name(void)
{
    static const struct {
        const char *verify_name;
        bool trust;
        int want_cli;
        long want_verify;
    } cases[] = {
        {"conn.test", true, 1, X509_V_OK},
        {"other.test", true, -1, X509_V_ERR_HOSTNAME_MISMATCH},
        {"conn.test", false, 1, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT}, /* not asked */
        {NULL, true, 1, X509_V_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *sctx = conn_test_server_ctx(), *cctx = conn_test_client_ctx(cases[i].trust);
        int sv[2];
        TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        conn *srv = conn_new(sv[0], 4096, 512, 4096), *cli = conn_new(sv[1], 4096, 512, 4096);
        int rs, rc;
        conn_test_handshake_nb(srv, cli, sctx, cctx, cases[i].verify_name, &rs, &rc);
        TEST_EQ_INT(rc, cases[i].want_cli);
        TEST_EQ_INT(cli->tls_verify, cases[i].want_verify);
        if (rc < 0) {
            TEST_EQ_INT(errno, EPROTO);
            TEST_TRUE(cli->ssl == NULL);
            TEST_TRUE(cli->tls_err != 0);
        }
        conn_free(&srv);
        conn_free(&cli);
        SSL_CTX_free(sctx);
        SSL_CTX_free(cctx);
    }
}

/* The peer of the blocking tests, in a child: writes what it is told in
 * clear text, then (tls) does a blocking client handshake and writes the
 * rest through TLS, then reads until the server closes. */
static pid_t conn_test_peer(int fd, const char *clear, bool tls, const char *secret)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Every wait below is bounded by the conn's timeout (no alarm(2):
     * banned, make lint). */
    conn *c = conn_new(fd, 4096, 512, 4096);
    c->timeout = 5;
    if (clear && conn_write(c, clear, strlen(clear)) < 0)
        _exit(2);
    if (tls) {
        /* Wait for the server's go-ahead line, as a STARTTLS client does. */
        char *line;
        size_t len;
        if (conn_line(c, &line, &len) != CONN_LINE)
            _exit(3);
        SSL_CTX *cctx = conn_test_client_ctx(false);
        if (conn_tls_client(c, cctx, NULL, NULL) < 0)
            _exit(4);
        if (secret && conn_write(c, secret, strlen(secret)) < 0)
            _exit(5);
        SSL_CTX_free(cctx);
    }
    char *line;
    size_t len;
    while (conn_line(c, &line, &len) > 0)
        ;
    conn_free(&c);
    _exit(0);
}

static int conn_test_wait(pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void test_conn_starttls_discards_buffered_clear_text(void)
{
    /* The client pipelines a command after STARTTLS in clear text (the
     * injection of CVE-2011-0411); the server reads both in one go. */
    SSL_CTX *sctx = conn_test_server_ctx();
    int sv[2];
    TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static const char inj[] = "RCPT TO:<injected>\r\n";
    pid_t pid = conn_test_peer(sv[1], "STARTTLS\r\nRCPT TO:<injected>\r\n", true,
                               "EHLO after\r\n");
    size_t all = 10 + strlen(inj);
    close(sv[1]);
    conn *srv = conn_new(sv[0], 4096, 512, 4096);
    srv->timeout = 5;
    char *line;
    size_t len;
    /* Wait until both lines are in, so that the second is surely buffered. */
    for (int turns = 0; turns < 500 && srv->in->len < all; turns++)
        if (conn_fill(srv) == CONN_AGAIN)
            usleep(10000);
    TEST_EQ_INT(conn_line_take(srv, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "STARTTLS");
    TEST_EQ_INT(srv->in->len, strlen(inj)); /* the injected command waits */
    conn_printf(srv, "220 2.0.0 Ready to start TLS\r\n");
    TEST_EQ_INT(conn_flush(srv), 0);
    TEST_EQ_INT(conn_tls_server(srv, sctx), 0);
    TEST_EQ_INT(srv->tls_discarded, strlen(inj));
    /* The first line after the handshake is the one sent through TLS. */
    TEST_EQ_INT(conn_line(srv, &line, &len), CONN_LINE);
    TEST_EQ_STR(line, "EHLO after");
    conn_free(&srv);
    TEST_EQ_INT(conn_test_wait(pid), 0);
    SSL_CTX_free(sctx);
}

static void test_conn_tls_server_failures(void)
{
    static const struct {
        const char *clear; /* what the peer sends instead of a ClientHello */
        double timeout;
        int want_errno;
        bool want_tls_err;
    } cases[] = {
        {NULL, 0.3, ETIMEDOUT, false},          /* silence */
        {"QUIT\r\n", 5, EPROTO, true},           /* clear text, no TLS */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *sctx = conn_test_server_ctx();
        int sv[2];
        TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        pid_t pid = conn_test_peer(sv[1], cases[i].clear, false, NULL);
        close(sv[1]);
        conn *srv = conn_new(sv[0], 4096, 512, 4096);
        srv->timeout = cases[i].timeout;
        double t0 = event_now();
        errno = 0;
        TEST_EQ_INT(conn_tls_server(srv, sctx), -1);
        TEST_EQ_INT(errno, cases[i].want_errno);
        TEST_EQ_INT(srv->tls_err != 0, cases[i].want_tls_err);
        TEST_TRUE(srv->ssl == NULL);
        TEST_TRUE(event_now() - t0 < cases[i].timeout + 1);
        conn_free(&srv);
        conn_test_wait(pid);
        SSL_CTX_free(sctx);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as every postie process: OpenSSL writes with write(2) */
    conn_test_make_cert();
    TEST_RUN(test_conn_line_take_limits_and_line_ends);
    TEST_RUN(test_conn_line_toolong_at_end);
    TEST_RUN(test_conn_peek_and_linger_close);
    TEST_RUN(test_conn_line_blocking_timeout_and_eof);
    TEST_RUN(test_conn_output_queue_flush_and_maximum);
    TEST_RUN(test_conn_send_nonblocking_on_a_full_socket);
    TEST_RUN(test_conn_connect_refused_and_accepted);
    TEST_RUN(test_conn_tls_nonblocking_both_sides);
    TEST_RUN(test_conn_tls_client_checks_the_name);
    TEST_RUN(test_conn_starttls_discards_buffered_clear_text);
    TEST_RUN(test_conn_tls_server_failures);
    X509_free(conn_test_cert);
    EVP_PKEY_free(conn_test_key);
    return test_done();
}
