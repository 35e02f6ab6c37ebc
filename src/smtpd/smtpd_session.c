/*
 * smtpd_session - one SMTP connection: input splitting by mode, reply
 * output with pipelining, the session's log lines.
 *
 * I/O is the shared connection layer (util/conn.h), non-blocking under
 * the event loop: conn_fill reads into s->in (c->in, at most
 * SMTPD_IN_MAX), command lines come from conn_line_take, DATA and BDAT
 * octets straight from s->in; replies are queued in s->out (c->out) and
 * sent with conn_send.  Input is processed until the buffer holds no
 * complete unit: a command line, a piece of DATA content, a piece of a
 * BDAT chunk.  Replies are written when the input runs dry, so a pipelined group (RFC 2920 section
 * 3.2) gets its replies in one write; when the client does not read its
 * replies, processing pauses at SMTPD_OUT_HIGH instead of buffering more.
 *
 * A command line longer than 512 octets (RFC 5321 section 4.5.3.1.4) gets
 * "500 5.5.2 Error: line too long" once its end arrives; what came before
 * is thrown away as it comes, so the buffer never grows past its maximum.
 *
 * Past smtpd_soft_error_limit errors, each error reply waits
 * smtpd_error_sleep_time before it is sent (Postfix's tarpit), without
 * blocking the process: the session stops processing and writing, and a
 * timer resumes it.
 *
 * Log lines, in Postfix's grammar (docs/logging.md):
 *   connect from host[addr]
 *   lost connection after DATA (123 bytes) from host[addr]
 *   timeout after RCPT from host[addr]
 *   too many errors after RCPT from host[addr]
 *   improper command pipelining after CONNECT from host[addr]: EHLO x
 *   warning: non-SMTP command from host[addr]: POST / HTTP/1.1 (smtpd_cmd.c)
 *   warning: disallowed <NUL> received from host[addr] after MAIL
 *   warning: malformed UTF-8 received from host[addr] after EHLO
 *   warning: QUEUEID: queue file size limit exceeded
 *   disconnect from host[addr] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4
 *
 * Sending ahead (RFC 2920): the checks look only at what is already
 * buffered - at the greeting (a peek), after a command that must end a
 * group, after a BDAT chunk without PIPELINING - so they cost nothing;
 * smtpd_greet_pause adds a wait before the greeting, on a timer.
 */
#include "smtpd/smtpd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "smtpd/smtpd_check.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"
#include "util/utf8.h"

static const char *const smtpd_counter_names[SMTPD_C_COUNT] = {
    "helo", "ehlo", "starttls", "mail", "rcpt", "data", "bdat", "rset", "noop", "vrfy",
    "help", "quit", "unknown",
};

smtpd_session *smtpd_session_create(int fd, const struct sockaddr *sa,
                                    socklen_t salen)
{
    smtpd_session *s = mem_zalloc(sizeof(*s));
    s->fd = fd;
    /* Replies stop being produced at SMTPD_OUT_HIGH; the slack covers
     * the one multi-line reply that may straddle it. */
    s->c = conn_new(fd, SMTPD_IN_MAX, SMTPD_CMD_LINE_MAX, SMTPD_OUT_HIGH + 8192);
    /* "500 5.5.2 Error: line too long" answers the line once it is
     * complete, as for any other command. */
    s->c->toolong_at_end = true;
    s->in = s->c->in;
    s->out = s->c->out;
    s->state = SMTPD_ST_IDLE;
    s->mode = SMTPD_MODE_CMD;
    s->where = "CONNECT";
    s->start = s->last_io = event_now();
    s->conn_slot = -1;
    s->dns_fd = -1;
    smtpd_peer_init(s, sa, salen);
    return s;
}

void smtpd_session_log_connect(smtpd_session *s)
{
    s->start = s->last_io = event_now(); /* time limits start with the dialogue */
    msg_info("connect from %s", s->namaddr);
}

