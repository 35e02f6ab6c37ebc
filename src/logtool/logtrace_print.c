/*
 * logtrace_print - a traced message as text (its path through the flow,
 * explained) or as JSON.
 *
 * The engine keeps only raw lines; they are parsed again here, which costs
 * nothing next to reading the log and keeps the engine's memory small.
 * The overall outcome is derived from the last status of each recipient:
 * a recipient's last delivery line decides (a deferral followed by a
 * success is a success).
 *
 * What it does not do: correlate (logtrace.c) or decide which messages to
 * print (the commands do).
 */
#include "logtool/logtrace.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "logtool/logexplain.h"
#include "util/mem.h"

#define LOGTRACE_PRINT_RCPTS 64

typedef struct logtrace_rcpt {
    logstr to, orig_to, relay, dsn, text;
    enum logline_status status;
    const logexplain_cause *cause;
} logtrace_rcpt;

typedef struct logtrace_summary {
    logstr msgid, from, client_host, client_addr, sasl_user;
    long long size;
    long nrcpt;
    bool removed, deleted, rejected, held, discarded, expired, mailbox;
    bool login, login_fail, login_lost, logout; /* a mailbox session */
    logstr logout_what;
    logstr reject_text;
    logtrace_rcpt rcpt[LOGTRACE_PRINT_RCPTS];
    int nr;
    int sent, bounced, deferred;
} logtrace_summary;

/* One line of a message, parsed again. */
static void logtrace_print_parse(const logtrace_msg *m, size_t i, logline *ll)
{
    logline_ctx ctx;
    logline_ctx_init(&ctx);
    logline_parse(&ctx, m->text + m->steps[i].off, m->steps[i].len, ll);
}

/* qmail's result lines name only the delivery number: take the recipient
 * from the "starting delivery" line with the same number. */
static void logtrace_print_qmail_to(const logtrace_msg *m, size_t upto, logline *ll)
{
    if (ll->format != LOGF_QMAIL || ll->event != LOGE_DELIVERY || ll->to.p != NULL ||
        ll->delivery_no < 0)
        return;
    for (size_t j = upto; j-- > 0;) {
        logline st;
        logtrace_print_parse(m, j, &st);
        if (st.event == LOGE_DELIVERY_START && st.delivery_no == ll->delivery_no) {
            ll->to = st.to;
            ll->relay = st.channel;
            return;
        }
    }
}

static void logtrace_print_summarise(const logtrace_msg *m, logtrace_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->size = -1;
    s->nrcpt = -1;
    for (size_t i = 0; i < m->nsteps; i++) {
        logline ll;
        logtrace_print_parse(m, i, &ll);
        logtrace_print_qmail_to(m, i, &ll);
        if (ll.message_id.p && !s->msgid.p)
            s->msgid = ll.message_id;
        /* The queue manager's sender is the full address; pickup's may be bare. */
        if (ll.event == LOGE_QUEUED && ll.from.p)
            s->from = ll.from;
        else if (ll.event == LOGE_PICKUP && ll.from.p && !s->from.p)
            s->from = ll.from;
        if (ll.size >= 0)
            s->size = ll.size;
        if (ll.nrcpt >= 0)
            s->nrcpt = ll.nrcpt;
        if ((ll.event == LOGE_CLIENT || ll.event == LOGE_QUEUED) && ll.client_addr.p && !s->client_addr.p) {
            s->client_host = ll.client_host;
            s->client_addr = ll.client_addr;
        }
        if (ll.sasl_username.p)
            s->sasl_user = ll.sasl_username;
        switch (ll.event) {
        case LOGE_LOGIN: s->login = true; break;
        case LOGE_LOGIN_FAIL: s->login_fail = true; break;
        case LOGE_LOST: s->login_lost = true; break;
        case LOGE_LOGOUT:
            s->logout = true;
            s->logout_what = ll.what;
            break;
        case LOGE_REMOVED:
            s->removed = true;
            if (logstr_eq(ll.program, "postsuper"))
                s->deleted = true;
            break;
        case LOGE_REJECT:
            s->rejected = true;
            s->reject_text = ll.reject_text.p ? ll.reject_text : ll.body;
            break;
        case LOGE_WARNING: {
            logstr why;
            if (logline_is_size_limit(&ll, &why)) {
                s->rejected = true;
                s->reject_text = why;
            }
            break;
        }
        case LOGE_HOLD: s->held = true; break;
        case LOGE_RELEASED: s->held = false; break;
        case LOGE_DISCARD: s->discarded = true; break;
        case LOGE_EXPIRED: s->expired = true; break;
        case LOGE_DELIVERY: {
            if (ll.format == LOGF_DOVECOT)
                s->mailbox = true;
            if (ll.format == LOGF_DOVECOT && !m->pseudo)
                break; /* the store behind an LMTP delivery: not a recipient */
            int r;
            for (r = 0; r < s->nr; r++)
                if (s->rcpt[r].to.n == ll.to.n &&
                    (ll.to.n == 0 || memcmp(s->rcpt[r].to.p, ll.to.p, ll.to.n) == 0))
                    break;
            if (r == s->nr) {
                if (s->nr == LOGTRACE_PRINT_RCPTS)
                    break;
                s->nr++;
            }
            logtrace_rcpt *rc = &s->rcpt[r];
            rc->to = ll.to;
            rc->orig_to = ll.orig_to;
            rc->relay = ll.relay;
            rc->dsn = ll.dsn;
            rc->text = ll.status_text;
            rc->status = ll.status;
            rc->cause = ll.status == LOGS_SENT ? NULL : logexplain_cause_find(&ll);
            break;
        }
        default:
            break;
        }
    }
    for (int r = 0; r < s->nr; r++) {
        switch (s->rcpt[r].status) {
        case LOGS_SENT: case LOGS_DELIVERABLE: case LOGS_DISCARDED: s->sent++; break;
        case LOGS_BOUNCED: case LOGS_EXPIRED: case LOGS_UNDELIVERABLE: s->bounced++; break;
        case LOGS_DEFERRED: case LOGS_SOFTBOUNCE: s->deferred++; break;
        default: break;
        }
    }
}

