/*
 * report_agg - one-pass aggregation of parsed mail log lines for
 * "postie log report".  See report_agg.h for what is counted and why.
 *
 * The per-line path is a switch on the event the parser found; the only
 * lookups are the open-message table (queue ID -> size, flags), the smtpd
 * session table (pid -> connect time) and the top lists, all open
 * addressing with linear probing and backward-shift deletion, so a log
 * that never says "removed" for some messages cannot make them slow.
 */
#include "logtool/report_agg.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/mem.h"

/* report_msg.flags */
#define RMSG_RECEIVED 0x01      /* a client=/pickup line was seen */
#define RMSG_SIZED 0x02         /* its first from=, size= line was seen */
#define RMSG_DEFERRED 0x04      /* counted once in "deferred" */
#define RMSG_PICKUP 0x08        /* received by pickup (local submission) */

#define REPORT_AGG_MSGS_MIN 4096
#define REPORT_AGG_SESS_SLOTS (REPORT_AGG_MAX_SESSIONS * 2)

/* Every top list of the aggregate, so that creation and destruction cannot
 * drift apart.  Returns how many it wrote to lists (room for
 * REPORT_AGG_NLISTS). */
#define REPORT_AGG_NLISTS 23
static size_t report_agg_lists(report_agg *a, report_topk **lists[REPORT_AGG_NLISTS])
{
    report_topk **all[] = {
        &a->senders, &a->sender_domains, &a->recipients, &a->recipient_domains,
        &a->sending_hosts, &a->relays, &a->defer_domains, &a->defer_reasons, &a->bounce_reasons,
        &a->reject_reasons, &a->held_reasons, &a->discard_reasons, &a->warn_reasons,
        &a->warnings, &a->errors, &a->fatals, &a->panics, &a->connect_hosts,
        &a->lost_stages, &a->sasl_hosts, &a->login_users, &a->login_fail_users,
        &a->login_fail_hosts,
    };
    _Static_assert(sizeof(all) / sizeof(all[0]) == REPORT_AGG_NLISTS,
                   "REPORT_AGG_NLISTS counts the lists");
    memcpy(lists, all, sizeof(all));
    return REPORT_AGG_NLISTS;
}

report_agg *report_agg_new(long utcoff)
{
    report_agg *a = mem_zalloc(sizeof(*a));
    a->utcoff = utcoff;
    a->first_time = a->last_time = -1;
    a->cache_hkey = -1;
    report_topk **lists[REPORT_AGG_NLISTS];
    size_t nlists = report_agg_lists(a, lists);
    for (size_t i = 0; i < nlists; i++)
        *lists[i] = report_topk_new(REPORT_AGG_TOPK, REPORT_AGG_KEYMAX);
    a->msgs_slots = REPORT_AGG_MSGS_MIN;
    a->msgs = mem_zalloc(a->msgs_slots * sizeof(*a->msgs));
    a->sess_slots = REPORT_AGG_SESS_SLOTS;
    a->sess = mem_zalloc(a->sess_slots * sizeof(*a->sess));
    return a;
}

void report_agg_free(report_agg **ap)
{
    report_agg *a = *ap;
    if (a == NULL)
        return;
    report_topk **lists[REPORT_AGG_NLISTS];
    size_t nlists = report_agg_lists(a, lists);
    for (size_t i = 0; i < nlists; i++)
        report_topk_free(lists[i]);
    mem_free(&a->days);
    mem_free(&a->msgs);
    mem_free(&a->sess);
    mem_free(ap);
}

int report_agg_pct(const report_agg *a, uint64_t part)
{
    /* pflogsumm: share of delivered + rejected + discarded, truncated. */
    uint64_t all = a->delivered + a->rejected + a->discarded;
    return all ? (int)(part * 100 / all) : 0;
}

/* ---- open messages --------------------------------------------------------- */

static size_t report_agg_msg_slot(const report_msg *tab, size_t slots, const char *q, size_t n)
{
    size_t mask = slots - 1;
    size_t s = (size_t)report_topk_hash(q, n) & mask;
    while (tab[s].len != 0 && !(tab[s].len == n && memcmp(tab[s].qid, q, n) == 0))
        s = (s + 1) & mask;
    return s;
}

