/*
 * report_out - the text and JSON forms of "postie log report".
 *
 * The text follows pflogsumm's order of sections (grand totals, per-day,
 * per-hour, host/domain summaries, senders and recipients, details of
 * deferrals, bounces and rejects, warnings) so that people who read one
 * can read the other, but prints exact numbers instead of "k"/"m" units and
 * per-hour totals instead of daily averages.  A count from a top list that
 * overflowed (report_topk) is marked "~": it may be over by at most the
 * shown error.  The JSON has the same content with stable key names.
 */
#include "logtool/report_out.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/mem.h"

const char *const report_out_series[REPORT_S_COUNT] = {
    "received", "delivered", "deferred", "bounced", "rejected",
};
const char *const report_out_delay_names[REPORT_D_COUNT] = {
    "delay", "a", "b", "c", "d",
};
const char *const report_out_delay_help[REPORT_D_COUNT] = {
    "total, from arrival to delivery",
    "before the queue manager (arrival, cleanup, waiting for qmgr)",
    "in the queue manager (waiting for a delivery slot)",
    "connection setup (DNS, connect, greeting, TLS)",
    "transmission (sending the message to the next hop)",
};

void report_out_jstr(buf *out, const char *s, size_t n)
{
    buf_putc(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf_putc(out, '\\');
            buf_putc(out, c);
        } else if (c < 0x20 || c == 0x7f)
            buf_printf(out, "\\u%04x", c);
        else
            buf_putc(out, c);
    }
    buf_putc(out, '"');
}

void report_out_time(const report_agg *a, long long t, char *out, size_t max)
{
    struct tm tm;
    time_t tt = (time_t)(t + a->utcoff);
    if (t < 0 || gmtime_r(&tt, &tm) == NULL) {
        snprintf(out, max, "-");
        return;
    }
    strftime(out, max, "%Y-%m-%d %H:%M:%S", &tm);
}

/* ---- text -------------------------------------------------------------------- */

static void report_out_total(buf *out, uint64_t v, const char *what)
{
    buf_printf(out, " %8llu   %s\n", (unsigned long long)v, what);
}

static void report_out_heading(buf *out, const char *title)
{
    size_t n = strlen(title);
    buf_printf(out, "\n%s\n", title);
    for (size_t i = 0; i < n; i++)
        buf_putc(out, '-');
    buf_putc(out, '\n');
}

/* One top list: "count  [bytes]  key". */
static void report_out_list(buf *out, const char *title, const report_topk *t, bool bytes,
                            bool by_bytes, size_t topn)
{
    if (t->n == 0)
        return;
    const report_topk_item **v = mem_alloc(topn * sizeof(*v));
    size_t k = report_topk_sorted(t, by_bytes, v, topn);
    char head[200];
    snprintf(head, sizeof(head), "%s%s", title, t->exact ? "" : " (approximate: ~ counts may be over)");
    report_out_heading(out, head);
    for (size_t i = 0; i < k; i++) {
        if (bytes)
            buf_printf(out, " %s%7llu %10llu   %.*s\n", v[i]->err ? "~" : " ",
                       (unsigned long long)v[i]->count, (unsigned long long)v[i]->bytes,
                       (int)v[i]->keylen, v[i]->key);
        else
            buf_printf(out, " %s%7llu   %.*s\n", v[i]->err ? "~" : " ",
                       (unsigned long long)v[i]->count, (int)v[i]->keylen, v[i]->key);
    }
    if (t->n > k)
        buf_printf(out, "   (%zu more)\n", t->n - k);
    mem_free(&v);
}

/* Deferrals and the longest delay of a recipient domain (pflogsumm's columns). */
void report_out_domain_extra(const report_agg *a, const report_topk_item *it,
                             uint64_t *defers_r, double *avg_r, double *max_r)
{
    const report_topk_item *d = report_topk_lookup(a->defer_domains, it->key, it->keylen);
    *defers_r = d ? d->count : 0;
    *avg_r = it->count ? it->dsum / (double)it->count : 0;
    *max_r = d && d->dmax > it->dmax ? d->dmax : it->dmax;
}