/*
 * Done?  Sendmail and DMA log no removal: there, every recipient having a
 * final result is the end.
 */
static bool logtrace_print_finished(const logtrace_msg *m, const logtrace_summary *s)
{
    if (m->done || s->removed)
        return true;
    return (m->format == LOGF_SENDMAIL || m->format == LOGF_DMA) && s->nr > 0 &&
           s->deferred == 0 && (s->nrcpt < 0 || s->sent + s->bounced >= s->nrcpt);
}

static const char *logtrace_print_outcome_of(const logtrace_msg *m, const logtrace_summary *s)
{
    if (m->session) {
        if (s->login_fail)
            return "login failed";
        if (s->login_lost && !s->login)
            return "left without logging in";
        if (s->login && s->logout)
            return "logged in, session ended";
        if (s->logout)
            return "session ended (its login is before the log)";
        if (s->login)
            return "logged in (no end of the session logged yet)";
        return "mailbox session";
    }
    if (m->pseudo) {
        if (s->rejected)
            return "rejected (never queued)";
        if (s->mailbox)
            return s->sent ? "stored in the mailbox" : "mailbox delivery failed";
    }
    if (s->rejected && s->nr == 0)
        return "rejected";
    if (s->discarded && s->nr == 0)
        return "discarded";
    if (s->expired)
        return "expired (returned to the sender)";
    bool finished = logtrace_print_finished(m, s);
    if (finished) {
        if (s->bounced && s->sent)
            return "partly delivered (some recipients bounced)";
        if (s->bounced)
            return "bounced";
        if (s->sent && s->deferred)
            return "partly delivered (some recipients still deferred)";
        if (s->sent && s->rejected)
            return "delivered (other recipients were rejected during the SMTP session)";
        if (s->sent)
            return "delivered";
        if (s->deleted)
            return "deleted from the queue by the administrator";
        if (s->deferred)
            return "removed while deferred";
        return "removed";
    }
    if (s->held)
        return "on hold (still in the queue)";
    if (s->deferred)
        return "deferred (still in the queue)";
    if (s->bounced && !s->sent)
        return "bounced (removal not logged yet)";
    if (s->sent && s->deferred == 0 && (s->nrcpt < 0 || s->sent >= s->nrcpt))
        return "delivered (removal not logged yet)";
    if (s->sent)
        return "partly delivered (still in the queue)";
    return "in the queue (no delivery logged yet)";
}

const char *logtrace_print_outcome(const logtrace_msg *m)
{
    logtrace_summary *s = mem_alloc(sizeof(*s));
    logtrace_print_summarise(m, s);
    const char *o = logtrace_print_outcome_of(m, s);
    mem_free(&s);
    return o;
}