static void report_agg_msgs_grow(report_agg *a)
{
    size_t old = a->msgs_slots;
    report_msg *otab = a->msgs;
    a->msgs_slots = old * 2;
    a->msgs = mem_zalloc(a->msgs_slots * sizeof(*a->msgs));
    for (size_t i = 0; i < old; i++)
        if (otab[i].len != 0)
            a->msgs[report_agg_msg_slot(a->msgs, a->msgs_slots, otab[i].qid, otab[i].len)] = otab[i];
    mem_free(&otab);
}

/* The open message with this queue ID; create it if asked (NULL: not tracked). */
static report_msg *report_agg_msg(report_agg *a, logstr qid, bool create)
{
    if (qid.n == 0 || qid.n > sizeof(a->msgs[0].qid))
        return NULL;
    size_t s = report_agg_msg_slot(a->msgs, a->msgs_slots, qid.p, qid.n);
    if (a->msgs[s].len != 0)
        return &a->msgs[s];
    if (!create)
        return NULL;
    if (a->msgs_n >= REPORT_AGG_MAX_OPEN) {
        a->msgs_untracked++;
        return NULL;
    }
    /* Keep the load under one half, so probes stay short. */
    if ((a->msgs_n + 1) * 2 > a->msgs_slots) {
        report_agg_msgs_grow(a);
        s = report_agg_msg_slot(a->msgs, a->msgs_slots, qid.p, qid.n);
    }
    report_msg *m = &a->msgs[s];
    memcpy(m->qid, qid.p, qid.n);
    m->len = (uint8_t)qid.n;
    m->flags = 0;
    m->client_len = 0;
    m->size = -1;
    a->msgs_n++;
    return m;
}

static void report_agg_msg_remove(report_agg *a, logstr qid)
{
    report_msg *m = report_agg_msg(a, qid, false);
    if (m == NULL)
        return;
    size_t mask = a->msgs_slots - 1, s = (size_t)(m - a->msgs), j = s;
    m->len = 0;
    a->msgs_n--;
    /* Backward shift: pull later members of the probe run into the hole. */
    for (;;) {
        j = (j + 1) & mask;
        if (a->msgs[j].len == 0)
            return;
        size_t home = (size_t)report_topk_hash(a->msgs[j].qid, a->msgs[j].len) & mask;
        bool between = s <= j ? (home > s && home <= j) : (home > s || home <= j);
        if (!between) {
            a->msgs[s] = a->msgs[j];
            a->msgs[j].len = 0;
            s = j;
        }
    }
}

/* ---- smtpd sessions (pid -> connect time) ----------------------------------- */

static size_t report_agg_sess_slot(const report_agg *a, long pid)
{
    size_t mask = a->sess_slots - 1;
    size_t s = ((size_t)pid * 0x9E3779B97F4A7C15ULL) >> 20 & mask;
    while (a->sess[s].pid != 0 && a->sess[s].pid != pid)
        s = (s + 1) & mask;
    return s;
}

static void report_agg_sess_open(report_agg *a, long pid, long long t)
{
    if (pid <= 0 || t < 0)
        return;
    size_t s = report_agg_sess_slot(a, pid);
    if (a->sess[s].pid == 0) {
        if (a->sess_n >= REPORT_AGG_MAX_SESSIONS)
            return;
        a->sess_n++;
    }
    a->sess[s].pid = pid;
    a->sess[s].since = t;
}

/* Seconds since the session's connect, or -1; the session is closed. */
static long long report_agg_sess_close(report_agg *a, long pid, long long t)
{
    if (pid <= 0)
        return -1;
    size_t mask = a->sess_slots - 1, s = report_agg_sess_slot(a, pid), j = s;
    if (a->sess[s].pid == 0)
        return -1;
    long long d = t >= a->sess[s].since ? t - a->sess[s].since : -1;
    a->sess[s].pid = 0;
    a->sess_n--;
    for (;;) {
        j = (j + 1) & mask;
        if (a->sess[j].pid == 0)
            break;
        size_t home = ((size_t)a->sess[j].pid * 0x9E3779B97F4A7C15ULL) >> 20 & mask;
        bool between = s <= j ? (home > s && home <= j) : (home > s || home <= j);
        if (!between) {
            a->sess[s] = a->sess[j];
            a->sess[j].pid = 0;
            s = j;
        }
    }
    return d;
}

/* ---- helpers ----------------------------------------------------------------- */