/* pflogsumm's "Host/Domain Summary: Message Delivery" with its columns. */
static void report_out_delivery_domains(const report_agg *a, buf *out, size_t topn)
{
    const report_topk *t = a->recipient_domains;
    if (t->n == 0)
        return;
    const report_topk_item **v = mem_alloc(topn * sizeof(*v));
    size_t k = report_topk_sorted(t, false, v, topn);
    report_out_heading(out, t->exact ? "Host/Domain Summary: Message Delivery"
                                     : "Host/Domain Summary: Message Delivery (approximate)");
    buf_printf(out, " %8s %10s %7s %9s %9s   %s\n", "sent cnt", "bytes", "defers", "avg dly",
               "max dly", "host/domain");
    for (size_t i = 0; i < k; i++) {
        uint64_t defers;
        double avg, max;
        report_out_domain_extra(a, v[i], &defers, &avg, &max);
        buf_printf(out, " %s%7llu %10llu %7llu %8.1fs %8.1fs   %.*s\n", v[i]->err ? "~" : " ",
                   (unsigned long long)v[i]->count, (unsigned long long)v[i]->bytes,
                   (unsigned long long)defers, avg, max, (int)v[i]->keylen, v[i]->key);
    }
    /* Domains that only had deferrals, as pflogsumm lists them too. */
    size_t kd = report_topk_sorted(a->defer_domains, false, v, topn);
    for (size_t i = 0; i < kd && k < topn; i++) {
        if (report_topk_lookup(t, v[i]->key, v[i]->keylen) != NULL)
            continue;
        buf_printf(out, " %s%7d %10d %7llu %8.1fs %8.1fs   %.*s\n", v[i]->err ? "~" : " ", 0, 0,
                   (unsigned long long)v[i]->count, 0.0, v[i]->dmax, (int)v[i]->keylen,
                   v[i]->key);
        k++;
    }
    if (t->n > k)
        buf_printf(out, "   (%zu more)\n", t->n - k);
    mem_free(&v);
}

static void report_out_delays_text(const report_agg *a, buf *out)
{
    if (a->delay[REPORT_D_TOTAL].n == 0)
        return;
    report_out_heading(out, "Delays of delivered recipients (seconds)");
    buf_printf(out, "   %-6s %9s %9s %9s %9s %9s %9s   %s\n", "part", "count", "avg", "p50", "p90",
               "p99", "max", "what it measured");
    for (int i = 0; i < REPORT_D_COUNT; i++) {
        const report_hist *h = &a->delay[i];
        if (h->n == 0)
            continue;
        buf_printf(out, "   %-6s %9llu %9.2f %9.2f %9.2f %9.2f %9.2f   %s\n",
                   report_out_delay_names[i], (unsigned long long)h->n, h->sum / (double)h->n,
                   report_hist_quantile(h, 0.5), report_hist_quantile(h, 0.9),
                   report_hist_quantile(h, 0.99), h->max, report_out_delay_help[i]);
    }
}

