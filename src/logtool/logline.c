/*
 * logline - parse one mail log line of any known format, in place.
 *
 * The parser reads the line once from left to right: time stamp, syslog
 * header (or the format's own header), queue ID, then the text, decoded by
 * the first words of the text.  Every field is a pointer+length into the
 * caller's buffer (see logline.h); nothing is allocated or copied, so a
 * line costs a few hundred nanoseconds.  No regex: the grammars are simple
 * and fixed, and memchr/memcmp are much faster.
 *
 * What it does not do: correlate lines, or judge what they mean for a
 * message (the tracer and the report do).  It never fails: what it cannot
 * decode stays LOGE_OTHER (header known) or LOGE_UNKNOWN.
 *
 * Grammars followed: Postfix's logging (postconf(5) maillog_file,
 * smtpd/qmgr/cleanup/smtp/local/bounce/postscreen/anvil lines), RFC 5424
 * and RFC 3339 time stamps, qmail-send's log (multilog TAI64N, splogger),
 * DMA's syslog lines, Exim's main log, Sendmail's syslog lines, Dovecot's
 * log lines (login, logout, LMTP and LDA deliveries).
 */
#include "logtool/logline.h"

#include <stdint.h>
#include <time.h>

/* ---- small scanning helpers --------------------------------------------- */

#define LIT(s) s, (sizeof(s) - 1)

static inline bool logline_has(const char *p, const char *end, const char *lit,
                               size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* memmem on [p, end). */
static const char *logline_find(const char *p, const char *end,
                                const char *lit, size_t n)
{
    if (n == 0)
        return p;
    while ((size_t)(end - p) >= n) {
        const char *c = memchr(p, lit[0], (size_t)(end - p) - n + 1);
        if (c == NULL)
            return NULL;
        if (memcmp(c, lit, n) == 0)
            return c;
        p = c + 1;
    }
    return NULL;
}

/* Last occurrence of lit in [p, end). */
static const char *logline_rfind(const char *p, const char *end,
                                 const char *lit, size_t n)
{
    if ((size_t)(end - p) < n)
        return NULL;
    for (const char *c = end - n; c >= p; c--)
        if (*c == lit[0] && memcmp(c, lit, n) == 0)
            return c;
    return NULL;
}

static inline logstr logline_str(const char *p, const char *e)
{
    logstr s = {p, (size_t)(e - p)};
    return s;
}

static inline bool logline_digit(char c) { return c >= '0' && c <= '9'; }

/* Unsigned decimal; *pp advanced; -1 when there is no digit. */
static long long logline_uint(const char **pp, const char *end)
{
    const char *p = *pp;
    long long v = 0;
    if (p >= end || !logline_digit(*p))
        return -1;
    while (p < end && logline_digit(*p)) {
        if (v < 100000000000000000LL)
            v = v * 10 + (*p - '0');
        p++;
    }
    *pp = p;
    return v;
}

/* "12", "0.08", "1e-05"-free decimal; -1 when not a number. */
static double logline_num(const char **pp, const char *end)
{
    const char *p = *pp;
    long long i = logline_uint(&p, end);
    if (i < 0)
        return -1;
    double v = (double)i;
    if (p < end && *p == '.') {
        double scale = 0.1;
        p++;
        while (p < end && logline_digit(*p)) {
            v += (*p - '0') * scale;
            scale *= 0.1;
            p++;
        }
    }
    *pp = p;
    return v;
}

static int logline_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "<x>": *out = x.  Returns the position after '>', or NULL (truncated). */
static const char *logline_angle(const char *p, const char *end, logstr *out)
{
    if (p >= end || *p != '<')
        return NULL;
    const char *q = memchr(p + 1, '>', (size_t)(end - p - 1));
    if (q == NULL)
        return NULL;
    *out = logline_str(p + 1, q);
    return q + 1;
}

/* A token up to a space (or end). */
static const char *logline_word(const char *p, const char *end, logstr *out)
{
    const char *q = memchr(p, ' ', (size_t)(end - p));
    if (q == NULL)
        q = end;
    *out = logline_str(p, q);
    return q;
}

/*
 * "host[addr]" or "host[addr]:port" or "[addr]:port" (postscreen).  Returns
 * the position after it, or NULL when there is no well-formed bracket.
 */
static const char *logline_client(const char *p, const char *end, logline *ll)
{
    const char *lb = p;
    while (lb < end && *lb != '[' && *lb != ' ' && *lb != ',')
        lb++;
    if (lb >= end || *lb != '[')
        return NULL;
    const char *rb = memchr(lb, ']', (size_t)(end - lb));
    if (rb == NULL)
        return NULL;
    ll->client_host = logline_str(p, lb);
    ll->client_addr = logline_str(lb + 1, rb);
    p = rb + 1;
    if (p < end && *p == ':' && p + 1 < end && logline_digit(p[1])) {
        p++;
        ll->client_port = (long)logline_uint(&p, end);
    }
    return p;
}

/* ---- time stamps --------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long long logline_days(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int logline_month(const char *p)
{
    /* Switch on the three letters: faster than a loop of memcmp. */
    switch (p[0]) {
    case 'J':
        if (p[1] == 'a' && p[2] == 'n') return 0;
        if (p[1] == 'u' && p[2] == 'n') return 5;
        if (p[1] == 'u' && p[2] == 'l') return 6;
        return -1;
    case 'F': return p[1] == 'e' && p[2] == 'b' ? 1 : -1;
    case 'M':
        if (p[1] == 'a' && p[2] == 'r') return 2;
        if (p[1] == 'a' && p[2] == 'y') return 4;
        return -1;
    case 'A':
        if (p[1] == 'p' && p[2] == 'r') return 3;
        if (p[1] == 'u' && p[2] == 'g') return 7;
        return -1;
    case 'S': return p[1] == 'e' && p[2] == 'p' ? 8 : -1;
    case 'O': return p[1] == 'c' && p[2] == 't' ? 9 : -1;
    case 'N': return p[1] == 'o' && p[2] == 'v' ? 10 : -1;
    case 'D': return p[1] == 'e' && p[2] == 'c' ? 11 : -1;
    default: return -1;
    }
}

static bool logline_2d(const char *p, int *v)
{
    if (!logline_digit(p[0]) || !logline_digit(p[1]))
        return false;
    *v = (p[0] - '0') * 10 + (p[1] - '0');
    return true;
}

/* "hh:mm:ss" at p (8 bytes checked by the caller). */
static bool logline_hms(const char *p, int *h, int *mi, int *s)
{
    return logline_2d(p, h) && p[2] == ':' && logline_2d(p + 3, mi) &&
           p[5] == ':' && logline_2d(p + 6, s) && *h < 24 && *mi < 60 && *s < 61;
}

/* Optional ".digits": microseconds (the rest of the digits skipped). */
static const char *logline_frac(const char *p, const char *end, int *usec)
{
    if (p >= end || *p != '.' || p + 1 >= end || !logline_digit(p[1]))
        return p;
    p++;
    int v = 0, n = 0;
    while (p < end && logline_digit(*p)) {
        if (n < 6) {
            v = v * 10 + (*p - '0');
            n++;
        }
        p++;
    }
    while (n++ < 6)
        v *= 10;
    *usec = v;
    return p;
}

/* "Mmm dd hh:mm:ss" (day may be space padded).  Returns the end or NULL. */
static const char *logline_stamp_trad(logline_ctx *ctx, const char *p,
                                      const char *end, logline *ll)
{
    if (end - p < 15)
        return NULL;
    int mon = logline_month(p);
    if (mon < 0 || p[3] != ' ')
        return NULL;
    int day;
    const char *q = p + 4;
    if (*q == ' ' && logline_digit(q[1]))
        day = q[1] - '0';
    else if (!logline_2d(q, &day))
        return NULL;
    q += 2;
    int h, mi, s;
    if (*q != ' ' || !logline_hms(q + 1, &h, &mi, &s))
        return NULL;
    q += 9;
    int usec = -1;
    q = logline_frac(q, end, &usec);
    if (q < end && *q != ' ')
        return NULL;
    /* No year in the stamp: the context's, moving on at a roll-over. */
    if (ctx->last_month < 0 && ctx->ref_month >= 0 && mon > ctx->ref_month)
        ctx->year--; /* e.g. a December line in a file last written in January */
    ctx->ref_month = -1;
    if (ctx->last_month >= 0 && mon + 6 < ctx->last_month)
        ctx->year++;
    ctx->last_month = mon;
    ll->stamp_kind = LOGT_TRADITIONAL;
    ll->stamp = logline_str(p, q);
    ll->time = logline_days(ctx->year, mon + 1, day) * 86400 + h * 3600 +
               mi * 60 + s - ctx->utcoff;
    ll->usec = usec;
    return q;
}

/*
 * "yyyy-mm-ddThh:mm:ss[.frac](Z|+hh:mm)" when sep is 'T'; with sep ' ' the
 * tai64nlocal / Exim form, local time unless a "+hhmm" zone follows.
 */
static const char *logline_stamp_iso(logline_ctx *ctx, const char *p,
                                     const char *end, logline *ll, char sep)
{
    if (end - p < 19)
        return NULL;
    int y1, y2, mo, d, h, mi, s;
    if (!logline_2d(p, &y1) || !logline_2d(p + 2, &y2) || p[4] != '-' ||
        !logline_2d(p + 5, &mo) || p[7] != '-' || !logline_2d(p + 8, &d) ||
        p[10] != sep || !logline_hms(p + 11, &h, &mi, &s) || mo < 1 ||
        mo > 12 || d < 1 || d > 31)
        return NULL;
    const char *q = p + 19;
    int usec = -1;
    q = logline_frac(q, end, &usec);
    long off = ctx->utcoff;
    if (sep == 'T') {
        if (q < end && *q == 'Z') {
            off = 0;
            q++;
        } else if (end - q >= 6 && (*q == '+' || *q == '-')) {
            int oh, om;
            if (!logline_2d(q + 1, &oh) || q[3] != ':' || !logline_2d(q + 4, &om))
                return NULL;
            off = (oh * 3600L + om * 60L) * (*q == '-' ? -1 : 1);
            q += 6;
        }
    } else if (end - q >= 6 && q[0] == ' ' && (q[1] == '+' || q[1] == '-')) {
        /* Exim's log_timezone: " +0100". */
        int oh, om;
        if (logline_2d(q + 2, &oh) && logline_2d(q + 4, &om) &&
            (q + 6 == end || q[6] == ' ')) {
            off = (oh * 3600L + om * 60L) * (q[1] == '-' ? -1 : 1);
            q += 6;
        }
    }
    if (q < end && *q != ' ')
        return NULL;
    ll->stamp = logline_str(p, q);
    ll->time = logline_days(y1 * 100 + y2, mo, d) * 86400 + h * 3600 + mi * 60 +
               s - off;
    ll->usec = usec;
    return q;
}

