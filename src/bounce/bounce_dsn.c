/*
 * bounce_dsn - the text of a delivery status notification; see
 * bounce_dsn.h.
 *
 * Layout (RFC 3464 section 2, RFC 6522 for multipart/report):
 *
 *   From / To / Subject / Auto-Submitted / MIME-Version / Content-Type
 *   (cleanup adds Date and Message-Id, as for any message)
 *   --boundary   text/plain: what happened, in words, one line per
 *                recipient with the reason
 *   --boundary   message/delivery-status: per-message fields (section
 *                2.2), then one block per recipient (section 2.3)
 *   --boundary   message/rfc822 or text/rfc822-headers: the original
 *   --boundary--
 *
 * The boundary holds the original's queue ID, the time and our host
 * name, so it cannot occur in text we did not write ourselves except by
 * a deliberate forgery inside the returned message, which would only
 * spoil that one notice (Postfix makes the same choice).
 *
 * Header field lines are folded at white space before 78 columns where
 * possible (RFC 5322 section 2.1.1) and never exceed 998 octets: a long
 * reason is cut.
 */
#include "bounce/bounce_dsn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/buf.h"

/* RFC 5322 section 2.1.1: 998 octets per line at most; a folded field
 * keeps its pieces under 78 where there is white space to fold at. */
#define BOUNCE_DSN_LINE_MAX 998
#define BOUNCE_DSN_FOLD 78

typedef struct bounce_out {
    bounce_dsn_line_fn fn;
    void *ctx;
} bounce_out;

static void bounce_dsn_put(bounce_out *o, const char *s)
{
    o->fn(s, strlen(s), o->ctx);
}