void report_out_text(const report_agg *a, const report_out_opts *o, buf *out)
{
    char t1[40], t2[40];
    report_out_time(a, a->first_time, t1, sizeof(t1));
    report_out_time(a, a->last_time, t2, sizeof(t2));
    buf_puts(out, "postie log report");
    for (int i = 0; i < o->nfiles; i++)
        buf_printf(out, "%s%s", i ? ", " : ": ", o->files[i]);
    buf_printf(out, "\nperiod: %s .. %s\n", t1, t2);
    buf_printf(out, "lines: %llu (%llu not understood, %llu truncated, %llu binary, %llu from other programs)\n",
               (unsigned long long)a->lines, (unsigned long long)a->unknown,
               (unsigned long long)a->truncated, (unsigned long long)a->binary,
               (unsigned long long)a->other);

    report_out_heading(out, "Grand Totals");
    buf_puts(out, "messages\n\n");
    report_out_total(out, a->received, "received");
    report_out_total(out, a->delivered, "delivered");
    report_out_total(out, a->forwarded, "forwarded");
    buf_printf(out, " %8llu   deferred  (%llu deferrals)\n", (unsigned long long)a->deferred,
               (unsigned long long)a->deferrals);
    report_out_total(out, a->bounced, "bounced");
    report_out_total(out, a->expired, "expired (returned to sender)");
    buf_printf(out, " %8llu   rejected (%d%%)\n", (unsigned long long)a->rejected,
               report_agg_pct(a, a->rejected));
    report_out_total(out, a->reject_warnings, "reject warnings");
    report_out_total(out, a->held, "held");
    buf_printf(out, " %8llu   discarded (%d%%)\n", (unsigned long long)a->discarded,
               report_agg_pct(a, a->discarded));
    report_out_total(out, a->notifications, "notifications to senders (bounces, delays)");
    buf_putc(out, '\n');
    report_out_total(out, a->bytes_received, "bytes received");
    report_out_total(out, a->bytes_delivered, "bytes delivered");
    report_out_total(out, report_topk_distinct(a->senders), "senders");
    report_out_total(out, report_topk_distinct(a->sender_domains), "sending hosts/domains");
    report_out_total(out, report_topk_distinct(a->recipients), "recipients");
    report_out_total(out, report_topk_distinct(a->recipient_domains), "recipient hosts/domains");

    if (a->ndays > 0) {
        report_out_heading(out, "Per-Day Traffic Summary");
        buf_printf(out, "   %-10s", "date");
        for (int s = 0; s < REPORT_S_COUNT; s++)
            buf_printf(out, " %10s", report_out_series[s]);
        buf_putc(out, '\n');
        for (size_t d = 0; d < a->ndays; d++) {
            int ymd = a->days[d].ymd;
            buf_printf(out, "   %04d-%02d-%02d", ymd / 10000, ymd / 100 % 100, ymd % 100);
            for (int s = 0; s < REPORT_S_COUNT; s++)
                buf_printf(out, " %10llu", (unsigned long long)a->days[d].c[s]);
            buf_putc(out, '\n');
        }
        report_out_heading(out, "Per-Hour Traffic Summary (totals over all days)");
        buf_printf(out, "   %-10s", "time");
        for (int s = 0; s < REPORT_S_COUNT; s++)
            buf_printf(out, " %10s", report_out_series[s]);
        buf_putc(out, '\n');
        for (int h = 0; h < 24; h++) {
            buf_printf(out, "   %02d00-%02d00 ", h, h + 1);
            for (int s = 0; s < REPORT_S_COUNT; s++)
                buf_printf(out, " %10llu", (unsigned long long)a->hour[h][s]);
            buf_putc(out, '\n');
        }
    }

    report_out_delays_text(a, out);

    size_t n = o->topn;
    report_out_delivery_domains(a, out, n);
    report_out_list(out, "Host/Domain Summary: Messages Received (count, bytes, domain)",
                    a->sender_domains, true, false, n);
    report_out_list(out, "Sending hosts (SMTP clients)", a->sending_hosts, false, false, n);
    report_out_list(out, "Next hops of delivered mail (count, bytes, relay)", a->relays, true,
                    false, n);
    report_out_list(out, "Senders by message count", a->senders, false, false, n);
    report_out_list(out, "Recipients by message count", a->recipients, false, false, n);
    report_out_list(out, "Senders by message size (count, bytes, sender)", a->senders, true, true, n);
    report_out_list(out, "Recipients by message size (count, bytes, recipient)", a->recipients,
                    true, true, n);
    report_out_list(out, "message deferral detail", a->defer_reasons, false, false, n);
    report_out_list(out, "message bounce detail", a->bounce_reasons, false, false, n);
    report_out_list(out, "message reject detail", a->reject_reasons, false, false, n);
    report_out_list(out, "message reject warning detail", a->warn_reasons, false, false, n);
    report_out_list(out, "message hold detail", a->held_reasons, false, false, n);
    report_out_list(out, "message discard detail", a->discard_reasons, false, false, n);

    if (a->connects + a->disconnects + a->lost > 0) {
        report_out_heading(out, "SMTP server connections");
        report_out_total(out, a->connects, "connections");
        report_out_total(out, a->disconnects, "disconnections");
        report_out_total(out, a->lost, "lost connections / timeouts");
        report_out_total(out, a->tls, "TLS connections");
        report_out_total(out, a->sasl_failures, "SASL authentication failures");
        report_out_total(out, a->commands, "SMTP commands");
        report_out_total(out, a->bad_commands, "SMTP commands that failed");
        if (a->postscreen)
            report_out_total(out, a->postscreen, "postscreen lines");
        const report_hist *h = &a->session_time;
        if (h->n > 0)
            buf_printf(out, "   session time: avg %.1fs, p50 %.1fs, p90 %.1fs, max %.0fs over %llu sessions\n",
                       h->sum / (double)h->n, report_hist_quantile(h, 0.5),
                       report_hist_quantile(h, 0.9), h->max, (unsigned long long)h->n);
        report_out_list(out, "Connecting hosts", a->connect_hosts, false, false, n);
        report_out_list(out, "Lost connections, by stage", a->lost_stages, false, false, n);
        report_out_list(out, "SASL failures, by host", a->sasl_hosts, false, false, n);
    }

    if (a->logins + a->login_failures + a->logouts + a->mbox_deliveries > 0) {
        report_out_heading(out, "Mailbox access and delivery (Dovecot)");
        report_out_total(out, a->mbox_deliveries, "mailbox deliveries (LMTP/LDA)");
        report_out_total(out, a->mbox_delivery_failures, "mailbox delivery failures");
        report_out_total(out, a->logins, "logins");
        report_out_total(out, a->login_failures, "failed logins");
        report_out_total(out, a->logouts, "logouts");
        report_out_list(out, "Logins, by user", a->login_users, false, false, n);
        report_out_list(out, "Failed logins, by user", a->login_fail_users, false, false, n);
        report_out_list(out, "Failed logins, by client address", a->login_fail_hosts, false,
                        false, n);
    }

    report_out_heading(out, "Problems");
    report_out_total(out, a->n_warnings, "warnings");
    report_out_total(out, a->n_errors, "errors");
    report_out_total(out, a->n_fatals, "fatal errors");
    report_out_total(out, a->n_panics, "panics");
    report_out_list(out, "Warnings", a->warnings, false, false, n);
    report_out_list(out, "Errors", a->errors, false, false, n);
    report_out_list(out, "Fatal Errors", a->fatals, false, false, n);
    report_out_list(out, "Panics", a->panics, false, false, n);
    if (a->msgs_untracked > 0)
        buf_printf(out, "\nnote: %llu messages were not tracked (more than %u open at once); "
                        "their sizes are missing from the byte totals\n",
                   (unsigned long long)a->msgs_untracked, REPORT_AGG_MAX_OPEN);
}