/* "@4000000064c12a5b36a8b5ac": TAI64N as multilog writes it. */
static const char *logline_stamp_tai64n(const char *p, const char *end,
                                        logline *ll)
{
    if (end - p < 25 || p[0] != '@')
        return NULL;
    uint64_t secs = 0;
    uint32_t nano = 0;
    for (int i = 1; i <= 24; i++) {
        int v = logline_hexval(p[i]);
        if (v < 0)
            return NULL;
        if (i <= 16)
            secs = secs << 4 | (uint64_t)v;
        else
            nano = nano << 4 | (uint32_t)v;
    }
    const char *q = p + 25;
    if (q < end && *q != ' ')
        return NULL;
    /* The label of 1970-01-01 00:00:10 TAI is 2^62 + 10 (as tai64nlocal). */
    ll->stamp_kind = LOGT_TAI64N;
    ll->stamp = logline_str(p, q);
    ll->time = (long long)(secs - ((uint64_t)1 << 62) - 10);
    ll->usec = (int)(nano / 1000 % 1000000);
    return q;
}

/* "1690381707.917076": splogger's stamp. */
static const char *logline_stamp_unix(const char *p, const char *end,
                                      logline *ll)
{
    const char *q = p;
    long long secs = logline_uint(&q, end);
    if (secs < 100000000 || q - p > 12)
        return NULL;
    int usec = -1;
    q = logline_frac(q, end, &usec);
    if (q < end && *q != ' ')
        return NULL;
    ll->stamp_kind = LOGT_UNIX;
    ll->stamp = logline_str(p, q);
    ll->time = secs;
    ll->usec = usec;
    return q;
}

/* ---- queue IDs ------------------------------------------------------------ */

bool logline_is_size_limit(const logline *ll, logstr *why_r)
{
    static const char what[] = "queue file size limit exceeded";
    logstr t = ll->severity_text;
    size_t n = sizeof(what) - 1;
    if (ll->event != LOGE_WARNING || t.p == NULL || t.n < n ||
        memcmp(t.p + t.n - n, what, n) != 0)
        return false;
    why_r->p = t.p + t.n - n;
    why_r->n = n;
    return true;
}

bool logline_is_queue_id(const char *s, size_t n)
{
    if (n < 5 || n > 24)
        return false;
    bool hex = true, z = false, digit = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (logline_digit(c))
            digit = true;
        else if (c >= 'A' && c <= 'F')
            ;
        else if ((c >= 'a' && c <= 'z') || (c >= 'G' && c <= 'Z')) {
            hex = false;
            if (c == 'z' && i >= 6)
                z = true;
        } else
            return false;
    }
    /* Short form: upper-case hex (postie's too).  Long form
     * (enable_long_queue_ids): base-52 time, 'z', base-51 inode. */
    if (hex)
        return digit || n >= 8;
    return z && n >= 12;
}

/* Sendmail: 8 alphanumerics + 6 digits ("r4LM0nKq012345"), or longer. */
static bool logline_is_sendmail_id(const char *s, size_t n)
{
    if (n < 14 || n > 20)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!logline_digit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z'))
            return false;
    }
    for (size_t i = n - 6; i < n; i++)
        if (!logline_digit(s[i]))
            return false;
    return true;
}

/* Exim: 6-6-2 (up to 4.96) or 6-11-4 (4.97 on), base-62. */
static bool logline_is_exim_id(const char *s, size_t n)
{
    const char *d1 = memchr(s, '-', n);
    if (d1 == NULL || d1 - s != 6)
        return false;
    const char *d2 = memchr(d1 + 1, '-', (size_t)(s + n - d1 - 1));
    if (d2 == NULL)
        return false;
    size_t mid = (size_t)(d2 - d1 - 1), last = (size_t)(s + n - d2 - 1);
    if (mid < 6 || mid > 11 || last < 2 || last > 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != '-' && !logline_digit(c) && !(c >= 'a' && c <= 'z') &&
            !(c >= 'A' && c <= 'Z'))
            return false;
    }
    return true;
}

/* ---- Postfix and postie -------------------------------------------------- */

static void logline_status_word(logline *ll)
{
    logstr w = ll->status_word;
    if (logstr_eq(w, "sent"))
        ll->status = LOGS_SENT;
    else if (logstr_eq(w, "deferred"))
        ll->status = LOGS_DEFERRED;
    else if (logstr_eq(w, "bounced"))
        ll->status = LOGS_BOUNCED;
    else if (logstr_eq(w, "expired"))
        ll->status = LOGS_EXPIRED;
    else if (logstr_eq(w, "deliverable"))
        ll->status = LOGS_DELIVERABLE;
    else if (logstr_eq(w, "undeliverable"))
        ll->status = LOGS_UNDELIVERABLE;
    else if (logstr_eq(w, "SOFTBOUNCE"))
        ll->status = LOGS_SOFTBOUNCE;
    else if (logstr_eq(w, "discarded"))
        ll->status = LOGS_DISCARDED;
}

/* The text inside "(...)" that ends the line, or what follows. */
static void logline_paren_tail(const char *p, const char *end, logline *ll)
{
    while (p < end && *p == ' ')
        p++;
    if (p < end && *p == '(') {
        const char *e = end;
        if (e > p + 1 && e[-1] == ')')
            e--;
        else
            ll->truncated = true;
        ll->status_text = logline_str(p + 1, e);
    } else if (p < end) {
        ll->status_text = logline_str(p, end);
    }
}

/* "0.08/0.01/0/0" */
static void logline_delays(const char *p, const char *end, logline *ll)
{
    for (int i = 0; i < 4; i++) {
        double v = logline_num(&p, end);
        if (v < 0)
            return;
        ll->delays[i] = v;
        if (i < 3) {
            if (p >= end || *p != '/')
                return;
            p++;
        }
    }
}

/*
 * "key=value, key=<v>, ..., status=word (text)": the delivery line and the
 * qmgr "from=" line.  Values in <> may hold ", "; status= takes the rest.
 */
static void logline_fields(const char *p, const char *end, logline *ll)
{
    while (p < end) {
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL)
            return;
        logstr key = logline_str(p, eq);
        const char *v = eq + 1, *ve;
        if (logstr_eq(key, "status")) {
            const char *sp = v;
            while (sp < end && *sp != ' ' && *sp != ',')
                sp++;
            ll->status_word = logline_str(v, sp);
            logline_status_word(ll);
            if (sp < end && *sp == ',') {
                /* "status=expired, returned to sender" */
                logline_paren_tail(sp + 1, end, ll);
            } else
                logline_paren_tail(sp, end, ll);
            return;
        }
        if (v < end && *v == '<') {
            logstr a;
            ve = logline_angle(v, end, &a);
            if (ve == NULL) {
                ll->truncated = true;
                return;
            }
            if (logstr_eq(key, "to"))
                ll->to = a;
            else if (logstr_eq(key, "from"))
                ll->from = a;
            else if (logstr_eq(key, "orig_to"))
                ll->orig_to = a;
            else if (logstr_eq(key, "msgid"))
                ll->message_id = a;
            else if (logstr_eq(key, "helo"))
                ll->helo = a;
        } else {
            ve = logline_find(v, end, LIT(", "));
            if (ve == NULL)
                ve = end;
            /* "(queue active)" after nrcpt=N: the value is the number. */
            const char *vs = memchr(v, ' ', (size_t)(ve - v));
            logstr val = logline_str(v, vs ? vs : ve);
            const char *np = v;
            switch (key.n) {
            case 3:
                if (memcmp(key.p, "dsn", 3) == 0)
                    ll->dsn = val;
                else if (memcmp(key.p, "tls", 3) == 0)
                    ll->tls = logline_str(v, ve);
                break;
            case 4:
                if (memcmp(key.p, "size", 4) == 0)
                    ll->size = logline_uint(&np, ve);
                break;
            case 5:
                if (memcmp(key.p, "relay", 5) == 0)
                    ll->relay = logline_str(v, ve);
                else if (memcmp(key.p, "nrcpt", 5) == 0)
                    ll->nrcpt = (long)logline_uint(&np, ve);
                else if (memcmp(key.p, "delay", 5) == 0)
                    ll->delay = logline_num(&np, ve);
                else if (memcmp(key.p, "proto", 5) == 0)
                    ll->proto = val;
                break;
            case 6:
                if (memcmp(key.p, "delays", 6) == 0)
                    logline_delays(v, ve, ll);
                else if (memcmp(key.p, "nrcpts", 6) == 0)
                    ll->nrcpt = (long)logline_uint(&np, ve);
                break;
            default:
                break;
            }
        }
        p = ve;
        while (p < end && (*p == ',' || *p == ' '))
            p++;
        if (p < end && *p == '(')
            return; /* "(queue active)" */
    }
}

/*
 * The tail of a reject: "; from=<x> to=<y> proto=ESMTP helo=<h>" (smtpd),
 * "; from=<x>, to=<y>, proto=..., helo=<h>" (postscreen).
 */
static void logline_reject_tail(const char *p, const char *end, logline *ll)
{
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL)
            return;
        logstr key = logline_str(p, eq);
        const char *v = eq + 1, *ve;
        logstr a = {NULL, 0};
        if (v < end && *v == '<') {
            ve = logline_angle(v, end, &a);
            if (ve == NULL) {
                ll->truncated = true;
                return;
            }
        } else {
            ve = v;
            while (ve < end && *ve != ' ' && *ve != ',' && *ve != ':')
                ve++;
            a = logline_str(v, ve);
        }
        if (logstr_eq(key, "from"))
            ll->from = a;
        else if (logstr_eq(key, "to"))
            ll->to = a;
        else if (logstr_eq(key, "proto"))
            ll->proto = a;
        else if (logstr_eq(key, "helo"))
            ll->helo = a;
        else if (logstr_eq(key, "orig_to"))
            ll->orig_to = a;
        p = ve;
        if (p < end && *p == ':') {
            /* cleanup: "...helo=<h>: 5.7.1 text" */
            p++;
            while (p < end && *p == ' ')
                p++;
            if (end - p >= 5 && logline_digit(p[0]) && p[1] == '.') {
                const char *sp = memchr(p, ' ', (size_t)(end - p));
                ll->dsn = logline_str(p, sp ? sp : end);
                p = sp ? sp + 1 : end;
            }
            if (p < end)
                ll->reject_text = logline_str(p, end);
            return;
        }
    }
}

/* "554 5.7.1 text": reply code and enhanced status code. */
static const char *logline_reply(const char *p, const char *end, logline *ll)
{
    if (end - p >= 3 && logline_digit(p[0]) && logline_digit(p[1]) &&
        logline_digit(p[2]) && (end - p == 3 || p[3] == ' ' || p[3] == '-')) {
        ll->reply_code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
        p += 3;
        if (p < end)
            p++;
        if (end - p >= 5 && logline_digit(p[0]) && p[1] == '.') {
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            ll->dsn = logline_str(p, sp ? sp : end);
            p = sp ? sp + 1 : end;
        }
    }
    return p;
}

/*
 * "reject: RCPT from host[addr]: 554 5.7.1 text; from=<> to=<> proto= helo=<>"
 * and cleanup's "reject: header Subject: x from host[addr]; from=<>...: text".
 * p is after "reject: ".
 */
static void logline_reject(const char *p, const char *end, logline *ll)
{
    const char *fr = logline_find(p, end, LIT(" from "));
    if (fr == NULL) {
        ll->reject_text = logline_str(p, end);
        return;
    }
    ll->stage = logline_str(p, fr);
    const char *c = logline_client(fr + 6, end, ll);
    if (c == NULL) {
        ll->reject_text = logline_str(fr + 6, end);
        return;
    }
    /* The reason ends where the envelope fields begin. */
    const char *semi = logline_rfind(c, end, LIT("; from="));
    const char *tail = semi ? semi : end;
    if (c < end && *c == ':') {
        const char *t = logline_reply(c + 2 <= end ? c + 2 : end, tail, ll);
        ll->reject_text = logline_str(t, tail);
    }
    if (semi != NULL)
        logline_reject_tail(semi + 2, end, ll);
}

