/*
 * cleanup - from SMTP transaction to durable queue file; see cleanup.h.
 *
 * Headers are streamed, not held: cleanup keeps one logical header (a
 * header line and its continuation lines, RFC 5322 section 2.2.3) in a
 * buffer bounded by header_size_limit, writes it when the next one starts,
 * and notes Message-ID, Date and the Received count on the way.  At the end
 * of the header section it appends the Message-ID and Date that were
 * missing, as Postfix does.  So memory per message is one header, whatever
 * the message size.  A header longer than header_size_limit keeps its
 * first header_size_limit octets; the excess is discarded (Postfix's rule)
 * and a warning says so.
 *
 * Received (RFC 5321 section 4.4) goes first, in Postfix's layout:
 *   Received: from HELO (NAME [ADDR])
 *   	by MYHOSTNAME (postie) with ESMTP id QUEUEID
 *   	for <RCPT>; DATE
 * where "for" appears only with exactly one recipient (more would disclose
 * Bcc recipients to each other).
 */
#include "cleanup/cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "global/mail_conf.h"
#include "global/queue_file.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/msg.h"

struct cleanup {
    queue_file *qf;
    char id[QUEUE_ID_SIZE];
    char *first_rcpt;
    bool in_header;      /* still in the header section */
    bool began;
    buf *hdr;            /* the logical header being collected */
    bool hdr_cut;        /* its excess was discarded */
    bool saw_msgid, saw_date;
    char *message_id;    /* for the log line */
    int hops;            /* Received headers seen */
    long long arrival_sec;
};

int cleanup_open(const char *queue_dir, const char *sender, cleanup **c_r,
                 char **err_r)
{
    queue_file *qf;
    if (queue_file_create(queue_dir, &qf, err_r) < 0)
        return -1;
    cleanup *c = mem_zalloc(sizeof(*c));
    c->qf = qf;
    snprintf(c->id, sizeof(c->id), "%s", queue_file_id(qf));
    c->arrival_sec = queue_file_arrival(qf) / 1000000;
    queue_file_sender(qf, sender);
    *c_r = c;
    return 0;
}

const char *cleanup_id(const cleanup *c) { return c->id; }
int cleanup_nrcpt(const cleanup *c) { return queue_file_nrcpt(c->qf); }
size_t cleanup_size(const cleanup *c) { return queue_file_content_size(c->qf); }

int cleanup_attr(cleanup *c, const char *name, const char *value)
{
    return queue_file_attr(c->qf, name, value);
}

int cleanup_rcpt(cleanup *c, const char *addr, const char *orcpt)
{
    if (c->first_rcpt == NULL)
        c->first_rcpt = mem_strdup(addr);
    return queue_file_rcpt(c->qf, addr, orcpt);
}

void cleanup_date(char *out, size_t outlen, long long epoch_sec)
{
    time_t t = (time_t)epoch_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    /* %a and %b are English in the C locale, which services never leave. */
    if (strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
        snprintf(out, outlen, "Thu, 01 Jan 1970 00:00:00 +0000");
}

static void cleanup_put(cleanup *c, const char *p, size_t n)
{
    queue_file_content(c->qf, p, n);
}

static void cleanup_puts(cleanup *c, const char *s)
{
    cleanup_put(c, s, strlen(s));
}

int cleanup_begin(cleanup *c, const cleanup_client *client)
{
    queue_file_content_begin(c->qf);
    c->began = true;
    c->in_header = true;
    c->hdr = buf_new((size_t)var_int("header_size_limit"));
    char date[80];
    cleanup_date(date, sizeof(date), c->arrival_sec);
    buf *b = buf_new(4096);
    if (client->addr == NULL) {
        /* Local submission: no client to name (Postfix's pickup form). */
        buf_printf(b, "Received: by %s (%s", var_str("myhostname"), var_str("mail_name"));
        if (client->uid >= 0)
            buf_printf(b, ", from userid %ld", client->uid);
        buf_printf(b, ")\n\tid %s", c->id);
    } else {
        const char *helo = client->helo && *client->helo ? client->helo : client->name;
        buf_printf(b, "Received: from %.255s (%.255s [%s%s])\n", helo, client->name,
                   client->ipv6 ? "IPv6:" : "", client->addr);
        /* Postfix's smtpd_tls_received_header comments (no client
         * certificate is ever asked for). */
        if (client->tls != NULL)
            buf_printf(b, "\t(using %s)\n\t(No client certificate requested)\n",
                       client->tls);
        buf_printf(b, "\tby %s (%s) with %s id %s", var_str("myhostname"),
                   var_str("mail_name"), client->proto, c->id);
    }
    if (queue_file_nrcpt(c->qf) == 1 && c->first_rcpt)
        buf_printf(b, "\n\tfor <%s>; %s\n", c->first_rcpt, date);
    else
        buf_printf(b, ";\n\t%s\n", date);
    cleanup_put(c, b->data, b->len);
    buf_free(&b);
    return 0;
}

/* Is this line the start of a header field ("Name:" with printable name,
 * RFC 5322 section 2.2; white space before the colon is obsolete syntax,
 * section 4.5.3, and still accepted)?  Returns the name length or 0. */
static size_t cleanup_header_name(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] > 32 && p[i] < 127 && p[i] != ':')
        i++;
    size_t name = i;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return name > 0 && i < n && p[i] == ':' ? name : 0;
}