smtpd_session *smtpd_session_new(int fd, const struct sockaddr *sa,
                                  socklen_t salen)
{
    smtpd_session *s = smtpd_session_create(fd, sa, salen);
    smtpd_session_log_connect(s);
    return s;
}

int smtpd_session_unsync(smtpd_session *s, const char *after, const char *data,
                         size_t n)
{
    /* Postfix logs the first violation of a session; with
     * smtpd_forbid_unauth_pipelining (Postfix 3.9's default) it also hangs
     * up, so that nothing sent ahead is ever read as commands: a browser's
     * POST body, or a bot that does not wait for replies. */
    size_t k = 0;
    while (k < n && k < 100 && data[k] != '\r' && data[k] != '\n' && data[k] != '\0')
        k++;
    if (!s->pipelining_logged || smtpd_cf.forbid_unauth_pipelining)
        msg_info("improper command pipelining after %s from %s: %.*s", after,
                 s->namaddr, (int)k, data);
    s->pipelining_logged = true;
    if (!smtpd_cf.forbid_unauth_pipelining)
        return 0;
    smtpd_session_end(s, "554 5.5.0 Error: SMTP protocol synchronization");
    return 1;
}

int smtpd_session_pregreet(smtpd_session *s)
{
    /* RFC 5321 section 3.1: the client waits for the greeting.  Spam
     * software often does not; what is already in the socket at accept
     * time was sent before any greeting existed.  Peek, do not read: with
     * smtpd_forbid_unauth_pipelining = no the session still processes it
     * as usual.  This costs one system call and no waiting; a longer look
     * is smtpd_greet_pause. */
    char peek[128];
    ssize_t n = s->fd >= 0 ? conn_peek(s->c, peek, sizeof(peek)) : -1;
    if (n <= 0)
        return 0;
    return smtpd_session_unsync(s, "CONNECT", peek, (size_t)n);
}

static void smtpd_session_pump(smtpd_session *s);

/* smtpd_greet_pause is over: greet, and serve what waited meanwhile (only
 * with smtpd_forbid_unauth_pipelining = no). */
static void smtpd_session_greet_due(void *ctx)
{
    smtpd_session *s = ctx;
    s->greet_timer = 0;
    s->greet_pending = false;
    if (s->closed || s->mode == SMTPD_MODE_CLOSING)
        return;
    smtpd_session_reply(s, "220 %s", var_str("smtpd_banner"));
    smtpd_session_flush(s);
    if (!s->closed && s->in->len > 0)
        smtpd_session_pump(s);
}

void smtpd_session_greet(smtpd_session *s)
{
    /* sendmail's greet_pause, postscreen's greet wait: a client that
     * talks before the banner shows itself.  Trusted clients (mynetworks)
     * are not made to wait.  The wait is a timer: the process serves its
     * other sessions meanwhile. */
    if (smtpd_cf.greet_pause > 0 && !s->mynetworks && s->fd >= 0) {
        s->greet_pending = true;
        s->greet_timer = event_timer(smtpd_cf.greet_pause, smtpd_session_greet_due, s);
        return;
    }
    smtpd_session_reply(s, "220 %s", var_str("smtpd_banner"));
}

void smtpd_session_reply(smtpd_session *s, const char *fmt, ...)
{
    va_list ap;
    size_t before = s->out->len;
    va_start(ap, fmt);
    int r = buf_vprintf(s->out, fmt, ap);
    va_end(ap);
    if (r < 0 || buf_puts(s->out, "\r\n") < 0) {
        /* Cannot happen while processing pauses at SMTPD_OUT_HIGH; if it
         * does, the client gets a truncated stream and a closed socket. */
        buf_truncate(s->out, before);
        s->mode = SMTPD_MODE_CLOSING;
        return;
    }
    const char *line = s->out->data + before;
    int code = 0;
    for (int i = 0; i < 3 && line[i] >= '0' && line[i] <= '9'; i++)
        code = code * 10 + (line[i] - '0');
    if (line[3] != '-')
        s->last_code = code;
}

