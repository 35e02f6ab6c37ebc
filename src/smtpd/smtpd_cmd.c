/*
 * smtpd_cmd - the SMTP command table (OpenSMTPD's shape): each command has
 * the transaction states it is allowed in, the reply when it is not, a
 * check function that validates syntax and policy and replies on failure,
 * and a proceed function that acts.  Validation stays apart from action.
 *
 * Replies carry RFC 3463 enhanced status codes (RFC 2034) and Postfix's
 * texts, so that clients and log readers see what they know.
 *
 * Commands: RFC 5321 section 4.1.1 (EHLO, HELO, MAIL, RCPT, DATA, RSET,
 * NOOP, QUIT, HELP, VRFY), RFC 3030 (BDAT), RFC 3207 (STARTTLS), with the ESMTP parameters SIZE
 * (RFC 1870), BODY (RFC 6152) and SMTPUTF8 (RFC 6531), and DSN (RFC 3461:
 * RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT, kept in the queue file
 * as global/dsn_param.h says).
 */
#include "smtpd/smtpd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/dsn_param.h"
#include "global/local_rcpt.h"
#include "global/mail_addr.h"
#include "global/mail_conf.h"
#include "global/mail_trigger.h"
#include "util/mem.h"
#include "util/msg.h"

typedef struct smtpd_cmd {
    const char *name;
    enum smtpd_counter counter;
    int states;               /* SMTPD_ST_* bits where it may run */
    const char *state_reply;  /* reply when it may not */
    bool junk;                /* counts toward smtpd_junk_command_limit */
    int (*check)(smtpd_session *s, char *args);   /* 0, or -1 replied */
    void (*proceed)(smtpd_session *s, char *args);
} smtpd_cmd;

/* ---- HELO / EHLO ---- */

static int smtpd_cmd_helo_check(smtpd_session *s, char *args)
{
    if (*args == '\0') {
        smtpd_session_reply(s, "501 5.5.4 Syntax: %s hostname", s->where);
        return -1;
    }
    return 0;
}

static void smtpd_cmd_helo_set(smtpd_session *s, char *args, bool esmtp)
{
    /* RFC 5321 section 4.1.4: a new HELO/EHLO resets the transaction. */
    smtpd_session_tx_free(s);
    mem_free(&s->helo);
    size_t n = strcspn(args, " \t");
    s->helo = mem_strndup(args, n > 255 ? 255 : n);
    /* It goes into the Received header and the queue file: no control
     * characters (a bare CR is possible in a command line). */
    for (char *p = s->helo; *p; p++)
        if ((unsigned char)*p < 32 || *p == 127)
            *p = '?';
    s->esmtp = esmtp;
}

static void smtpd_cmd_helo(smtpd_session *s, char *args)
{
    smtpd_cmd_helo_set(s, args, false);
    smtpd_session_reply(s, "250 %s", smtpd_cf.myhostname);
}

static void smtpd_cmd_ehlo(smtpd_session *s, char *args)
{
    smtpd_cmd_helo_set(s, args, true);
    smtpd_session_reply(s, "250-%s", smtpd_cf.myhostname);
    smtpd_session_reply(s, "250-PIPELINING");
    if (smtpd_cf.message_size_limit == ULLONG_MAX)
        smtpd_session_reply(s, "250-SIZE"); /* RFC 1870 section 4: no fixed limit */
    else
        smtpd_session_reply(s, "250-SIZE %llu", smtpd_cf.message_size_limit);
    if (!smtpd_cf.disable_vrfy)
        smtpd_session_reply(s, "250-VRFY");
    /* RFC 3207 section 4.2: not offered again once TLS is on. */
    if (smtpd_tls_offered(s))
        smtpd_session_reply(s, "250-STARTTLS");
    smtpd_session_reply(s, "250-ENHANCEDSTATUSCODES");
    smtpd_session_reply(s, "250-8BITMIME");
    smtpd_session_reply(s, "250-DSN"); /* RFC 3461 section 4 */
    smtpd_session_reply(s, "250-SMTPUTF8");
    smtpd_session_reply(s, "250 CHUNKING");
}

