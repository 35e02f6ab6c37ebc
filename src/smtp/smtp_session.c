/*
 * smtp_session - one conversation with one SMTP server (RFC 5321) or LMTP
 * server (RFC 2033): greeting, EHLO (HELO when EHLO is refused) or LHLO,
 * STARTTLS (RFC 3207) as smtp_tls_security_level says, then MAIL, RCPT,
 * DATA, with PIPELINING (RFC 2920) when offered, SIZE (RFC 1870),
 * 8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531) when the message needs it.
 *
 * Results are per recipient, in Postfix's words:
 *   "host mx[addr] said: 550 5.1.1 ... (in reply to RCPT TO command)"
 *   "lost connection with mx[addr] while sending message body"
 *   "conversation with mx[addr] timed out while sending MAIL FROM"
 * A failure before any recipient is decided (refused greeting, a 4xx to
 * MAIL FROM, a lost connection, TLS required but missing) is SMTP_NEXT:
 * the caller tries the next host (RFC 5321 section 5.1 asks the client to
 * try the other addresses).  After the end of data the server owns the
 * message: a lost reply then is a deferral that may send the message
 * twice, said in the text as Postfix says it.
 *
 * Every wait has its own Postfix-named limit (smtp_helo_timeout, ...).
 *
 * Does not: AUTH, BDAT.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "global/deliver_log.h"
#include "global/dsn_param.h"
#include "global/mail_conf.h"
#include "smtp/smtp_body.h"
#include "smtp/smtp_int.h"
#include "smtp/smtp_reply.h"
#include "util/mem.h"
#include "util/msg.h"

#define SMTP_BODY_CHUNK 65536

void smtp_rcpt_set(smtp_rcpt *r, const char *dsn, const char *relay,
                   const char *fmt, ...)
{
    snprintf(r->dsn, sizeof(r->dsn), "%s", dsn);
    snprintf(r->relay, sizeof(r->relay), "%s", relay);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    r->final = true;
}

void smtp_last_set(smtp_last *l, const char *dsn, const char *relay,
                          const char *fmt, ...)
{
    snprintf(l->dsn, sizeof(l->dsn), "%s", dsn);
    snprintf(l->relay, sizeof(l->relay), "%s", relay);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->text, sizeof(l->text), fmt, ap);
    va_end(ap);
}

int smtp_tls_level(void)
{
    const char *v = var_str("smtp_tls_security_level");
    if (strcasecmp(v, "none") == 0)
        return SMTP_TLS_NONE;
    if (strcasecmp(v, "encrypt") == 0)
        return SMTP_TLS_ENCRYPT;
    /* "secure" is Postfix's stricter verify; postie treats it as verify. */
    if (strcasecmp(v, "verify") == 0 || strcasecmp(v, "secure") == 0)
        return SMTP_TLS_VERIFY;
    if (strcasecmp(v, "may") != 0 && strcasecmp(v, "dane") != 0)
        msg_warn("unknown smtp_tls_security_level \"%s\": using \"may\"", v);
    /* dane without DNSSEC is opportunistic TLS (Postfix falls back the
     * same way when the DNS is not validated). */
    return SMTP_TLS_MAY;
}

/* ---- replies ---- */

typedef void (*smtp_line_fn)(smtp_sess *s, const char *line, size_t len);

/* Read one reply.  0, or -1 with errno (EPROTO: malformed). */
static int smtp_read(smtp_sess *s, smtp_reply *r, double timeout,
                     smtp_line_fn each)
{
    smtp_reply_init(r);
    s->io->timeout = timeout;
    for (;;) {
        char *line;
        size_t n;
        /* A line over SMTP_LINE_MAX is cut, the rest of it dropped
         * (CONN_TOOLONG gives its beginning). */
        if (conn_line(s->io, &line, &n) < 0)
            return -1;
        int st = smtp_reply_line(r, line, n);
        if (st < 0) {
            errno = EPROTO;
            return -1;
        }
        if (each)
            each(s, line, (size_t)n);
        if (st == 1)
            return 0;
    }
}

