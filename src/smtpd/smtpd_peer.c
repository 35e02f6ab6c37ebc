/*
 * smtpd_peer - the client's printable address and name.
 *
 * Postfix names a client by reverse lookup (PTR) confirmed by a forward
 * lookup, else "unknown".  postie asks only the hosts file (/etc/hosts,
 * read directly, first name of the first matching line), for two reasons:
 * a DNS query from the event loop would stall every session of the
 * process, and the resolver on some machines drops queries, which turns
 * each connection into a multi-second wait.  A name from the hosts file is
 * the administrator's own statement, so no forward check is needed.  Any
 * other client is "unknown", which is also what Postfix logs for clients
 * without a verified name.  (An asynchronous PTR + forward lookup with a
 * short time limit, using dns_servers, is the planned extension.)
 *
 * An IPv4 client reached through an IPv6 socket is shown in IPv4 form
 * (::ffff:127.0.0.1 as 127.0.0.1), as Postfix does.
 */
#include "smtpd/smtpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "global/mynetworks.h"
#include "util/fsutil.h"
#include "util/mem.h"

int smtpd_peer_hosts_lookup(const char *hosts_path, const char *addr,
                            char *name, size_t namelen)
{
    unsigned char want[16], got[16];
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, addr, want) != 1)
        return 0;
    size_t wlen = family == AF_INET ? 4 : 16;
    char *text = fs_read_file(hosts_path, 1 << 20, NULL);
    if (text == NULL)
        return 0;
    int found = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !found;
         line = strtok_r(NULL, "\n", &save)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *f = NULL;
        char *a = strtok_r(line, " \t\r", &f);
        char *h = a ? strtok_r(NULL, " \t\r", &f) : NULL;
        if (h == NULL || inet_pton(family, a, got) != 1)
            continue;
        if (memcmp(want, got, wlen) == 0) {
            snprintf(name, namelen, "%s", h);
            found = 1;
        }
    }
    mem_free(&text);
    return found;
}

void smtpd_peer_init(smtpd_session *s, const struct sockaddr *sa,
                     socklen_t salen)
{
    snprintf(s->addr, sizeof(s->addr), "unknown");
    snprintf(s->name, sizeof(s->name), "unknown");
    s->port = 0;
    s->ipv6 = false;
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &sin->sin_addr, s->addr, sizeof(s->addr));
        s->port = ntohs(sin->sin_port);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 =
            (const struct sockaddr_in6 *)(const void *)sa;
        s->port = ntohs(sin6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            inet_ntop(AF_INET, sin6->sin6_addr.s6_addr + 12, s->addr, sizeof(s->addr));
        } else {
            inet_ntop(AF_INET6, &sin6->sin6_addr, s->addr, sizeof(s->addr));
            s->ipv6 = true;
        }
    }
    if (strcmp(s->addr, "unknown") != 0 &&
        smtpd_peer_hosts_lookup("/etc/hosts", s->addr, s->name, sizeof(s->name)) == 0)
        snprintf(s->name, sizeof(s->name), "unknown");
    snprintf(s->namaddr, sizeof(s->namaddr), "%s[%s]", s->name, s->addr);
    s->mynetworks = smtpd_cf.mynetworks != NULL &&
                    mynetworks_match_str(smtpd_cf.mynetworks, s->addr);
}