void smtpd_session_end(smtpd_session *s, const char *fmt, ...)
{
    if (s->mode == SMTPD_MODE_CLOSING)
        return;
    if (s->mode == SMTPD_MODE_TLS) {
        /* No clear-text reply can go into a TLS handshake: hang up. */
        s->mode = SMTPD_MODE_CLOSING;
        s->closed = true;
        return;
    }
    /* A RCPT waiting for DNS answers is dropped: its reply would follow
     * this one, and held replies must go out now. */
    smtpd_check_cancel(s);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(s->out, fmt, ap);
    va_end(ap);
    buf_puts(s->out, "\r\n");
    s->mode = SMTPD_MODE_CLOSING;
    s->last_io = event_now(); /* the close wait starts now */
}

void smtpd_session_where(const smtpd_session *s, char *out, size_t outlen)
{
    /* Postfix's "after DATA (123 bytes)": how far the content got. */
    if ((s->mode == SMTPD_MODE_DATA || s->mode == SMTPD_MODE_BDAT ||
         (s->state == SMTPD_ST_BDAT && strcmp(s->where, "BDAT") == 0)) && s->tx)
        snprintf(out, outlen, "%s (%llu bytes)", s->where, s->tx->bytes);
    else
        snprintf(out, outlen, "%s", s->where);
}

void smtpd_session_timeout(smtpd_session *s)
{
    char where[64];
    smtpd_session_where(s, where, sizeof(where));
    msg_info("timeout after %s from %s", where, s->namaddr);
    /* (In the STARTTLS handshake smtpd_session_end just hangs up.) */
    smtpd_session_end(s, "421 4.4.2 %s Error: timeout exceeded", smtpd_cf.myhostname);
    smtpd_session_flush(s);
}

void smtpd_session_log_reject(smtpd_session *s, const char *cmd,
                              const char *reply, const char *to)
{
    buf *b = buf_new(4096);
    const char *id = s->tx && s->tx->id[0] ? s->tx->id : "NOQUEUE";
    buf_printf(b, "%s: reject: %s from %s: %s;", id, cmd, s->namaddr, reply);
    if (s->tx && s->tx->sender)
        buf_printf(b, " from=<%s>", s->tx->sender);
    if (to)
        buf_printf(b, " to=<%s>", to);
    buf_printf(b, " proto=%s", s->esmtp ? "ESMTP" : "SMTP");
    if (s->helo)
        buf_printf(b, " helo=<%s>", s->helo);
    msg_info("%s", b->data);
    buf_free(&b);
}

void smtpd_session_counts(const smtpd_session *s, buf *out)
{
    int ok = 0, all = 0;
    for (int i = 0; i < SMTPD_C_COUNT; i++) {
        if (s->count_all[i] == 0)
            continue;
        ok += s->count_ok[i];
        all += s->count_all[i];
        if (s->count_ok[i] == s->count_all[i])
            buf_printf(out, " %s=%d", smtpd_counter_names[i], s->count_all[i]);
        else
            buf_printf(out, " %s=%d/%d", smtpd_counter_names[i], s->count_ok[i],
                       s->count_all[i]);
    }
    /* Postfix writes "commands=0/0" for a session without any command
     * (a port scan, a talker before the greeting). */
    if (ok == all && all > 0)
        buf_printf(out, " commands=%d", all);
    else
        buf_printf(out, " commands=%d/%d", ok, all);
}

void smtpd_session_tx_free(smtpd_session *s)
{
    smtpd_tx *tx = s->tx;
    if (tx == NULL)
        return;
    cleanup_abort(&tx->cl);
    smtpd_data_free(&tx->data);
    mem_free(&tx->sender);
    mem_free(&tx->dsn_envid);
    mem_free(&tx->last_rcpt);
    mem_free(&s->tx);
    s->state = SMTPD_ST_IDLE;
}

