/*
 * logline_fuzz - libFuzzer target for the mail log parser and everything
 * that consumes its output: logline_parse on the whole input and on each
 * line, the correlation engine (logtrace) fed every line, the text and JSON
 * printers, and logexplain on every line.
 *
 * Checks invariants, not only crashes: every field the parser returns
 * from the input lies inside the input.  Seeds: tests/logs/crafted/
 * (make -C fuzz run T=logline SEEDS=../tests/logs/crafted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logtool/logexplain.h"
#include "logtool/logline.h"
#include "logtool/logtrace.h"
#include "util/buf.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A field is absent, or inside [p, p+n), or one of the parser's own
 * constant strings (program names for formats without a tag). */
static void logline_fuzz_inside(logstr s, const char *p, size_t n)
{
    if (s.p == NULL)
        return;
    if (s.p >= p && s.p + s.n <= p + n)
        return;
    if (s.n <= 16 && strlen(s.p) >= s.n)
        return; /* a constant such as "exim", "qmail-send", "5.2.2" */
    abort();
}

static void logline_fuzz_check(const logline *ll, const char *p, size_t n)
{
    const logstr *f[] = {&ll->raw, &ll->stamp, &ll->host, &ll->sysname, &ll->program,
                         &ll->user, &ll->text, &ll->queue_id, &ll->body,
                         &ll->client_host, &ll->client_addr, &ll->sasl_method,
                         &ll->sasl_username, &ll->counters, &ll->stage, &ll->what,
                         &ll->message_id, &ll->from, &ll->to, &ll->orig_to, &ll->relay,
                         &ll->uid, &ll->tls, &ll->dsn, &ll->status_word, &ll->status_text,
                         &ll->new_queue_id, &ll->notify_kind, &ll->reject_action,
                         &ll->reject_text, &ll->proto, &ll->helo, &ll->severity_text,
                         &ll->channel};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        logline_fuzz_inside(*f[i], p, n);
    if ((unsigned)ll->event >= LOGE_COUNT || (unsigned)ll->format >= LOGF_COUNT ||
        (unsigned)ll->status >= LOGS_COUNT)
        abort();
}

/* Finished groups handed out on the way: print them as trace does. */
static void logline_fuzz_emit(logtrace *t, logtrace_msg **v, size_t n, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        logtrace_print_text(v[i], false, ctx);
        logtrace_print_json(v[i], ctx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *p = (const char *)data;
    logline_ctx ctx = {.year = 2024, .last_month = -1, .ref_month = -1, .utcoff = 0};
    logline ll;

    logline_parse(&ctx, p, size, &ll);
    logline_fuzz_check(&ll, p, size);

    /* Query: the first queue ID or address seen, so printing runs too. */
    char query[256] = "a@b";
    for (size_t off = 0; off < size;) {
        const char *nl = memchr(p + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - p - off) : size - off;
        logline_parse(&ctx, p + off, len, &ll);
        logstr q = ll.queue_id.p ? ll.queue_id : ll.to.p ? ll.to : ll.from;
        if (q.p != NULL && q.n > 0 && q.n < sizeof(query)) {
            memcpy(query, q.p, q.n);
            query[q.n] = '\0';
            break;
        }
        off += len + 1;
    }

    logtrace *t = logtrace_new(query);
    logtrace_set_caps(t, 8, 4); /* small caps: eviction paths run too */
    buf *out = buf_new(64 * 1024 * 1024);
    if (size > 0 && (data[0] & 1))
        logtrace_set_emit(t, logline_fuzz_emit, out);
    ctx.last_month = -1;
    for (size_t off = 0; off < size;) {
        const char *nl = memchr(p + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - p - off) : size - off;
        logline_parse(&ctx, p + off, len, &ll);
        logline_fuzz_check(&ll, p + off, len);
        logexplain_line(&ll, out);
        logtrace_line(t, &ll);
        off += len + 1;
    }
    logtrace_msg **v;
    size_t n = logtrace_matched(t, &v);
    for (size_t i = 0; i < n; i++) {
        logtrace_print_text(v[i], true, out);
        logtrace_print_json(v[i], out);
        (void)logtrace_print_outcome(v[i]);
    }
    mem_free(&v);
    buf_free(&out);
    logtrace_free(&t);
    return 0;
}