static bool cleanup_is(const char *p, size_t namelen, const char *want)
{
    return strlen(want) == namelen && strncasecmp(p, want, namelen) == 0;
}

/* Write the collected header and note what it is. */
static void cleanup_header_flush(cleanup *c)
{
    buf *h = c->hdr;
    if (h->len == 0)
        return;
    size_t nl = cleanup_header_name(h->data, h->len);
    if (cleanup_is(h->data, nl, "Message-ID")) {
        c->saw_msgid = true;
        const char *v = (const char *)memchr(h->data, ':', h->len) + 1;
        while (*v == ' ' || *v == '\t' || *v == '\n')
            v++;
        size_t vl = strlen(v);
        while (vl > 0 && isspace((unsigned char)v[vl - 1]))
            vl--;
        mem_free(&c->message_id);
        c->message_id = mem_strndup(v, vl);
    } else if (cleanup_is(h->data, nl, "Date")) {
        c->saw_date = true;
    } else if (cleanup_is(h->data, nl, "Received")) {
        c->hops++;
    }
    if (c->hdr_cut)
        msg_warn("%s: header longer than header_size_limit (%zu): excess "
                 "discarded: %.60s", c->id, h->max, h->data);
    cleanup_put(c, h->data, h->len);
    cleanup_put(c, "\n", 1);
    buf_reset(h);
    c->hdr_cut = false;
}

/* The header section ended: add what RFC 5322 section 3.6 requires. */
static void cleanup_header_done(cleanup *c)
{
    cleanup_header_flush(c);
    c->in_header = false;
    char line[1200];
    if (!c->saw_date) {
        char date[80];
        cleanup_date(date, sizeof(date), c->arrival_sec);
        snprintf(line, sizeof(line), "Date: %s\n", date);
        cleanup_puts(c, line);
    }
    if (!c->saw_msgid) {
        /* Postfix's form: arrival time, queue ID, our host name. */
        char stamp[32];
        time_t t = (time_t)c->arrival_sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
        snprintf(line, sizeof(line), "<%s.%s@%s>", stamp, c->id,
                 var_str("myhostname"));
        mem_free(&c->message_id);
        c->message_id = mem_strdup(line);
        snprintf(line, sizeof(line), "Message-Id: %s\n", c->message_id);
        cleanup_puts(c, line);
    }
    msg_info_as("cleanup", "%s: message-id=%s", c->id, c->message_id);
}

void cleanup_line(cleanup *c, const char *line, size_t len)
{
    if (!c->began)
        msg_panic("cleanup_line: content not begun");
    if (c->in_header) {
        if (len > 0 && (line[0] == ' ' || line[0] == '\t') && c->hdr->len > 0) {
            /* A continuation line of the current header. */
            if (buf_putc(c->hdr, '\n') < 0 || buf_append(c->hdr, line, len) < 0)
                c->hdr_cut = true;
            return;
        }
        if (len > 0 && cleanup_header_name(line, len) > 0) {
            cleanup_header_flush(c);
            if (buf_append(c->hdr, line, len) < 0) {
                size_t room = c->hdr->max - c->hdr->len;
                buf_append(c->hdr, line, room);
                c->hdr_cut = true;
            }
            return;
        }
        cleanup_header_done(c);
        /* A body that starts without the empty separator line gets one,
         * so that the headers added above stay headers. */
        if (len > 0)
            cleanup_put(c, "\n", 1);
    }
    cleanup_put(c, line, len);
    cleanup_put(c, "\n", 1);
}

static void cleanup_free(cleanup *c)
{
    buf_free(&c->hdr);
    mem_free(&c->first_rcpt);
    mem_free(&c->message_id);
}

int cleanup_commit(cleanup **cp, char **why_r)
{
    cleanup *c = *cp;
    if (!c->began)
        cleanup_begin(c, &(cleanup_client){.name = "unknown", .addr = "unknown",
                                            .proto = "SMTP"});
    if (c->in_header)
        cleanup_header_done(c);
    if (c->hops > CLEANUP_HOP_LIMIT) {
        /* RFC 5321 section 6.3: a mail loop. */
        msg_info_as("cleanup", "%s: reject: too many hops (%d Received headers)",
                    c->id, c->hops);
        *why_r = mem_strdup("5.4.6 Error: too many hops");
        queue_file_abort(&c->qf);
        cleanup_free(c);
        mem_free(cp);
        return CLEANUP_PERM;
    }
    char *err = NULL;
    int r = CLEANUP_OK;
    if (queue_file_commit(&c->qf, &err) < 0) {
        msg_error("%s: %s", c->id, err);
        mem_free(&err);
        *why_r = mem_strdup("4.3.0 Error: queue file write error");
        r = CLEANUP_TEMP;
    }
    cleanup_free(c);
    mem_free(cp);
    return r;
}

void cleanup_abort(cleanup **cp)
{
    cleanup *c = *cp;
    if (c == NULL)
        return;
    queue_file_abort(&c->qf);
    cleanup_free(c);
    mem_free(cp);
}
