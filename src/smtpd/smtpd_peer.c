/*
 * smtpd_peer - the client's printable address and name.
 *
 * Postfix names a client by reverse lookup (PTR) confirmed by a forward
 * lookup (A/AAAA) of that name, else "unknown"; postie does the same, in
 * this order:
 *   1. the hosts file (/etc/hosts, read directly: first name of the first
 *      line with the address).  It is the administrator's own statement,
 *      so it needs no confirmation, and it costs no network round trip;
 *   2. the DNS, asynchronously: the session is not greeted until the
 *      answer (or SMTPD_PEER_DNS_TIMEOUT per question) is there, while the
 *      process goes on serving its other sessions.  A DNS query from the
 *      event loop must never block: some resolvers drop queries, and a
 *      blocking getnameinfo() would stall every session of the process
 *      for its full retry time.  The name server is the first of
 *      dns_servers, else of /etc/resolv.conf; a loopback client is asked
 *      about only when dns_servers is set (no public PTR exists for it);
 *      smtpd_peername_lookup = no turns the DNS step off;
 *   3. otherwise "unknown", as Postfix logs clients without a verified name.
 * A PTR name whose forward lookup does not give the client's address back
 * is not used (Postfix's warning: "hostname X does not resolve to address Y").
 *
 * An IPv4 client reached through an IPv6 socket is shown in IPv4 form
 * (::ffff:127.0.0.1 as 127.0.0.1), as Postfix does.
 */
#include "smtpd/smtpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "global/mynetworks.h"
#include "smtpd/smtpd_dns.h"
#include "util/events.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

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

bool smtpd_peer_valid_hostname(const char *name)
{
    size_t len = strlen(name), label = 0;
    if (len == 0 || len > 253)
        return false;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            if (label == 0 || p[-1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
        if (label == 0 && *p == '-')
            return false;
        if (++label > 63)
            return false;
    }
    /* All digits and dots would pose as an address (RFC 1123 2.1). */
    return label > 0 && strspn(name, "0123456789.") != len;
}

static bool smtpd_peer_is_loopback(const smtpd_session *s)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, s->addr, a) == 1)
        return a[0] == 127;
    return inet_pton(AF_INET6, s->addr, a) == 1 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a);
}

/* The lookup is over: name is final. */
static void smtpd_peer_finish(smtpd_session *s, const char *name)
{
    smtpd_peer_cancel(s);
    if (name != NULL)
        snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->namaddr, sizeof(s->namaddr), "%s[%s]", s->name, s->addr);
    s->dns_done(s);
}

void smtpd_peer_cancel(smtpd_session *s)
{
    if (s->dns_timer != 0)
        event_cancel(s->dns_timer);
    s->dns_timer = 0;
    if (s->dns_fd >= 0) {
        event_remove(s->dns_fd);
        close(s->dns_fd);
    }
    s->dns_fd = -1;
    s->dns_step = SMTPD_PEER_DONE;
}

static void smtpd_peer_timeout(void *ctx)
{
    smtpd_session *s = ctx;
    s->dns_timer = 0;
    smtpd_peer_finish(s, NULL);
}

/* Ask one question; 0, or -1 when it could not be sent. */
static int smtpd_peer_ask(smtpd_session *s, const char *name, int qtype)
{
    unsigned char q[300];
    s->dns_id = smtpd_dns_new_id();
    int n = smtpd_dns_query(q, sizeof(q), s->dns_id, name, qtype);
    if (n < 0 || send(s->dns_fd, q, (size_t)n, 0) != n)
        return -1;
    if (s->dns_timer != 0)
        event_cancel(s->dns_timer);
    s->dns_timer = event_timer(SMTPD_PEER_DNS_TIMEOUT, smtpd_peer_timeout, s);
    return 0;
}

static void smtpd_peer_answer(int fd, int events, void *ctx)
{
    smtpd_session *s = ctx;
    unsigned char p[4096];
    ssize_t n = recv(fd, p, sizeof(p), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        smtpd_peer_finish(s, NULL); /* e.g. ICMP port unreachable */
        return;
    }
    smtpd_dns_rr rr[8];
    if (s->dns_step == SMTPD_PEER_PTR) {
        int k = smtpd_dns_answers(p, (size_t)n, s->dns_id, SMTPD_DNS_T_PTR, rr, 8);
        if (k < 0)
            return; /* not the answer to our question: keep waiting */
        if (k == 0 || !smtpd_peer_valid_hostname(rr[0].name)) {
            smtpd_peer_finish(s, NULL);
            return;
        }
        snprintf(s->dns_name, sizeof(s->dns_name), "%s", rr[0].name);
        s->dns_step = SMTPD_PEER_FWD;
        if (smtpd_peer_ask(s, s->dns_name, s->ipv6 ? SMTPD_DNS_T_AAAA : SMTPD_DNS_T_A) < 0)
            smtpd_peer_finish(s, NULL);
        return;
    }
    int type = s->ipv6 ? SMTPD_DNS_T_AAAA : SMTPD_DNS_T_A;
    int k = smtpd_dns_answers(p, (size_t)n, s->dns_id, type, rr, 8);
    if (k < 0)
        return;
    unsigned char want[16];
    inet_pton(s->ipv6 ? AF_INET6 : AF_INET, s->addr, want);
    for (int i = 0; i < k; i++) {
        if (memcmp(rr[i].addr, want, s->ipv6 ? 16 : 4) == 0) {
            char name[256];
            snprintf(name, sizeof(name), "%s", s->dns_name);
            smtpd_peer_finish(s, name);
            return;
        }
    }
    msg_warn("hostname %s does not resolve to address %s", s->dns_name, s->addr);
    smtpd_peer_finish(s, NULL);
}

int smtpd_peer_resolve(smtpd_session *s, void (*done)(smtpd_session *s))
{
    if (!smtpd_cf.peername_lookup || smtpd_cf.dns_server_len == 0 ||
        strcmp(s->name, "unknown") != 0 || strcmp(s->addr, "unknown") == 0 ||
        (smtpd_peer_is_loopback(s) && !smtpd_cf.dns_servers_set))
        return 0;
    char ptr[128];
    if (smtpd_dns_ptr_name(s->addr, ptr, sizeof(ptr)) < 0)
        return 0;
    const struct sockaddr *srv = (const struct sockaddr *)&smtpd_cf.dns_server;
    int fd = socket(srv->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    /* connect(): the kernel then drops datagrams from anyone else. */
    if (connect(fd, srv, smtpd_cf.dns_server_len) < 0) {
        close(fd);
        return 0;
    }
    s->dns_fd = fd;
    s->dns_done = done;
    s->dns_step = SMTPD_PEER_PTR;
    if (smtpd_peer_ask(s, ptr, SMTPD_DNS_T_PTR) < 0) {
        smtpd_peer_cancel(s);
        return 0;
    }
    event_add(fd, EVENT_READ, smtpd_peer_answer, s);
    return 1;
}