#define LS(s) (int)(s).n, (s).p

/* What happened at this step, on one line after the step name. */
static void logtrace_print_detail(const logline *ll, buf *out)
{
    switch (ll->event) {
    case LOGE_CONNECT:
    case LOGE_DISCONNECT:
    case LOGE_LOST:
        if (ll->client_addr.p)
            buf_printf(out, ": %.*s[%.*s]", LS(ll->client_host), LS(ll->client_addr));
        if (ll->event == LOGE_LOST)
            buf_printf(out, " (%.*s after %.*s)", LS(ll->what), LS(ll->stage));
        if (ll->counters.p)
            buf_printf(out, " (%.*s)", LS(ll->counters));
        break;
    case LOGE_CLIENT:
        buf_printf(out, ": %.*s[%.*s]", LS(ll->client_host), LS(ll->client_addr));
        if (ll->sasl_username.p)
            buf_printf(out, ", logged in as %.*s", LS(ll->sasl_username));
        break;
    case LOGE_PICKUP:
        if (ll->uid.p)
            buf_printf(out, ": uid %.*s", LS(ll->uid));
        if (ll->from.p)
            buf_printf(out, ", sender <%.*s>", LS(ll->from));
        break;
    case LOGE_MESSAGE_ID:
        buf_printf(out, ": <%.*s>", LS(ll->message_id));
        break;
    case LOGE_QUEUED:
        if (ll->from.p)
            buf_printf(out, ": from <%.*s>", LS(ll->from));
        if (ll->size >= 0)
            buf_printf(out, ", %lld bytes", ll->size);
        if (ll->nrcpt >= 0)
            buf_printf(out, ", %ld recipient%s", ll->nrcpt, ll->nrcpt == 1 ? "" : "s");
        if (ll->client_addr.p)
            buf_printf(out, ", from client %.*s[%.*s]", LS(ll->client_host), LS(ll->client_addr));
        if (ll->message_id.p)
            buf_printf(out, ", message-id <%.*s>", LS(ll->message_id));
        break;
    case LOGE_DELIVERY_START:
        if (ll->to.p)
            buf_printf(out, ": to %.*s%s<%.*s>", LS(ll->channel), ll->channel.p ? " " : "", LS(ll->to));
        break;
    case LOGE_DELIVERY:
        if (ll->to.p)
            buf_printf(out, ": to <%.*s>", LS(ll->to));
        if (ll->orig_to.p)
            buf_printf(out, " (was <%.*s>)", LS(ll->orig_to));
        if (ll->relay.p)
            buf_printf(out, " via %.*s", LS(ll->relay));
        if (ll->status_text.n)
            buf_printf(out, ": %.*s", LS(ll->status_text));
        break;
    case LOGE_HOST_SAID:
        buf_printf(out, ": %.*s", LS(ll->body));
        break;
    case LOGE_BOUNCE:
        if (ll->new_queue_id.p)
            buf_printf(out, ": %.*s -> %.*s", LS(ll->notify_kind), LS(ll->new_queue_id));
        else
            buf_printf(out, ": %.*s", LS(ll->body));
        break;
    case LOGE_REJECT:
    case LOGE_HOLD:
    case LOGE_DISCARD:
    case LOGE_FILTER:
        if (ll->stage.p)
            buf_printf(out, " at %.*s", LS(ll->stage));
        if (ll->reply_code > 0)
            buf_printf(out, ": %d", ll->reply_code);
        if (ll->reject_text.p)
            buf_printf(out, "%s%.*s", ll->reply_code > 0 ? " " : ": ", LS(ll->reject_text));
        if (ll->to.p)
            buf_printf(out, " (to <%.*s>)", LS(ll->to));
        break;
    case LOGE_WARNING:
    case LOGE_ERROR:
    case LOGE_FATAL:
    case LOGE_PANIC:
        buf_printf(out, ": %.*s", LS(ll->severity_text));
        break;
    case LOGE_LOGIN:
    case LOGE_LOGIN_FAIL:
        if (ll->user.n)
            buf_printf(out, ": user %.*s", LS(ll->user));
        if (ll->client_addr.p)
            buf_printf(out, " from %.*s", LS(ll->client_addr));
        if (ll->event == LOGE_LOGIN_FAIL && ll->what.p)
            buf_printf(out, " (%.*s)", LS(ll->what));
        break;
    case LOGE_LOGOUT:
        if (ll->what.p)
            buf_printf(out, ": %.*s", LS(ll->what));
        if (ll->counters.p)
            buf_printf(out, " (%.*s)", LS(ll->counters));
        break;
    default:
        break;
    }
}