/* ---- JSON -------------------------------------------------------------------- */

static void report_out_jlist_ex(const report_agg *a, buf *out, const char *name,
                                const report_topk *t, bool by_bytes, size_t topn, bool domains)
{
    const report_topk_item **v = mem_alloc((topn ? topn : 1) * sizeof(*v));
    size_t k = report_topk_sorted(t, by_bytes, v, topn);
    buf_printf(out, "\"%s\":{\"distinct\":%llu,\"exact\":%s,\"items\":[", name,
               (unsigned long long)report_topk_distinct(t), t->exact ? "true" : "false");
    for (size_t i = 0; i < k; i++) {
        buf_puts(out, i ? ",{\"key\":" : "{\"key\":");
        report_out_jstr(out, v[i]->key, v[i]->keylen);
        buf_printf(out, ",\"count\":%llu,\"bytes\":%llu,\"error\":%llu",
                   (unsigned long long)v[i]->count, (unsigned long long)v[i]->bytes,
                   (unsigned long long)v[i]->err);
        if (domains) {
            uint64_t defers;
            double avg, max;
            report_out_domain_extra(a, v[i], &defers, &avg, &max);
            buf_printf(out, ",\"defers\":%llu,\"delay_avg\":%.3f,\"delay_max\":%.3f",
                       (unsigned long long)defers, avg, max);
        }
        buf_putc(out, '}');
    }
    buf_puts(out, "]}");
    mem_free(&v);
}

