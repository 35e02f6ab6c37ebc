/*
 * dsn_param_fuzz - the RFC 3461 parameter parsers (global/dsn_param) on
 * arbitrary input, as smtpd feeds them from MAIL and RCPT: xtext decode,
 * NOTIFY, RET, ORCPT, ENVID.  Checks what the queue file and the notices
 * rely on: a decoded value holds no control character, no 8-bit octet,
 * stays within its limit, and encodes back to xtext that decodes to the
 * same; NOTIFY bits format and parse back to themselves; and the notice
 * composer (bounce/bounce_dsn) keeps every line within 998 octets whatever
 * the reason text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce_dsn.h"
#include "global/dsn_param.h"
#include "util/buf.h"
#include "util/mem.h"

static void fuzz_clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 32 || *p > 126)
            abort();
}

static void fuzz_line(const char *line, size_t len, void *ctx)
{
    if (len > 998 || memchr(line, '\n', len) != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';

    buf *b = buf_new(1000);
    if (dsn_param_xtext_decode(s, strlen(s), b) == 0) {
        fuzz_clean(b->data);
        buf *e = buf_new(4000), *d = buf_new(1000);
        if (dsn_param_xtext_encode(b->data, e) != 0 ||
            dsn_param_xtext_decode(e->data, e->len, d) != 0 ||
            strcmp(d->data, b->data) != 0)
            abort();
        buf_free(&e);
        buf_free(&d);
    }
    buf_free(&b);

    int bits = dsn_param_notify_parse(s);
    if (bits > 0) {
        char out[64];
        dsn_param_notify_format(bits, out, sizeof(out));
        if (dsn_param_notify_parse(out) != bits)
            abort();
    }
    (void)dsn_param_ret_parse(s);

    char *v = NULL;
    if (dsn_param_orcpt_parse(s, &v) == 0) {
        fuzz_clean(v);
        if (strchr(v, ';') == NULL || strlen(v) > DSN_ORCPT_MAX + 70)
            abort();
    }
    mem_free(&v);
    if (dsn_param_envid_parse(s, &v) == 0) {
        fuzz_clean(v);
        if (strlen(v) > DSN_ENVID_MAX)
            abort();
    }
    mem_free(&v);

    /* The reason text of an agent goes into the notice as it is. */
    bounce_dsn_rcpt r = {.addr = "a@b", .orcpt = "rfc822;a@b", .action = "failed",
                         .status = "5.0.0", .text = s};
    bounce_dsn dsn = {.kind = BOUNCE_KIND_FAILURE, .myhostname = "h", .queue_id = "1",
                      .sender = "x@y", .to = "x@y", .rcpts = &r, .nrcpt = 1,
                      .content = "Subject: x\n\nbody\n", .content_len = 17};
    if (strchr(s, '\n') == NULL && strchr(s, '\r') == NULL)
        bounce_dsn_compose(&dsn, fuzz_line, NULL);
    char remote[64], diag[256];
    const char *type;
    bounce_dsn_diag(s, remote, sizeof(remote), &type, diag, sizeof(diag));
    free(s);
    return 0;
}