static void bounce_dsn_putf(bounce_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void bounce_dsn_putf(bounce_out *o, const char *fmt, ...)
{
    char line[BOUNCE_DSN_LINE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    bounce_dsn_put(o, line);
}

/* "Name: value", folded at spaces (the space starts the next line, which
 * RFC 5322 section 2.2.3 unfolds back to the same value). */
static void bounce_dsn_field(bounce_out *o, const char *name, const char *value)
{
    char line[BOUNCE_DSN_LINE_MAX + 1];
    int n = snprintf(line, sizeof(line), "%s: %s", name, value);
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof(line) ? sizeof(line) - 1 : (size_t)n;
    size_t start = 0;
    while (len - start > BOUNCE_DSN_FOLD) {
        /* The last space within the fold width, not at the very start. */
        size_t cut = 0;
        for (size_t i = start + 1; i < start + BOUNCE_DSN_FOLD; i++)
            if (line[i] == ' ')
                cut = i;
        if (cut == 0)
            for (size_t i = start + BOUNCE_DSN_FOLD; i < len; i++)
                if (line[i] == ' ') {
                    cut = i;
                    break;
                }
        if (cut == 0)
            break;
        o->fn(line + start, cut - start, o->ctx);
        start = cut; /* the space leads the continuation line */
    }
    o->fn(line + start, len - start, o->ctx);
}

void bounce_dsn_date(char *out, size_t outlen, long long epoch_sec)
{
    time_t t = (time_t)epoch_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    /* The C locale (services never leave it) gives English names. */
    if (strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
        snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 +0000");
}

void bounce_dsn_diag(const char *text, char *remote, size_t remotelen,
                     const char **type_r, char *diag, size_t diaglen)
{
    remote[0] = '\0';
    *type_r = "X-Postie";
    const char *said = strstr(text, " said: ");
    if (strncmp(text, "host ", 5) == 0 && said != NULL) {
        /* The smtp and lmtp agents' form (docs/logging.md): the name is
         * what the client connected to, the text is the server's reply. */
        size_t n = strcspn(text + 5, "[ ");
        snprintf(remote, remotelen, "%.*s", (int)n, text + 5);
        const char *reply = said + 7;
        size_t rl = strlen(reply);
        const char *tail = strstr(reply, " (in reply to ");
        if (tail != NULL && reply[rl - 1] == ')')
            rl = (size_t)(tail - reply);
        snprintf(diag, diaglen, "%.*s", (int)rl, reply);
        *type_r = "smtp";
        return;
    }
    snprintf(diag, diaglen, "%s", text);
}

/* Postfix's subjects, word for word (its bounce templates): mail filters,
 * helpdesk rules and people's own eyes look for them. */
static const char *bounce_dsn_subject(const bounce_dsn *d)
{
    switch (d->kind) {
    case BOUNCE_KIND_DELAY:
        return d->to_postmaster ? "Postmaster Warning: Delayed Mail"
                                : "Delayed Mail (still being retried)";
    case BOUNCE_KIND_SUCCESS:
        return "Successful Mail Delivery Report";
    case BOUNCE_KIND_FAILURE:
        break;
    }
    return d->to_postmaster ? "Postmaster Copy: Undelivered Mail"
                            : "Undelivered Mail Returned to Sender";
}

static bool bounce_dsn_8bit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return true;
    return false;
}

/* Length of the header section of the original (up to, without, the
 * empty line). */
static size_t bounce_dsn_header_len(const char *p, size_t n)
{
    if (n > 0 && p[0] == '\n')
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\n' && p[i + 1] == '\n')
            return i + 1;
    return n;
}

static void bounce_dsn_lines(bounce_out *o, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        o->fn(p, len, o->ctx);
        if (nl == NULL)
            break;
        n -= len + 1;
        p = nl + 1;
    }
}

static void bounce_dsn_text(bounce_out *o, const bounce_dsn *d, const char *when)
{
    bounce_dsn_putf(o, "This is the mail system at host %s.", d->myhostname);
    bounce_dsn_put(o, "");
    switch (d->kind) {
    case BOUNCE_KIND_FAILURE:
        if (d->to_postmaster) {
            bounce_dsn_put(o, "A message that had no return address (a delivery notice");
            bounce_dsn_put(o, "itself, sender <>) could not be delivered to the recipients");
            bounce_dsn_put(o, "listed below. Notices about notices go to the postmaster,");
            bounce_dsn_put(o, "never back to a sender, so that mail cannot loop.");
        } else {
            bounce_dsn_put(o, "Your message could not be delivered to one or more of its");
            bounce_dsn_put(o, "recipients. The mail system gave up on the addresses listed");
            bounce_dsn_put(o, "below; the reason given for each is what the receiving side");
            bounce_dsn_put(o, "or this system reported.");
        }
        bounce_dsn_put(o, "");
        bounce_dsn_putf(o, "The %s is attached. If you need help, write to the",
                        d->full ? "returned message" : "header section of your message");
        bounce_dsn_put(o, "postmaster of this system and include this report.");
        break;
    case BOUNCE_KIND_DELAY:
        bounce_dsn_put(o, "Your message has not yet been delivered to the recipients");
        bounce_dsn_put(o, "listed below. This is only a warning: you need not send it");
        bounce_dsn_putf(o, "again. The mail system keeps trying until %s,", when);
        bounce_dsn_put(o, "and you will hear again if it has to give up.");
        break;
    case BOUNCE_KIND_SUCCESS:
        bounce_dsn_put(o, "Your message was delivered to the recipients listed below,");
        bounce_dsn_put(o, "as you asked (NOTIFY=SUCCESS). For a recipient marked");
        bounce_dsn_put(o, "\"relayed\", it went on to a system that sends no such reports.");
        break;
    }
    bounce_dsn_put(o, "");
    bounce_dsn_putf(o, "                   The %s mail system", d->myhostname);
    bounce_dsn_put(o, "");
    for (size_t i = 0; i < d->nrcpt; i++)
        bounce_dsn_putf(o, "<%s>: %s", d->rcpts[i].addr,
                        d->rcpts[i].text ? d->rcpts[i].text : d->rcpts[i].action);
}

static void bounce_dsn_report(bounce_out *o, const bounce_dsn *d)
{
    char date[80], v[BOUNCE_DSN_LINE_MAX];
    /* Per-message fields, section 2.2, in the grammar's order; the
     * extension fields (ours start with X-) come last. */
    if (d->envid != NULL)
        bounce_dsn_field(o, "Original-Envelope-Id", d->envid);
    snprintf(v, sizeof(v), "dns; %s", d->myhostname);
    bounce_dsn_field(o, "Reporting-MTA", v);
    bounce_dsn_date(date, sizeof(date), d->arrival_sec);
    bounce_dsn_field(o, "Arrival-Date", date);
    bounce_dsn_field(o, "X-Postie-Queue-ID", d->queue_id);
    snprintf(v, sizeof(v), "rfc822; %s", d->sender);
    bounce_dsn_field(o, "X-Postie-Sender", v);
    for (size_t i = 0; i < d->nrcpt; i++) {
        const bounce_dsn_rcpt *r = &d->rcpts[i];
        /* Per-recipient fields, section 2.3: a blank line before each. */
        bounce_dsn_put(o, "");
        if (r->orcpt != NULL) {
            /* Section 2.3.1: as given with ORCPT ("type;address"); an
             * original address that cleanup kept without a type is an
             * RFC 822 one. */
            const char *semi = strchr(r->orcpt, ';');
            if (semi != NULL)
                snprintf(v, sizeof(v), "%.*s; %s", (int)(semi - r->orcpt),
                         r->orcpt, semi + 1);
            else
                snprintf(v, sizeof(v), "rfc822; %s", r->orcpt);
            bounce_dsn_field(o, "Original-Recipient", v);
        }
        snprintf(v, sizeof(v), "rfc822; %s", r->addr);
        bounce_dsn_field(o, "Final-Recipient", v);
        bounce_dsn_field(o, "Action", r->action);
        bounce_dsn_field(o, "Status", r->status);
        if (r->text != NULL) {
            char remote[256], diag[BOUNCE_DSN_LINE_MAX - 100];
            const char *type;
            bounce_dsn_diag(r->text, remote, sizeof(remote), &type, diag,
                            sizeof(diag));
            if (remote[0] != '\0') {
                snprintf(v, sizeof(v), "dns; %s", remote);
                bounce_dsn_field(o, "Remote-MTA", v);
            }
            snprintf(v, sizeof(v), "%s; %s", type, diag);
            bounce_dsn_field(o, "Diagnostic-Code", v);
        }
        if (d->kind != BOUNCE_KIND_SUCCESS) {
            bounce_dsn_date(date, sizeof(date), d->now_sec);
            bounce_dsn_field(o, "Last-Attempt-Date", date);
        }
        if (d->kind == BOUNCE_KIND_DELAY && d->retry_until > 0) {
            bounce_dsn_date(date, sizeof(date), d->retry_until);
            bounce_dsn_field(o, "Will-Retry-Until", date);
        }
    }
}

void bounce_dsn_compose(const bounce_dsn *d, bounce_dsn_line_fn fn, void *ctx)
{
    bounce_out out = {fn, ctx}, *o = &out;
    char boundary[300], v[BOUNCE_DSN_LINE_MAX];
    snprintf(boundary, sizeof(boundary), "%s.%lld/%s", d->queue_id, d->now_sec,
             d->myhostname);
    size_t hlen = bounce_dsn_header_len(d->content, d->content_len);
    bool full = d->full && d->kind == BOUNCE_KIND_FAILURE;
    size_t attach = full ? d->content_len : hlen;
    bool eight = bounce_dsn_8bit(d->content, attach);

    snprintf(v, sizeof(v), "MAILER-DAEMON@%s (Mail Delivery System)", d->myhostname);
    bounce_dsn_field(o, "From", v);
    bounce_dsn_field(o, "Subject", bounce_dsn_subject(d));
    /* The envelope may name a bare "postmaster" (RFC 5321 section 4.5.1,
     * always local); a header address needs its domain (RFC 5322
     * section 3.4.1). */
    snprintf(v, sizeof(v), "<%s%s%s>", d->to, strchr(d->to, '@') ? "" : "@",
             strchr(d->to, '@') ? "" : d->myhostname);
    bounce_dsn_field(o, "To", v);
    /* RFC 3834 section 5: an automatic reply, so that responders and
     * vacation programs leave it alone. */
    bounce_dsn_field(o, "Auto-Submitted", "auto-replied");
    bounce_dsn_field(o, "MIME-Version", "1.0");
    bounce_dsn_putf(o, "Content-Type: multipart/report; report-type=delivery-status;");
    bounce_dsn_putf(o, "\tboundary=\"%s\"", boundary);
    bounce_dsn_field(o, "Content-Description",
                     d->kind == BOUNCE_KIND_DELAY ? "Delay notification"
                     : d->kind == BOUNCE_KIND_SUCCESS ? "Delivery report"
                                                      : "Notification");
    /* RFC 2045 section 6.4: a multipart holding an 8bit part is 8bit. */
    bounce_dsn_field(o, "Content-Transfer-Encoding", eight ? "8bit" : "7bit");
    bounce_dsn_put(o, "");
    bounce_dsn_put(o, "This is a MIME-encapsulated delivery status notification.");
    bounce_dsn_put(o, "");

    char when[80] = "";
    if (d->retry_until > 0)
        bounce_dsn_date(when, sizeof(when), d->retry_until);
    bounce_dsn_putf(o, "--%s", boundary);
    bounce_dsn_field(o, "Content-Description", "Notification");
    bounce_dsn_field(o, "Content-Type", "text/plain; charset=us-ascii");
    bounce_dsn_put(o, "");
    bounce_dsn_text(o, d, when[0] ? when : "the message expires");
    bounce_dsn_put(o, "");

    bounce_dsn_putf(o, "--%s", boundary);
    bounce_dsn_field(o, "Content-Description", "Delivery report");
    bounce_dsn_field(o, "Content-Type", "message/delivery-status");
    bounce_dsn_put(o, "");
    bounce_dsn_report(o, d);
    bounce_dsn_put(o, "");

    bounce_dsn_putf(o, "--%s", boundary);
    const char *what = d->kind == BOUNCE_KIND_FAILURE ? "Undelivered Message"
                       : d->kind == BOUNCE_KIND_DELAY ? "Delayed Message"
                                                      : "Delivered Message";
    if (full) {
        bounce_dsn_field(o, "Content-Description", what);
        bounce_dsn_field(o, "Content-Type", "message/rfc822");
    } else {
        snprintf(v, sizeof(v), "%s Headers", what);
        bounce_dsn_field(o, "Content-Description", v);
        bounce_dsn_field(o, "Content-Type", "text/rfc822-headers");
    }
    if (eight)
        bounce_dsn_field(o, "Content-Transfer-Encoding", "8bit");
    bounce_dsn_put(o, "");
    bounce_dsn_lines(o, d->content, attach);
    bounce_dsn_put(o, "");
    bounce_dsn_putf(o, "--%s--", boundary);
}
