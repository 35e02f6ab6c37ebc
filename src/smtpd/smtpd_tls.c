/*
 * smtpd_tls - STARTTLS in the SMTP server (RFC 3207) on the connection
 * layer's TLS server side (util/conn.h), with Postfix's parameters and
 * log lines.
 *
 * The context: smtpd_tls_cert_file (with its chain) and
 * smtpd_tls_key_file, read at start and again at each reload into a new
 * SSL_CTX; a session under way holds its own reference to the old one
 * (SSL_new), so a renewed certificate is used by new sessions and no open
 * one is dropped.  Protocols: smtpd_tls_protocols, or at
 * smtpd_tls_security_level = encrypt smtpd_tls_mandatory_protocols
 * (Postfix's syntax: ">=TLSv1.2", "<=TLSv1.3", "!TLSv1, !TLSv1.1"); TLS
 * 1.2 and later by default.  Ciphers (TLS 1.2; TLS 1.3's suites are all
 * strong): smtpd_tls_ciphers, Postfix's grades high / medium.
 *
 * The handshake runs in the event loop, one step per readiness event,
 * within smtpd_starttls_timeout (smtpd_deadline.c).  RFC 3207 section
 * 4.2: what the client sent after STARTTLS and before the handshake is
 * dropped (conn_tls_begin), and the session forgets everything it learnt
 * in clear text: the EHLO name, ESMTP, any transaction (CVE-2011-0411,
 * command injection through pipelining across STARTTLS).
 *
 * Log lines (Postfix's, docs/logging.md):
 *   Anonymous TLS connection established from host[addr]: TLSv1.3 with
 *     cipher TLS_AES_256_GCM_SHA384 (256/256 bits)   (smtpd_tls_loglevel 1)
 *   SSL_accept error from host[addr]: -1    (or ": lost connection")
 *   warning: TLS library problem: error:...:reason
 *   lost connection after STARTTLS from host[addr]
 *   timeout after STARTTLS from host[addr]
 *
 * Does not: client certificates, session caches or tickets beyond
 * OpenSSL's defaults, implicit TLS (465), AUTH (later steps).
 */
#include "smtpd/smtpd.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

/* Postfix's protocol names, in order. */
static const struct {
    const char *name;
    int version;
} smtpd_tls_versions[] = {
    {"SSLv3", SSL3_VERSION},     {"TLSv1", TLS1_VERSION},
    {"TLSv1.1", TLS1_1_VERSION}, {"TLSv1.2", TLS1_2_VERSION},
    {"TLSv1.3", TLS1_3_VERSION},
};
#define SMTPD_TLS_NVERSIONS (sizeof(smtpd_tls_versions) / sizeof(smtpd_tls_versions[0]))

static int smtpd_tls_version_index(const char *name)
{
    for (size_t i = 0; i < SMTPD_TLS_NVERSIONS; i++)
        if (strcasecmp(name, smtpd_tls_versions[i].name) == 0)
            return (int)i;
    return -1;
}

/* Postfix's protocol list (">=TLSv1.2", "!SSLv2, !SSLv3, !TLSv1" ...)
 * into the smallest and largest version allowed: 0, or -1 with *bad_r
 * naming the word that is not understood.  SSLv2 is known and never
 * allowed; exclusions inside the range are not possible with OpenSSL's
 * min/max and are refused as well. */