/* Send what is queued, within timeout seconds: 0, or -1 with errno. */
static int smtp_flush(smtp_sess *s, double timeout)
{
    s->io->timeout = timeout;
    return conn_flush(s->io);
}

/* The TLS handshake as a client (RFC 3207 section 4): 0, or -1 with the
 * reason in why (the certificate's, OpenSSL's, or the time limit). */
static int smtp_starttls(smtp_sess *s, SSL_CTX *ctx, const char *sni,
                         const char *verify_name, double timeout, char *why,
                         size_t whylen)
{
    s->io->timeout = timeout;
    if (conn_tls_client(s->io, ctx, sni, verify_name) == 0)
        return 0;
    if (errno == ENOMEM) {
        snprintf(why, whylen, "cannot create TLS state");
    } else if (errno == ETIMEDOUT) {
        snprintf(why, whylen, "timeout during the TLS handshake");
    } else if (s->io->tls_verify != X509_V_OK) {
        snprintf(why, whylen, "certificate verification failed: %s",
                 X509_verify_cert_error_string(s->io->tls_verify));
    } else {
        const char *rs = s->io->tls_err ? ERR_reason_error_string(s->io->tls_err) : NULL;
        snprintf(why, whylen, "%s", rs ? rs : "handshake failure");
    }
    return -1;
}

/* The texts of a failed read or write, by stage (Postfix's words). */
static void smtp_session_io_failure(smtp_sess *s, smtp_last *last, const char *stage)
{
    s->broken = true;
    if (errno == ETIMEDOUT)
        smtp_last_set(last, "4.4.2", s->relay,
                      "conversation with %s timed out while %s", s->namaddr,
                      stage);
    else if (errno == EPROTO)
        smtp_last_set(last, "4.5.0", s->relay,
                      "malformed reply from %s while %s", s->namaddr, stage);
    else
        smtp_last_set(last, "4.4.2", s->relay,
                      "lost connection with %s while %s", s->namaddr, stage);
}

/* ---- the session ---- */

static void smtp_ehlo_line(smtp_sess *s, const char *line, size_t len)
{
    /* RFC 5321 section 4.1.1.1: the first line is the greeting, the rest
     * are keywords with optional parameters. */
    if (s->ehlo_lines++ == 0 || len < 5)
        return;
    const char *kw = line + 4;
    if (strcasecmp(kw, "PIPELINING") == 0)
        s->pipelining = true;
    else if (strcasecmp(kw, "8BITMIME") == 0)
        s->eightbit = true;
    else if (strcasecmp(kw, "SMTPUTF8") == 0)
        s->smtputf8 = true;
    else if (strcasecmp(kw, "STARTTLS") == 0)
        s->starttls = true;
    else if (strcasecmp(kw, "DSN") == 0)
        s->dsn = true;
    else if (strncasecmp(kw, "SIZE", 4) == 0 &&
             (kw[4] == ' ' || kw[4] == '\0')) {
        /* RFC 1870 section 4: "SIZE" alone or "SIZE 0": no fixed limit. */
        s->size = true;
        s->size_max = kw[4] ? strtoll(kw + 5, NULL, 10) : 0;
        if (s->size_max < 0)
            s->size_max = 0;
    }
}