/* The stamp as written, but TAI64N (unreadable) as UTC. */
static void logtrace_print_stamp(const logline *ll, buf *out)
{
    if (ll->stamp_kind == LOGT_TAI64N && ll->time >= 0) {
        time_t tt = (time_t)ll->time;
        struct tm tm;
        char b[64];
        gmtime_r(&tt, &tm);
        strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm);
        buf_printf(out, "%s.%06dZ", b, ll->usec < 0 ? 0 : ll->usec);
        return;
    }
    buf_printf(out, "%-15.*s", LS(ll->stamp));
}

static void logtrace_print_program(const logline *ll, buf *out)
{
    size_t mark = out->len;
    buf_printf(out, "%.*s", LS(ll->program));
    if (ll->pid >= 0)
        buf_printf(out, "[%ld]", ll->pid);
    while (out->len < mark + 18)
        buf_putc(out, ' ');
}

void logtrace_print_text(const logtrace_msg *m, bool verbose, buf *out)
{
    logtrace_summary *s = mem_alloc(sizeof(*s));
    logtrace_print_summarise(m, s);
    const char *outcome = logtrace_print_outcome_of(m, s);
    if (m->session)
        buf_printf(out, "%s", m->qid);
    else if (m->pseudo)
        buf_printf(out, "%s", s->rejected ? "(no queue ID: rejected during the SMTP session)"
                                          : "(no queue ID: mailbox delivery)");
    else
        buf_printf(out, "%s", m->qid);
    buf_printf(out, "  [%s", logline_format_name(m->format));
    if (strcmp(m->instance, logline_format_name(m->format)) != 0)
        buf_printf(out, " instance %s", m->instance);
    if (m->host[0])
        buf_printf(out, " on %s", m->host);
    buf_printf(out, "]  %s\n", outcome);
    if (m->parent != NULL)
        buf_printf(out, "  created by %s (%s)\n", m->parent,
                   strcmp(m->link, "bounce") == 0    ? "a bounce or notification about it"
                   : strcmp(m->link, "forward") == 0 ? "forwarded by local delivery (alias or .forward)"
                                                     : "the same message, an earlier hop on this host");
    if (s->msgid.p)
        buf_printf(out, "  message-id: <%.*s>\n", LS(s->msgid));
    if (s->from.p || s->size >= 0) {
        buf_puts(out, "  ");
        if (s->from.p)
            buf_printf(out, "from: <%.*s>  ", LS(s->from));
        if (s->size >= 0)
            buf_printf(out, "size: %lld  ", s->size);
        if (s->nrcpt >= 0)
            buf_printf(out, "recipients: %ld", s->nrcpt);
        while (out->len > 0 && out->data[out->len - 1] == ' ')
            buf_truncate(out, out->len - 1);
        buf_putc(out, '\n');
    }
    buf_puts(out, "  path:\n");
    for (size_t i = 0; i < m->nsteps; i++) {
        logline ll;
        logtrace_print_parse(m, i, &ll);
        logtrace_print_qmail_to(m, i, &ll);
        buf_puts(out, "    ");
        logtrace_print_stamp(&ll, out);
        buf_puts(out, "  ");
        logtrace_print_program(&ll, out);
        buf_printf(out, "%s", logexplain_step(&ll));
        logtrace_print_detail(&ll, out);
        buf_putc(out, '\n');
        if (verbose)
            buf_printf(out, "        | %.*s\n", LS(ll.raw));
        const char *ind = "        ";
        if (ll.event == LOGE_DELIVERY && ll.delays[0] >= 0) {
            buf_puts(out, ind);
            logexplain_delays(&ll, out);
            buf_putc(out, '\n');
        }
        if (ll.dsn.p != NULL && (ll.event == LOGE_DELIVERY || ll.event == LOGE_REJECT ||
                                 ll.event == LOGE_HOST_SAID)) {
            buf_printf(out, "%sdsn ", ind);
            if (logexplain_dsn(ll.dsn, out) != 0)
                buf_printf(out, "%.*s", LS(ll.dsn));
            buf_putc(out, '\n');
        }
        bool problem = (ll.event == LOGE_DELIVERY && ll.status != LOGS_SENT &&
                        ll.status != LOGS_DELIVERABLE) ||
                       ll.event == LOGE_REJECT || ll.event == LOGE_HOST_SAID ||
                       ll.event == LOGE_EXPIRED || ll.event == LOGE_LOST;
        if (problem) {
            if (ll.event == LOGE_DELIVERY && ll.status != LOGS_NONE)
                buf_printf(out, "%sstatus %s: %s\n", ind, logline_status_name(ll.status),
                           logexplain_status(ll.status));
            const logexplain_cause *c = logexplain_cause_find(&ll);
            if (c != NULL)
                buf_printf(out, "%slikely cause: %s\n%scheck: %s\n", ind, c->cause, ind, c->check);
        }
    }
    if (m->dropped)
        buf_printf(out, "    (%zu more lines not kept)\n", m->dropped);
    buf_printf(out, "  result: %s", outcome);
    if (s->nr > 0) {
        buf_puts(out, "\n");
        for (int r = 0; r < s->nr; r++) {
            const logtrace_rcpt *rc = &s->rcpt[r];
            buf_printf(out, "    <%.*s>: %s", LS(rc->to),
                       rc->status == LOGS_NONE ? "unknown" : logline_status_name(rc->status));
            if (rc->dsn.p)
                buf_printf(out, " (%.*s)", LS(rc->dsn));
            if (rc->cause != NULL)
                buf_printf(out, " - %s", rc->cause->cause);
            buf_putc(out, '\n');
        }
    } else
        buf_putc(out, '\n');
    if (!logtrace_print_finished(m, s) && !m->pseudo && !s->rejected)
        buf_puts(out, "  note: no removal logged: the message is still in the queue, or the log ends early "
                      "(postie mailq / postqueue -p shows the queue)\n");
    mem_free(&s);
}