static int smtpd_tls_protocols(const char *spec, int *min_r, int *max_r,
                               const char **bad_r)
{
    static char bad[64];
    bool allowed[SMTPD_TLS_NVERSIONS];
    for (size_t i = 0; i < SMTPD_TLS_NVERSIONS; i++)
        allowed[i] = true;
    char **words = conf_split_list(spec);
    int rc = 0;
    for (char **w = words; *w && rc == 0; w++) {
        const char *p = *w;
        int k;
        if (strcasecmp(p, "!SSLv2") == 0 || strcasecmp(p, "SSLv2") == 0)
            continue;
        if (strncmp(p, ">=", 2) == 0 && (k = smtpd_tls_version_index(p + 2)) >= 0) {
            for (int i = 0; i < k; i++)
                allowed[i] = false;
        } else if (strncmp(p, "<=", 2) == 0 && (k = smtpd_tls_version_index(p + 2)) >= 0) {
            for (size_t i = (size_t)k + 1; i < SMTPD_TLS_NVERSIONS; i++)
                allowed[i] = false;
        } else if (p[0] == '!' && (k = smtpd_tls_version_index(p + 1)) >= 0) {
            allowed[k] = false;
        } else {
            snprintf(bad, sizeof(bad), "%s", p);
            rc = -1;
        }
    }
    conf_free_list(&words);
    if (rc < 0) {
        *bad_r = bad;
        return -1;
    }
    int lo = -1, hi = -1;
    for (size_t i = 0; i < SMTPD_TLS_NVERSIONS; i++)
        if (allowed[i]) {
            if (lo < 0)
                lo = (int)i;
            else if (hi != (int)i - 1) {
                *bad_r = "a gap between allowed versions";
                return -1;
            }
            hi = (int)i;
        }
    if (lo < 0) {
        *bad_r = "no version left";
        return -1;
    }
    *min_r = smtpd_tls_versions[lo].version;
    *max_r = smtpd_tls_versions[hi].version;
    return 0;
}

/* Postfix's cipher grades (tls_high_cipherlist, tls_medium_cipherlist),
 * without the anonymous suites (clients of the field offer them last and
 * expect a certificate anyway). */
static const char *smtpd_tls_cipherlist(const char *grade)
{
    if (strcasecmp(grade, "high") == 0)
        return "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:@STRENGTH";
    if (strcasecmp(grade, "medium") == 0)
        return "HIGH:MEDIUM:!aNULL:!eNULL:!MD5:!RC4:@STRENGTH";
    return NULL;
}

static void smtpd_tls_print_errors(void)
{
    unsigned long e;
    char text[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, text, sizeof(text));
        msg_warn("TLS library problem: %s", text);
    }
}

static SSL_CTX *smtpd_tls_load(int level)
{
    char *cert = var_path("smtpd_tls_cert_file");
    char *key = var_path("smtpd_tls_key_file");
    SSL_CTX *ctx = NULL;
    const char *pname = level == SMTPD_TLS_ENCRYPT ? "smtpd_tls_mandatory_protocols"
                                                   : "smtpd_tls_protocols";
    const char *bad;
    int min, max;
    const char *grade = var_str("smtpd_tls_ciphers");
    const char *list = smtpd_tls_cipherlist(grade);
    if (*cert == '\0')
        goto done;
    if (smtpd_tls_protocols(var_str(pname), &min, &max, &bad) < 0) {
        msg_warn("%s: %s: using >=TLSv1.2", pname, bad);
        min = TLS1_2_VERSION;
        max = TLS1_3_VERSION;
    }
    if (list == NULL) {
        msg_warn("smtpd_tls_ciphers: unknown grade \"%s\": using high", grade);
        list = smtpd_tls_cipherlist("high");
    }
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, max);
    /* The server's preference: the strongest suite both sides know. */
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_cipher_list(ctx, list) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, *key ? key : cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    goto done;
fail: {
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    msg_error("cannot load the SMTP server certificate %s (key %s): %s: "
              "STARTTLS is off", cert, *key ? key : cert, r ? r : "unknown error");
    ERR_clear_error();
    SSL_CTX_free(ctx);
    ctx = NULL;
}
done:
    mem_free(&cert);
    mem_free(&key);
    return ctx;
}