/* EHLO or LHLO; on a refused EHLO, HELO (RFC 5321 section 3.2). */
static enum smtp_outcome smtp_session_hello(smtp_job *job, smtp_sess *s,
                                            smtp_last *last)
{
    double t = (double)var_time("smtp_helo_timeout");
    const char *helo = var_str("smtp_helo_name");
    const char *verb = job->lmtp ? "LHLO" : "EHLO";
    s->esmtp = s->pipelining = s->eightbit = s->smtputf8 = false;
    s->starttls = s->dsn = s->size = false;
    s->size_max = 0;
    s->ehlo_lines = 0;
    conn_printf(s->io, "%s %s\r\n", verb, helo);
    smtp_reply r;
    char stage[64];
    snprintf(stage, sizeof(stage), "performing the %s handshake", verb);
    if (smtp_flush(s, t) < 0 || smtp_read(s, &r, t, smtp_ehlo_line) < 0) {
        smtp_session_io_failure(s, last, stage);
        return SMTP_NEXT;
    }
    if (smtp_reply_class(&r) == 2) {
        s->esmtp = true;
        return SMTP_DONE;
    }
    s->esmtp = false;
    if (job->lmtp || smtp_reply_class(&r) != 5) {
        smtp_last_set(last, r.dsn, s->relay,
                      "host %s refused to talk to me: %s", s->namaddr, r.text);
        return SMTP_NEXT;
    }
    conn_printf(s->io, "HELO %s\r\n", helo);
    if (smtp_flush(s, t) < 0 || smtp_read(s, &r, t, NULL) < 0) {
        smtp_session_io_failure(s, last, "performing the HELO handshake");
        return SMTP_NEXT;
    }
    if (smtp_reply_class(&r) != 2) {
        smtp_last_set(last, r.dsn, s->relay,
                      "host %s said: %s (in reply to HELO command)",
                      s->namaddr, r.text);
        return SMTP_NEXT;
    }
    return SMTP_DONE;
}

static SSL_CTX *smtp_tls_ctx(int level)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    /* Trust anchors always: with "may" and "encrypt" the result only
     * decides the log word (Trusted / Untrusted), with verify it decides. */
    char *ca = var_path("smtp_tls_CAfile");
    if (ca && *var_str("smtp_tls_CAfile")) {
        if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
            msg_warn("cannot load smtp_tls_CAfile %s", ca);
    } else {
        SSL_CTX_set_default_verify_paths(ctx);
    }
    mem_free(&ca);
    SSL_CTX_set_verify(ctx, level == SMTP_TLS_VERIFY ? SSL_VERIFY_PEER
                                                     : SSL_VERIFY_NONE,
                       NULL);
    return ctx;
}

static enum smtp_outcome smtp_session_tls(smtp_job *job, smtp_sess *s,
                                          smtp_last *last)
{
    double t = (double)var_time("smtp_starttls_timeout");
    conn_printf(s->io, "STARTTLS\r\n");
    smtp_reply r;
    if (smtp_flush(s, t) < 0 || smtp_read(s, &r, t, NULL) < 0) {
        smtp_session_io_failure(s, last, "sending STARTTLS");
        return SMTP_NEXT;
    }
    if (smtp_reply_class(&r) != 2) {
        if (s->tls_level == SMTP_TLS_MAY)
            return SMTP_DONE; /* opportunistic: go on in plain text */
        smtp_last_set(last, "4.7.4", s->relay,
                      "TLS is required, but host %s refused to start TLS: %s",
                      s->namaddr, r.text);
        return SMTP_NEXT;
    }
    SSL_CTX *ctx = smtp_tls_ctx(s->tls_level);
    char why[300] = "";
    bool is_name = s->host[0] && strchr(s->addr, '/') == NULL &&
                   strcmp(s->host, s->addr) != 0;
    int rc = ctx == NULL ? -1
                         : smtp_starttls(s, ctx, is_name ? s->host : NULL,
                                            s->tls_level == SMTP_TLS_VERIFY
                                                ? s->host
                                                : NULL,
                                            t, why, sizeof(why));
    if (rc < 0) {
        SSL_CTX_free(ctx);
        s->broken = true;
        if (s->tls_level == SMTP_TLS_VERIFY &&
            strncmp(why, "certificate", 11) == 0) {
            smtp_last_set(last, "4.7.5", s->relay,
                          "Server certificate not verified");
            return SMTP_NEXT;
        }
        /* Postfix's status text is always this; the library's reason
         * goes to a warning line of its own, as Postfix's does. */
        if (why[0])
            msg_warn("TLS library problem: %s (%s)", why, s->relay);
        smtp_last_set(last, "4.7.5", s->relay,
                      "Cannot start TLS: handshake failure");
        /* Opportunistic TLS that fails may be retried in plain text on a
         * new connection (Postfix does the same). */
        return s->tls_level == SMTP_TLS_MAY ? SMTP_RETRY_PLAIN : SMTP_NEXT;
    }
    s->tls = true;
    if (var_int("smtp_tls_loglevel") >= 1) {
        SSL *ssl = s->io->ssl;
        int alg = 0;
        int bits = SSL_get_cipher_bits(ssl, &alg);
        const char *trust =
            SSL_get_verify_result(ssl) != X509_V_OK ? "Untrusted"
            : s->tls_level == SMTP_TLS_VERIFY       ? "Verified"
                                                    : "Trusted";
        msg_info("%s TLS connection established to %s: %s with cipher %s "
                 "(%d/%d bits)",
                 trust, s->relay, SSL_get_version(ssl), SSL_get_cipher(ssl),
                 bits, alg);
    }
    SSL_CTX_free(ctx); /* the SSL keeps its own reference */
    /* RFC 3207 section 4.2: forget what was learnt before; ask again. */
    return smtp_session_hello(job, s, last);
}

