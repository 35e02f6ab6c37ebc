/*
 * smtp_dest - a next hop as qmgr names it, taken apart: where the smtp or
 * lmtp agent should go.
 *
 *   smtp:  example.org          MX lookup of example.org, port smtp_tcp_port
 *          example.org:2525     MX lookup, port 2525 (relayhost = host:port)
 *          [mx.example.org]     A/AAAA of that host only, no MX (RFC 5321
 *          [192.0.2.1]:587      section 5.1: an address literal or a
 *          [::1]:25             bracketed name skips the MX step)
 *   lmtp:  unix:/path           a unix socket (relative: under
 *          unix:private/lmtp    queue_directory, as Postfix's)
 *          inet:host:port       TCP, no MX (RFC 2033 is for a local store)
 *          host:port, [host]:port
 *
 * Does not: look anything up.
 */
#ifndef POSTIE_SMTP_SMTP_DEST_H
#define POSTIE_SMTP_SMTP_DEST_H

#include <stdbool.h>

enum smtp_dest_kind { SMTP_DEST_INET, SMTP_DEST_UNIX };

typedef struct smtp_dest {
    enum smtp_dest_kind kind;
    char host[1024];       /* name, address, or socket path as written */
    int port;
    bool mx;               /* look up MX records for host */
} smtp_dest;

/* Returns 0, or -1 with *why_r (a constant text). */
int smtp_dest_parse(const char *nexthop, bool lmtp, int default_port,
                    smtp_dest *d, const char **why_r);

#endif