/*
 * "QID: ACTION: rest" of a header or body check, smtpd access or milter
 * (reject, hold, discard, filter, redirect, ...): lit is "ACTION: ", the
 * action is lit less its ": ", the rest is parsed as a reject line.
 */
static bool logline_action(const char *p, const char *end, logline *ll,
                           const char *lit, size_t n, enum logline_event event)
{
    if (!logline_has(p, end, lit, n))
        return false;
    ll->event = event;
    ll->reject_action = logline_str(p, p + n - 2);
    logline_reject(p + n, end, ll);
    return true;
}


/* "lost connection after DATA (0 bytes) from host[addr]" and friends. */
static bool logline_lost(const char *p, const char *end, logline *ll)
{
    const char *af = logline_find(p, end, LIT(" after "));
    if (af == NULL)
        return false;
    logstr what = logline_str(p, af);
    if (!logstr_eq(what, "lost connection") && !logstr_eq(what, "timeout") &&
        !logstr_eq(what, "too many errors") && !logstr_eq(what, "improper command pipelining"))
        return false;
    ll->what = what;
    const char *st = af + 7;
    const char *fr = logline_find(st, end, LIT(" from "));
    if (fr == NULL)
        return false;
    const char *se = st;
    while (se < fr && *se != ' ')
        se++;
    ll->stage = logline_str(st, se);
    logline_client(fr + 6, end, ll);
    ll->event = LOGE_LOST;
    return true;
}

/* postscreen's verdict lines. */
static void logline_postscreen(const char *p, const char *end, logline *ll)
{
    static const struct {
        const char *w;
        size_t n;
    } words[] = {
        {LIT("CONNECT from ")}, {LIT("PASS NEW ")}, {LIT("PASS OLD ")},
        {LIT("DISCONNECT ")}, {LIT("DNSBL rank ")}, {LIT("PREGREET ")},
        {LIT("HANGUP ")}, {LIT("WHITELISTED ")}, {LIT("ALLOWLISTED ")},
        {LIT("BLACKLISTED ")}, {LIT("DENYLISTED ")}, {LIT("WHITELIST VETO ")},
        {LIT("ALLOWLIST VETO ")}, {LIT("COMMAND PIPELINING ")},
        {LIT("COMMAND TIME LIMIT ")}, {LIT("COMMAND COUNT LIMIT ")},
        {LIT("COMMAND LENGTH LIMIT ")}, {LIT("NON-SMTP COMMAND ")},
        {LIT("BARE NEWLINE ")}, {LIT("BDAT ")},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (!logline_has(p, end, words[i].w, words[i].n))
            continue;
        ll->event = LOGE_POSTSCREEN;
        ll->what = logline_str(p, p + words[i].n - 1);
        if (words[i].n == 13 && memcmp(p, "CONNECT from ", 13) == 0)
            ll->what = logline_str(p, p + 7);
        /* The client is the first "[addr]:port" in the line. */
        const char *lb = memchr(p, '[', (size_t)(end - p));
        if (lb != NULL)
            logline_client(lb, end, ll);
        return;
    }
}

/* "connect from host[addr]", "disconnect from host[addr] ehlo=1 ... commands=5" */
static void logline_disconnect(const char *p, const char *end, logline *ll)
{
    const char *c = logline_client(p, end, ll);
    if (c == NULL) {
        ll->truncated = true;
        return;
    }
    while (c < end && *c == ' ')
        c++;
    if (c >= end)
        return;
    ll->counters = logline_str(c, end);
    const char *cm = logline_find(c, end, LIT("commands="));
    if (cm != NULL) {
        const char *q = cm + 9;
        long long ok = logline_uint(&q, end);
        ll->commands = (long)ok;
        if (q < end && *q == '/') {
            q++;
            long long all = logline_uint(&q, end);
            if (all >= 0 && ok >= 0) {
                ll->commands = (long)all;
                ll->commands_bad = (long)(all - ok);
            }
        } else
            ll->commands_bad = 0;
    }
}

/* "QID: client=host[addr], sasl_method=PLAIN, sasl_username=u" */
static void logline_client_line(const char *p, const char *end, logline *ll)
{
    const char *c = logline_client(p, end, ll);
    if (c == NULL) {
        /* "client=unknown" without address, or cut */
        ll->truncated = memchr(p, '[', (size_t)(end - p)) != NULL;
        return;
    }
    while (c < end) {
        c = logline_find(c, end, LIT(", "));
        if (c == NULL)
            break;
        c += 2;
        const char *eq = memchr(c, '=', (size_t)(end - c));
        if (eq == NULL)
            break;
        const char *ve = logline_find(eq, end, LIT(", "));
        if (ve == NULL)
            ve = end;
        logstr key = logline_str(c, eq);
        if (logstr_eq(key, "sasl_method"))
            ll->sasl_method = logline_str(eq + 1, ve);
        else if (logstr_eq(key, "sasl_username"))
            ll->sasl_username = logline_str(eq + 1, ve);
        c = ve;
    }
}

/* Severity prefix ("warning: ...").  Returns true and sets the event. */
static bool logline_severity(const char *p, const char *end, logline *ll)
{
    const char *t = NULL;
    if (p >= end)
        return false;
    enum logline_event e = LOGE_OTHER;
    switch (*p) {
    case 'w':
        if (logline_has(p, end, LIT("warning: ")))
            t = p + 9, e = LOGE_WARNING;
        break;
    case 'e':
        if (logline_has(p, end, LIT("error: ")))
            t = p + 7, e = LOGE_ERROR;
        break;
    case 'f':
        if (logline_has(p, end, LIT("fatal: ")))
            t = p + 7, e = LOGE_FATAL;
        break;
    case 'p':
        if (logline_has(p, end, LIT("panic: ")))
            t = p + 7, e = LOGE_PANIC;
        break;
    default:
        break;
    }
    if (t == NULL)
        return false;
    ll->event = e;
    ll->severity_text = logline_str(t, end);
    /* "warning: QID: queue file size limit exceeded" (Postfix's smtpd and
     * cleanup put the queue ID after the severity): the line belongs to
     * that message. */
    const char *qc = memchr(t, ':', (size_t)(end - t) < 26 ? (size_t)(end - t) : 26);
    if (qc != NULL && qc + 1 < end && qc[1] == ' ') {
        if (qc - t == 7 && memcmp(t, "NOQUEUE", 7) == 0)
            ll->noqueue = true;
        else if (logline_is_queue_id(t, (size_t)(qc - t)))
            ll->queue_id = logline_str(t, qc);
    }
    /* "warning: unknown[1.2.3.4]: SASL LOGIN authentication failed: ..." */
    if (e == LOGE_WARNING) {
        const char *sa = logline_find(t, end, LIT(": SASL "));
        if (sa != NULL && logline_find(sa, end, LIT("authentication failed")) != NULL) {
            ll->event = LOGE_SASL_FAIL;
            logline_client(t, sa, ll);
            ll->reject_text = logline_str(sa + 2, end);
        }
    }
    return true;
}

/* The text of a Postfix or postie line (after "program[pid]: "). */
static void logline_postfix(const char *p, const char *end, logline *ll)
{
    ll->event = LOGE_OTHER;
    ll->body = logline_str(p, end);
    if (p >= end)
        return;
    if (logline_severity(p, end, ll))
        return;

    /* Queue ID or NOQUEUE, then ": ". */
    const char *colon = memchr(p, ':', (size_t)(end - p) < 26 ? (size_t)(end - p) : 26);
    if (colon != NULL && colon + 1 < end && colon[1] == ' ') {
        if (colon - p == 7 && memcmp(p, "NOQUEUE", 7) == 0) {
            ll->noqueue = true;
            p = colon + 2;
        } else if (logline_is_queue_id(p, (size_t)(colon - p))) {
            ll->queue_id = logline_str(p, colon);
            p = colon + 2;
        }
        ll->body = logline_str(p, end);
    }
    if (p >= end)
        return;

    bool qid = logstr_set(ll->queue_id);
    switch (*p) {
    case 't':
        if (qid && logline_has(p, end, LIT("to="))) {
            ll->event = LOGE_DELIVERY;
            logline_fields(p, end, ll);
            if (ll->status == LOGS_NONE && !logstr_set(ll->status_word))
                ll->truncated = true;
            return;
        }
        if (logline_lost(p, end, ll))
            return;
        break;
    case 'f':
        if (qid && logline_has(p, end, LIT("from="))) {
            logline_fields(p, end, ll);
            if (ll->status == LOGS_EXPIRED) {
                ll->event = LOGE_EXPIRED;
            } else {
                ll->event = LOGE_QUEUED;
                if (ll->size < 0 && ll->nrcpt < 0 && !logstr_set(ll->status_text))
                    ll->truncated = logline_find(p, end, LIT("size=")) == NULL;
            }
            return;
        }
        if (logline_action(p, end, ll, LIT("filter: "), LOGE_FILTER))
            return;
        break;
    case 'c':
        if (qid && logline_has(p, end, LIT("client="))) {
            ll->event = LOGE_CLIENT;
            logline_client_line(p + 7, end, ll);
            return;
        }
        if (logline_has(p, end, LIT("connect from "))) {
            ll->event = LOGE_CONNECT;
            logline_disconnect(p + 13, end, ll);
            ll->counters.p = NULL, ll->counters.n = 0;
            return;
        }
        if (qid && logline_has(p, end, LIT("conversation with "))) {
            ll->event = LOGE_HOST_SAID;
            logline_word(p + 18, end, &ll->relay);
            ll->status_text = ll->body;
            return;
        }
        break;
    case 'd':
        if (logline_has(p, end, LIT("disconnect from "))) {
            ll->event = LOGE_DISCONNECT;
            logline_disconnect(p + 16, end, ll);
            return;
        }
        if (logline_action(p, end, ll, LIT("discard: "), LOGE_DISCARD))
            return;
        break;
    case 'm':
        if (qid && logline_has(p, end, LIT("message-id="))) {
            ll->event = LOGE_MESSAGE_ID;
            const char *v = p + 11;
            if (v < end && *v == '<') {
                if (logline_angle(v, end, &ll->message_id) == NULL) {
                    ll->truncated = true;
                    ll->message_id = logline_str(v + 1, end);
                }
            } else
                ll->message_id = logline_str(v, end);
            return;
        }
        if (logline_action(p, end, ll, LIT("milter-reject: "), LOGE_REJECT))
            return;
        break;
    case 'r':
        if (logline_action(p, end, ll, LIT("reject: "), LOGE_REJECT))
            return;
        if (logline_action(p, end, ll, LIT("reject_warning: "), LOGE_WARNING)) {
            ll->severity_text = ll->body;
            return;
        }
        if (qid && p + 7 == end && memcmp(p, "removed", 7) == 0) {
            ll->event = LOGE_REMOVED;
            return;
        }
        if (qid && logline_has(p, end, LIT("released from hold"))) {
            ll->event = LOGE_RELEASED;
            return;
        }
        if (qid && logline_has(p, end, LIT("requeued"))) {
            ll->event = LOGE_REQUEUED;
            return;
        }
        if (logline_action(p, end, ll, LIT("redirect: "), LOGE_FILTER))
            return;
        break;
    case 'h':
        if (logline_action(p, end, ll, LIT("hold: "), LOGE_HOLD))
            return;
        if (qid && logline_has(p, end, LIT("host "))) {
            const char *said = logline_find(p + 5, end, LIT(" said: "));
            if (said != NULL) {
                ll->event = LOGE_HOST_SAID;
                ll->relay = logline_str(p + 5, said);
                const char *t = logline_reply(said + 7, end, ll);
                ll->status_text = logline_str(t, end);
                return;
            }
            const char *ref = logline_find(p + 5, end, LIT(" refused to talk to me: "));
            if (ref != NULL) {
                ll->event = LOGE_HOST_SAID;
                ll->relay = logline_str(p + 5, ref);
                const char *t = logline_reply(ref + 24, end, ll);
                ll->status_text = logline_str(t, end);
                return;
            }
        }
        break;
    case 'p':
        if (qid && logline_has(p, end, LIT("placed on hold"))) {
            ll->event = LOGE_HOLD;
            return;
        }
        break;
    case 'u':
        if (qid && logline_has(p, end, LIT("uid="))) {
            ll->event = LOGE_PICKUP;
            const char *q = p + 4;
            const char *sp = logline_word(q, end, &ll->uid);
            if (logline_has(sp, end, LIT(" from=")))
                logline_angle(sp + 6, end, &ll->from);
            return;
        }
        break;
    case 'l':
        if (qid && logline_has(p, end, LIT("lost connection with "))) {
            ll->event = LOGE_HOST_SAID;
            logline_word(p + 21, end, &ll->relay);
            ll->status_text = ll->body;
            return;
        }
        if (logline_lost(p, end, ll))
            return;
        break;
    case 'w':
        /* cleanup's "QID: warning: header ...". */
        if (logline_action(p, end, ll, LIT("warning: "), LOGE_WARNING)) {
            ll->severity_text = logline_str(p + 9, end);
            return;
        }
        break;
    case 's':
        if (logline_has(p, end, LIT("statistics: "))) {
            ll->event = LOGE_ANVIL;
            ll->what = logline_str(p + 12, end);
            return;
        }
        break;
    case 'A': case 'T': case 'U': case 'V':
        if (logline_find(p, end, LIT("TLS connection established")) != NULL) {
            ll->event = LOGE_TLS;
            const char *fr = logline_find(p, end, LIT(" from "));
            if (fr == NULL)
                fr = logline_find(p, end, LIT(" to "));
            if (fr != NULL) {
                const char *h = fr[1] == 'f' ? fr + 6 : fr + 4;
                const char *c = logline_client(h, end, ll);
                if (c != NULL && c + 2 <= end && *c == ':')
                    ll->tls = logline_str(c + 2, end);
            }
            return;
        }
        break;
    default:
        break;
    }
    /* A sender/postmaster "... notification: NEWQID" from bounce. */
    if (qid && ll->event == LOGE_OTHER) {
        const char *nt = logline_find(p, end, LIT(" notification: "));
        if (nt != NULL) {
            ll->event = LOGE_BOUNCE;
            ll->notify_kind = logline_str(p, nt + 13);
            logline_word(nt + 15, end, &ll->new_queue_id);
            return;
        }
    }
    if (ll->event == LOGE_OTHER && logstr_eq(ll->program, "postscreen"))
        logline_postscreen(p, end, ll);
}

