/*
 * smtp_dest - next-hop syntax; see smtp_dest.h (Postfix's relayhost and
 * transport nexthop forms).
 */
#include "smtp/smtp_dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int smtp_dest_port(const char *s, int *port_r)
{
    char *end;
    long p = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || p <= 0 || p > 65535)
        return -1;
    *port_r = (int)p;
    return 0;
}

static int smtp_dest_hostport(const char *s, smtp_dest *d, bool mx_default,
                              const char **why_r)
{
    const char *port = NULL;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL) {
            *why_r = "missing ']'";
            return -1;
        }
        const char *h = s + 1;
        /* Postfix's "[ipv6:2001:db8::1]" spelling is accepted too. */
        if (strncasecmp(h, "ipv6:", 5) == 0)
            h += 5;
        hl = (size_t)(close - h);
        if (hl == 0 || hl >= sizeof(d->host)) {
            *why_r = "bad host name";
            return -1;
        }
        memcpy(d->host, h, hl);
        d->host[hl] = '\0';
        d->mx = false;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0') {
            *why_r = "text after ']'";
            return -1;
        }
    } else {
        const char *colon = strrchr(s, ':');
        if (colon != NULL && strchr(s, ':') != colon) {
            *why_r = "an IPv6 address must be in brackets";
            return -1;
        }
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (hl == 0 || hl >= sizeof(d->host)) {
            *why_r = "bad host name";
            return -1;
        }
        memcpy(d->host, s, hl);
        d->host[hl] = '\0';
        d->mx = mx_default;
        if (colon)
            port = colon + 1;
    }
    if (port != NULL && smtp_dest_port(port, &d->port) < 0) {
        *why_r = "bad port";
        return -1;
    }
    return 0;
}

int smtp_dest_parse(const char *nexthop, bool lmtp, int default_port,
                    smtp_dest *d, const char **why_r)
{
    memset(d, 0, sizeof(*d));
    d->kind = SMTP_DEST_INET;
    d->port = default_port;
    *why_r = NULL;
    if (nexthop == NULL || *nexthop == '\0') {
        *why_r = "empty next hop";
        return -1;
    }
    if (lmtp && strncmp(nexthop, "unix:", 5) == 0) {
        const char *p = nexthop + 5;
        if (*p == '\0' || strlen(p) >= sizeof(d->host)) {
            *why_r = "bad socket path";
            return -1;
        }
        d->kind = SMTP_DEST_UNIX;
        snprintf(d->host, sizeof(d->host), "%s", p);
        d->port = 0;
        return 0;
    }
    if (lmtp && strncmp(nexthop, "inet:", 5) == 0)
        nexthop += 5;
    /* RFC 2033 section 4: LMTP is not for the MX system; smtp looks up
     * MX records unless the host is bracketed. */
    return smtp_dest_hostport(nexthop, d, !lmtp, why_r);
}
