/*
 * deliver_log - Postfix's delivery log line; see deliver_log.h.
 *
 * The number format, as Postfix behaves (its format_tv and log_adhoc), in
 * our own words: pick a resolution, round half up at it, print the seconds,
 * then the fraction digits down to the resolution with trailing zeros cut.
 * The resolution is 10^-max_digits s, made coarser so that at most
 * sig_digits significant digits show: below one second by growing it until
 * the value has no more than sig_digits digits above it; from one second on
 * by the number of digits of the whole seconds (so 1..9 s get one decimal,
 * 10 s and more none).
 */
#include "global/deliver_log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "util/msg.h"

#define MILLION 1000000LL

static long long deliver_log_pow10(int n)
{
    long long p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

void deliver_log_tv(buf *b, long long usec_total, int sig_digits,
                    int max_digits)
{
    if (usec_total < 0)
        usec_total = 0; /* a clock that jumped back: Postfix shows 0 too */
    if (max_digits < 0)
        max_digits = 0;
    if (max_digits > 6)
        max_digits = 6;
    if (sig_digits < 1)
        sig_digits = 1;
    if (sig_digits > 6)
        sig_digits = 6;
    long long sec = usec_total / MILLION;
    long long usec = usec_total % MILLION;
    long long res = MILLION / deliver_log_pow10(max_digits);

    if (res < MILLION) {
        if (sec > 0) {
            /* Whole-second digits use up significant digits. */
            int k = 0;
            for (long long s = sec; s > 0 && k < sig_digits; s /= 10)
                k++;
            long long coarse = deliver_log_pow10(6 - sig_digits + k);
            if (coarse > res)
                res = coarse;
        } else {
            long long width = deliver_log_pow10(sig_digits);
            while (usec >= width * res)
                res *= 10;
        }
    }
    if (res > 1) {
        usec += res / 2;
        if (usec >= MILLION) {
            sec++;
            usec -= MILLION;
        }
    }
    buf_printf(b, "%lld", sec);
    if (usec >= res) {
        buf_putc(b, '.');
        long long rem = usec;
        for (long long place = MILLION / 10; place > 0 && rem >= res;
             place /= 10) {
            buf_putc(b, (int)('0' + rem / place));
            rem %= place;
        }
    }
}

static long long deliver_log_delta(long long later, long long earlier)
{
    return later > earlier ? later - earlier : 0;
}

void deliver_log_format(buf *b, const char *id, const char *to,
                        const char *orig_to, const char *relay,
                        const deliver_stats *st, const char *dsn,
                        const char *status, const char *text)
{
    buf_printf(b, "%s: to=<%s>", id, to);
    if (orig_to && *orig_to && strcasecmp(orig_to, to) != 0)
        buf_printf(b, ", orig_to=<%s>", orig_to);
    buf_printf(b, ", relay=%s", relay);

    long long now = st->done > 0 ? st->done : deliver_log_now();
    long long delay = deliver_log_delta(now, st->arrival);
    long long a, bq = 0, c = 0, d = 0;
    /* A missing stage takes the rest of the time up to now, the way
     * Postfix accounts for mail that never reached an agent. */
    if (st->active > 0) {
        a = deliver_log_delta(st->active, st->arrival);
        if (st->handoff > 0) {
            bq = deliver_log_delta(st->handoff, st->active);
            if (st->conn_done > 0) {
                c = deliver_log_delta(st->conn_done, st->handoff);
                d = deliver_log_delta(now, st->conn_done);
            } else {
                d = deliver_log_delta(now, st->handoff);
            }
        } else {
            bq = deliver_log_delta(now, st->active);
        }
    } else {
        a = deliver_log_delta(now, st->arrival);
    }
    buf_puts(b, ", delay=");
    deliver_log_tv(b, delay, DELIVER_LOG_SIG_DIGITS, DELIVER_LOG_MAX_DIGITS);
    buf_puts(b, ", delays=");
    deliver_log_tv(b, a, DELIVER_LOG_SIG_DIGITS, DELIVER_LOG_MAX_DIGITS);
    buf_putc(b, '/');
    deliver_log_tv(b, bq, DELIVER_LOG_SIG_DIGITS, DELIVER_LOG_MAX_DIGITS);
    buf_putc(b, '/');
    deliver_log_tv(b, c, DELIVER_LOG_SIG_DIGITS, DELIVER_LOG_MAX_DIGITS);
    buf_putc(b, '/');
    deliver_log_tv(b, d, DELIVER_LOG_SIG_DIGITS, DELIVER_LOG_MAX_DIGITS);
    buf_printf(b, ", dsn=%s, status=%s (%s)", dsn, status, text);
}

void deliver_log(const char *id, const char *to, const char *orig_to,
                 const char *relay, const deliver_stats *st, const char *dsn,
                 const char *status, const char *text)
{
    buf *b = buf_new(16384);
    deliver_log_format(b, id, to, orig_to, relay, st, dsn, status, text);
    msg_info("%s", buf_str(b));
    buf_free(&b);
}

long long deliver_log_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * MILLION + tv.tv_usec;
}