/* ---- Sendmail -------------------------------------------------------------- */

/* "00:00:01" or "1+02:03:04" */
static double logline_sm_delay(const char *p, const char *end)
{
    long long days = 0;
    const char *plus = memchr(p, '+', (size_t)(end - p));
    if (plus != NULL) {
        days = logline_uint(&p, plus);
        p = plus + 1;
    }
    int h, m, s;
    if (end - p < 8 || !logline_hms(p, &h, &m, &s))
        return -1;
    return (double)(days * 86400 + h * 3600 + m * 60 + s);
}

static void logline_sendmail(const char *p, const char *end, logline *ll)
{
    ll->event = LOGE_OTHER;
    ll->body = logline_str(p, end);
    if (p >= end)
        return;
    if (logline_severity(p, end, ll))
        return;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (colon != NULL && colon + 1 < end && colon[1] == ' ' &&
        logline_is_sendmail_id(p, (size_t)(colon - p))) {
        ll->queue_id = logline_str(p, colon);
        p = colon + 2;
        ll->body = logline_str(p, end);
    } else if (colon != NULL && colon - p == 7 && memcmp(p, "NOQUEUE", 7) == 0) {
        ll->noqueue = true;
        p = colon + 2 <= end ? colon + 2 : end;
        ll->body = logline_str(p, end);
    }
    if (logline_has(p, end, LIT("from=")) || logline_has(p, end, LIT("to="))) {
        bool to = *p == 't';
        /* Sendmail's addresses may lack <>; its fields are ", "-separated. */
        while (p < end) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (eq == NULL)
                break;
            logstr key = logline_str(p, eq);
            const char *v = eq + 1;
            const char *ve;
            if (logstr_eq(key, "stat")) {
                ve = end;
            } else if (v < end && *v == '<' && (ve = memchr(v, '>', (size_t)(end - v))) != NULL) {
                ve++;
                while (ve < end && *ve != ',')
                    ve++;
            } else {
                ve = logline_find(v, end, LIT(", "));
                if (ve == NULL)
                    ve = end;
            }
            logstr val = logline_str(v, ve);
            if (val.n >= 2 && val.p[0] == '<' && val.p[val.n - 1] == '>') {
                val.p++;
                val.n -= 2;
            }
            const char *np = v;
            if (logstr_eq(key, "from"))
                ll->from = val;
            else if (logstr_eq(key, "to"))
                ll->to = val;
            else if (logstr_eq(key, "size"))
                ll->size = logline_uint(&np, ve);
            else if (logstr_eq(key, "nrcpts"))
                ll->nrcpt = (long)logline_uint(&np, ve);
            else if (logstr_eq(key, "msgid"))
                ll->message_id = val;
            else if (logstr_eq(key, "proto"))
                ll->proto = val;
            else if (logstr_eq(key, "relay")) {
                if (to)
                    ll->relay = val;
                else {
                    /* "host [addr]" or "user@localhost" */
                    const char *lb = memchr(v, '[', (size_t)(ve - v));
                    const char *rb = lb ? memchr(lb, ']', (size_t)(ve - lb)) : NULL;
                    if (lb && rb) {
                        const char *he = lb;
                        while (he > v && he[-1] == ' ')
                            he--;
                        ll->client_host = logline_str(v, he);
                        ll->client_addr = logline_str(lb + 1, rb);
                    }
                }
            } else if (logstr_eq(key, "delay"))
                ll->delay = logline_sm_delay(v, ve);
            else if (logstr_eq(key, "dsn"))
                ll->dsn = val;
            else if (logstr_eq(key, "orig_to"))
                ll->orig_to = val;
            else if (logstr_eq(key, "stat")) {
                const char *w = v;
                while (w < end && *w != ' ' && *w != ':')
                    w++;
                ll->status_word = logline_str(v, w);
                const char *par = memchr(v, '(', (size_t)(end - v));
                if (par != NULL)
                    logline_paren_tail(par, end, ll);
                else
                    ll->status_text = logline_str(v, end);
                if (logstr_eq(ll->status_word, "Sent"))
                    ll->status = LOGS_SENT;
                else if (logstr_eq(ll->status_word, "Deferred"))
                    ll->status = LOGS_DEFERRED;
                else if (ll->dsn.n > 0 && ll->dsn.p[0] == '4')
                    ll->status = LOGS_DEFERRED;
                else
                    ll->status = LOGS_BOUNCED;
            }
            p = ve;
            while (p < end && (*p == ',' || *p == ' '))
                p++;
        }
        if (to) {
            ll->event = LOGE_DELIVERY;
            if (ll->status == LOGS_NONE)
                ll->truncated = true;
        } else
            ll->event = LOGE_QUEUED;
        return;
    }
    if (logline_has(p, end, LIT("ruleset="))) {
        const char *rj = logline_find(p, end, LIT("reject="));
        if (rj != NULL) {
            ll->event = LOGE_REJECT;
            const char *t = logline_reply(rj + 7, end, ll);
            ll->reject_text = logline_str(t, end);
            const char *a1 = logline_find(p, rj, LIT("arg1="));
            if (a1 != NULL) {
                const char *ae = logline_find(a1, rj, LIT(", "));
                logstr a = logline_str(a1 + 5, ae ? ae : rj);
                if (a.n >= 2 && a.p[0] == '<' && a.p[a.n - 1] == '>')
                    a.p++, a.n -= 2;
                ll->to = a;
            }
            const char *rl = logline_find(p, rj, LIT("relay="));
            if (rl != NULL) {
                const char *lb = memchr(rl, '[', (size_t)(rj - rl));
                const char *rb = lb ? memchr(lb, ']', (size_t)(rj - lb)) : NULL;
                if (lb && rb)
                    ll->client_addr = logline_str(lb + 1, rb);
            }
        }
        return;
    }
    /* "QID: QID2: DSN: User unknown": the bounce's new queue ID. */
    if (logstr_set(ll->queue_id)) {
        const char *c2 = memchr(p, ':', (size_t)(end - p));
        if (c2 != NULL && logline_is_sendmail_id(p, (size_t)(c2 - p)) &&
            logline_has(c2, end, LIT(": DSN: "))) {
            ll->event = LOGE_BOUNCE;
            ll->new_queue_id = logline_str(p, c2);
            ll->notify_kind = logline_str(c2 + 2, c2 + 5);
            ll->status_text = logline_str(c2 + 7, end);
            return;
        }
    }
    if (logline_has(p, end, LIT("lost input channel from "))) {
        ll->event = LOGE_LOST;
        ll->what = logline_str(p, p + 18);
        return;
    }
}

/* ---- DMA ------------------------------------------------------------------- */