/* ---- MAIL ---- */

/* "FROM:" or "TO:" prefix, any case; returns what follows or NULL. */
static char *smtpd_cmd_prefix(char *args, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(args, want, n) != 0)
        return NULL;
    return args + n;
}

static int smtpd_cmd_mail_check(smtpd_session *s, char *args)
{
    /* smtpd_tls_security_level = encrypt (RFC 3207 section 4: a server
     * may require TLS before it accepts mail): Postfix's reply. */
    if (smtpd_cf.tls_level == SMTPD_TLS_ENCRYPT && s->c->ssl == NULL) {
        smtpd_session_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
        return -1;
    }
    char *p = smtpd_cmd_prefix(args, "FROM:");
    if (p == NULL) {
        smtpd_session_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
        return -1;
    }
    return 0;
}

/* Parse ESMTP parameters of MAIL (RFC 5321 section 4.1.2 Mail-parameters).
 * Returns 0, or -1 after replying. */
static int smtpd_cmd_mail_params(smtpd_session *s, const char *p,
                                 unsigned long long *size_r, bool *utf8_r,
                                 int *ret_r, char **envid_r)
{
    char tok[SMTPD_CMD_LINE_MAX];
    while (*p) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " ");
        snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
        p += n;
        char *eq = strchr(tok, '=');
        const char *val = eq ? eq + 1 : NULL;
        if (eq)
            *eq = '\0';
        if (strcasecmp(tok, "SIZE") == 0 && val && *val) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(val, &end, 10);
            if (*end != '\0' || !isdigit((unsigned char)*val) || errno == ERANGE) {
                smtpd_session_reply(s, "501 5.5.4 Bad message size syntax");
                return -1;
            }
            *size_r = v;
        } else if (strcasecmp(tok, "BODY") == 0 && val &&
                   (strcasecmp(val, "7BIT") == 0 || strcasecmp(val, "8BITMIME") == 0)) {
            /* RFC 6152: nothing to do, content is stored as received. */
        } else if (strcasecmp(tok, "SMTPUTF8") == 0 && val == NULL) {
            *utf8_r = true;
        } else if (strcasecmp(tok, "RET") == 0 && val) {
            /* RFC 3461 section 4.3; given twice is a syntax error. */
            int ret = dsn_param_ret_parse(val);
            if (ret < 0 || *ret_r != 0) {
                smtpd_session_reply(s, "501 5.5.4 Bad RET parameter syntax");
                return -1;
            }
            *ret_r = ret;
        } else if (strcasecmp(tok, "ENVID") == 0 && val) {
            /* RFC 3461 section 4.4: xtext, at most 100 characters. */
            if (*envid_r != NULL || dsn_param_envid_parse(val, envid_r) < 0) {
                smtpd_session_reply(s, "501 5.5.4 Bad ENVID parameter syntax");
                return -1;
            }
        } else {
            if (eq)
                *eq = '=';
            smtpd_session_reply(s, "555 5.5.4 Unsupported option: %s", tok);
            return -1;
        }
    }
    return 0;
}