static void report_out_jlist(buf *out, const char *name, const report_topk *t, bool by_bytes,
                             size_t topn)
{
    report_out_jlist_ex(NULL, out, name, t, by_bytes, topn, false);
}

static void report_out_jhist(buf *out, const report_hist *h)
{
    buf_printf(out, "{\"count\":%llu,\"avg\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
               (unsigned long long)h->n, h->n ? h->sum / (double)h->n : 0.0,
               report_hist_quantile(h, 0.5), report_hist_quantile(h, 0.9),
               report_hist_quantile(h, 0.99), h->max);
}

#define JU(name, v) buf_printf(out, "\"%s\":%llu,", name, (unsigned long long)(v))

void report_out_json(const report_agg *a, const report_out_opts *o, buf *out)
{
    char t1[40], t2[40];
    report_out_time(a, a->first_time, t1, sizeof(t1));
    report_out_time(a, a->last_time, t2, sizeof(t2));
    buf_puts(out, "{\"files\":[");
    for (int i = 0; i < o->nfiles; i++) {
        if (i)
            buf_putc(out, ',');
        report_out_jstr(out, o->files[i], strlen(o->files[i]));
    }
    buf_printf(out, "],\"period\":{\"first\":\"%s\",\"last\":\"%s\"},", t1, t2);
    buf_puts(out, "\"lines\":{");
    JU("total", a->lines);
    JU("unknown", a->unknown);
    JU("truncated", a->truncated);
    JU("binary", a->binary);
    JU("other", a->other);
    buf_puts(out, "\"formats\":{");
    bool first = true;
    for (int f = 1; f < LOGF_COUNT; f++) {
        if (a->by_format[f] == 0)
            continue;
        buf_printf(out, "%s\"%s\":%llu", first ? "" : ",", logline_format_name((enum logline_format)f),
                   (unsigned long long)a->by_format[f]);
        first = false;
    }
    buf_puts(out, "}},\"totals\":{");
    JU("received", a->received);
    JU("delivered", a->delivered);
    JU("forwarded", a->forwarded);
    JU("deferred", a->deferred);
    JU("deferrals", a->deferrals);
    JU("bounced", a->bounced);
    JU("expired", a->expired);
    JU("rejected", a->rejected);
    buf_printf(out, "\"rejected_pct\":%d,", report_agg_pct(a, a->rejected));
    JU("reject_warnings", a->reject_warnings);
    JU("held", a->held);
    JU("discarded", a->discarded);
    buf_printf(out, "\"discarded_pct\":%d,", report_agg_pct(a, a->discarded));
    JU("notifications", a->notifications);
    JU("bytes_received", a->bytes_received);
    JU("bytes_delivered", a->bytes_delivered);
    JU("deliveries_without_size", a->no_size);
    JU("senders", report_topk_distinct(a->senders));
    JU("sending_domains", report_topk_distinct(a->sender_domains));
    JU("recipients", report_topk_distinct(a->recipients));
    buf_printf(out, "\"recipient_domains\":%llu},",
               (unsigned long long)report_topk_distinct(a->recipient_domains));

    buf_puts(out, "\"per_day\":[");
    for (size_t d = 0; d < a->ndays; d++) {
        int ymd = a->days[d].ymd;
        buf_printf(out, "%s{\"date\":\"%04d-%02d-%02d\"", d ? "," : "", ymd / 10000,
                   ymd / 100 % 100, ymd % 100);
        for (int s = 0; s < REPORT_S_COUNT; s++)
            buf_printf(out, ",\"%s\":%llu", report_out_series[s],
                       (unsigned long long)a->days[d].c[s]);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"per_hour\":[");
    for (int h = 0; h < 24; h++) {
        buf_printf(out, "%s{\"hour\":%d", h ? "," : "", h);
        for (int s = 0; s < REPORT_S_COUNT; s++)
            buf_printf(out, ",\"%s\":%llu", report_out_series[s], (unsigned long long)a->hour[h][s]);
        buf_putc(out, '}');
    }
    buf_puts(out, "],\"delays\":{");
    for (int i = 0; i < REPORT_D_COUNT; i++) {
        buf_printf(out, "%s\"%s\":", i ? "," : "", report_out_delay_names[i]);
        report_out_jhist(out, &a->delay[i]);
    }
    size_t n = o->topn;
    buf_puts(out, "},\"top\":{");
    report_out_jlist(out, "senders", a->senders, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "senders_by_size", a->senders, true, n);
    buf_putc(out, ',');
    report_out_jlist(out, "recipients", a->recipients, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "recipients_by_size", a->recipients, true, n);
    buf_putc(out, ',');
    report_out_jlist(out, "sending_domains", a->sender_domains, false, n);
    buf_putc(out, ',');
    report_out_jlist_ex(a, out, "recipient_domains", a->recipient_domains, false, n, true);
    buf_putc(out, ',');
    report_out_jlist(out, "deferral_domains", a->defer_domains, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "sending_hosts", a->sending_hosts, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "relays", a->relays, false, n);
    buf_puts(out, "},\"reasons\":{");
    report_out_jlist(out, "deferred", a->defer_reasons, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "bounced", a->bounce_reasons, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "rejected", a->reject_reasons, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "reject_warnings", a->warn_reasons, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "held", a->held_reasons, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "discarded", a->discard_reasons, false, n);
    buf_puts(out, "},\"problems\":{");
    JU("warnings", a->n_warnings);
    JU("errors", a->n_errors);
    JU("fatals", a->n_fatals);
    JU("panics", a->n_panics);
    report_out_jlist(out, "warning_list", a->warnings, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "error_list", a->errors, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "fatal_list", a->fatals, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "panic_list", a->panics, false, n);
    buf_puts(out, "},\"smtpd\":{");
    JU("connects", a->connects);
    JU("disconnects", a->disconnects);
    JU("lost", a->lost);
    JU("tls", a->tls);
    JU("sasl_failures", a->sasl_failures);
    JU("commands", a->commands);
    JU("bad_commands", a->bad_commands);
    JU("postscreen", a->postscreen);
    buf_puts(out, "\"session_seconds\":");
    report_out_jhist(out, &a->session_time);
    buf_putc(out, ',');
    report_out_jlist(out, "hosts", a->connect_hosts, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "lost_stages", a->lost_stages, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "sasl_hosts", a->sasl_hosts, false, n);
    buf_puts(out, "},\"mailbox\":{");
    JU("deliveries", a->mbox_deliveries);
    JU("delivery_failures", a->mbox_delivery_failures);
    JU("logins", a->logins);
    JU("login_failures", a->login_failures);
    JU("logouts", a->logouts);
    report_out_jlist(out, "login_users", a->login_users, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "login_fail_users", a->login_fail_users, false, n);
    buf_putc(out, ',');
    report_out_jlist(out, "login_fail_hosts", a->login_fail_hosts, false, n);
    buf_puts(out, "},\"memory\":{");
    JU("open_messages_untracked", a->msgs_untracked);
    buf_printf(out, "\"open_messages_at_end\":%zu}}\n", a->msgs_n);
}