static void logline_dma(const char *p, const char *end, logline *ll)
{
    ll->event = LOGE_OTHER;
    ll->body = logline_str(p, end);
    if (p >= end)
        return;
    if (logline_has(p, end, LIT("new mail from user="))) {
        ll->event = LOGE_QUEUED;
        const char *q = p + 19;
        const char *sp = logline_word(q, end, &ll->uid);
        const char *ef = logline_find(sp, end, LIT("envelope_from=<"));
        if (ef != NULL)
            logline_angle(ef + 14, end, &ll->from);
        return;
    }
    if (logline_has(p, end, LIT("mail to=<"))) {
        logline_angle(p + 8, end, &ll->to);
        return;
    }
    if (logline_has(p, end, LIT("trying remote delivery to ")) ||
        logline_has(p, end, LIT("trying delivery to "))) {
        const char *h = p + (p[7] == 'r' ? 26 : 19);
        const char *pr = logline_find(h, end, LIT(" pref "));
        ll->relay = logline_str(h, pr ? pr : end);
        return;
    }
    if (logline_has(p, end, LIT("using smarthost ("))) {
        const char *e = memchr(p + 17, ')', (size_t)(end - p - 17));
        ll->relay = logline_str(p + 17, e ? e : end);
        return;
    }
    if (*p == '<') {
        const char *q = logline_angle(p, end, &ll->to);
        if (q == NULL) {
            ll->truncated = true;
            return;
        }
        while (q < end && *q == ' ')
            q++;
        const char *col = memchr(q, ':', (size_t)(end - q));
        logstr what = logline_str(q, col ? col : end);
        if (col != NULL) {
            const char *t = col + 1;
            while (t < end && *t == ' ')
                t++;
            ll->status_text = logline_str(t, end);
        }
        ll->status_word = what;
        if (logstr_eq(what, "trying delivery")) {
            ll->event = LOGE_DELIVERY_START;
            ll->status_word.p = NULL, ll->status_word.n = 0;
        } else if (logline_find(what.p, what.p + what.n, LIT("success")) != NULL) {
            ll->event = LOGE_DELIVERY, ll->status = LOGS_SENT;
        } else if (logline_find(what.p, what.p + what.n, LIT("defer")) != NULL) {
            ll->event = LOGE_DELIVERY, ll->status = LOGS_DEFERRED;
        } else if (logline_find(what.p, what.p + what.n, LIT("fail")) != NULL ||
                   logline_find(what.p, what.p + what.n, LIT("bounce")) != NULL) {
            ll->event = LOGE_DELIVERY, ll->status = LOGS_BOUNCED;
        }
        return;
    }
    if (logline_has(p, end, LIT("remote delivery deferred: ")) ||
        logline_has(p, end, LIT("remote delivery failed: "))) {
        ll->event = LOGE_HOST_SAID;
        const char *t = (const char *)memchr(p, ':', (size_t)(end - p)) + 2;
        const char *r = logline_reply(t, end, ll);
        ll->status_text = logline_str(r, end);
        return;
    }
    logline_severity(p, end, ll);
}

/* ---- qmail ------------------------------------------------------------------- */