static void smtpd_cmd_mail(smtpd_session *s, char *args)
{
    char *p = smtpd_cmd_prefix(args, "FROM:");
    char *addr = NULL;
    const char *end, *why;
    int r = mail_addr_parse_path(p, MAIL_ADDR_NULL_OK | MAIL_ADDR_LENIENT |
                                        MAIL_ADDR_UTF8_OK, &addr, &end, &why);
    if (r != 0 || (*end != '\0' && *end != ' ')) {
        mem_free(&addr);
        smtpd_session_reply(s, "501 5.1.7 Bad sender address syntax");
        return;
    }
    unsigned long long size = 0;
    bool utf8 = false;
    int ret = 0;
    char *envid = NULL;
    if (smtpd_cmd_mail_params(s, end, &size, &utf8, &ret, &envid) < 0) {
        mem_free(&addr);
        mem_free(&envid);
        return;
    }
    if (!utf8 && mail_addr_is_8bit(addr)) {
        /* RFC 6531 section 3.4: non-ASCII needs the SMTPUTF8 parameter. */
        mem_free(&addr);
        mem_free(&envid);
        smtpd_session_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        return;
    }
    s->tx = mem_zalloc(sizeof(*s->tx));
    s->tx->sender = addr;
    s->tx->declared_size = size;
    s->tx->smtputf8 = utf8;
    s->tx->dsn_ret = ret;
    s->tx->dsn_envid = envid;
    if (size > smtpd_cf.message_size_limit) {
        /* RFC 1870 section 6.3. */
        const char *reply = "552 5.3.4 Message size exceeds fixed limit";
        smtpd_session_log_reject(s, "MAIL", reply, NULL);
        smtpd_session_reply(s, "%s", reply);
        smtpd_session_tx_free(s);
        return;
    }
    s->state = SMTPD_ST_MAIL;
    smtpd_session_reply(s, "250 2.1.0 Ok");
}

/* ---- RCPT ---- */

static int smtpd_cmd_rcpt_check(smtpd_session *s, char *args)
{
    if (smtpd_cmd_prefix(args, "TO:") == NULL) {
        smtpd_session_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
        return -1;
    }
    return 0;
}

/* The queue file starts at the first accepted recipient. */
static int smtpd_cmd_open_queue(smtpd_session *s)
{
    smtpd_tx *tx = s->tx;
    char *err = NULL;
    if (cleanup_open(smtpd_cf.queue_dir, tx->sender, &tx->cl, &err) < 0) {
        msg_error("%s", err);
        mem_free(&err);
        return -1;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    cleanup_attr(tx->cl, "client_name", s->name);
    cleanup_attr(tx->cl, "client_addr", s->addr);
    cleanup_attr(tx->cl, "client_port", port);
    if (s->helo)
        cleanup_attr(tx->cl, "helo", s->helo);
    cleanup_attr(tx->cl, "proto", s->esmtp ? "ESMTP" : "SMTP");
    if (tx->smtputf8)
        cleanup_attr(tx->cl, "smtputf8", "yes");
    if (tx->dsn_ret != 0)
        cleanup_attr(tx->cl, "dsn_ret", tx->dsn_ret == DSN_RET_FULL ? "FULL" : "HDRS");
    if (tx->dsn_envid != NULL)
        cleanup_attr(tx->cl, "dsn_envid", tx->dsn_envid);
    snprintf(tx->id, sizeof(tx->id), "%s", cleanup_id(tx->cl));
    msg_info("%s: client=%s", tx->id, s->namaddr);
    return 0;
}

/* RCPT parameters (RFC 5321 section 4.1.1.3): NOTIFY and ORCPT of RFC
 * 3461 sections 4.1 and 4.2, each at most once.  0, or -1 after
 * replying. */
static int smtpd_cmd_rcpt_params(smtpd_session *s, const char *p, int *notify_r,
                                 char **orcpt_r)
{
    char tok[SMTPD_CMD_LINE_MAX];
    while (*p) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " ");
        snprintf(tok, sizeof(tok), "%.*s", (int)n, p);
        p += n;
        char *eq = strchr(tok, '=');
        if (eq != NULL && strncasecmp(tok, "NOTIFY=", 7) == 0) {
            int bits = dsn_param_notify_parse(eq + 1);
            if (bits < 0 || *notify_r != 0) {
                smtpd_session_reply(s, "501 5.5.4 Bad NOTIFY parameter syntax");
                return -1;
            }
            *notify_r = bits;
        } else if (eq != NULL && strncasecmp(tok, "ORCPT=", 6) == 0) {
            if (*orcpt_r != NULL || dsn_param_orcpt_parse(eq + 1, orcpt_r) < 0) {
                mem_free(orcpt_r);
                smtpd_session_reply(s, "501 5.5.4 Bad ORCPT parameter syntax");
                return -1;
            }
        } else {
            mem_free(orcpt_r);
            smtpd_session_reply(s, "555 5.5.4 Unsupported option: %.100s", tok);
            return -1;
        }
    }
    return 0;
}

