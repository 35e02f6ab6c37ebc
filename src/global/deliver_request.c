/*
 * deliver_request - the qmgr <-> delivery agent protocol; see
 * deliver_request.h.
 */
#include "global/deliver_request.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

static int deliver_request_clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int deliver_request_format(buf *out, const deliver_request *r)
{
    if (!deliver_request_clean(r->sender) ||
        !deliver_request_clean(r->nexthop ? r->nexthop : ""))
        return -1;
    int bad = 0;
    bad |= buf_printf(out, "id=%s\nsender=%s\nnexthop=%s\n", r->id, r->sender,
                      r->nexthop ? r->nexthop : "");
    bad |= buf_printf(out, "arrival=%lld\nactive=%lld\nhandoff=%lld\n",
                      r->arrival, r->active, r->handoff);
    if (r->retry)
        bad |= buf_puts(out, "retry=1\n");
    for (size_t i = 0; i < r->nrcpt; i++) {
        const deliver_rcpt *d = &r->rcpts[i];
        if (!deliver_request_clean(d->addr) ||
            (d->orcpt && !deliver_request_clean(d->orcpt)))
            return -1;
        bad |= buf_printf(out, "rcpt=%d %s\n", d->index, d->addr);
        if (d->orcpt)
            bad |= buf_printf(out, "orcpt=%d %s\n", d->index, d->orcpt);
    }
    bad |= buf_putc(out, '\n');
    return bad ? -1 : 0;
}

void deliver_request_add_rcpt(deliver_request *r, int index, const char *addr,
                              const char *orcpt)
{
    r->rcpts = mem_realloc(r->rcpts, (r->nrcpt + 1) * sizeof(*r->rcpts));
    deliver_rcpt *d = &r->rcpts[r->nrcpt++];
    d->index = index;
    d->addr = mem_strdup(addr);
    d->orcpt = orcpt ? mem_strdup(orcpt) : NULL;
}

void deliver_request_free(deliver_request **rp)
{
    deliver_request *r = *rp;
    if (r == NULL)
        return;
    mem_free(&r->sender);
    mem_free(&r->nexthop);
    for (size_t i = 0; i < r->nrcpt; i++) {
        mem_free(&r->rcpts[i].addr);
        mem_free(&r->rcpts[i].orcpt);
    }
    mem_free(&r->rcpts);
    mem_free(rp);
}

/* "N rest": the index and a pointer to the rest. */
static int deliver_request_indexed(const char *v, int *index_r,
                                   const char **rest_r)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end != ' ' || n < 0 || n > 10000000 || !isdigit((unsigned char)*v))
        return -1;
    *index_r = (int)n;
    *rest_r = end + 1;
    return 0;
}

static int deliver_request_time(const char *v, long long *t_r)
{
    char *end;
    long long t = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || t < 0)
        return -1;
    *t_r = t;
    return 0;
}

int deliver_request_parse(const char *text, size_t len,
                          deliver_request **r_r, const char **err_r)
{
    deliver_request *r = mem_zalloc(sizeof(*r));
    const char *why = NULL;
    bool have_id = false, have_sender = false, ended = false;
    const char *p = text, *end = text + len;
    while (p < end && why == NULL) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            why = "request line without LF";
            break;
        }
        if (memchr(p, '\0', (size_t)(nl - p)) != NULL) {
            why = "NUL in request";
            break;
        }
        char *line = mem_strndup(p, (size_t)(nl - p));
        p = nl + 1;
        if (*line == '\0') {
            mem_free(&line);
            ended = true;
            break;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            why = "malformed request line";
            mem_free(&line);
            break;
        }
        *eq = '\0';
        const char *name = line, *v = eq + 1;
        if (!deliver_request_clean(v)) {
            why = "control character in request";
        } else if (strcmp(name, "id") == 0) {
            if (!queue_id_valid(v))
                why = "bad queue id";
            else
                snprintf(r->id, sizeof(r->id), "%s", v);
            have_id = true;
        } else if (strcmp(name, "sender") == 0) {
            mem_free(&r->sender);
            r->sender = mem_strdup(v);
            have_sender = true;
        } else if (strcmp(name, "nexthop") == 0) {
            mem_free(&r->nexthop);
            r->nexthop = mem_strdup(v);
        } else if (strcmp(name, "arrival") == 0) {
            if (deliver_request_time(v, &r->arrival) < 0)
                why = "bad time";
        } else if (strcmp(name, "active") == 0) {
            if (deliver_request_time(v, &r->active) < 0)
                why = "bad time";
        } else if (strcmp(name, "handoff") == 0) {
            if (deliver_request_time(v, &r->handoff) < 0)
                why = "bad time";
        } else if (strcmp(name, "retry") == 0) {
            r->retry = strcmp(v, "0") != 0;
        } else if (strcmp(name, "rcpt") == 0) {
            int idx;
            const char *addr;
            if (deliver_request_indexed(v, &idx, &addr) < 0)
                why = "bad rcpt";
            else
                deliver_request_add_rcpt(r, idx, addr, NULL);
        } else if (strcmp(name, "orcpt") == 0) {
            int idx;
            const char *o;
            if (deliver_request_indexed(v, &idx, &o) < 0 || r->nrcpt == 0 ||
                r->rcpts[r->nrcpt - 1].index != idx)
                why = "bad orcpt";
            else {
                mem_free(&r->rcpts[r->nrcpt - 1].orcpt);
                r->rcpts[r->nrcpt - 1].orcpt = mem_strdup(o);
            }
        }
        /* Unknown names are ignored: the protocol may grow. */
        mem_free(&line);
    }
    if (why == NULL && !ended)
        why = "request not terminated by an empty line";
    if (why == NULL && (!have_id || !have_sender || r->nrcpt == 0))
        why = "request lacks id, sender or rcpt";
    if (why != NULL) {
        *err_r = why;
        deliver_request_free(&r);
        return -1;
    }
    if (r->nexthop == NULL)
        r->nexthop = mem_strdup("");
    *r_r = r;
    return 0;
}