/* The domain of an address, lower-cased into out; "" if it has none. */
static size_t report_agg_domain(logstr addr, char *out, size_t max)
{
    const char *at = addr.p ? memrchr(addr.p, '@', addr.n) : NULL;
    if (at == NULL)
        return 0;
    size_t n = addr.n - (size_t)(at + 1 - addr.p);
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)at[1 + i]);
    return n;
}

/* An address with its domain lower-cased (pflogsumm's default), "<>" if empty. */
static size_t report_agg_addr(logstr addr, char *out, size_t max)
{
    if (addr.n == 0) {
        memcpy(out, "<>", 2);
        return 2;
    }
    size_t n = addr.n < max ? addr.n : max;
    const char *at = memrchr(addr.p, '@', n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)addr.p[i];
        out[i] = at && addr.p + i > at ? (char)tolower(c) : (char)c;
    }
    return n;
}

/* "host" of a client: its name, or its address when the name is unknown. */
static logstr report_agg_client(const logline *ll)
{
    if (ll->client_host.n > 0 && !logstr_eq(ll->client_host, "unknown"))
        return ll->client_host;
    return ll->client_addr;
}

/*
 * The "domain" of a client, as pflogsumm groups senders without a domain
 * (the null sender above all): the address when the name is unknown; else
 * the last two labels of a name of three or more whose last label has three
 * letters ("mx.example.com" -> "example.com"), the last three of a name of
 * four or more ending in a two-letter label under a two- or three-letter one
 * ("smtp.example.co.uk" -> "example.co.uk"), lower-cased; any other name
 * as it is.
 */
static size_t report_agg_client_domain(const logline *ll, char *out, size_t max)
{
    logstr h = ll->client_host;
    if (h.n == 0 || logstr_eq(h, "unknown")) {
        size_t n = ll->client_addr.n < max ? ll->client_addr.n : max;
        memcpy(out, ll->client_addr.p ? ll->client_addr.p : "", n);
        return n;
    }
    /* The last three dots (d1 the last) and the label lengths they bound. */
    const char *d1 = memrchr(h.p, '.', h.n), *d2 = NULL, *d3 = NULL;
    if (d1 != NULL)
        d2 = memrchr(h.p, '.', (size_t)(d1 - h.p));
    if (d2 != NULL)
        d3 = memrchr(h.p, '.', (size_t)(d2 - h.p));
    const char *from = NULL;
    if (d2 != NULL) {
        size_t last = h.n - (size_t)(d1 + 1 - h.p), second = (size_t)(d1 - d2 - 1);
        if (last == 3)
            from = d2 + 1;
        else if (last == 2 && (second == 2 || second == 3) && d3 != NULL)
            from = d3 + 1;
    }
    bool lower = from != NULL;
    if (from == NULL)
        from = h.p;
    size_t n = h.n - (size_t)(from - h.p);
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = lower ? (char)tolower((unsigned char)from[i]) : from[i];
    return n;
}

/* A relay without its port: "mx.example.org[192.0.2.1]". */
static logstr report_agg_relay(logstr r)
{
    const char *b = r.p ? memchr(r.p, ']', r.n) : NULL;
    if (b != NULL)
        r.n = (size_t)(b + 1 - r.p);
    return r;
}

static bool report_agg_starts(logstr s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p != NULL && s.n >= n && memcmp(s.p, lit, n) == 0;
}

static void report_agg_count_time(report_agg *a, const logline *ll, enum report_series s)
{
    if (ll->time < 0)
        return;
    /* Lines come in time order: most fall in the same hour as the last one,
     * so the calendar conversion runs once an hour of log, not per line. */
    long long hkey = (ll->time + a->utcoff) / 3600;
    if (hkey != a->cache_hkey) {
        time_t t = (time_t)(ll->time + a->utcoff);
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL)
            return;
        a->cache_hkey = hkey;
        a->cache_hour = tm.tm_hour;
        a->cache_ymd = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
    }
    a->hour[a->cache_hour][s]++;
    int ymd = a->cache_ymd;
    /* Logs are in time order: the day is nearly always the last one. */
    if (a->ndays > 0 && a->days[a->ndays - 1].ymd == ymd) {
        a->days[a->ndays - 1].c[s]++;
        return;
    }
    size_t lo = 0, hi = a->ndays;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->days[mid].ymd < ymd)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < a->ndays && a->days[lo].ymd == ymd) {
        a->days[lo].c[s]++;
        return;
    }
    if (a->ndays >= REPORT_AGG_MAX_DAYS)
        return;
    if ((a->ndays & (a->ndays - 1)) == 0 || a->ndays < 8)
        a->days = mem_realloc(a->days, (a->ndays < 8 ? 8 : a->ndays * 2) * sizeof(*a->days));
    memmove(&a->days[lo + 1], &a->days[lo], (a->ndays - lo) * sizeof(*a->days));
    memset(&a->days[lo], 0, sizeof(*a->days));
    a->days[lo].ymd = ymd;
    a->days[lo].c[s] = 1;
    a->ndays++;
}

