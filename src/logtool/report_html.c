/*
 * report_html - the HTML form of "postie log report": one page, inline CSS,
 * charts drawn as inline SVG by this file.  No JavaScript and nothing
 * fetched from the network, so the page opens offline, from a mail
 * attachment or a file:// URL, and cannot run anything a log line smuggled
 * in: every string from the log goes through report_html_esc.
 *
 * Charts: outcome shares (a stacked bar), traffic per hour and per day
 * (grouped bars), delay percentiles per part of delays= (horizontal bars on
 * a log scale, since a 0.01 s and a 3 h delay must both be visible).
 */
#include "logtool/report_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/mem.h"

/* One colour per series (received, delivered, deferred, bounced, rejected). */
static const char *const report_html_colors[REPORT_S_COUNT] = {
    "#4e79a7", "#59a14f", "#f2a93b", "#e15759", "#9c6ade",
};

void report_html_esc(buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '<': buf_puts(out, "&lt;"); break;
        case '>': buf_puts(out, "&gt;"); break;
        case '&': buf_puts(out, "&amp;"); break;
        case '"': buf_puts(out, "&quot;"); break;
        case '\'': buf_puts(out, "&#39;"); break;
        default:
            buf_putc(out, c < 0x20 || c == 0x7f ? '?' : c);
        }
    }
}

static void report_html_escs(buf *out, const char *s)
{
    report_html_esc(out, s, strlen(s));
}

/* A "nice" axis maximum: 1, 2 or 5 times a power of ten, >= v. */
static double report_html_nice(double v)
{
    if (v <= 1)
        return 1;
    double p = pow(10, floor(log10(v)));
    for (int i = 0; i < 3; i++) {
        double m = (i == 0 ? 1 : i == 1 ? 2 : 5) * p;
        if (m >= v)
            return m;
    }
    return 10 * p;
}

static void report_html_legend(buf *out)
{
    buf_puts(out, "<div class=legend>");
    for (int s = 0; s < REPORT_S_COUNT; s++)
        buf_printf(out, "<span><i style=\"background:%s\"></i>%s</span>", report_html_colors[s],
                   report_out_series[s]);
    buf_puts(out, "</div>\n");
}

/*
 * Grouped bars: ngroups groups of REPORT_S_COUNT bars, values[g][s],
 * labels[g] under each group (every `every`th shown).
 */
static void report_html_bars(buf *out, const char *title, size_t ngroups,
                             const uint64_t (*values)[REPORT_S_COUNT], char (*labels)[16],
                             size_t every)
{
    const double W = 960, H = 300, L = 56, R = 12, T = 16, B = 40;
    uint64_t maxv = 0;
    for (size_t g = 0; g < ngroups; g++)
        for (int s = 0; s < REPORT_S_COUNT; s++)
            if (values[g][s] > maxv)
                maxv = values[g][s];
    double top = report_html_nice((double)maxv);
    double pw = W - L - R, ph = H - T - B;
    double gw = pw / (double)(ngroups ? ngroups : 1);
    double bw = gw * 0.8 / REPORT_S_COUNT;
    buf_printf(out, "<figure><figcaption>%s</figcaption>\n", title);
    buf_printf(out, "<svg class=chart viewBox=\"0 0 %.0f %.0f\" role=img>\n", W, H);
    /* Grid and y labels: 4 steps for a top of 2*10^k, else 5, so that
     * every label is a round number. */
    int steps = (int)(top / pow(10, floor(log10(top))) + 0.5) == 2 ? 4 : 5;
    for (int i = 0; i <= steps; i++) {
        double y = T + ph - ph * i / steps;
        buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=grid />"
                        "<text x=\"%.1f\" y=\"%.1f\" class=ylab>%.*f</text>\n",
                   L, y, W - R, y, L - 6, y + 4, top >= 5 ? 0 : 1, top * i / steps);
    }
    for (size_t g = 0; g < ngroups; g++) {
        double x0 = L + gw * (double)g + gw * 0.1;
        for (int s = 0; s < REPORT_S_COUNT; s++) {
            uint64_t v = values[g][s];
            if (v == 0)
                continue;
            double h = ph * (double)v / top;
            buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"%s\"><title>%s %s: %llu</title></rect>\n",
                       x0 + bw * s, T + ph - h, bw > 1 ? bw - 0.5 : bw, h, report_html_colors[s],
                       labels[g], report_out_series[s], (unsigned long long)v);
        }
        if (every > 0 && g % every == 0)
            buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" class=xlab>%s</text>\n", x0 + gw * 0.4,
                       H - B + 16, labels[g]);
    }
    buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=axis />\n", L,
               T + ph, W - R, T + ph);
    buf_puts(out, "</svg>\n");
    report_html_legend(out);
    buf_puts(out, "</figure>\n");
}