void smtpd_session_free(smtpd_session **sp)
{
    smtpd_session *s = *sp;
    if (s == NULL)
        return;
    if (s->dns_step != SMTPD_PEER_DONE) {
        /* Gone before it was greeted (stop during the name lookup). */
        smtpd_peer_cancel(s);
    } else {
        buf *b = buf_new(1024);
        smtpd_session_counts(s, b);
        msg_info("disconnect from %s%s", s->namaddr, b->data);
        buf_free(&b);
    }
    smtpd_check_free(s);
    smtpd_session_tx_free(s);
    if (s->pause_timer != 0)
        event_cancel(s->pause_timer);
    if (s->greet_timer != 0)
        event_cancel(s->greet_timer);
    s->in = s->out = NULL;
    if (s->fd >= 0) {
        event_remove(s->fd);
        /* A short lingering close: input that is still unread when the
         * socket closes (a refused pipeline, the rest of an HTTP body, a
         * talker before the greeting: peeked, not read) makes the kernel
         * answer with a RST, which can destroy the last reply before the
         * client reads it.  End our side with a FIN first, then take what
         * has already arrived; bounded, never waiting (conn_linger_free). */
        conn_linger_free(&s->c);
    } else {
        conn_release(&s->c); /* no socket, or one the caller keeps */
    }
    mem_free(&s->helo);
    mem_free(sp);
}

/* The client sent a line ending in a bare LF (outside BDAT).  Returns 0 to
 * go on (normalize), -1 when the session was ended (reject). */
static int smtpd_session_bare_lf(smtpd_session *s)
{
    char where[64];
    smtpd_session_where(s, where, sizeof(where));
    bool *logged = s->tx && s->mode == SMTPD_MODE_DATA ? &s->tx->bare_lf_logged
                                                       : &s->bare_lf_logged;
    if (!*logged || smtpd_cf.forbid_bare_lf_reject)
        msg_warn("disallowed bare <LF> received from %s after %s", s->namaddr,
                 s->where);
    *logged = true;
    if (!smtpd_cf.forbid_bare_lf_reject)
        return 0;
    /* Postfix 3.9's "reject": refuse and hang up, so that nothing after
     * the bare LF is interpreted at all. */
    smtpd_session_end(s, "521 5.5.2 %s Error: bare <LF> received",
                      smtpd_cf.myhostname);
    return -1;
}

/* Run a command line that passed the checks of smtpd_session_line. */
static void smtpd_session_command(smtpd_session *s, const char *line)
{
    char cmd[SMTPD_CMD_LINE_MAX + 1];
    snprintf(cmd, sizeof(cmd), "%s", line);
    /* A RCPT whose restrictions wait for DNS answers is held and runs
     * again when they are in: pipelined replies keep their order and the
     * other sessions of the process go on meanwhile. */
    if (smtpd_check_wait(s, cmd)) {
        if (!s->held)
            memcpy(s->held_line, cmd, sizeof(cmd));
        s->held = true;
        s->waiting = true;
        return;
    }
    s->held = false;
    /* RFC 2920 section 3.1: only a client that saw PIPELINING in an EHLO
     * reply may send the next command before this reply, and even then
     * not after EHLO, HELO, DATA, VRFY, NOOP or QUIT, whose replies change
     * what may come next.  Postfix logs the violation and, with
     * smtpd_forbid_unauth_pipelining, hangs up (smtpd_session_unsync). */
    bool may_pipeline = s->esmtp;
    smtpd_cmd_run(s, cmd);
    if (s->in->len > 0 && s->mode == SMTPD_MODE_CMD &&
        (!may_pipeline || smtpd_cmd_ends_group(cmd)))
        smtpd_session_unsync(s, s->where, s->in->data, s->in->len);
}

/* One command line taken from the connection (conn_line_take's result
 * rc, the line without its line end). */