enum smtp_outcome smtp_session_open(smtp_job *job, smtp_sess *s,
                                    smtp_last *last)
{
    double t = (double)var_time("smtp_helo_timeout");
    smtp_reply r;
    if (smtp_read(s, &r, t, NULL) < 0) {
        smtp_session_io_failure(s, last, "receiving the initial server greeting");
        return SMTP_NEXT;
    }
    if (smtp_reply_class(&r) != 2) {
        /* Postfix's smtp_skip_5xx_greeting: a 4xx or 5xx greeting sends
         * us to the next host; the reply stands if none is left. */
        smtp_last_set(last, r.dsn, s->relay,
                      "host %s refused to talk to me: %s", s->namaddr, r.text);
        return SMTP_NEXT;
    }
    enum smtp_outcome o = smtp_session_hello(job, s, last);
    if (o != SMTP_DONE)
        return o;
    /* STARTTLS when offered and wanted (an LMTP server may offer it too). */
    if (s->starttls && s->tls_level > SMTP_TLS_NONE && !s->tls) {
        o = smtp_session_tls(job, s, last);
        if (o != SMTP_DONE)
            return o;
    }
    if (!s->tls && s->tls_level >= SMTP_TLS_ENCRYPT) {
        smtp_last_set(last, "4.7.4", s->relay,
                      "TLS is required, but was not offered by host %s",
                      s->namaddr);
        return SMTP_NEXT;
    }
    return SMTP_DONE;
}

void smtp_session_close(smtp_sess *s)
{
    if (s->io == NULL)
        return;
    if (!s->broken) {
        /* RFC 5321 section 4.1.1.10: QUIT, and wait for its reply so the
         * server does not see a lost connection. */
        conn_printf(s->io, "QUIT\r\n");
        double t = (double)var_time("smtp_quit_timeout");
        smtp_reply r;
        if (smtp_flush(s, t) == 0)
            (void)smtp_read(s, &r, t, NULL);
    }
    conn_free(&s->io);
}

/* ---- the transaction ---- */

/* Every recipient still open gets this result. */
static void smtp_fail_open(smtp_job *job, const char *dsn, const char *relay,
                           const char *text)
{
    for (size_t i = 0; i < job->nrs; i++)
        if (!job->rs[i].final)
            smtp_rcpt_set(&job->rs[i], dsn, relay, "%s", text);
}

/* Every accepted recipient gets this result (after DATA). */
static void smtp_fail_accepted(smtp_job *job, const char *dsn,
                               const char *relay, const char *text)
{
    for (size_t i = 0; i < job->nrs; i++)
        if (!job->rs[i].final && job->rs[i].accepted)
            smtp_rcpt_set(&job->rs[i], dsn, relay, "%s", text);
}

static bool smtp_any_decided(const smtp_job *job)
{
    for (size_t i = 0; i < job->nrs; i++)
        if (job->rs[i].final)
            return true;
    return false;
}

/* A failure of the connection in the middle of the transaction: before
 * any recipient is decided the next host may do better; after, what is
 * open gets the failure. */
static enum smtp_outcome smtp_broken(smtp_job *job, smtp_sess *s,
                                     smtp_last *last, const char *stage)
{
    smtp_session_io_failure(s, last, stage);
    if (!smtp_any_decided(job))
        return SMTP_NEXT;
    smtp_fail_open(job, last->dsn, last->relay, last->text);
    return SMTP_DONE;
}