/* Parentheses still open at the end of s: > 0 more '(', < 0 more ')'. */
static long report_agg_parens(logstr s)
{
    long d = 0;
    for (size_t i = 0; i < s.n; i++)
        d += s.p[i] == '(' ? 1 : s.p[i] == ')' ? -1 : 0;
    return d;
}

/*
 * A reason without its leading "<address>: " (so rejects group by cause),
 * and without the status's own parentheses when the parser left them.
 * A ')' that closes a '(' of the text stays: "... (in reply to RCPT TO
 * command)" is the remote server's words (issue 13: the report cut it).
 */
static logstr report_agg_reason(logstr s)
{
    while (s.n > 0 && s.p[0] == ' ')
        s.p++, s.n--;
    if (s.n > 0 && s.p[0] == '(' && report_agg_parens(s) > 0)
        s.p++, s.n--;
    if (s.n > 0 && s.p[0] == '<') {
        const char *e = memchr(s.p, '>', s.n);
        if (e != NULL && (size_t)(e - s.p) + 2 < s.n && e[1] == ':' && e[2] == ' ') {
            s.n -= (size_t)(e + 3 - s.p);
            s.p = e + 3;
        }
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' ||
                       (s.p[s.n - 1] == ')' && report_agg_parens(s) < 0)))
        s.n--;
    return s;
}

static void report_agg_add(report_topk *t, logstr s)
{
    if (s.p == NULL)
        s.p = "", s.n = 0;
    report_topk_add(t, s.p, s.n, 0);
}

/* "program: text" for the diagnostics lists. */
static void report_agg_diag(report_topk *t, const logline *ll)
{
    char key[REPORT_AGG_KEYMAX];
    logstr txt = logstr_set(ll->severity_text) ? ll->severity_text : ll->text;
    size_t pn = ll->program.n < 40 ? ll->program.n : 40;
    size_t n = 0;
    if (pn > 0) {
        memcpy(key, ll->program.p, pn);
        memcpy(key + pn, ": ", 2);
        n = pn + 2;
    }
    size_t tn = txt.n < sizeof(key) - n ? txt.n : sizeof(key) - n;
    if (tn > 0)
        memcpy(key + n, txt.p, tn);
    report_topk_add(t, key, n + tn, 0);
}

/* The reason of a reject: "554 5.7.1 Relay access denied". */
static void report_agg_reject_reason(report_topk *t, const logline *ll)
{
    char key[REPORT_AGG_KEYMAX];
    size_t n = 0;
    logstr r = report_agg_reason(logstr_set(ll->reject_text) ? ll->reject_text : ll->body);
    if (ll->reply_code > 0 && !(r.n >= 3 && isdigit((unsigned char)r.p[0]))) {
        if (ll->dsn.n > 0 && ll->dsn.n < 16)
            n = (size_t)snprintf(key, sizeof(key), "%d %.*s ", ll->reply_code, (int)ll->dsn.n,
                                 ll->dsn.p);
        else
            n = (size_t)snprintf(key, sizeof(key), "%d ", ll->reply_code);
    }
    size_t rn = r.n < sizeof(key) - n ? r.n : sizeof(key) - n;
    if (rn > 0)
        memcpy(key + n, r.p, rn);
    report_topk_add(t, key, n + rn, 0);
}

/* ---- the line --------------------------------------------------------------- */

static void report_agg_received(report_agg *a, const logline *ll, bool from_client)
{
    a->received++;
    report_agg_count_time(a, ll, REPORT_S_RECEIVED);
    if (from_client) {
        logstr h = report_agg_client(ll);
        report_agg_add(a->sending_hosts, h);
    }
    report_msg *m = report_agg_msg(a, ll->queue_id, true);
    if (m != NULL) {
        m->flags |= RMSG_RECEIVED | (ll->event == LOGE_PICKUP ? RMSG_PICKUP : 0);
        if (from_client)
            m->client_len = (uint8_t)report_agg_client_domain(ll, m->client, sizeof(m->client));
    }
}