/* ---- JSON ---------------------------------------------------------------- */

void logtrace_print_jstr(buf *out, const char *s, size_t n)
{
    buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': buf_puts(out, "\\\""); break;
        case '\\': buf_puts(out, "\\\\"); break;
        case '\n': buf_puts(out, "\\n"); break;
        case '\t': buf_puts(out, "\\t"); break;
        case '\r': buf_puts(out, "\\r"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                buf_printf(out, "\\u%04x", c);
            else if (c >= 0x80) {
                /* Pass valid UTF-8 through, escape stray bytes. */
                int len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
                bool ok = len > 0 && i + (size_t)len <= n;
                for (int k = 1; ok && k < len; k++)
                    ok = ((unsigned char)s[i + (size_t)k] & 0xc0) == 0x80;
                if (ok) {
                    buf_append(out, s + i, (size_t)len);
                    i += (size_t)len - 1;
                } else
                    buf_printf(out, "\\u%04x", c);
            } else
                buf_putc(out, (int)c);
        }
    }
    buf_putc(out, '"');
}

static void logtrace_print_jfield(buf *out, const char *name, logstr v, bool *first)
{
    if (v.p == NULL)
        return;
    buf_printf(out, "%s\"%s\":", *first ? "" : ",", name);
    logtrace_print_jstr(out, v.p, v.n);
    *first = false;
}

static void logtrace_print_jcstr(buf *out, const char *name, const char *v, bool *first)
{
    if (v == NULL)
        return;
    logstr s = {v, strlen(v)};
    logtrace_print_jfield(out, name, s, first);
}