/* RFC 3461 section 4 (bounce, issue 4): to a server that offers DSN the
 * parameters go on as the client gave them (kept in the queue file as
 * global/dsn_param.h says): RET and ENVID on MAIL FROM ... */
static void smtp_dsn_mail(smtp_sess *s, const smtp_job *job)
{
    if (!s->esmtp || !s->dsn)
        return;
    const char *ret = queue_msg_attr(job->m, "dsn_ret");
    if (ret != NULL)
        conn_printf(s->io, " RET=%s", ret);
    const char *envid = queue_msg_attr(job->m, "dsn_envid");
    buf *b = buf_new(4 * DSN_ENVID_MAX);
    if (envid != NULL && dsn_param_xtext_encode(envid, b) == 0)
        conn_printf(s->io, " ENVID=%s", b->data);
    buf_free(&b);
}

/* ... NOTIFY and ORCPT on RCPT TO.  An ORCPT kept without its type (a
 * rewritten local submission) is an RFC 822 address.  A NOTIFY handed on
 * is remembered: once that host takes the message, the notices it asks
 * for are the host's to send (RFC 3461 section 5.2), and qmgr is told
 * (deliver_request.h, "dsn_passed="). */
static void smtp_dsn_rcpt(smtp_sess *s, const smtp_job *job, smtp_rcpt *rc)
{
    rc->dsn_passed = false; /* this session's host decides */
    if (!s->esmtp || !s->dsn)
        return;
    char name[40];
    snprintf(name, sizeof(name), "dsn_notify.%d", rc->dr->index);
    const char *notify = queue_msg_attr(job->m, name);
    if (notify != NULL && dsn_param_notify_attr(notify) != 0) {
        conn_printf(s->io, " NOTIFY=%s", notify);
        rc->dsn_passed = true;
    }
    const char *o = rc->dr->orcpt;
    if (o == NULL)
        return;
    const char *semi = strchr(o, ';');
    buf *b = buf_new(4 * DSN_ORCPT_MAX);
    if (dsn_param_xtext_encode(semi ? semi + 1 : o, b) == 0 && b->len <= DSN_ORCPT_MAX)
        conn_printf(s->io, " ORCPT=%.*s;%s", semi ? (int)(semi - o) : 6,
                       semi ? o : "rfc822", b->data);
    buf_free(&b);
}

static void smtp_said(char *out, size_t outlen, const smtp_sess *s,
                      const smtp_reply *r, const char *command)
{
    snprintf(out, outlen, "host %s said: %s (in reply to %s command)",
             s->namaddr, r->text, command);
}

/* Stream the content from the queue file. 0, or -1 with errno. */
static int smtp_send_body(smtp_job *job, smtp_sess *s)
{
    double t = (double)var_time("smtp_data_xfer_timeout");
    smtp_body b;
    smtp_body_init(&b);
    char *chunk = mem_alloc(SMTP_BODY_CHUNK);
    off_t off = job->m->content_off;
    size_t left = job->m->content_len;
    int ret = 0;
    while (left > 0) {
        size_t want = left < SMTP_BODY_CHUNK ? left : SMTP_BODY_CHUNK;
        ssize_t n = pread(job->qfd, chunk, want, off);
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file is shorter than it says */
            ret = -2;
            break;
        }
        if (smtp_body_encode(&b, chunk, (size_t)n, s->io->out) < 0 ||
            smtp_flush(s, t) < 0) {
            ret = -1;
            break;
        }
        off += n;
        left -= (size_t)n;
    }
    mem_free(&chunk);
    if (ret == 0 && smtp_body_end(&b, s->io->out) < 0)
        ret = -1;
    return ret;
}