/* Outcomes as one stacked bar: what became of the mail. */
static void report_html_outcomes(const report_agg *a, buf *out)
{
    struct {
        const char *name, *color;
        uint64_t v;
    } parts[] = {
        {"delivered", report_html_colors[1], a->delivered},
        {"forwarded", "#76b7b2", a->forwarded},
        {"deferred (messages)", report_html_colors[2], a->deferred},
        {"bounced", report_html_colors[3], a->bounced},
        {"rejected", report_html_colors[4], a->rejected},
        {"held", "#bab0ac", a->held},
        {"discarded", "#9d7660", a->discarded},
    };
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        sum += parts[i].v;
    if (sum == 0)
        return;
    const double W = 960, H = 44;
    double x = 0;
    buf_puts(out, "<figure><figcaption>What became of the mail</figcaption>\n");
    buf_printf(out, "<svg class=chart viewBox=\"0 0 %.0f %.0f\" role=img>\n", W, H);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (parts[i].v == 0)
            continue;
        double w = W * (double)parts[i].v / (double)sum;
        buf_printf(out, "<rect x=\"%.1f\" y=\"4\" width=\"%.1f\" height=\"36\" fill=\"%s\">"
                        "<title>%s: %llu</title></rect>\n",
                   x, w, parts[i].color, parts[i].name, (unsigned long long)parts[i].v);
        if (w > 60)
            buf_printf(out, "<text x=\"%.1f\" y=\"27\" class=inbar>%s %llu</text>\n", x + 6,
                       parts[i].name, (unsigned long long)parts[i].v);
        x += w;
    }
    buf_puts(out, "</svg>\n<div class=legend>");
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        buf_printf(out, "<span><i style=\"background:%s\"></i>%s %llu</span>", parts[i].color,
                   parts[i].name, (unsigned long long)parts[i].v);
    buf_puts(out, "</div></figure>\n");
}

/* Delay percentiles: for each part, bars for p50, p90, p99 and max (log scale). */
static void report_html_delays(const report_agg *a, buf *out)
{
    if (a->delay[REPORT_D_TOTAL].n == 0)
        return;
    static const char *const qname[4] = {"p50", "p90", "p99", "max"};
    static const char *const qcolor[4] = {"#4e79a7", "#f28e2b", "#e15759", "#76706c"};
    double maxv = a->delay[REPORT_D_TOTAL].max;
    for (int i = 1; i < REPORT_D_COUNT; i++)
        if (a->delay[i].max > maxv)
            maxv = a->delay[i].max;
    /* Scale: log10 from 0.01 s to the maximum (at least 1 s). */
    double lo = 0.01, hi = maxv > 1 ? maxv : 1;
    const double W = 960, L = 90, R = 80, rowh = 18, groupgap = 10;
    int rows = 0;
    for (int i = 0; i < REPORT_D_COUNT; i++)
        rows += a->delay[i].n > 0;
    double H = rows * (4 * rowh + groupgap) + 30;
    buf_puts(out, "<figure><figcaption>Delays of delivered recipients, seconds (log scale)</figcaption>\n");
    buf_printf(out, "<svg class=chart viewBox=\"0 0 %.0f %.0f\" role=img>\n", W, H);
    double y = 8, pw = W - L - R;
    for (int i = 0; i < REPORT_D_COUNT; i++) {
        const report_hist *h = &a->delay[i];
        if (h->n == 0)
            continue;
        double q[4] = {report_hist_quantile(h, 0.5), report_hist_quantile(h, 0.9),
                       report_hist_quantile(h, 0.99), h->max};
        buf_printf(out, "<text x=\"4\" y=\"%.1f\" class=dlab>%s</text>\n", y + 2 * rowh,
                   i == 0 ? "delay" : report_out_delay_names[i]);
        for (int k = 0; k < 4; k++) {
            double v = q[k] < lo ? lo : q[k];
            double w = pw * log10(v / lo) / log10(hi / lo);
            if (w < 2)
                w = 2;
            buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                            "<title>%s %s: %.2f s</title></rect>"
                            "<text x=\"%.1f\" y=\"%.1f\" class=val>%s %.2f</text>\n",
                       L, y, w, rowh - 3, qcolor[k], report_out_delay_names[i], qname[k], q[k],
                       L + w + 4, y + rowh - 6, qname[k], q[k]);
            y += rowh;
        }
        y += groupgap;
    }
    buf_puts(out, "</svg>\n<p class=note>");
    for (int i = 0; i < REPORT_D_COUNT; i++) {
        buf_printf(out, "<b>%s</b>: %s. ", report_out_delay_names[i], report_out_delay_help[i]);
    }
    buf_puts(out, "</p></figure>\n");
}