/* The sender and size of a received message (Postfix's qmgr line, Exim's <=). */
static void report_agg_sender(report_agg *a, const logline *ll, report_msg *m)
{
    char key[REPORT_AGG_KEYMAX];
    long long size = ll->size > 0 ? ll->size : 0;
    a->bytes_received += (uint64_t)size;
    size_t n = report_agg_addr(ll->from, key, sizeof(key));
    report_topk_add(a->senders, key, n, (uint64_t)size);
    /* A sender without a domain (the null sender, mostly) is grouped as
     * pflogsumm does: under the client's domain, or for local submissions
     * under the address itself. */
    n = report_agg_domain(ll->from, key, sizeof(key));
    if (n > 0)
        report_topk_add(a->sender_domains, key, n, (uint64_t)size);
    else if (m != NULL && (m->flags & RMSG_PICKUP)) {
        n = report_agg_addr(ll->from, key, sizeof(key));
        report_topk_add(a->sender_domains, key, n, (uint64_t)size);
    } else if (m != NULL && m->client_len > 0)
        report_topk_add(a->sender_domains, m->client, m->client_len, (uint64_t)size);
    else
        report_topk_add(a->sender_domains, "(unknown)", 9, (uint64_t)size);
}

static void report_agg_queued(report_agg *a, const logline *ll)
{
    report_msg *m;
    if (ll->format == LOGF_POSTFIX || ll->format == LOGF_POSTIE || ll->format == LOGF_QMAIL) {
        /* The reception has its own line (smtpd client=, pickup, qmail "new
         * msg"); the first "from=<>, size=" of a queue ID counts (qmgr logs
         * it again at each retry); only messages received in this log count
         * as senders and bytes received, like pflogsumm. */
        m = report_agg_msg(a, ll->queue_id, true);
        if (m == NULL || (m->flags & RMSG_SIZED))
            return;
        m->flags |= RMSG_SIZED;
        m->size = ll->size;
        if (m->flags & RMSG_RECEIVED)
            report_agg_sender(a, ll, m);
        return;
    }
    /* Exim ("<= sender H=client ... S=size"), Sendmail ("from=, size=, ...
     * relay=") and DMA log the reception on this one line.  Exim's own
     * bounces ("<= <> R=parent") are notifications, not received mail. */
    if (ll->format == LOGF_EXIM && ll->from.n == 0 && ll->client_addr.n == 0 &&
        memmem(ll->text.p, ll->text.n, " R=", 3) != NULL) {
        a->notifications++;
        m = report_agg_msg(a, ll->queue_id, true);
        if (m != NULL) {
            m->size = ll->size;
            m->flags |= RMSG_SIZED;
        }
        return;
    }
    m = report_agg_msg(a, ll->queue_id, false);
    if (m == NULL || !(m->flags & RMSG_RECEIVED)) {
        report_agg_received(a, ll, ll->client_addr.n > 0);
        m = report_agg_msg(a, ll->queue_id, false);
    }
    if (m != NULL) {
        if (m->flags & RMSG_SIZED)
            return;
        m->size = ll->size;
        m->flags |= RMSG_SIZED;
    }
    report_agg_sender(a, ll, m);
}