enum smtp_outcome smtp_session_mail(smtp_job *job, smtp_sess *s,
                                    smtp_last *last)
{
    char text[SMTP_TEXT_MAX];
    size_t size = job->m->content_len;
    for (size_t i = 0; i < job->nrs; i++)
        job->rs[i].accepted = false;

    /* RFC 1870 section 6: a message larger than the server's SIZE would be
     * refused anyway; it will not fit there later either. */
    if (s->size_max > 0 && (long long)size > s->size_max) {
        snprintf(text, sizeof(text),
                 "message size %zu exceeds size limit %lld of server %s",
                 size, s->size_max, s->namaddr);
        smtp_fail_open(job, "5.3.4", s->relay, text);
        return SMTP_DONE;
    }
    /* RFC 6531 section 3.4: without SMTPUTF8 at the server, a non-ASCII
     * envelope cannot be delivered there. */
    if (job->need_utf8 && !s->smtputf8) {
        snprintf(text, sizeof(text),
                 "SMTPUTF8 is required, but was not offered by host %s",
                 s->namaddr);
        smtp_fail_open(job, "5.6.7", s->relay, text);
        return SMTP_DONE;
    }

    size_t open = 0;
    for (size_t i = 0; i < job->nrs; i++)
        if (!job->rs[i].final)
            open++;
    if (open == 0)
        return SMTP_DONE;

    /* MAIL FROM with the parameters the server announced. */
    conn_printf(s->io, "MAIL FROM:<%s>", job->req->sender);
    if (s->esmtp) {
        if (s->size)
            conn_printf(s->io, " SIZE=%zu", size);
        if (job->need_8bit && s->eightbit)
            conn_printf(s->io, " BODY=8BITMIME");
        if (job->need_utf8 && s->smtputf8)
            conn_printf(s->io, " SMTPUTF8");
        smtp_dsn_mail(s, job);
    }
    conn_printf(s->io, "\r\n");

    double tmail = (double)var_time("smtp_mail_timeout");
    double trcpt = (double)var_time("smtp_rcpt_timeout");
    double tdata = (double)var_time("smtp_data_init_timeout");
    smtp_reply r;

    /* RFC 2920 section 3.1: MAIL, RCPT and DATA may go in one group; the
     * replies come in order.  Without PIPELINING, one at a time. */
    bool pipe = s->pipelining;
    if (!pipe) {
        if (smtp_flush(s, tmail) < 0 || smtp_read(s, &r, tmail, NULL) < 0)
            return smtp_broken(job, s, last, "sending MAIL FROM");
    } else {
        for (size_t i = 0; i < job->nrs; i++)
            if (!job->rs[i].final) {
                conn_printf(s->io, "RCPT TO:<%s>", job->rs[i].dr->addr);
                smtp_dsn_rcpt(s, job, &job->rs[i]);
                conn_printf(s->io, "\r\n");
            }
        conn_printf(s->io, "DATA\r\n");
        if (smtp_flush(s, tmail) < 0 || smtp_read(s, &r, tmail, NULL) < 0)
            return smtp_broken(job, s, last, "sending MAIL FROM");
    }
    if (smtp_reply_class(&r) != 2) {
        smtp_said(text, sizeof(text), s, &r, "MAIL FROM");
        /* The rest of a pipelined group is void; this connection is done
         * with this message.  RSET would do; the connection is not
         * reused after a refusal anyway. */
        s->broken = pipe; /* unread replies: close without QUIT's wait */
        if (smtp_reply_class(&r) == 4) {
            smtp_last_set(last, r.dsn, s->relay, "%s", text);
            return SMTP_NEXT;
        }
        smtp_fail_open(job, r.dsn, s->relay, text);
        return SMTP_DONE;
    }

    /* RCPT TO, one reply per recipient. */
    size_t accepted = 0;
    for (size_t i = 0; i < job->nrs; i++) {
        smtp_rcpt *rc = &job->rs[i];
        if (rc->final)
            continue;
        if (!pipe) {
            conn_printf(s->io, "RCPT TO:<%s>", rc->dr->addr);
            smtp_dsn_rcpt(s, job, rc);
            conn_printf(s->io, "\r\n");
            if (smtp_flush(s, trcpt) < 0)
                return smtp_broken(job, s, last, "sending RCPT TO");
        }
        if (smtp_read(s, &r, trcpt, NULL) < 0)
            return smtp_broken(job, s, last, "sending RCPT TO");
        if (smtp_reply_class(&r) == 2) {
            rc->accepted = true;
            accepted++;
        } else {
            smtp_said(text, sizeof(text), s, &r, "RCPT TO");
            smtp_rcpt_set(rc, r.dsn, s->relay, "%s", text);
            if (smtp_reply_class(&r) == 4 && !job->final_host) {
                /* RFC 5321 section 5.1: another MX may take it now (a
                 * backup MX, a greylisting primary): kept open with this
                 * reason, which stands if no host does better. */
                rc->final = false;
                rc->soft = true;
            }
        }
    }

    /* DATA (RFC 5321 section 4.1.1.4). */
    if (!pipe) {
        if (accepted == 0) {
            /* Nothing to send; RSET keeps the connection clean. */
            conn_printf(s->io, "RSET\r\n");
            if (smtp_flush(s, tmail) < 0 ||
                smtp_read(s, &r, tmail, NULL) < 0)
                s->broken = true;
            return SMTP_DONE;
        }
        conn_printf(s->io, "DATA\r\n");
        if (smtp_flush(s, tdata) < 0)
            return smtp_broken(job, s, last, "sending DATA command");
    }
    if (smtp_read(s, &r, tdata, NULL) < 0)
        return smtp_broken(job, s, last, "sending DATA command");
    if (r.code != 354) {
        if (accepted > 0) {
            smtp_said(text, sizeof(text), s, &r, "DATA");
            smtp_fail_accepted(job, r.dsn, s->relay, text);
        }
        return SMTP_DONE;
    }
    if (accepted == 0) {
        /* RFC 2920 section 3.1: a server that said 354 with no valid
         * recipient gets an empty message, which it must refuse. */
        conn_printf(s->io, ".\r\n");
        double tdone = (double)var_time("smtp_data_done_timeout");
        if (smtp_flush(s, tdone) < 0 || smtp_read(s, &r, tdone, NULL) < 0)
            s->broken = true;
        return SMTP_DONE;
    }
    int br = smtp_send_body(job, s);
    if (br == -2) {
        /* Our side failed: the server must not take a partial message. */
        s->broken = true;
        snprintf(text, sizeof(text), "error reading queue file: %s",
                 strerror(errno));
        smtp_fail_accepted(job, "4.3.0", s->relay, text);
        return SMTP_DONE;
    }
    if (br < 0)
        return smtp_broken(job, s, last, "sending message body");
    double tdone = (double)var_time("smtp_data_done_timeout");
    const char *stage =
        "sending end of data -- message may be sent more than once";
    if (smtp_flush(s, tdone) < 0)
        return smtp_broken(job, s, last, stage);

    /* SMTP: one reply for all (RFC 5321 4.1.1.4); LMTP: one per accepted
     * recipient, in RCPT order (RFC 2033 section 4.2). */
    for (size_t i = 0; i < job->nrs; i++) {
        smtp_rcpt *rc = &job->rs[i];
        if (rc->final || !rc->accepted)
            continue;
        if (smtp_read(s, &r, tdone, NULL) < 0) {
            smtp_session_io_failure(s, last, stage);
            smtp_fail_accepted(job, last->dsn, last->relay, last->text);
            return SMTP_DONE;
        }
        if (smtp_reply_class(&r) == 2) {
            if (job->lmtp) {
                smtp_rcpt_set(rc, r.dsn, s->relay, "%s", r.text);
            } else {
                for (size_t j = i; j < job->nrs; j++)
                    if (!job->rs[j].final && job->rs[j].accepted)
                        smtp_rcpt_set(&job->rs[j], r.dsn, s->relay, "%s",
                                      r.text);
            }
        } else {
            smtp_said(text, sizeof(text), s, &r, "end of DATA");
            if (job->lmtp)
                smtp_rcpt_set(rc, r.dsn, s->relay, "%s", text);
            else
                smtp_fail_accepted(job, r.dsn, s->relay, text);
        }
        if (!job->lmtp)
            break;
    }
    return SMTP_DONE;
}