static void report_html_table(buf *out, const char *title, const report_topk *t, bool bytes,
                              bool by_bytes, size_t topn)
{
    if (t->n == 0)
        return;
    const report_topk_item **v = mem_alloc(topn * sizeof(*v));
    size_t k = report_topk_sorted(t, by_bytes, v, topn);
    uint64_t top = k ? (by_bytes ? v[0]->bytes : v[0]->count) : 1;
    if (top == 0)
        top = 1;
    buf_printf(out, "<section class=tbl><h3>%s</h3>", title);
    if (!t->exact)
        buf_puts(out, "<p class=note>approximate: more distinct values than the table keeps; "
                      "a count marked ~ may be over by its error</p>");
    buf_printf(out, "<table><tr><th>count</th>%s<th></th><th>%s</th></tr>\n",
               bytes ? "<th>bytes</th>" : "", "value");
    for (size_t i = 0; i < k; i++) {
        uint64_t val = by_bytes ? v[i]->bytes : v[i]->count;
        buf_printf(out, "<tr><td class=n>%s%llu</td>", v[i]->err ? "~" : "",
                   (unsigned long long)v[i]->count);
        if (bytes)
            buf_printf(out, "<td class=n>%llu</td>", (unsigned long long)v[i]->bytes);
        buf_printf(out, "<td class=bar><svg viewBox=\"0 0 100 8\" preserveAspectRatio=none>"
                        "<rect width=\"%.1f\" height=\"8\" fill=\"#4e79a7\"/></svg></td><td>",
                   100.0 * (double)val / (double)top);
        report_html_esc(out, v[i]->key, v[i]->keylen);
        buf_puts(out, "</td></tr>\n");
    }
    buf_puts(out, "</table>");
    if (t->n > k)
        buf_printf(out, "<p class=note>%zu more</p>", t->n - k);
    buf_puts(out, "</section>\n");
    mem_free(&v);
}

static void report_html_card(buf *out, const char *name, uint64_t v, const char *extra)
{
    buf_printf(out, "<div class=card><div class=num>%llu</div><div>%s%s</div></div>",
               (unsigned long long)v, name, extra);
}

static const char report_html_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc}"
    "h3{font-size:15px;margin:8px 0}.meta{color:#555}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}"
    ".card .num{font-size:22px;font-weight:600}"
    "figure{margin:12px 0;background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}"
    "figcaption{font-weight:600;margin-bottom:6px}svg.chart{width:100%;height:auto}"
    ".grid{stroke:#e4e4e4}.axis{stroke:#888}.ylab{font-size:11px;text-anchor:end;fill:#555}"
    ".xlab{font-size:11px;text-anchor:middle;fill:#555}.dlab{font-size:13px;font-weight:600}"
    ".val{font-size:11px;fill:#333}.inbar{font-size:12px;fill:#fff}"
    ".legend span{margin-right:14px;font-size:12px}"
    ".legend i{display:inline-block;width:10px;height:10px;margin-right:4px}"
    ".tbls{display:flex;flex-wrap:wrap;gap:14px}"
    ".tbl{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:300px;max-width:100%}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}td.bar{width:80px}"
    "td.bar svg{width:80px;height:8px}tr:nth-child(even){background:#f4f4f4}"
    ".note{color:#666;font-size:12px}";