static void report_agg_delivery(report_agg *a, const logline *ll)
{
    if (ll->format == LOGF_DOVECOT) {
        /* A mailbox delivery (LMTP/LDA) after the MTA's own: counted apart. */
        if (ll->status == LOGS_SENT)
            a->mbox_deliveries++;
        else
            a->mbox_delivery_failures++;
        return;
    }
    char key[REPORT_AGG_KEYMAX];
    switch (ll->status) {
    case LOGS_SENT: {
        if (report_agg_starts(ll->status_text, "forwarded as ")) {
            a->forwarded++;
            return;
        }
        a->delivered++;
        report_agg_count_time(a, ll, REPORT_S_DELIVERED);
        report_msg *m = report_agg_msg(a, ll->queue_id, false);
        long long size = m != NULL && m->size >= 0 ? m->size : -1;
        if (size < 0) {
            a->no_size++;
            size = 0;
        }
        a->bytes_delivered += (uint64_t)size;
        /* Exim's "=> alice <alice@example.org>": the address is in orig_to. */
        logstr to = ll->to;
        if (memchr(to.p ? to.p : "", '@', to.n) == NULL && ll->orig_to.n > 0)
            to = ll->orig_to;
        size_t n = report_agg_addr(to, key, sizeof(key));
        report_topk_add(a->recipients, key, n, (uint64_t)size);
        n = report_agg_domain(to, key, sizeof(key));
        report_topk_item *dom = report_topk_add(a->recipient_domains, key, n, (uint64_t)size);
        if (ll->delay >= 0) {
            dom->dsum += ll->delay;
            if (ll->delay > dom->dmax)
                dom->dmax = ll->delay;
        }
        if (ll->relay.n > 0)
            report_topk_add(a->relays, report_agg_relay(ll->relay).p,
                            report_agg_relay(ll->relay).n, (uint64_t)size);
        if (ll->delay >= 0)
            report_hist_add(&a->delay[REPORT_D_TOTAL], ll->delay);
        for (int i = 0; i < 4; i++)
            if (ll->delays[i] >= 0)
                report_hist_add(&a->delay[REPORT_D_A + i], ll->delays[i]);
        return;
    }
    case LOGS_DEFERRED:
    case LOGS_SOFTBOUNCE: {
        a->deferrals++;
        report_agg_count_time(a, ll, REPORT_S_DEFERRED);
        report_msg *m = report_agg_msg(a, ll->queue_id, true);
        if (m == NULL || !(m->flags & RMSG_DEFERRED)) {
            a->deferred++;
            if (m != NULL)
                m->flags |= RMSG_DEFERRED;
        }
        report_agg_add(a->defer_reasons, report_agg_reason(ll->status_text));
        size_t n = report_agg_domain(ll->to, key, sizeof(key));
        report_topk_item *dom = report_topk_add(a->defer_domains, key, n, 0);
        if (ll->delay > dom->dmax)
            dom->dmax = ll->delay;
        return;
    }
    case LOGS_BOUNCED:
        a->bounced++;
        report_agg_count_time(a, ll, REPORT_S_BOUNCED);
        report_agg_add(a->bounce_reasons, report_agg_reason(ll->status_text));
        return;
    case LOGS_EXPIRED:
        a->expired++;
        return;
    default:
        return;
    }
}

static void report_agg_reject(report_agg *a, const logline *ll)
{
    logstr act = ll->reject_action;
    if (logstr_eq(act, "reject_warning") || logstr_eq(act, "warn") || logstr_eq(act, "warning")) {
        a->reject_warnings++;
        report_agg_reject_reason(a->warn_reasons, ll);
        return;
    }
    if (logstr_eq(act, "hold")) {
        a->held++;
        report_agg_reject_reason(a->held_reasons, ll);
        return;
    }
    if (logstr_eq(act, "discard")) {
        a->discarded++;
        report_agg_reject_reason(a->discard_reasons, ll);
        return;
    }
    a->rejected++;
    report_agg_count_time(a, ll, REPORT_S_REJECTED);
    report_agg_reject_reason(a->reject_reasons, ll);
}

/* What the cleanup header/body checks said: "header Subject: x from ...". */
static void report_agg_check_reason(report_topk *t, const logline *ll)
{
    logstr s = logstr_set(ll->stage) ? ll->stage : ll->body;
    if (logstr_set(ll->reject_text) && ll->reject_text.n > 0) {
        char key[REPORT_AGG_KEYMAX];
        int n = snprintf(key, sizeof(key), "%.*s: %.*s", (int)(s.n > 80 ? 80 : s.n), s.p,
                         (int)ll->reject_text.n, ll->reject_text.p);
        report_topk_add(t, key, n < (int)sizeof(key) ? (size_t)n : sizeof(key) - 1, 0);
        return;
    }
    report_agg_add(t, s);
}