static void smtpd_cmd_rcpt(smtpd_session *s, char *args)
{
    smtpd_tx *tx = s->tx;
    char *p = smtpd_cmd_prefix(args, "TO:");
    char *addr = NULL;
    const char *end, *why;
    int flags = MAIL_ADDR_POSTMASTER_OK | MAIL_ADDR_LENIENT | MAIL_ADDR_UTF8_OK;
    int r = mail_addr_parse_path(p, flags, &addr, &end, &why);
    if (r != 0 || (*end != '\0' && *end != ' ')) {
        mem_free(&addr);
        smtpd_session_reply(s, "501 5.1.3 Bad recipient address syntax");
        return;
    }
    int notify = 0;
    char *orcpt = NULL;
    if (smtpd_cmd_rcpt_params(s, end, &notify, &orcpt) < 0) {
        mem_free(&addr);
        return;
    }
    if (!tx->smtputf8 && mail_addr_is_8bit(addr)) {
        mem_free(&addr);
        mem_free(&orcpt);
        smtpd_session_reply(s, "553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        return;
    }
    char *reply = NULL;
    if (tx->rcpt_ok >= smtpd_cf.recipient_limit) {
        /* RFC 5321 section 4.5.3.1.8: 452, the client sends the rest in
         * another transaction. */
        reply = mem_strdup("452 4.5.3 Error: too many recipients");
    } else if (smtpd_check_rcpt(s, addr, &reply) == 1) {
        if (tx->cl == NULL && smtpd_cmd_open_queue(s) < 0) {
            reply = mem_strdup("451 4.3.0 Error: queue file write error");
        } else {
            if (notify != 0) {
                /* Per recipient, keyed by its index (dsn_param.h). */
                char name[40], bits[40];
                snprintf(name, sizeof(name), "dsn_notify.%d", cleanup_nrcpt(tx->cl));
                dsn_param_notify_format(notify, bits, sizeof(bits));
                cleanup_attr(tx->cl, name, bits);
            }
            cleanup_rcpt(tx->cl, addr, orcpt);
            mem_free(&orcpt);
            tx->rcpt_ok++;
            mem_free(&tx->last_rcpt);
            tx->last_rcpt = addr;
            s->state = SMTPD_ST_RCPT;
            smtpd_session_reply(s, "250 2.1.5 Ok");
            return;
        }
    }
    smtpd_session_log_reject(s, "RCPT", reply, addr);
    smtpd_session_reply(s, "%s", reply);
    mem_free(&reply);
    mem_free(&addr);
    mem_free(&orcpt);
}

/* ---- DATA and BDAT ---- */

static int smtpd_cmd_data_check(smtpd_session *s, char *args)
{
    if (*args != '\0') {
        smtpd_session_reply(s, "501 5.5.4 Syntax: DATA");
        return -1;
    }
    if (s->state == SMTPD_ST_BDAT) {
        smtpd_session_reply(s, "503 5.5.1 Error: DATA after BDAT");
        return -1;
    }
    if (s->state != SMTPD_ST_RCPT) {
        if (s->tx == NULL)
            smtpd_session_reply(s, "503 5.5.1 Error: need RCPT command");
        else if (s->count_all[SMTPD_C_RCPT] > 0 && s->tx->rcpt_ok == 0)
            smtpd_session_reply(s, "554 5.5.1 Error: no valid recipients");
        else
            smtpd_session_reply(s, "503 5.5.1 Error: need RCPT command");
        return -1;
    }
    if (s->in->len > 0) {
        /* RFC 2920 section 3.1: DATA ends a pipelined group; content sent
         * before the 354 would be read as commands by one server and as
         * text by another.  Hang up (smtpd_forbid_unauth_pipelining), or
         * refuse the DATA as Postfix's reject_unauth_pipelining does. */
        if (smtpd_session_unsync(s, "DATA", s->in->data, s->in->len))
            return -1;
        const char *reply = "503 5.5.0 Error: improper use of SMTP command pipelining";
        smtpd_session_log_reject(s, "DATA", reply, NULL);
        smtpd_session_reply(s, "%s", reply);
        return -1;
    }
    return 0;
}

static void smtpd_cmd_content_begin(smtpd_session *s, bool dot_mode)
{
    smtpd_tx *tx = s->tx;
    smtpd_data_init(&tx->data, dot_mode, smtpd_session_content, s);
    tx->data_begun = true;
    bool tls = s->tls_facts[0] != '\0';
    cleanup_client client = {
        .helo = s->helo, .name = s->name, .addr = s->addr, .ipv6 = s->ipv6,
        /* RFC 3848: ESMTPS is ESMTP under TLS. */
        .proto = s->esmtp ? (tls ? "ESMTPS" : "ESMTP") : "SMTP",
        .tls = tls && smtpd_cf.tls_received_header ? s->tls_facts : NULL,
    };
    if (tx->smtputf8)
        client.proto = tls ? "UTF8SMTPS" : "UTF8SMTP"; /* RFC 6531 section 3.7.4 */
    cleanup_begin(tx->cl, &client);
}

static void smtpd_cmd_data(smtpd_session *s, char *args)
{
    smtpd_cmd_content_begin(s, true);
    s->mode = SMTPD_MODE_DATA;
    smtpd_session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/* The content is complete (DATA end or BDAT LAST): refuse or commit. */
static void smtpd_cmd_finish(smtpd_session *s, enum smtpd_counter counter)
{
    smtpd_tx *tx = s->tx;
    char *reply = NULL;
    s->where = "END-OF-MESSAGE";
    if (tx->too_big || tx->data.size > smtpd_cf.message_size_limit) {
        /* Postfix logs no reject line here: its warning went out when the
         * limit was passed (smtpd_session_too_big), and the reply is the
         * one of its cleanup status CLEANUP_STAT_SIZE. */
        smtpd_session_too_big(s);
        smtpd_session_reply(s, "552 5.3.4 Error: message file too big");
        s->errors++;
        smtpd_session_tx_free(s);
        return;
    } else if (tx->data.long_lines) {
        /* RFC 5321 section 4.5.3.1.6 and 4.5.3.1.10. */
        reply = mem_strdup("500 5.5.2 Error: message line too long");
    } else {
        char *why = NULL;
        int r = cleanup_commit(&tx->cl, &why);
        if (r == CLEANUP_OK) {
            smtpd_session_reply(s, "250 2.0.0 Ok: queued as %s", tx->id);
            s->count_ok[counter]++;
            mail_trigger(smtpd_cf.queue_dir, "qmgr");
            smtpd_session_tx_free(s);
            return;
        }
        char text[512];
        snprintf(text, sizeof(text), "%s %s", r == CLEANUP_TEMP ? "451" : "554", why);
        reply = mem_strdup(text);
        mem_free(&why);
    }
    smtpd_session_log_reject(s, "END-OF-MESSAGE", reply, tx->last_rcpt);
    smtpd_session_reply(s, "%s", reply);
    s->errors++;
    mem_free(&reply);
    smtpd_session_tx_free(s);
}

void smtpd_cmd_data_end(smtpd_session *s)
{
    s->mode = SMTPD_MODE_CMD;
    smtpd_cmd_finish(s, SMTPD_C_DATA);
}

static int smtpd_cmd_bdat_check(smtpd_session *s, char *args)
{
    /* BDAT SP chunk-size [ SP end-marker ] (RFC 3030 section 2). */
    char *end;
    errno = 0;
    unsigned long long n = strtoull(args, &end, 10);
    bool last = false;
    if (isdigit((unsigned char)*args) && errno == 0) {
        while (*end == ' ')
            end++;
        if (strcasecmp(end, "LAST") == 0) {
            last = true;
            end += 4;
        }
    }
    if (!isdigit((unsigned char)*args) || errno != 0 || *end != '\0' ||
        (n == 0 && !last)) {
        /* Without a size the chunk cannot be skipped: the stream is lost. */
        smtpd_session_end(s, "501 5.5.4 Syntax: BDAT count [LAST]");
        return -1;
    }
    smtpd_tx *tx = s->tx;
    const char *refuse = NULL;
    if (s->state != SMTPD_ST_RCPT && s->state != SMTPD_ST_BDAT)
        refuse = tx && s->count_all[SMTPD_C_RCPT] > 0 && tx->rcpt_ok == 0
                     ? "554 5.5.1 Error: no valid recipients"
                     : "503 5.5.1 Error: need RCPT command";
    if (tx && tx->data_begun && tx->data.dot_mode)
        refuse = "503 5.5.1 Error: BDAT after DATA";
    if (refuse != NULL) {
        /* RFC 3030 section 3: the chunk is read and thrown away, so that
         * its octets are not taken for commands. */
        if (tx == NULL)
            tx = s->tx = mem_zalloc(sizeof(*tx));
        smtpd_data_init(&tx->data, false, NULL, s);
        tx->bdat_discard = true;
        tx->bdat_reply = refuse;
        tx->bdat_left = n;
        tx->bdat_last = last;
        s->mode = SMTPD_MODE_BDAT;
        if (n == 0)
            smtpd_cmd_bdat_end(s);
        return -1;
    }
    if (!tx->data_begun)
        smtpd_cmd_content_begin(s, false);
    tx->bdat_left = n;
    tx->bdat_last = last;
    if (tx->bytes + n > smtpd_cf.message_size_limit)
        smtpd_session_too_big(s);
    s->mode = SMTPD_MODE_BDAT;
    s->state = SMTPD_ST_BDAT;
    return 0;
}

static void smtpd_cmd_bdat(smtpd_session *s, char *args)
{
    if (s->tx->bdat_left == 0)
        smtpd_cmd_bdat_end(s);
}

void smtpd_cmd_bdat_end(smtpd_session *s)
{
    smtpd_tx *tx = s->tx;
    s->mode = SMTPD_MODE_CMD;
    /* RFC 3030 section 4.2: BDAT commands may be pipelined only when
     * PIPELINING was offered.  Without it, what follows the chunk was sent
     * before its reply: a BDAT ... LAST hidden in an HTTP body ends here,
     * before the message is committed. */
    if (!s->esmtp && s->in->len > 0 &&
        smtpd_session_unsync(s, "BDAT", s->in->data, s->in->len))
        return;
    if (tx->bdat_discard) {
        const char *reply = tx->bdat_reply;
        tx->bdat_discard = false;
        if (!tx->data_begun)
            tx->bytes = 0; /* skipped octets are not part of a message */
        if (tx->sender == NULL)
            smtpd_session_tx_free(s); /* made only to skip the chunk */
        smtpd_session_reply(s, "%s", reply);
        s->errors++;
        return;
    }
    if (!tx->bdat_last) {
        smtpd_session_reply(s, "250 2.0.0 Ok: %llu bytes", tx->bytes);
        s->count_ok[SMTPD_C_BDAT]++;
        return;
    }
    smtpd_data_finish(&tx->data);
    smtpd_cmd_finish(s, SMTPD_C_BDAT);
}

/* ---- STARTTLS (RFC 3207; smtpd_tls.c does the handshake) ---- */

static int smtpd_cmd_starttls_check(smtpd_session *s, char *args)
{
    /* Postfix's replies, in its order. */
    if (*args != '\0') {
        smtpd_session_reply(s, "501 5.5.4 Syntax: STARTTLS");
        return -1;
    }
    if (s->c->ssl != NULL) {
        smtpd_session_reply(s, "554 5.5.1 Error: TLS already active");
        return -1;
    }
    if (smtpd_cf.tls == NULL) {
        if (smtpd_cf.tls_level == SMTPD_TLS_ENCRYPT)
            smtpd_session_reply(s, "454 4.7.0 TLS not available due to local problem");
        else
            smtpd_session_reply(s, "502 5.5.1 Error: command not implemented");
        return -1;
    }
    return 0;
}

static void smtpd_cmd_starttls(smtpd_session *s, char *args)
{
    smtpd_session_reply(s, "220 2.0.0 Ready to start TLS");
    /* Nothing more is read in clear text: the handshake starts once this
     * reply is out (smtpd_session_flush), and conn_tls_begin drops what
     * the client sent after the command. */
    s->mode = SMTPD_MODE_TLS;
}

/* ---- the rest ---- */

static int smtpd_cmd_noargs_check(smtpd_session *s, char *args)
{
    if (*args != '\0') {
        smtpd_session_reply(s, "501 5.5.4 Syntax: %s", s->where);
        return -1;
    }
    return 0;
}

static void smtpd_cmd_rset(smtpd_session *s, char *args)
{
    smtpd_session_tx_free(s);
    smtpd_session_reply(s, "250 2.0.0 Ok");
}

static void smtpd_cmd_noop(smtpd_session *s, char *args)
{
    smtpd_session_reply(s, "250 2.0.0 Ok");
}

static void smtpd_cmd_quit(smtpd_session *s, char *args)
{
    if (s->in->len > 0)
        msg_info("improper command pipelining after QUIT from %s: %.*s",
                 s->namaddr, (int)strcspn(s->in->data, "\r\n"), s->in->data);
    smtpd_session_reply(s, "221 2.0.0 Bye");
    s->count_ok[SMTPD_C_QUIT]++;
    s->mode = SMTPD_MODE_CLOSING;
}

static void smtpd_cmd_help(smtpd_session *s, char *args)
{
    smtpd_session_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET "
                   "NOOP QUIT HELP VRFY");
}

static void smtpd_cmd_vrfy(smtpd_session *s, char *args)
{
    if (smtpd_cf.disable_vrfy) {
        smtpd_session_reply(s, "502 5.5.1 VRFY command is disabled");
        return;
    }
    char *addr = NULL;
    const char *end, *why;
    if (*args == '\0' ||
        mail_addr_parse_path(args, MAIL_ADDR_LENIENT | MAIL_ADDR_POSTMASTER_OK |
                                       MAIL_ADDR_UTF8_OK, &addr, &end, &why) != 0) {
        smtpd_session_reply(s, "501 5.5.4 Syntax: VRFY address");
        return;
    }
    char *local, *domain;
    mail_addr_split(addr, &local, &domain);
    char *reason = NULL;
    if (mail_addr_domain_is_local(domain) && local_rcpt_check(addr, &reason) == 0)
        smtpd_session_reply(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown "
                       "in local recipient table", addr);
    else
        /* RFC 5321 section 3.5.3: cannot verify, will accept and try. */
        smtpd_session_reply(s, "252 2.0.0 %s", addr);
    mem_free(&reason);
    mem_free(&local);
    mem_free(&domain);
    mem_free(&addr);
}

bool smtpd_cmd_ends_group(const char *line)
{
    /* RFC 2920 section 3.1 names EHLO, DATA, VRFY, EXPN, TURN, QUIT and
     * NOOP; HELO changes the state as EHLO does. */
    static const char *const last[] = {"EHLO", "HELO", "DATA", "VRFY", "EXPN",
                                        "TURN", "QUIT", "NOOP"};
    size_t n = strcspn(line, " ");
    for (size_t i = 0; i < sizeof(last) / sizeof(last[0]); i++)
        if (n == 4 && strncasecmp(line, last[i], 4) == 0)
            return true;
    return false;
}

/* clang-format off */
static const smtpd_cmd smtpd_cmds[] = {
    {"EHLO", SMTPD_C_EHLO, SMTPD_ST_ANY, NULL, false, smtpd_cmd_helo_check, smtpd_cmd_ehlo},
    {"HELO", SMTPD_C_HELO, SMTPD_ST_ANY, NULL, false, smtpd_cmd_helo_check, smtpd_cmd_helo},
    {"STARTTLS", SMTPD_C_STARTTLS, SMTPD_ST_IDLE, "503 5.5.1 Error: MAIL transaction in progress",
     false, smtpd_cmd_starttls_check, smtpd_cmd_starttls},
    {"MAIL", SMTPD_C_MAIL, SMTPD_ST_IDLE, "503 5.5.1 Error: nested MAIL command", false,
     smtpd_cmd_mail_check, smtpd_cmd_mail},
    {"RCPT", SMTPD_C_RCPT, SMTPD_ST_MAIL | SMTPD_ST_RCPT,
     "503 5.5.1 Error: need MAIL command", false,
     smtpd_cmd_rcpt_check, smtpd_cmd_rcpt},
    {"DATA", SMTPD_C_DATA, SMTPD_ST_ANY, NULL, false, smtpd_cmd_data_check, smtpd_cmd_data},
    {"BDAT", SMTPD_C_BDAT, SMTPD_ST_ANY, NULL, false, smtpd_cmd_bdat_check, smtpd_cmd_bdat},
    {"RSET", SMTPD_C_RSET, SMTPD_ST_ANY, NULL, true, smtpd_cmd_noargs_check, smtpd_cmd_rset},
    {"NOOP", SMTPD_C_NOOP, SMTPD_ST_ANY, NULL, true, NULL, smtpd_cmd_noop},
    {"QUIT", SMTPD_C_QUIT, SMTPD_ST_ANY, NULL, false, NULL, smtpd_cmd_quit},
    {"HELP", SMTPD_C_HELP, SMTPD_ST_ANY, NULL, true, NULL, smtpd_cmd_help},
    {"VRFY", SMTPD_C_VRFY, SMTPD_ST_ANY, NULL, true, NULL, smtpd_cmd_vrfy},
    {NULL, 0, 0, NULL, false, NULL, NULL},
};
/* clang-format on */

void smtpd_cmd_run(smtpd_session *s, char *line)
{
    size_t n = strcspn(line, " ");
    char *args = line + n;
    while (*args == ' ')
        args++;
    const smtpd_cmd *c = smtpd_cmds;
    for (; c->name; c++)
        if (n == strlen(c->name) && strncasecmp(line, c->name, n) == 0)
            break;
    s->last_code = 0;
    if (c->name == NULL) {
        s->count_all[SMTPD_C_UNKNOWN]++;
        s->where = "UNKNOWN";
        /* Not SMTP at all: an HTTP request (GET, POST, CONNECT, "Host:")
         * sent to the mail port, TLS or binary junk.  Postfix hangs up
         * with its own words (smtpd_forbidden_commands), so that an HTTP
         * body carrying SMTP commands is never read. */
        if (mail_forbid_match(&smtpd_cf.forbidden, line, n) ||
            mail_forbid_is_header(line, n)) {
            msg_warn("non-SMTP command from %s: %.100s", s->namaddr, line);
            smtpd_session_end(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
            return;
        }
        smtpd_session_reply(s, "502 5.5.2 Error: command not recognized");
        s->errors++;
        return;
    }
    s->where = c->name;
    s->count_all[c->counter]++;
    if (c->junk && s->tx == NULL && ++s->junk > smtpd_cf.junk_limit)
        s->errors++; /* Postfix: junk past the limit counts as an error */
    if (!(c->states & s->state)) {
        smtpd_session_reply(s, "%s", c->state_reply);
    } else if (c->check == NULL || c->check(s, args) == 0) {
        c->proceed(s, args);
    }
    /* DATA and BDAT count their success when the content is done. */
    if (c->counter != SMTPD_C_DATA && c->counter != SMTPD_C_BDAT &&
        c->counter != SMTPD_C_QUIT && s->last_code >= 200 && s->last_code < 400)
        s->count_ok[c->counter]++;
    if (s->last_code >= 400)
        s->errors++;
}