void report_html_write(const report_agg *a, const report_out_opts *o, buf *out)
{
    char t1[40], t2[40], pct[32];
    size_t n = o->topn;
    report_out_time(a, a->first_time, t1, sizeof(t1));
    report_out_time(a, a->last_time, t2, sizeof(t2));
    buf_puts(out, "<!DOCTYPE html>\n<html lang=en><head><meta charset=\"utf-8\">"
                  "<meta name=viewport content=\"width=device-width\">"
                  "<title>postie log report</title><style>");
    buf_puts(out, report_html_css);
    buf_puts(out, "</style></head><body>\n<h1>Mail log report</h1>\n<p class=meta>");
    for (int i = 0; i < o->nfiles; i++) {
        if (i)
            buf_puts(out, ", ");
        report_html_escs(out, o->files[i]);
    }
    buf_printf(out, "<br>%s &ndash; %s &middot; %llu lines (%llu not understood, %llu truncated, "
                    "%llu binary)</p>\n",
               t1, t2, (unsigned long long)a->lines, (unsigned long long)a->unknown,
               (unsigned long long)a->truncated, (unsigned long long)a->binary);

    buf_puts(out, "<h2>Grand totals</h2><div class=cards>");
    report_html_card(out, "received", a->received, "");
    report_html_card(out, "delivered", a->delivered, "");
    report_html_card(out, "forwarded", a->forwarded, "");
    snprintf(pct, sizeof(pct), " (%llu deferrals)", (unsigned long long)a->deferrals);
    report_html_card(out, "deferred", a->deferred, pct);
    report_html_card(out, "bounced", a->bounced, "");
    report_html_card(out, "expired", a->expired, "");
    snprintf(pct, sizeof(pct), " (%d%%)", report_agg_pct(a, a->rejected));
    report_html_card(out, "rejected", a->rejected, pct);
    report_html_card(out, "reject warnings", a->reject_warnings, "");
    report_html_card(out, "held", a->held, "");
    snprintf(pct, sizeof(pct), " (%d%%)", report_agg_pct(a, a->discarded));
    report_html_card(out, "discarded", a->discarded, pct);
    report_html_card(out, "bytes received", a->bytes_received, "");
    report_html_card(out, "bytes delivered", a->bytes_delivered, "");
    report_html_card(out, "senders", report_topk_distinct(a->senders), "");
    report_html_card(out, "recipients", report_topk_distinct(a->recipients), "");
    buf_puts(out, "</div>\n");
    report_html_outcomes(a, out);

    buf_puts(out, "<h2>Traffic</h2>\n");
    {
        char labels[24][16];
        for (int h = 0; h < 24; h++)
            snprintf(labels[h], sizeof(labels[h]), "%02d:00", h);
        report_html_bars(out, "Per hour (totals over all days)", 24,
                         (const uint64_t(*)[REPORT_S_COUNT])a->hour, labels, 2);
    }
    if (a->ndays > 0) {
        /* At most the last 366 days are drawn; the JSON has them all. */
        size_t from = a->ndays > 366 ? a->ndays - 366 : 0, nd = a->ndays - from;
        char(*labels)[16] = mem_zalloc(nd * sizeof(*labels));
        uint64_t(*vals)[REPORT_S_COUNT] = mem_zalloc(nd * sizeof(*vals));
        for (size_t d = 0; d < nd; d++) {
            int ymd = a->days[from + d].ymd;
            snprintf(labels[d], sizeof(labels[d]), "%04d-%02d-%02d", ymd / 10000, ymd / 100 % 100,
                     ymd % 100);
            memcpy(vals[d], a->days[from + d].c, sizeof(vals[d]));
        }
        report_html_bars(out, "Per day", nd, (const uint64_t(*)[REPORT_S_COUNT])vals, labels,
                         nd <= 14 ? 1 : nd / 10);
        mem_free(&labels);
        mem_free(&vals);
    }

    buf_puts(out, "<h2>Delays</h2>\n");
    report_html_delays(a, out);

    buf_puts(out, "<h2>Senders and recipients</h2><div class=tbls>\n");
    report_html_table(out, "Senders by count", a->senders, true, false, n);
    report_html_table(out, "Recipients by count", a->recipients, true, false, n);
    report_html_table(out, "Senders by size", a->senders, true, true, n);
    report_html_table(out, "Recipients by size", a->recipients, true, true, n);
    report_html_table(out, "Sending domains", a->sender_domains, true, false, n);
    report_html_table(out, "Recipient domains", a->recipient_domains, true, false, n);
    report_html_table(out, "Sending hosts", a->sending_hosts, false, false, n);
    report_html_table(out, "Next hops", a->relays, true, false, n);
    buf_puts(out, "</div>\n<h2>Why mail did not go through</h2><div class=tbls>\n");
    report_html_table(out, "Deferral reasons", a->defer_reasons, false, false, n);
    report_html_table(out, "Deferrals by recipient domain", a->defer_domains, false, false, n);
    report_html_table(out, "Bounce reasons", a->bounce_reasons, false, false, n);
    report_html_table(out, "Reject reasons", a->reject_reasons, false, false, n);
    report_html_table(out, "Reject warnings", a->warn_reasons, false, false, n);
    report_html_table(out, "Held", a->held_reasons, false, false, n);
    report_html_table(out, "Discarded", a->discard_reasons, false, false, n);
    buf_puts(out, "</div>\n");

    buf_puts(out, "<h2>SMTP server connections</h2><div class=cards>");
    report_html_card(out, "connections", a->connects, "");
    report_html_card(out, "disconnections", a->disconnects, "");
    report_html_card(out, "lost / timeouts", a->lost, "");
    report_html_card(out, "TLS", a->tls, "");
    report_html_card(out, "SASL failures", a->sasl_failures, "");
    report_html_card(out, "commands", a->commands, "");
    report_html_card(out, "failed commands", a->bad_commands, "");
    buf_puts(out, "</div>");
    if (a->session_time.n > 0)
        buf_printf(out, "<p>Session time: average %.1f s, p50 %.1f s, p90 %.1f s, max %.0f s over %llu sessions.</p>",
                   a->session_time.sum / (double)a->session_time.n,
                   report_hist_quantile(&a->session_time, 0.5),
                   report_hist_quantile(&a->session_time, 0.9), a->session_time.max,
                   (unsigned long long)a->session_time.n);
    buf_puts(out, "<div class=tbls>");
    report_html_table(out, "Connecting hosts", a->connect_hosts, false, false, n);
    report_html_table(out, "Lost connections by stage", a->lost_stages, false, false, n);
    report_html_table(out, "SASL failures by host", a->sasl_hosts, false, false, n);
    buf_puts(out, "</div>\n");

    if (a->logins + a->login_failures + a->logouts + a->mbox_deliveries > 0) {
        buf_puts(out, "<h2>Mailbox access and delivery (Dovecot)</h2><div class=cards>");
        report_html_card(out, "mailbox deliveries", a->mbox_deliveries, "");
        report_html_card(out, "delivery failures", a->mbox_delivery_failures, "");
        report_html_card(out, "logins", a->logins, "");
        report_html_card(out, "failed logins", a->login_failures, "");
        report_html_card(out, "logouts", a->logouts, "");
        buf_puts(out, "</div><div class=tbls>");
        report_html_table(out, "Logins by user", a->login_users, false, false, n);
        report_html_table(out, "Failed logins by user", a->login_fail_users, false, false, n);
        report_html_table(out, "Failed logins by address", a->login_fail_hosts, false, false, n);
        buf_puts(out, "</div>\n");
    }

    buf_puts(out, "<h2>Problems</h2><div class=cards>");
    report_html_card(out, "warnings", a->n_warnings, "");
    report_html_card(out, "errors", a->n_errors, "");
    report_html_card(out, "fatal errors", a->n_fatals, "");
    report_html_card(out, "panics", a->n_panics, "");
    buf_puts(out, "</div><div class=tbls>");
    report_html_table(out, "Warnings", a->warnings, false, false, n);
    report_html_table(out, "Errors", a->errors, false, false, n);
    report_html_table(out, "Fatal errors", a->fatals, false, false, n);
    report_html_table(out, "Panics", a->panics, false, false, n);
    buf_puts(out, "</div>\n<p class=note>Made by postie log report. Counts follow pflogsumm where "
                  "both count the same thing; see docs/logreport.md.</p>\n</body></html>\n");
}