void report_agg_line(report_agg *a, const logline *ll, bool cut)
{
    a->lines++;
    if (cut || ll->truncated)
        a->truncated++;
    if (ll->binary) {
        a->binary++;
        return;
    }
    if (ll->event == LOGE_UNKNOWN) {
        a->unknown++;
        return;
    }
    a->by_format[ll->format]++;
    if (ll->format == LOGF_OTHER) {
        a->other++;
        return;
    }
    if (ll->time >= 0) {
        if (a->first_time < 0 || ll->time < a->first_time)
            a->first_time = ll->time;
        if (ll->time > a->last_time)
            a->last_time = ll->time;
    }

    switch (ll->event) {
    case LOGE_CLIENT:
        report_agg_received(a, ll, true);
        break;
    case LOGE_PICKUP:
        report_agg_received(a, ll, false);
        break;
    case LOGE_QUEUED:
        report_agg_queued(a, ll);
        break;
    case LOGE_DELIVERY:
        report_agg_delivery(a, ll);
        break;
    case LOGE_EXPIRED:
        a->expired++;
        break;
    case LOGE_BOUNCE:
        a->notifications++;
        break;
    case LOGE_REMOVED:
        report_agg_msg_remove(a, ll->queue_id);
        break;
    case LOGE_REJECT:
        report_agg_reject(a, ll);
        /* A message cleanup rejected is gone: no "removed" line follows. */
        if (ll->queue_id.n > 0 && logstr_eq(ll->program, "cleanup"))
            report_agg_msg_remove(a, ll->queue_id);
        break;
    case LOGE_HOLD:
        /* "placed on hold" by postsuper is not a policy hold. */
        if (logstr_eq(ll->program, "cleanup") || logstr_eq(ll->program, "smtpd") ||
            logstr_set(ll->reject_action)) {
            a->held++;
            report_agg_check_reason(a->held_reasons, ll);
        }
        break;
    case LOGE_DISCARD:
        a->discarded++;
        report_agg_check_reason(a->discard_reasons, ll);
        report_agg_msg_remove(a, ll->queue_id);
        break;
    case LOGE_WARNING:
        /* A header/body check's WARN names the message: pflogsumm counts
         * those as reject warnings, not among the warnings. */
        if (ll->queue_id.n > 0 && logstr_eq(ll->program, "cleanup")) {
            a->reject_warnings++;
            report_agg_check_reason(a->warn_reasons, ll);
        } else {
            a->n_warnings++;
            report_agg_diag(a->warnings, ll);
        }
        break;
    case LOGE_ERROR:
        a->n_errors++;
        report_agg_diag(a->errors, ll);
        break;
    case LOGE_FATAL:
        a->n_fatals++;
        report_agg_diag(a->fatals, ll);
        break;
    case LOGE_PANIC:
        a->n_panics++;
        report_agg_diag(a->panics, ll);
        break;
    case LOGE_CONNECT:
        if (ll->format == LOGF_DOVECOT)
            break;
        a->connects++;
        report_agg_add(a->connect_hosts, report_agg_client(ll));
        report_agg_sess_open(a, ll->pid, ll->time);
        break;
    case LOGE_DISCONNECT: {
        if (ll->format == LOGF_DOVECOT)
            break;
        a->disconnects++;
        if (ll->commands > 0)
            a->commands += (uint64_t)ll->commands;
        if (ll->commands_bad > 0)
            a->bad_commands += (uint64_t)ll->commands_bad;
        long long d = report_agg_sess_close(a, ll->pid, ll->time);
        if (d >= 0)
            report_hist_add(&a->session_time, (double)d);
        break;
    }
    case LOGE_LOST:
        a->lost++;
        report_agg_add(a->lost_stages, ll->stage);
        break;
    case LOGE_TLS:
        a->tls++;
        break;
    case LOGE_SASL_FAIL:
        a->sasl_failures++;
        report_agg_add(a->sasl_hosts, report_agg_client(ll));
        break;
    case LOGE_POSTSCREEN:
        a->postscreen++;
        break;
    case LOGE_LOGIN:
        a->logins++;
        report_agg_add(a->login_users, logstr_set(ll->sasl_username) ? ll->sasl_username : ll->user);
        break;
    case LOGE_LOGIN_FAIL:
        /* auth_verbose's second line for the same attempt: not counted. */
        if (logline_is_auth_verbose(ll))
            break;
        a->login_failures++;
        report_agg_add(a->login_fail_users,
                       logstr_set(ll->sasl_username) ? ll->sasl_username : ll->user);
        report_agg_add(a->login_fail_hosts, ll->client_addr);
        break;
    case LOGE_LOGOUT:
        a->logouts++;
        break;
    default:
        break;
    }
}