void logtrace_print_json(const logtrace_msg *m, buf *out)
{
    logtrace_summary *s = mem_alloc(sizeof(*s));
    logtrace_print_summarise(m, s);
    bool f = true;
    buf_putc(out, '{');
    logtrace_print_jcstr(out, "queue_id", m->pseudo ? NULL : m->qid, &f);
    /* A mailbox session: its id (after "session "), no queue ID. */
    logtrace_print_jcstr(out, "session", m->session ? m->qid + 8 : NULL, &f);
    logtrace_print_jcstr(out, "format", logline_format_name(m->format), &f);
    logtrace_print_jcstr(out, "instance", m->instance, &f);
    logtrace_print_jcstr(out, "host", m->host, &f);
    logtrace_print_jcstr(out, "outcome", logtrace_print_outcome_of(m, s), &f);
    buf_printf(out, ",\"in_queue\":%s",
               !logtrace_print_finished(m, s) && !m->pseudo && !s->rejected ? "true" : "false");
    logtrace_print_jcstr(out, "parent", m->parent, &f);
    logtrace_print_jcstr(out, "link", m->link, &f);
    logtrace_print_jfield(out, "message_id", s->msgid, &f);
    logtrace_print_jfield(out, "from", s->from, &f);
    logtrace_print_jfield(out, "client", s->client_host, &f);
    logtrace_print_jfield(out, "client_addr", s->client_addr, &f);
    logtrace_print_jfield(out, "sasl_username", s->sasl_user, &f);
    if (s->size >= 0)
        buf_printf(out, ",\"size\":%lld", s->size);
    if (s->nrcpt >= 0)
        buf_printf(out, ",\"nrcpt\":%ld", s->nrcpt);
    buf_puts(out, ",\"recipients\":[");
    for (int r = 0; r < s->nr; r++) {
        const logtrace_rcpt *rc = &s->rcpt[r];
        bool g = true;
        buf_puts(out, r ? ",{" : "{");
        logtrace_print_jfield(out, "to", rc->to, &g);
        logtrace_print_jfield(out, "orig_to", rc->orig_to, &g);
        logtrace_print_jcstr(out, "status", logline_status_name(rc->status), &g);
        logtrace_print_jfield(out, "dsn", rc->dsn, &g);
        logtrace_print_jfield(out, "relay", rc->relay, &g);
        logtrace_print_jfield(out, "text", rc->text, &g);
        if (rc->cause != NULL) {
            logtrace_print_jcstr(out, "cause", rc->cause->cause, &g);
            logtrace_print_jcstr(out, "check", rc->cause->check, &g);
        }
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"steps\":[");
    for (size_t i = 0; i < m->nsteps; i++) {
        logline ll;
        logtrace_print_parse(m, i, &ll);
        logtrace_print_qmail_to(m, i, &ll);
        bool g = true;
        buf_puts(out, i ? ",{" : "{");
        if (m->steps[i].time >= 0) {
            buf_printf(out, "\"time\":%lld", m->steps[i].time);
            if (m->steps[i].usec >= 0)
                buf_printf(out, ".%06d", m->steps[i].usec);
            g = false;
        }
        logtrace_print_jfield(out, "stamp", ll.stamp, &g);
        logtrace_print_jfield(out, "program", ll.program, &g);
        if (ll.pid >= 0)
            buf_printf(out, ",\"pid\":%ld", ll.pid);
        logtrace_print_jcstr(out, "event", logline_event_name(ll.event), &g);
        logtrace_print_jcstr(out, "step", logexplain_step(&ll), &g);
        if (ll.status != LOGS_NONE)
            logtrace_print_jcstr(out, "status", logline_status_name(ll.status), &g);
        logtrace_print_jfield(out, "dsn", ll.dsn, &g);
        if (ll.delay >= 0)
            buf_printf(out, ",\"delay\":%g", ll.delay);
        if (ll.delays[0] >= 0) {
            buf_printf(out, ",\"delays\":[%g,%g,%g,%g]", ll.delays[0], ll.delays[1],
                       ll.delays[2] < 0 ? 0 : ll.delays[2], ll.delays[3] < 0 ? 0 : ll.delays[3]);
            buf *e = buf_new(4096);
            int big = logexplain_delays(&ll, e);
            buf_printf(out, ",\"delays_dominant\":\"%s\"",
                       big == 0 ? "a" : big == 1 ? "b" : big == 2 ? "c" : "d");
            logtrace_print_jcstr(out, "delays_explained", buf_str(e), &g);
            buf_free(&e);
        }
        if (ll.dsn.p != NULL) {
            buf *e = buf_new(4096);
            if (logexplain_dsn(ll.dsn, e) == 0)
                logtrace_print_jcstr(out, "dsn_explained", buf_str(e), &g);
            buf_free(&e);
        }
        if (ll.status != LOGS_SENT && ll.status != LOGS_NONE) {
            const logexplain_cause *c = logexplain_cause_find(&ll);
            if (c != NULL) {
                logtrace_print_jcstr(out, "cause", c->cause, &g);
                logtrace_print_jcstr(out, "check", c->check, &g);
            }
        }
        logtrace_print_jfield(out, "line", ll.raw, &g);
        buf_putc(out, '}');
    }
    buf_puts(out, "]}");
    mem_free(&s);
}