static void smtpd_session_line(smtpd_session *s, int rc, const char *line, size_t len)
{
    if (rc == CONN_TOOLONG) {
        /* RFC 5321 section 4.5.3.1.4: 512 octets with the CRLF. */
        msg_warn("command line too long from %s after %s", s->namaddr, s->where);
        s->errors++;
        smtpd_session_reply(s, "500 5.5.2 Error: line too long");
        return;
    }
    if (s->c->bare_lf && smtpd_session_bare_lf(s) < 0)
        return;
    /* A NUL would end the line early for every string function after this
     * point: "RCPT TO:<a@x>\0<b@y>" would be taken as <a@x>, while a
     * filter or a log reader may see the rest.  Refuse the line whole. */
    if (memchr(line, '\0', len) != NULL) {
        msg_warn("disallowed <NUL> received from %s after %s", s->namaddr, s->where);
        s->errors++;
        smtpd_session_reply(s, "500 5.5.2 Error: bad syntax");
        return;
    }
    /* RFC 6531 section 3.3 and RFC 6532 section 3.1: non-ASCII in
     * commands is UTF-8, well-formed (RFC 3629); latin-1, overlong forms
     * and surrogates are refused as Postfix does, before any parser sees
     * them. */
    if (!utf8_valid(line, len)) {
        msg_warn("malformed UTF-8 received from %s after %s", s->namaddr, s->where);
        s->errors++;
        smtpd_session_reply(s, "500 5.5.2 Error: bad UTF-8 syntax");
        return;
    }
    smtpd_session_command(s, line);
}

void smtpd_session_too_big(smtpd_session *s)
{
    smtpd_tx *tx = s->tx;
    if (tx->too_big)
        return;
    tx->too_big = true;
    /* Postfix's smtpd writes this when message_size_limit is passed and
     * then replies 552 5.3.4 without a reject line; logwatch and pflogsumm
     * count it as a warning. */
    msg_warn("%s: queue file size limit exceeded", tx->id[0] ? tx->id : "NOQUEUE");
}

/* Content line callback: into the queue file unless the message is
 * already refused. */
void smtpd_session_content(const char *line, size_t len, void *ctx)
{
    smtpd_session *s = ctx;
    smtpd_tx *tx = s->tx;
    if (tx->data.size > smtpd_cf.message_size_limit)
        smtpd_session_too_big(s);
    if (tx->too_big || tx->data.long_lines || tx->bdat_discard || tx->cl == NULL)
        return;
    cleanup_line(tx->cl, line, len);
}

void smtpd_session_wake(smtpd_session *s)
{
    s->waiting = false;
    if (s->closed || s->mode == SMTPD_MODE_CLOSING)
        return;
    if (s->fd >= 0 && s->pause_timer == 0)
        event_modify(s->fd, EVENT_READ);
    smtpd_session_pump(s);
}

static void smtpd_session_resume(void *ctx)
{
    smtpd_session *s = ctx;
    s->pause_timer = 0;
    if (s->closed)
        return;
    event_modify(s->fd, EVENT_READ);
    smtpd_session_pump(s);
}

/* Past the soft error limit: hold this error reply for a while. */
static void smtpd_session_tarpit(smtpd_session *s)
{
    if (s->fd < 0 || s->mode == SMTPD_MODE_CLOSING || s->last_code < 400 ||
        s->errors < smtpd_cf.soft_error_limit || smtpd_cf.error_sleep <= 0)
        return;
    s->pause_timer = event_timer(smtpd_cf.error_sleep, smtpd_session_resume, s);
}