/* qmail-send's lines (after the stamp).  Returns false when not qmail's. */
static bool logline_qmail(const char *p, const char *end, logline *ll)
{
    const char *q;
    ll->body = logline_str(p, end);
    switch (*p) {
    case 'n':
        if (logline_has(p, end, LIT("new msg "))) {
            q = p + 8;
            const char *s = q;
            if (logline_uint(&q, end) < 0)
                return false;
            ll->queue_id = logline_str(s, q);
            ll->event = LOGE_PICKUP;
            return true;
        }
        return false;
    case 'i':
        if (logline_has(p, end, LIT("info msg "))) {
            q = p + 9;
            const char *s = q;
            if (logline_uint(&q, end) < 0)
                return false;
            ll->queue_id = logline_str(s, q);
            ll->event = LOGE_QUEUED;
            const char *b = logline_find(q, end, LIT(": bytes "));
            if (b != NULL) {
                q = b + 8;
                ll->size = logline_uint(&q, end);
            }
            const char *f = logline_find(q, end, LIT(" from <"));
            if (f != NULL) {
                q = logline_angle(f + 6, end, &ll->from);
                if (q == NULL) {
                    ll->truncated = true;
                    return true;
                }
            }
            const char *qp = logline_find(q, end, LIT(" qp "));
            if (qp != NULL) {
                q = qp + 4;
                ll->qp = (long)logline_uint(&q, end);
            }
            const char *u = logline_find(q, end, LIT(" uid "));
            if (u != NULL)
                logline_word(u + 5, end, &ll->uid);
            return true;
        }
        return false;
    case 's':
        if (logline_has(p, end, LIT("starting delivery "))) {
            q = p + 18;
            ll->delivery_no = (long)logline_uint(&q, end);
            if (!logline_has(q, end, LIT(": msg ")))
                return false;
            q += 6;
            const char *s = q;
            if (logline_uint(&q, end) < 0)
                return false;
            ll->queue_id = logline_str(s, q);
            ll->event = LOGE_DELIVERY_START;
            if (logline_has(q, end, LIT(" to "))) {
                q = logline_word(q + 4, end, &ll->channel);
                if (q < end)
                    ll->to = logline_str(q + 1, end);
                else
                    ll->truncated = true;
            } else
                ll->truncated = true;
            return true;
        }
        if (logline_has(p, end, LIT("status: "))) {
            ll->event = LOGE_QMAIL_STATUS;
            ll->what = logline_str(p + 8, end);
            return true;
        }
        return false;
    case 'd':
        if (logline_has(p, end, LIT("delivery "))) {
            q = p + 9;
            long long d = logline_uint(&q, end);
            if (d < 0 || !logline_has(q, end, LIT(": ")))
                return false;
            ll->delivery_no = (long)d;
            ll->event = LOGE_DELIVERY;
            q += 2;
            const char *c = memchr(q, ':', (size_t)(end - q));
            ll->status_word = logline_str(q, c ? c : end);
            if (logstr_eq(ll->status_word, "success"))
                ll->status = LOGS_SENT;
            else if (logstr_eq(ll->status_word, "deferral"))
                ll->status = LOGS_DEFERRED;
            else if (logstr_eq(ll->status_word, "failure"))
                ll->status = LOGS_BOUNCED;
            else
                ll->truncated = true;
            if (c != NULL) {
                c++;
                while (c < end && *c == ' ')
                    c++;
                ll->status_text = logline_str(c, end);
                /* qmail's own codes: "(#4.4.2)" */
                const char *hc = logline_find(c, end, LIT("(#"));
                if (hc != NULL) {
                    const char *ds = hc + 2, *de = ds;
                    while (de < end && (logline_digit(*de) || *de == '.'))
                        de++;
                    if (de - ds >= 5)
                        ll->dsn = logline_str(ds, de);
                }
                /* Remote results carry the peer's reply: "...said:_550_5.1.1_..." */
                const char *r = c;
                while (r + 4 < end) {
                    if (logline_digit(r[0]) && logline_digit(r[1]) &&
                        logline_digit(r[2]) && r[3] == '_' && logline_digit(r[4])) {
                        const char *ds = r + 4, *de = ds;
                        while (de < end && (logline_digit(*de) || *de == '.'))
                            de++;
                        if (de - ds >= 5)
                            ll->dsn = logline_str(ds, de);
                        ll->reply_code = (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
                        break;
                    }
                    r++;
                }
            }
            return true;
        }
        return false;
    case 'e':
        if (logline_has(p, end, LIT("end msg "))) {
            q = p + 8;
            const char *s = q;
            if (logline_uint(&q, end) < 0)
                return false;
            ll->queue_id = logline_str(s, q);
            ll->event = LOGE_REMOVED;
            return true;
        }
        return false;
    case 'b':
        if (logline_has(p, end, LIT("bounce msg "))) {
            q = p + 11;
            const char *s = q;
            if (logline_uint(&q, end) < 0)
                return false;
            ll->queue_id = logline_str(s, q);
            ll->event = LOGE_BOUNCE;
            ll->notify_kind = logline_str(p, p + 6);
            if (logline_has(q, end, LIT(" qp "))) {
                q += 4;
                ll->qp = (long)logline_uint(&q, end);
            }
            return true;
        }
        return false;
    case 't':
        if (logline_has(p, end, LIT("triple bounce: discarding bounce/"))) {
            q = p + 33;
            const char *s = q;
            if (logline_uint(&q, end) >= 0)
                ll->queue_id = logline_str(s, q);
            ll->event = LOGE_DISCARD;
            return true;
        }
        return false;
    case 'w':
        if (logline_has(p, end, LIT("warning: "))) {
            ll->event = LOGE_WARNING;
            ll->severity_text = logline_str(p + 9, end);
            return true;
        }
        return false;
    case 'a':
        if (logline_has(p, end, LIT("alert: "))) {
            ll->event = LOGE_ERROR;
            ll->severity_text = logline_str(p + 7, end);
            return true;
        }
        return false;
    default:
        return false;
    }
}

/* ---- Exim ------------------------------------------------------------------- */

/* Exim "H=host (helo) [addr]:port" value at p. */
static void logline_exim_host(const char *p, const char *end, logline *ll)
{
    const char *lb = memchr(p, '[', (size_t)(end - p));
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (lb == NULL)
        return;
    const char *rb = memchr(lb, ']', (size_t)(end - lb));
    if (rb == NULL)
        return;
    const char *he = sp && sp < lb ? sp : lb;
    if (*p == '(') {
        const char *cp = memchr(p, ')', (size_t)(end - p));
        if (cp != NULL && cp < lb)
            ll->helo = logline_str(p + 1, cp);
        he = p;
    } else if (sp != NULL && sp < lb && sp[1] == '(') {
        const char *cp = memchr(sp, ')', (size_t)(end - sp));
        if (cp != NULL && cp < lb)
            ll->helo = logline_str(sp + 2, cp);
    }
    ll->client_host = logline_str(p, he);
    ll->client_addr = logline_str(lb + 1, rb);
    if (rb + 1 < end && rb[1] == ':') {
        const char *q = rb + 2;
        ll->client_port = (long)logline_uint(&q, end);
    }
}

/* Find " K=" (or at the start) in [p, end): the value's start, or NULL. */
static const char *logline_exim_key(const char *p, const char *end,
                                    const char *key, size_t n)
{
    for (const char *c = p; c < end;) {
        const char *f = logline_find(c, end, key, n);
        if (f == NULL)
            return NULL;
        if (f == p || f[-1] == ' ')
            return f + n;
        c = f + 1;
    }
    return NULL;
}

/* Exim's value: up to the next space, or a quoted string. */
static logstr logline_exim_val(const char *v, const char *end)
{
    const char *e = v;
    if (v < end && *v == '"') {
        e = memchr(v + 1, '"', (size_t)(end - v - 1));
        return e ? logline_str(v + 1, e) : logline_str(v + 1, end);
    }
    while (e < end && *e != ' ')
        e++;
    return logline_str(v, e);
}

static void logline_exim(const char *p, const char *end, logline *ll)
{
    ll->format = LOGF_EXIM;
    ll->event = LOGE_OTHER;
    ll->program.p = "exim", ll->program.n = 4;
    /* "[pid] " with log_selector +pid */
    if (p < end && *p == '[') {
        const char *q = p + 1;
        long long pid = logline_uint(&q, end);
        if (pid >= 0 && q < end && *q == ']') {
            ll->pid = (long)pid;
            p = q + 1;
            while (p < end && *p == ' ')
                p++;
        }
    }
    ll->text = logline_str(p, end);
    ll->body = ll->text;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    const char *we = sp ? sp : end;
    if (logline_is_exim_id(p, (size_t)(we - p))) {
        ll->queue_id = logline_str(p, we);
        p = we < end ? we + 1 : end;
        ll->body = logline_str(p, end);
        if (end - p >= 3 && p[2] == ' ') {
            const char *a = p + 3;
            if (p[0] == '<' && p[1] == '=') {
                ll->event = LOGE_QUEUED;
                const char *ae = memchr(a, ' ', (size_t)(end - a));
                ll->from = logline_str(a, ae ? ae : end);
                if (logstr_eq(ll->from, "<>"))
                    ll->from.n = 0, ll->from.p = a;
                const char *v;
                if ((v = logline_exim_key(a, end, LIT("H="))) != NULL)
                    logline_exim_host(v, end, ll);
                if ((v = logline_exim_key(a, end, LIT("P="))) != NULL)
                    ll->proto = logline_exim_val(v, end);
                if ((v = logline_exim_key(a, end, LIT("S="))) != NULL)
                    ll->size = logline_uint(&v, end);
                if ((v = logline_exim_key(a, end, LIT("id="))) != NULL)
                    ll->message_id = logline_exim_val(v, end);
                if ((v = logline_exim_key(a, end, LIT("U="))) != NULL)
                    ll->uid = logline_exim_val(v, end);
                if ((v = logline_exim_key(a, end, LIT("A="))) != NULL) {
                    logstr au = logline_exim_val(v, end);
                    const char *c = memchr(au.p, ':', au.n);
                    if (c != NULL) {
                        ll->sasl_method = logline_str(au.p, c);
                        ll->sasl_username = logline_str(c + 1, au.p + au.n);
                    }
                }
                /* A bounce names its parent: "R=parent-id". */
                if ((v = logline_exim_key(a, end, LIT("R="))) != NULL) {
                    logstr r = logline_exim_val(v, end);
                    if (logline_is_exim_id(r.p, r.n))
                        ll->new_queue_id = r;
                }
                return;
            }
            int kind = 0;
            if ((p[0] == '=' && p[1] == '>') || (p[0] == '-' && p[1] == '>') ||
                (p[0] == '*' && p[1] == '>'))
                kind = LOGS_SENT;
            else if (p[0] == '*' && p[1] == '*')
                kind = LOGS_BOUNCED;
            else if (p[0] == '=' && p[1] == '=')
                kind = LOGS_DEFERRED;
            if (kind != 0) {
                ll->event = LOGE_DELIVERY;
                ll->status = (enum logline_status)kind;
                ll->status_word = logline_str(p, p + 2);
                const char *ae = memchr(a, ' ', (size_t)(end - a));
                const char *colon = NULL;
                ll->to = logline_str(a, ae ? ae : end);
                if (ll->to.n > 0 && ll->to.p[ll->to.n - 1] == ':')
                    ll->to.n--;
                /* "=> to <orig>" when an alias expanded */
                if (ae != NULL && ae + 1 < end && ae[1] == '<') {
                    logstr o;
                    if (logline_angle(ae + 1, end, &o) != NULL)
                        ll->orig_to = o;
                }
                const char *v;
                if ((v = logline_exim_key(a, end, LIT("T="))) != NULL) {
                    logstr t = logline_exim_val(v, end);
                    if (t.n > 0 && t.p[t.n - 1] == ':')
                        t.n--;
                    ll->relay = t;
                }
                if ((v = logline_exim_key(a, end, LIT("H="))) != NULL) {
                    const char *he = logline_find(v, end, LIT("]"));
                    ll->relay = logline_str(v, he ? he + 1 : end);
                    if (he && he + 2 < end && he[1] == ':' && logline_digit(he[2])) {
                        he += 2;
                        while (he < end && logline_digit(*he))
                            he++;
                        ll->relay = logline_str(v, he);
                    }
                }
                if ((v = logline_exim_key(a, end, LIT("C="))) != NULL) {
                    logstr c = logline_exim_val(v, end);
                    const char *t = logline_reply(c.p, c.p + c.n, ll);
                    (void)t;
                    ll->status_text = c;
                }
                if (kind != LOGS_SENT) {
                    /* The reason follows the first ": " after the fields. */
                    colon = logline_find(a, end, LIT(": "));
                    if (colon != NULL) {
                        ll->status_text = logline_str(colon + 2, end);
                        const char *r = logline_rfind(colon, end, LIT(": "));
                        if (r != NULL)
                            logline_reply(r + 2, end, ll);
                    }
                }
                return;
            }
        }
        if (logline_has(p, end, LIT("Completed"))) {
            ll->event = LOGE_REMOVED;
            return;
        }
        if (logline_has(p, end, LIT("Frozen")) ||
            logline_has(p, end, LIT("Message is frozen"))) {
            ll->event = LOGE_HOLD;
            return;
        }
        if (logline_has(p, end, LIT("Unfrozen"))) {
            ll->event = LOGE_RELEASED;
            return;
        }
        if (logline_has(p, end, LIT("removed by ")) ||
            logline_has(p, end, LIT("Message removed"))) {
            ll->event = LOGE_REMOVED;
            return;
        }
        if (logline_has(p, end, LIT("H="))) {
            /* "1rX-..-.. H=... F=<x> rejected after DATA: text" */
            const char *rj = logline_find(p, end, LIT(" rejected "));
            if (rj != NULL)
                goto reject;
        }
        return;
    }
    if (logline_has(p, end, LIT("SMTP connection from "))) {
        const char *h = p + 21;
        const char *cl = logline_find(h, end, LIT(" closed by QUIT"));
        if (cl == NULL)
            cl = logline_find(h, end, LIT(" lost"));
        logline_exim_host(h, end, ll);
        if (logline_find(h, end, LIT("closed by QUIT")) != NULL ||
            logline_find(h, end, LIT(" D=")) != NULL)
            ll->event = LOGE_DISCONNECT;
        else if (logline_find(h, end, LIT("lost")) != NULL ||
                 logline_find(h, end, LIT("timed out")) != NULL) {
            ll->event = LOGE_LOST;
            ll->what = logline_str(p, p + 15);
        } else
            ll->event = LOGE_CONNECT;
        (void)cl;
        return;
    }
reject:
    if (logline_has(p, end, LIT("H=")) || logline_has(p, end, LIT("U="))) {
        const char *rj = logline_find(p, end, LIT(" rejected "));
        if (rj == NULL)
            return;
        ll->event = LOGE_REJECT;
        ll->reject_action = logline_str(rj + 1, rj + 9);
        logline_exim_host(p + 2, rj, ll);
        const char *v;
        if ((v = logline_exim_key(p, rj, LIT("F="))) != NULL) {
            logstr f;
            if (logline_angle(v, rj, &f) != NULL)
                ll->from = f;
        }
        const char *t = rj + 10;
        const char *c = logline_find(t, end, LIT(": "));
        const char *st = t;
        while (st < end && *st != ' ' && *st != ':')
            st++;
        ll->stage = logline_str(t, st);
        if (logstr_eq(ll->stage, "RCPT") && st + 1 < end && st[1] == '<') {
            logstr r;
            if (logline_angle(st + 1, end, &r) != NULL)
                ll->to = r;
        } else if (logstr_eq(ll->stage, "after") && st + 1 < end)
            logline_word(st + 1, c ? c : end, &ll->stage);
        if (c != NULL)
            ll->reject_text = logline_str(c + 2, end);
    }
}

/* ---- Dovecot --------------------------------------------------------------- */

/* A full mailbox is "mailbox full" in RFC 3463. */
static const char logline_quota_dsn[] = "5.2.2";

/* "key=value, key=<v>" after Login:/Disconnected: */
static void logline_dovecot_kv(const char *p, const char *end, logline *ll)
{
    const char *u = logline_find(p, end, LIT("user=<"));
    if (u != NULL) {
        logstr s;
        if (logline_angle(u + 5, end, &s) != NULL)
            ll->user = s;
    }
    const char *m = logline_find(p, end, LIT("method="));
    if (m != NULL) {
        const char *e = m + 7;
        while (e < end && *e != ',')
            e++;
        ll->sasl_method = logline_str(m + 7, e);
    }
    const char *r = logline_find(p, end, LIT("rip="));
    if (r != NULL) {
        const char *e = r + 4;
        while (e < end && *e != ',')
            e++;
        ll->client_addr = logline_str(r + 4, e);
    }
    /* The session id that the session's own lines carry in <>: kept where
     * those put it, so that a login and its logout share a key. */
    const char *si = logline_find(p, end, LIT("session=<"));
    if (si != NULL) {
        logstr s;
        if (logline_angle(si + 8, end, &s) != NULL)
            ll->uid = s;
    }
}

/*
 * p at "imap-login: Login: ...", "lmtp(user)<pid><sess>: msgid=<m>: saved mail
 * to INBOX", "imap(user)<1><s>: Disconnected: Logged out in=1 out=2".
 */
static void logline_dovecot(const char *p, const char *end, logline *ll)
{
    ll->format = LOGF_DOVECOT;
    ll->dovecot = true;
    ll->event = LOGE_OTHER;
    const char *c = logline_find(p, end, LIT(": "));
    if (c == NULL) {
        ll->body = logline_str(p, end);
        return;
    }
    /* The service, its user in (), pid and session in <>. */
    const char *pe = p;
    while (pe < c && *pe != '(' && *pe != '<')
        pe++;
    ll->program = logline_str(p, pe);
    if (pe < c && *pe == '(') {
        const char *rp = memchr(pe, ')', (size_t)(c - pe));
        if (rp != NULL) {
            logstr u = logline_str(pe + 1, rp);
            /* "lmtp(12345)" is a pid, "lmtp(user)" a user, "(user,1.2.3.4)" both */
            const char *comma = memchr(u.p, ',', u.n);
            if (comma != NULL)
                u.n = (size_t)(comma - u.p);
            const char *q = u.p;
            long long pid = logline_uint(&q, u.p + u.n);
            if (pid >= 0 && q == u.p + u.n)
                ll->pid = (long)pid;
            else
                ll->user = u;
            pe = rp + 1;
        }
    }
    if (pe < c && *pe == '<') {
        const char *q = pe + 1;
        long long pid = logline_uint(&q, c);
        if (pid >= 0 && q < c && *q == '>') {
            ll->pid = (long)pid;
            pe = q + 1;
            if (pe < c && *pe == '<') {
                const char *se = memchr(pe, '>', (size_t)(c - pe));
                if (se != NULL)
                    ll->uid = logline_str(pe + 1, se); /* session id */
            }
        }
    }
    p = c + 2;
    /* Own log file: "Info: ", "Error: " ... (syslog carries no level). */
    enum logline_event sev = LOGE_OTHER;
    if (logline_has(p, end, LIT("Info: ")))
        p += 6;
    else if (logline_has(p, end, LIT("Debug: ")))
        p += 7;
    else if (logline_has(p, end, LIT("Warning: ")))
        p += 9, sev = LOGE_WARNING;
    else if (logline_has(p, end, LIT("Error: ")))
        p += 7, sev = LOGE_ERROR;
    else if (logline_has(p, end, LIT("Fatal: ")))
        p += 7, sev = LOGE_FATAL;
    else if (logline_has(p, end, LIT("Panic: ")))
        p += 7, sev = LOGE_PANIC;
    ll->body = logline_str(p, end);
    ll->text = ll->body;

    if (logline_has(p, end, LIT("Login: "))) {
        ll->event = LOGE_LOGIN;
        logline_dovecot_kv(p, end, ll);
        return;
    }
    if (logline_has(p, end, LIT("msgid="))) {
        const char *q = p + 6;
        const char *ce;
        if (q < end && *q == '<') {
            ce = logline_angle(q, end, &ll->message_id);
            if (ce == NULL) {
                ll->truncated = true;
                return;
            }
        } else {
            ce = logline_find(q, end, LIT(": "));
            if (ce == NULL)
                ce = end;
            ll->message_id = logline_str(q, ce);
        }
        if (logline_has(ce, end, LIT(": ")))
            ce += 2;
        logstr rest = logline_str(ce, end);
        ll->to = ll->user;
        ll->status_text = rest;
        if (logline_find(ce, end, LIT("saved mail to")) != NULL ||
            logline_find(ce, end, LIT("stored mail into")) != NULL ||
            logline_find(ce, end, LIT("forwarded to")) != NULL) {
            ll->event = LOGE_DELIVERY;
            ll->status = LOGS_SENT;
        } else if (logline_find(ce, end, LIT("save failed")) != NULL ||
                   logline_has(ce, end, LIT("rejected")) ||
                   logline_find(ce, end, LIT("Quota exceeded")) != NULL) {
            ll->event = LOGE_DELIVERY;
            /* Dovecot's LMTP and LDA fail permanently only for a full
             * mailbox (552 5.2.2; 452 with quota_full_tempfail, which the
             * line does not tell) and a Sieve reject; every other storage
             * error ("Internal error occurred", permissions, disk) is a
             * temporary failure (451, LDA's EX_TEMPFAIL) that the MTA
             * retries. */
            bool quota = logline_find(ce, end, LIT("Quota exceeded")) != NULL;
            bool perm = quota || logline_has(ce, end, LIT("rejected"));
            ll->status = perm && logline_find(ce, end, LIT("temporary")) == NULL
                             ? LOGS_BOUNCED : LOGS_DEFERRED;
            if (quota)
                ll->dsn = logline_str(logline_quota_dsn, logline_quota_dsn + 5);
        } else if (logline_has(ce, end, LIT("discarded"))) {
            ll->event = LOGE_DELIVERY;
            ll->status = LOGS_DISCARDED;
        }
        if (ll->event == LOGE_DELIVERY) {
            ll->status_word = logline_str(ce, ce);
            return;
        }
    }
    bool login_proc = ll->program.n > 6 &&
                      memcmp(ll->program.p + ll->program.n - 6, "-login", 6) == 0;
    if (login_proc && (logline_has(p, end, LIT("Disconnected")) ||
                       logline_has(p, end, LIT("Aborted login")) ||
                       logline_has(p, end, LIT("Login aborted")))) {
        /* The login process: no session yet, so a failed or abandoned login. */
        ll->event = logline_find(p, end, LIT("auth failed")) != NULL ? LOGE_LOGIN_FAIL : LOGE_LOST;
        const char *kv = logline_find(p, end, LIT(": user="));
        ll->what = logline_str(p, kv ? kv : end);
        if (kv != NULL)
            logline_dovecot_kv(kv, end, ll);
        return;
    }
    if (logline_has(p, end, LIT("Disconnected: ")) || logline_has(p, end, LIT("Logged out")) ||
        logline_has(p, end, LIT("Connection closed"))) {
        if (logline_has(p, end, LIT("Disconnected: ")))
            p += 14;
        ll->event = LOGE_LOGOUT;
        const char *in = logline_find(p, end, LIT("in="));
        if (in == NULL)
            in = logline_find(p, end, LIT("top="));
        if (in == NULL)
            in = logline_find(p, end, LIT("retr="));
        const char *we = in ? in : end;
        while (we > p && (we[-1] == ' ' || we[-1] == ','))
            we--;
        ll->what = logline_str(p, we);
        if (in != NULL)
            ll->counters = logline_str(in, end);
        return;
    }
    if (logline_has(p, end, LIT("Disconnected")) || logline_has(p, end, LIT("Aborted login")) ||
        logline_has(p, end, LIT("Login aborted"))) {
        if (logline_find(p, end, LIT("auth failed")) != NULL)
            ll->event = LOGE_LOGIN_FAIL;
        else
            ll->event = LOGE_LOST;
        const char *kv = logline_find(p, end, LIT("): "));
        const char *we = kv;
        if (kv == NULL) {
            kv = logline_find(p, end, LIT(": user="));
            we = kv;
        }
        ll->what = logline_str(p, we ? we + 1 : end);
        if (kv != NULL)
            logline_dovecot_kv(kv, end, ll);
        return;
    }
    if (logline_has(p, end, LIT("Connect from "))) {
        ll->event = LOGE_CONNECT;
        ll->client_host = logline_str(p + 13, end);
        return;
    }
    if (logline_has(p, end, LIT("Disconnect from "))) {
        ll->event = LOGE_DISCONNECT;
        const char *co = logline_find(p + 16, end, LIT(": "));
        ll->client_host = logline_str(p + 16, co ? co : end);
        if (co != NULL)
            ll->what = logline_str(co + 2, end);
        return;
    }
    if (logstr_eq(ll->program, "auth") || logstr_eq(ll->program, "auth-worker")) {
        if (logline_find(p, end, LIT("unknown user")) != NULL ||
            logline_find(p, end, LIT("Password mismatch")) != NULL ||
            logline_find(p, end, LIT("password mismatch")) != NULL) {
            ll->event = LOGE_LOGIN_FAIL;
            ll->what = ll->body;
            return;
        }
    }
    if (sev != LOGE_OTHER) {
        ll->event = sev;
        ll->severity_text = ll->body;
    }
}

/* ---- the header ------------------------------------------------------------ */

static bool logline_is_postfix_daemon(logstr prog)
{
    static const char *const names[] = {
        "smtpd", "smtp", "lmtp", "qmgr", "cleanup", "local", "pickup", "bounce",
        "trivial-rewrite", "master", "postscreen", "anvil", "virtual", "pipe",
        "error", "discard", "showq", "postsuper", "postqueue", "postdrop",
        "sendmail", "tlsmgr", "scache", "verify", "dnsblog", "tlsproxy",
        "postmap", "postalias", "postfix-script", "postlogd", "oqmgr", "flush",
        "proxymap", "spawn", "qmqpd", "postmulti", "postconf", "policyd-spf",
        NULL};
    for (const char *const *n = names; *n; n++)
        if (logstr_eq(prog, *n))
            return true;
    return false;
}

/*
 * "tag[pid]: text" or "tag: text" at p.  tag may hold '/' (postfix/smtpd)
 * and DMA adds "[queueid]" before "[pid]".  Returns the text start or NULL.
 */
static const char *logline_tag(const char *p, const char *end, logline *ll,
                               logstr *tag)
{
    const char *t = p;
    while (t < end && *t != '[' && *t != ':' && *t != ' ') {
        /* Dovecot: "lmtp(user)<pid><session:T2>" may hold ':' inside. */
        if (*t == '<' || *t == '(') {
            const char *c = memchr(t, *t == '<' ? '>' : ')', (size_t)(end - t));
            if (c != NULL && memchr(t, ' ', (size_t)(c - t)) == NULL) {
                t = c + 1;
                continue;
            }
        }
        t++;
    }
    if (t >= end || t == p)
        return NULL;
    *tag = logline_str(p, t);
    if (*t == '[') {
        const char *rb = memchr(t, ']', (size_t)(end - t));
        if (rb == NULL)
            return NULL;
        const char *q = t + 1;
        long long pid = logline_uint(&q, rb);
        if (pid >= 0 && q == rb) {
            ll->pid = (long)pid;
        } else {
            /* DMA: dma[queueid][pid] */
            ll->queue_id = logline_str(t + 1, rb);
            if (rb + 1 < end && rb[1] == '[') {
                const char *rb2 = memchr(rb + 1, ']', (size_t)(end - rb - 1));
                q = rb + 2;
                if (rb2 != NULL && (pid = logline_uint(&q, rb2)) >= 0)
                    ll->pid = (long)pid;
                rb = rb2 ? rb2 : rb;
            }
        }
        t = rb + 1;
    }
    if (t >= end || *t != ':')
        return NULL;
    t++;
    if (t < end && *t == ' ')
        t++;
    return t;
}

/*
 * postie's pop3d (and imapd) write Dovecot's lines after postie's prefix
 * (docs/logging.md, "Mailbox access"): "postie/pop3d[1]: pop3-login: Login:
 * user=<u>, ...", "pop3(u)<pid><session>: Disconnected: ...".  They are
 * decoded with Dovecot's grammar, keep postie's format, syslog name and
 * program (pop3d), and are marked ll->dovecot for the mailbox logic of the
 * tools.  A "warning: "/"error: " prefix stays postie's severity.
 */
static bool logline_postie_dovecot(logline *ll, const char *text, const char *end)
{
    const char *p = text;
    enum logline_event sev = LOGE_OTHER;
    if (logline_has(p, end, LIT("warning: ")))
        p += 9, sev = LOGE_WARNING;
    else if (logline_has(p, end, LIT("error: ")))
        p += 7, sev = LOGE_ERROR;
    if (!(logline_has(p, end, LIT("pop3-login: ")) || logline_has(p, end, LIT("pop3(")) ||
          logline_has(p, end, LIT("imap-login: ")) || logline_has(p, end, LIT("imap("))))
        return false;
    logstr sysname = ll->sysname, program = ll->program;
    long pid = ll->pid;
    logline_dovecot(p, end, ll);
    ll->format = LOGF_POSTIE;
    ll->sysname = sysname;
    ll->program = program;
    if (ll->pid < 0)
        ll->pid = pid;
    ll->text = logline_str(text, end);
    if (sev != LOGE_OTHER) {
        /* "error: pop3(u)<p><s>: Couldn't open INBOX: ..." */
        ll->event = sev;
        ll->severity_text = logline_str(p, end);
    }
    return true;
}

/* Split "postfix/submission/smtpd" into syslog name and program; classify. */
static void logline_classify(logline *ll, logstr tag, const char *text,
                             const char *end)
{
    /* The syslog name ends at the last '/' before any Dovecot user or
     * session part: "imap(u)<1><9KtU/AAAB>" has a '/' in its session ID. */
    const char *lim = tag.p;
    while (lim < tag.p + tag.n && *lim != '(' && *lim != '<')
        lim++;
    const char *slash = NULL;
    for (const char *c = lim; c > tag.p; c--)
        if (c[-1] == '/') {
            slash = c - 1;
            break;
        }
    if (slash != NULL) {
        ll->sysname = logline_str(tag.p, slash);
        ll->program = logline_str(slash + 1, tag.p + tag.n);
    } else {
        ll->sysname = tag;
        ll->program = tag;
    }
    ll->text = logline_str(text, end);

    if (slash != NULL) {
        ll->format = ll->sysname.n >= 6 && memcmp(ll->sysname.p, "postie", 6) == 0
                         ? LOGF_POSTIE : LOGF_POSTFIX;
        if (ll->format == LOGF_POSTIE && logline_postie_dovecot(ll, text, end))
            return;
        logline_postfix(text, end, ll);
        return;
    }
    logstr t = tag;
    if (logstr_eq(t, "dma")) {
        ll->format = LOGF_DMA;
        logline_dma(text, end, ll);
        return;
    }
    if (logstr_eq(t, "sendmail") || logstr_eq(t, "sm-mta") ||
        logstr_eq(t, "sm-msp-queue") || logstr_eq(t, "sendmail-msp")) {
        ll->format = LOGF_SENDMAIL;
        logline_sendmail(text, end, ll);
        return;
    }
    if (logstr_eq(t, "dovecot")) {
        ll->sysname = t;
        logline_dovecot(text, end, ll);
        return;
    }
    if (logstr_eq(t, "qmail") || logstr_eq(t, "qmail-send")) {
        ll->format = LOGF_QMAIL;
        const char *q = text;
        logline st = *ll;
        const char *a = logline_stamp_unix(q, end, &st);
        if (a != NULL) {
            /* splogger's own stamp is the precise one. */
            ll->time = st.time;
            ll->usec = st.usec;
            q = a + (a < end);
        }
        if (q >= end || !logline_qmail(q, end, ll))
            ll->event = LOGE_OTHER;
        return;
    }
    if (logstr_eq(t, "exim") || logstr_eq(t, "exim4")) {
        logline_exim(text, end, ll);
        ll->sysname = t;
        return;
    }
    if (logstr_eq(t, "postie")) {
        ll->format = LOGF_POSTIE;
        if (logline_postie_dovecot(ll, text, end))
            return;
        logline_postfix(text, end, ll);
        return;
    }
    /* Dovecot's own log file names its master "master" too; its lines
     * carry a level ("master: Info: Dovecot v2.3 starting up"), Postfix's
     * never do. */
    if (end - text > 6 && (memcmp(text, "Info: ", 6) == 0 ||
                           (end - text > 9 && memcmp(text, "Warning: ", 9) == 0) ||
                           (end - text > 7 && memcmp(text, "Error: ", 7) == 0) ||
                           (end - text > 7 && memcmp(text, "Fatal: ", 7) == 0))) {
        logline_dovecot(tag.p, end, ll);
        return;
    }
    if ((t.n >= 7 && memcmp(t.p, "postfix", 7) == 0) || logline_is_postfix_daemon(t)) {
        ll->format = LOGF_POSTFIX;
        logline_postfix(text, end, ll);
        return;
    }
    /* Dovecot's own log file: "imap-login: Info: ...", "lmtp(u)<1><s>: Info: ". */
    if (end - text > 6 && (logline_has(text, end, LIT("Info: ")) ||
                           logline_has(text, end, LIT("Error: ")) ||
                           logline_has(text, end, LIT("Warning: ")) ||
                           logline_has(text, end, LIT("Fatal: ")) ||
                           logline_has(text, end, LIT("Panic: ")) ||
                           logline_has(text, end, LIT("Debug: ")))) {
        logline_dovecot(tag.p, end, ll);
        return;
    }
    ll->format = LOGF_OTHER;
    ll->event = LOGE_OTHER;
    ll->body = ll->text;
}

/* After the time stamp of a syslog-style line: "host tag[pid]: text". */
static void logline_syslog(const char *p, const char *end, logline *ll,
                           bool rfc5424)
{
    while (p < end && *p == ' ')
        p++;
    if (p >= end) {
        ll->truncated = true;
        return;
    }
    if (rfc5424) {
        /* HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG */
        logstr host, app, procid, msgid;
        p = logline_word(p, end, &host);
        if (p >= end)
            goto cut;
        p = logline_word(p + 1, end, &app);
        if (p >= end)
            goto cut;
        p = logline_word(p + 1, end, &procid);
        if (p >= end)
            goto cut;
        p = logline_word(p + 1, end, &msgid);
        if (p >= end)
            goto cut;
        p++;
        if (p < end && *p == '-')
            p++;
        else if (p < end && *p == '[') {
            /* Skip the structured data elements. */
            while (p < end && *p == '[') {
                const char *rb = p + 1;
                while (rb < end && *rb != ']') {
                    if (*rb == '\\' && rb + 1 < end)
                        rb++;
                    rb++;
                }
                if (rb >= end)
                    goto cut;
                p = rb + 1;
            }
        }
        if (p < end && *p == ' ')
            p++;
        /* A UTF-8 BOM may start MSG. */
        if (end - p >= 3 && (unsigned char)p[0] == 0xEF &&
            (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
            p += 3;
        ll->host = logstr_eq(host, "-") ? (logstr){NULL, 0} : host;
        const char *q = procid.p;
        long long pid = logline_uint(&q, procid.p + procid.n);
        if (pid >= 0)
            ll->pid = (long)pid;
        if (logstr_eq(app, "-"))
            app.n = 0;
        if (app.n == 0) {
            ll->format = LOGF_OTHER;
            ll->event = LOGE_OTHER;
            return;
        }
        /* DMA's "dma[queueid]" survives as the APP-NAME's suffix. */
        const char *lb = memchr(app.p, '[', app.n);
        if (lb != NULL) {
            const char *rb = memchr(lb, ']', (size_t)(app.p + app.n - lb));
            if (rb != NULL)
                ll->queue_id = logline_str(lb + 1, rb);
            app.n = (size_t)(lb - app.p);
        }
        logline_classify(ll, app, p, end);
        return;
    }
    /* Traditional: HOST TAG[PID]: TEXT; Dovecot's file has no HOST. */
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL)
        goto cut;
    logstr tag;
    const char *text = NULL;
    if (sp[-1] == ':' ) {
        /* "imap-login: Info: ..." (dovecot log_path) */
        text = logline_tag(p, end, ll, &tag);
        if (text != NULL) {
            logline_classify(ll, tag, text, end);
            return;
        }
    }
    ll->host = logline_str(p, sp);
    p = sp + 1;
    text = logline_tag(p, end, ll, &tag);
    if (text == NULL) {
        /* "host kernel something" without a colon: somebody else's. */
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (c == NULL) {
            ll->format = LOGF_OTHER;
            ll->event = LOGE_OTHER;
            ll->truncated = (end - p) < 3;
            return;
        }
        /* dovecot "lmtp(user)<1><s>:"-style tags after a host. */
        const char *tp = p;
        while (tp < c && *tp != ' ')
            tp++;
        if (tp == c) {
            logline_dovecot(p, end, ll);
            return;
        }
        ll->format = LOGF_OTHER;
        ll->event = LOGE_OTHER;
        return;
    }
    logline_classify(ll, tag, text, end);
    return;
cut:
    ll->truncated = true;
    ll->format = LOGF_UNKNOWN;
    ll->event = LOGE_UNKNOWN;
}

/* ---- entry points ---------------------------------------------------------- */

void logline_ctx_init(logline_ctx *ctx)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    ctx->year = tm.tm_year + 1900;
    ctx->last_month = -1;
    ctx->ref_month = tm.tm_mon; /* "now" is the reference: no future months */
    ctx->utcoff = tm.tm_gmtoff;
}

static void logline_clear(logline *ll)
{
    memset(ll, 0, sizeof(*ll));
    ll->time = -1;
    ll->usec = -1;
    ll->pid = -1;
    ll->client_port = -1;
    ll->commands = -1;
    ll->commands_bad = -1;
    ll->size = -1;
    ll->nrcpt = -1;
    ll->delay = -1;
    ll->delays[0] = ll->delays[1] = ll->delays[2] = ll->delays[3] = -1;
    ll->reply_code = -1;
    ll->delivery_no = -1;
    ll->qp = -1;
}

enum logline_event logline_parse(logline_ctx *ctx, const char *line, size_t len,
                                 logline *ll)
{
    logline_clear(ll);
    const char *p = line, *end = line + len;
    if (len > 0 && end[-1] == '\r')
        end--;
    ll->raw = logline_str(line, end);
    /* Binary: NUL or other control bytes (TAB is text). */
    for (const char *c = p; c < end; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 && u != '\t') {
            ll->binary = true;
            return LOGE_UNKNOWN;
        }
    }
    if (p >= end)
        return LOGE_UNKNOWN;

    const char *q;
    if (*p == '@') {
        /* multilog */
        q = logline_stamp_tai64n(p, end, ll);
        if (q == NULL)
            return LOGE_UNKNOWN;
        ll->format = LOGF_QMAIL;
        ll->program.p = "qmail-send", ll->program.n = 10;
        if (q + 1 >= end || !logline_qmail(q + 1, end, ll)) {
            ll->event = LOGE_OTHER;
            ll->truncated = q + 1 >= end;
        }
        return ll->event;
    }
    if (*p == '<') {
        /* RFC 5424 with its PRI: "<22>1 2024-..." */
        q = p + 1;
        if (logline_uint(&q, end) < 0 || q >= end || *q != '>')
            return LOGE_UNKNOWN;
        p = q + 1;
        if (!logline_has(p, end, LIT("1 ")))
            return LOGE_UNKNOWN;
        p += 2;
        q = logline_stamp_iso(ctx, p, end, ll, 'T');
        if (q == NULL)
            return LOGE_UNKNOWN;
        ll->stamp_kind = LOGT_RFC5424;
        logline_syslog(q, end, ll, true);
        return ll->event;
    }
    if (logline_digit(*p)) {
        if (logline_has(p, end, LIT("1 ")) && end - p > 12 && logline_digit(p[2])) {
            /* RFC 5424 as some file templates write it, without the PRI. */
            q = logline_stamp_iso(ctx, p + 2, end, ll, 'T');
            if (q != NULL) {
                ll->stamp_kind = LOGT_RFC5424;
                logline_syslog(q, end, ll, true);
                return ll->event;
            }
        }
        q = logline_stamp_iso(ctx, p, end, ll, 'T');
        if (q != NULL) {
            ll->stamp_kind = LOGT_RFC3339;
            logline_syslog(q, end, ll, false);
            return ll->event;
        }
        q = logline_stamp_iso(ctx, p, end, ll, ' ');
        if (q != NULL) {
            ll->stamp_kind = LOGT_ISO_SPACE;
            if (q + 1 >= end) {
                ll->truncated = true;
                return LOGE_UNKNOWN;
            }
            /* tai64nlocal-converted qmail, or Exim's main log. */
            if (logline_qmail(q + 1, end, ll)) {
                ll->format = LOGF_QMAIL;
                ll->program.p = "qmail-send", ll->program.n = 10;
                return ll->event;
            }
            /* Not qmail's: start again from the stamp, as Exim's. */
            logline saved = *ll;
            logline_clear(ll);
            ll->raw = saved.raw;
            ll->stamp = saved.stamp;
            ll->stamp_kind = saved.stamp_kind;
            ll->time = saved.time;
            ll->usec = saved.usec;
            logline_exim(q + 1, end, ll);
            return ll->event;
        }
        q = logline_stamp_unix(p, end, ll);
        if (q != NULL && q + 1 < end && logline_qmail(q + 1, end, ll)) {
            ll->format = LOGF_QMAIL;
            ll->program.p = "qmail-send", ll->program.n = 10;
            return ll->event;
        }
        logline_clear(ll);
        ll->raw = logline_str(line, end);
        return LOGE_UNKNOWN;
    }
    q = logline_stamp_trad(ctx, p, end, ll);
    if (q == NULL)
        return LOGE_UNKNOWN;
    logline_syslog(q, end, ll, false);
    return ll->event;
}

const char *logline_format_name(enum logline_format f)
{
    static const char *const names[LOGF_COUNT] = {
        "unknown", "postfix", "postie", "qmail", "dma", "exim", "sendmail",
        "dovecot", "other"};
    return (unsigned)f < LOGF_COUNT ? names[f] : "unknown";
}

const char *logline_event_name(enum logline_event e)
{
    static const char *const names[LOGE_COUNT] = {
        "unknown", "other", "connect", "disconnect", "lost connection", "tls",
        "sasl failure", "postscreen", "anvil", "client", "pickup", "message-id",
        "queued", "delivery start", "delivery", "host said", "bounce",
        "expired", "removed", "reject", "hold", "released", "requeued",
        "discard", "filter", "warning", "error", "fatal", "panic",
        "qmail status", "login", "login failed", "logout"};
    return (unsigned)e < LOGE_COUNT ? names[e] : "unknown";
}

const char *logline_status_name(enum logline_status s)
{
    static const char *const names[LOGS_COUNT] = {
        "", "sent", "deferred", "bounced", "expired", "deliverable",
        "undeliverable", "softbounce", "discarded"};
    return (unsigned)s < LOGS_COUNT ? names[s] : "";
}