void smtpd_tls_conf_load(void)
{
    const char *lv = var_str("smtpd_tls_security_level");
    int level;
    if (*lv == '\0')
        level = -1; /* may when a certificate loads, else none */
    else if (strcasecmp(lv, "none") == 0)
        level = SMTPD_TLS_NONE;
    else if (strcasecmp(lv, "may") == 0)
        level = SMTPD_TLS_MAY;
    else if (strcasecmp(lv, "encrypt") == 0)
        level = SMTPD_TLS_ENCRYPT;
    else {
        msg_warn("smtpd_tls_security_level: unknown value \"%s\": using may", lv);
        level = SMTPD_TLS_MAY;
    }
    SSL_CTX_free(smtpd_cf.tls); /* sessions under way keep their reference */
    smtpd_cf.tls = level == SMTPD_TLS_NONE ? NULL : smtpd_tls_load(level);
    if (level < 0)
        level = smtpd_cf.tls ? SMTPD_TLS_MAY : SMTPD_TLS_NONE;
    if (level == SMTPD_TLS_ENCRYPT && smtpd_cf.tls == NULL)
        msg_warn("smtpd_tls_security_level = encrypt without a usable certificate "
                 "(smtpd_tls_cert_file): no client can send mail");
    smtpd_cf.tls_level = level;
    smtpd_cf.tls_loglevel = (int)var_int("smtpd_tls_loglevel");
    smtpd_cf.tls_received_header = var_bool("smtpd_tls_received_header");
    smtpd_cf.starttls_timeout = (double)var_time("smtpd_starttls_timeout");
}

bool smtpd_tls_offered(const smtpd_session *s)
{
    return smtpd_cf.tls != NULL && s->c->ssl == NULL && s->tls_facts[0] == '\0';
}

/* The handshake failed or the client went away during it. */
static void smtpd_tls_lost(smtpd_session *s)
{
    /* Postfix: the return value of SSL_accept for a protocol error, the
     * words "lost connection" when the client just closed. */
    if (s->c->tls_err != 0) {
        msg_info("SSL_accept error from %s: -1", s->namaddr);
        char text[256];
        ERR_error_string_n(s->c->tls_err, text, sizeof(text));
        msg_warn("TLS library problem: %s", text);
    } else {
        msg_info("SSL_accept error from %s: lost connection", s->namaddr);
    }
    ERR_clear_error();
    msg_info("lost connection after STARTTLS from %s", s->namaddr);
    s->mode = SMTPD_MODE_CLOSING;
    s->closed = true;
}

void smtpd_tls_begin(smtpd_session *s)
{
    s->tls_deadline = event_now() + smtpd_cf.starttls_timeout;
    /* Drops what the client sent after STARTTLS (RFC 3207 section 4.2).
     * (A reload in the meantime may have left no context at all.) */
    if (smtpd_cf.tls == NULL || conn_tls_begin(s->c, smtpd_cf.tls, true, NULL, NULL) < 0) {
        smtpd_tls_print_errors();
        msg_info("lost connection after STARTTLS from %s", s->namaddr);
        s->mode = SMTPD_MODE_CLOSING;
        s->closed = true;
        return;
    }
    s->held = false;
    smtpd_tls_step(s);
}

void smtpd_tls_step(smtpd_session *s)
{
    int r = conn_tls_step(s->c);
    if (r == CONN_AGAIN) {
        event_modify(s->fd, conn_want(s->c));
        return;
    }
    if (r < 0) {
        smtpd_tls_lost(s);
        return;
    }
    SSL *ssl = s->c->ssl;
    int alg = 0;
    int bits = SSL_get_cipher_bits(ssl, &alg);
    snprintf(s->tls_facts, sizeof(s->tls_facts), "%s with cipher %s (%d/%d bits)",
             SSL_get_version(ssl), SSL_get_cipher(ssl), bits, alg);
    /* No client certificate is asked for: Postfix calls that anonymous. */
    if (smtpd_cf.tls_loglevel >= 1)
        msg_info("Anonymous TLS connection established from %s: %s", s->namaddr,
                 s->tls_facts);
    /* RFC 3207 section 4.2: discard any knowledge obtained from the
     * client, such as the argument to the EHLO command; the client must
     * send EHLO again.  (The counters of the disconnect line go on, as
     * Postfix's: "ehlo=2 starttls=1".) */
    smtpd_session_tx_free(s);
    mem_free(&s->helo);
    s->esmtp = false;
    s->mode = SMTPD_MODE_CMD;
    s->last_io = event_now();
    smtpd_deadline_start(s, s->last_io);
    event_modify(s->fd, EVENT_READ);
}