/* Process as much buffered input as possible. */
static void smtpd_session_process(smtpd_session *s)
{
    while (s->mode != SMTPD_MODE_CLOSING && s->mode != SMTPD_MODE_TLS &&
           s->out->len < SMTPD_OUT_HIGH &&
           (s->in->len > 0 || s->held) && s->pause_timer == 0 && !s->waiting) {
        if (s->mode == SMTPD_MODE_CMD) {
            if (s->held) {
                smtpd_session_command(s, s->held_line);
            } else {
                char *line;
                size_t len;
                int rc = conn_line_take(s->c, &line, &len);
                if (rc == CONN_AGAIN)
                    return;
                smtpd_session_line(s, rc, line, len);
            }
            if (s->waiting)
                return;
            if (s->errors >= smtpd_cf.hard_error_limit &&
                s->mode != SMTPD_MODE_CLOSING) {
                msg_info("too many errors after %s from %s", s->where, s->namaddr);
                smtpd_session_end(s, "421 4.7.0 %s Error: too many errors",
                                  smtpd_cf.myhostname);
            }
            smtpd_session_tarpit(s);
        } else if (s->mode == SMTPD_MODE_DATA) {
            smtpd_tx *tx = s->tx;
            unsigned before = tx->data.bare_lf;
            size_t used = smtpd_data_feed(&tx->data, s->in->data, s->in->len);
            tx->bytes += used;
            buf_consume(s->in, used);
            if (tx->data.bare_lf != before && smtpd_session_bare_lf(s) < 0)
                return;
            if (tx->data.done)
                smtpd_cmd_data_end(s);
        } else if (s->mode == SMTPD_MODE_BDAT) {
            smtpd_tx *tx = s->tx;
            size_t k = s->in->len < tx->bdat_left ? s->in->len : (size_t)tx->bdat_left;
            smtpd_data_feed(&tx->data, s->in->data, k);
            tx->bytes += k;
            tx->bdat_left -= k;
            buf_consume(s->in, k);
            if (tx->bdat_left == 0)
                smtpd_cmd_bdat_end(s);
        }
    }
}

/* Process and write until input runs dry or the client must read first. */
static void smtpd_session_pump(smtpd_session *s)
{
    for (;;) {
        if (s->pause_timer != 0)
            return;
        size_t before = s->in->len;
        enum smtpd_mode mode = s->mode;
        smtpd_session_process(s);
        smtpd_session_flush(s);
        if (s->out->len > 0 || s->in->len == 0 || s->mode == SMTPD_MODE_CLOSING ||
            s->mode == SMTPD_MODE_TLS ||
            (s->in->len == before && s->mode == mode))
            return;
    }
}

/* Talk during smtpd_greet_pause: sent before any greeting.  1 when the
 * session was ended. */
static int smtpd_session_greet_talk(smtpd_session *s, const char *p, size_t n)
{
    if (!smtpd_session_unsync(s, "CONNECT", p, n))
        return 0;
    event_cancel(s->greet_timer);
    s->greet_timer = 0;
    s->greet_pending = false;
    smtpd_session_flush(s);
    return 1;
}

/* conn_fill put new octets into s->in after its first had octets. */
static void smtpd_session_received(smtpd_session *s, size_t had)
{
    if (s->greet_pending) {
        /* Kept for after the greeting, unless the talk ends it. */
        smtpd_session_greet_talk(s, s->in->data + had, s->in->len - had);
        return;
    }
    if (s->mode != SMTPD_MODE_CLOSING)
        smtpd_session_pump(s);
}

void smtpd_session_input(smtpd_session *s, const char *p, size_t n)
{
    if (s->greet_pending && n > 0) {
        if (smtpd_session_greet_talk(s, p, n))
            return;
        /* Kept for after the greeting, as far as the buffer goes. */
        size_t room = s->in->max - s->in->len;
        buf_append(s->in, p, n < room ? n : room);
        return;
    }
    while (n > 0 && s->mode != SMTPD_MODE_CLOSING) {
        size_t room = s->in->max - s->in->len;
        size_t k = n < room ? n : room;
        buf_append(s->in, p, k);
        p += k;
        n -= k;
        size_t had = s->in->len;
        smtpd_session_pump(s);
        if (k == 0 && s->in->len == had)
            break; /* paused on output: the rest waits */
    }
}

void (*smtpd_session_output_hook)(smtpd_session *s, const char *p, size_t n);