void deliver_reply_format(buf *out, int index, const char *dsn,
                          const char *text)
{
    buf_printf(out, "%d %s ", index, dsn);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        buf_putc(out, *p < 0x20 || *p == 0x7f ? '?' : *p);
    buf_putc(out, '\n');
}

int deliver_dsn_valid(const char *dsn)
{
    /* RFC 3463: class "." subject "." detail; class 2, 4 or 5; subject up
     * to 3 digits, detail up to 3 digits. */
    if ((dsn[0] != '2' && dsn[0] != '4' && dsn[0] != '5') || dsn[1] != '.')
        return 0;
    const char *p = dsn + 2;
    for (int part = 0; part < 2; part++) {
        int n = 0;
        while (isdigit((unsigned char)*p) && n < 4) {
            p++;
            n++;
        }
        if (n == 0 || n > 3)
            return 0;
        if (part == 0 && *p++ != '.')
            return 0;
    }
    return *p == '\0';
}

int deliver_reply_parse(const char *line, int *index_r, char *dsn_r,
                        const char **text_r)
{
    int idx;
    const char *rest;
    if (deliver_request_indexed(line, &idx, &rest) < 0)
        return -1;
    const char *sp = strchr(rest, ' ');
    size_t n = sp ? (size_t)(sp - rest) : strlen(rest);
    if (n == 0 || n > 15)
        return -1;
    memcpy(dsn_r, rest, n);
    dsn_r[n] = '\0';
    if (!deliver_dsn_valid(dsn_r))
        return -1;
    *index_r = idx;
    *text_r = sp ? sp + 1 : "";
    return 0;
}

void deliver_dead_format(buf *out, const char *dsn, const char *text)
{
    buf_printf(out, "%s%s ", DELIVER_REPLY_DEAD, dsn);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        buf_putc(out, *p < 0x20 || *p == 0x7f ? '?' : *p);
    buf_putc(out, '\n');
}

int deliver_dead_parse(const char *line, char *dsn_r, const char **text_r)
{
    size_t pl = strlen(DELIVER_REPLY_DEAD);
    if (strncmp(line, DELIVER_REPLY_DEAD, pl) != 0)
        return 0;
    const char *rest = line + pl;
    const char *sp = strchr(rest, ' ');
    size_t n = sp ? (size_t)(sp - rest) : strlen(rest);
    if (n == 0 || n > 15)
        return -1;
    memcpy(dsn_r, rest, n);
    dsn_r[n] = '\0';
    /* A permanent failure bounces its recipients; it never suspends the
     * destination for the others (they may fare differently). */
    if (!deliver_dsn_valid(dsn_r) || dsn_r[0] != '4')
        return -1;
    *text_r = sp ? sp + 1 : "";
    return 1;
}

void deliver_dsn_passed_format(buf *out, int index)
{
    buf_printf(out, "%s%d\n", DELIVER_REPLY_DSN_PASSED, index);
}

int deliver_dsn_passed_parse(const char *line, int *index_r)
{
    size_t pl = strlen(DELIVER_REPLY_DSN_PASSED);
    if (strncmp(line, DELIVER_REPLY_DSN_PASSED, pl) != 0)
        return 0;
    const char *v = line + pl;
    char *end;
    long n = strtol(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end != '\0' || n < 0 || n > 10000000)
        return -1;
    *index_r = (int)n;
    return 1;
}

const char *deliver_dsn_status(const char *dsn)
{
    switch (dsn[0]) {
    case '2':
        return "sent";
    case '5':
        return "bounced";
    default:
        return "deferred";
    }
}