void smtpd_session_flush(smtpd_session *s)
{
    if (s->fd < 0) {
        if (smtpd_session_output_hook && s->out->len > 0)
            smtpd_session_output_hook(s, s->out->data, s->out->len);
        buf_reset(s->out);
        if (s->mode == SMTPD_MODE_CLOSING)
            s->closed = true;
        return;
    }
    /* (Replies queued before a RCPT that waits for DNS answers go out:
     * the RCPT's own reply cannot overtake them.) */
    if (s->pause_timer != 0)
        return; /* the error sleep holds the reply back */
    if (s->out->len > 0) {
        int r = conn_send(s->c);
        if (r == CONN_AGAIN) {
            event_modify(s->fd, conn_want(s->c));
            return;
        }
        if (r < 0) {
            /* The client is gone. */
            buf_reset(s->out);
            s->c->out_off = 0;
            s->mode = SMTPD_MODE_CLOSING;
        }
    }
    if (s->mode == SMTPD_MODE_CLOSING) {
        s->closed = true;
        return;
    }
    if (s->mode == SMTPD_MODE_TLS && s->c->ssl == NULL) {
        /* "220 2.0.0 Ready to start TLS" is out (in clear text). */
        smtpd_tls_begin(s);
        return;
    }
    event_modify(s->fd, EVENT_READ);
}

/* Read what the socket (or TLS) has, and serve it. */
static void smtpd_session_read(smtpd_session *s)
{
    /* A TLS record may hold more than one read takes: what OpenSSL keeps
     * (SSL_pending) wakes no poll, so it is read now, as far as the input
     * buffer goes. */
    for (int round = 0; round < 16; round++) {
        size_t had = s->in->len;
        ssize_t n = conn_fill(s->c);
        if (n == CONN_AGAIN) {
            if (conn_want(s->c) == 0) {
                /* c->in is full: paused until the client reads its
                 * replies, or until the error sleep or the greeting pause
                 * is over. */
                event_modify(s->fd, s->pause_timer || s->waiting || s->greet_pending
                                        ? 0 : EVENT_WRITE);
            } else if (s->c->ssl != NULL) {
                event_modify(s->fd, conn_want(s->c) | (s->out->len ? EVENT_WRITE : 0));
            }
            return;
        }
        if (n < 0) {
            char where[64];
            smtpd_session_where(s, where, sizeof(where));
            msg_info("lost connection after %s from %s", where, s->namaddr);
            s->mode = SMTPD_MODE_CLOSING;
            s->closed = true;
            buf_reset(s->out);
            s->c->out_off = 0;
            return;
        }
        s->last_io = event_now();
        bool content = s->mode == SMTPD_MODE_DATA || s->mode == SMTPD_MODE_BDAT;
        smtpd_session_received(s, had);
        smtpd_deadline_read(s, (size_t)n, content, s->last_io); /* smtpd_deadline.c */
        if (s->c->ssl == NULL || SSL_pending(s->c->ssl) <= 0 ||
            s->mode == SMTPD_MODE_CLOSING || s->mode == SMTPD_MODE_TLS || s->closed)
            return;
    }
}

void smtpd_session_event(int fd, int events, void *ctx)
{
    smtpd_session *s = ctx;
    if (s->mode == SMTPD_MODE_TLS && s->c->ssl != NULL) {
        smtpd_tls_step(s); /* the handshake under way */
        return;
    }
    if (events & EVENT_WRITE) {
        smtpd_session_flush(s);
        if (s->out->len == 0 && s->mode != SMTPD_MODE_CLOSING &&
            s->mode != SMTPD_MODE_TLS)
            smtpd_session_pump(s); /* input that waited for the client */
        /* Under TLS a read may have waited for the socket to take a
         * write (conn_want): read again now. */
        if (s->c->ssl == NULL || s->out->len > 0 || s->mode == SMTPD_MODE_CLOSING ||
            s->closed)
            return;
    } else if (!(events & EVENT_READ) || s->mode == SMTPD_MODE_CLOSING) {
        return;
    } else if (s->c->ssl != NULL && s->out->len > 0) {
        /* A TLS write that waited for the socket to be readable. */
        smtpd_session_flush(s);
        if (s->closed)
            return;
    }
    smtpd_session_read(s);
}
