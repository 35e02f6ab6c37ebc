/*
 * master_listen - bind a service's listening sockets; see master_listen.h.
 *
 * Does not: accept connections (the services do; master never reads the
 * network).  The sockets are non-blocking, so that several smtpd processes
 * sharing one socket can all wait on it and a lost race for accept() costs
 * an EAGAIN, not a blocked process.
 */
#include "master/master_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/msg.h"

static void master_listen_add(master_listen *l, int fd, const char *label)
{
    l->v = mem_realloc(l->v, (l->n + 1) * sizeof(*l->v));
    l->v[l->n].fd = fd;
    l->v[l->n].label = mem_strdup(label);
    l->n++;
}

void master_listen_close(master_listen *l)
{
    for (size_t i = 0; i < l->n; i++) {
        close(l->v[i].fd);
        mem_free(&l->v[i].label);
    }
    mem_free(&l->v);
    mem_free(&l->spec);
    l->n = 0;
}

char *master_listen_labels(const master_listen *l)
{
    buf *b = buf_new(1 << 16);
    for (size_t i = 0; i < l->n; i++)
        buf_printf(b, "%s%s", i ? ", " : "", l->v[i].label);
    char *s = mem_strdup(b->data);
    buf_free(&b);
    return s;
}

char *master_listen_spec(const char *param)
{
    buf *b = buf_new(1 << 16);
    buf_printf(b, "%s|%s|%s", var_str(param), var_str("inet_interfaces"),
               var_str("inet_protocols"));
    char *s = mem_strdup(b->data);
    buf_free(&b);
    return s;
}

static bool master_listen_family_ok(int family)
{
    char **v = var_list("inet_protocols");
    bool ok = false;
    for (char **p = v; *p; p++)
        if (strcmp(*p, "all") == 0 ||
            (strcmp(*p, "ipv4") == 0 && family == AF_INET) ||
            (strcmp(*p, "ipv6") == 0 && family == AF_INET6))
            ok = true;
    conf_free_list(&v);
    return ok;
}

/* Bind one host (numeric or a name) and port.  "implicit" marks an address
 * that came from loopback-only or all: a host without IPv6 skips it quietly
 * instead of failing. */
static const master_listen *ml_reuse; /* set during master_listen_reopen */

/* A socket of the old set with this label, duplicated; -1 when none. */
static int master_listen_take_over(const char *label)
{
    for (size_t i = 0; ml_reuse && i < ml_reuse->n; i++)
        if (strcmp(ml_reuse->v[i].label, label) == 0)
            return fcntl(ml_reuse->v[i].fd, F_DUPFD_CLOEXEC, 3);
    return -1;
}

static int master_listen_bind(master_listen *l, const char *host, int port,
                              bool implicit, char **err_r)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(*host ? host : NULL, portstr, &hints, &res);
    if (gai != 0) {
        buf *b = buf_new(1024);
        buf_printf(b, "%s: %s", host, gai_strerror(gai));
        *err_r = mem_strdup(b->data);
        buf_free(&b);
        return -1;
    }
    int bound = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!master_listen_family_ok(ai->ai_family))
            continue;
        char addr[INET6_ADDRSTRLEN + 8], label[INET6_ADDRSTRLEN + 16];
        getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0,
                    NI_NUMERICHOST);
        if (ai->ai_family == AF_INET6)
            snprintf(label, sizeof(label), "[%s]:%d", addr, port);
        else
            snprintf(label, sizeof(label), "%s:%d", addr, port);
        bool dup = false;
        for (size_t i = 0; i < l->n && !dup; i++)
            dup = strcmp(l->v[i].label, label) == 0;
        if (dup) { /* "2525, 127.0.0.1:2525": one socket is enough */
            bound++;
            continue;
        }
        int fd = master_listen_take_over(label);
        if (fd >= 0) {
            master_listen_add(l, fd, label);
            bound++;
            continue;
        }
        fd = socket(ai->ai_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            if (implicit && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT))
                continue;
            *err_r = mem_strdup(label);
            goto fail;
        }
        int one = 1;
        /* A restart must not wait for TIME_WAIT connections of the last run. */
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        /* "all" binds 0.0.0.0 and :: apart; without V6ONLY they collide. */
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            listen(fd, SOMAXCONN) < 0) {
            int saved = errno;
            close(fd);
            if (implicit && ai->ai_family == AF_INET6 &&
                (saved == EADDRNOTAVAIL || saved == EAFNOSUPPORT))
                continue; /* no ::1 on this host: IPv4 alone is fine */
            buf *b = buf_new(1024);
            buf_printf(b, "bind %s: %s", label, strerror(saved));
            *err_r = mem_strdup(b->data);
            buf_free(&b);
            goto fail;
        }
        master_listen_add(l, fd, label);
        bound++;
    }
    freeaddrinfo(res);
    if (bound == 0 && !implicit) {
        buf *b = buf_new(1024);
        buf_printf(b, "%s: no address of an enabled protocol (inet_protocols)",
                   host);
        *err_r = mem_strdup(b->data);
        buf_free(&b);
        return -1;
    }
    return 0;
fail:
    freeaddrinfo(res);
    return -1;
}

int master_listen_reopen(const char *param, const master_listen *old,
                         master_listen *l, char **err_r)
{
    ml_reuse = old;
    int rc = master_listen_open(param, l, err_r);
    ml_reuse = NULL;
    return rc;
}

int master_listen_open(const char *param, master_listen *l, char **err_r)
{
    memset(l, 0, sizeof(*l));
    l->spec = master_listen_spec(param);
    char **entries = var_list(param);
    char **ifaces = var_list("inet_interfaces");
    int rc = 0;
    for (char **e = entries; *e && rc == 0; e++) {
        char host[256];
        int port;
        const char *why;
        if (mail_conf_listen_entry(*e, host, sizeof(host), &port, &why) < 0) {
            buf *b = buf_new(1024);
            buf_printf(b, "%s = %s: \"%s\": %s", param, var_str(param), *e, why);
            *err_r = mem_strdup(b->data);
            buf_free(&b);
            rc = -1;
            break;
        }
        if (*host) {
            rc = master_listen_bind(l, host, port, false, err_r);
            continue;
        }
        for (char **i = ifaces; *i && rc == 0; i++) {
            if (strcmp(*i, "loopback-only") == 0) {
                rc = master_listen_bind(l, "127.0.0.1", port, true, err_r);
                if (rc == 0)
                    rc = master_listen_bind(l, "::1", port, true, err_r);
            } else if (strcmp(*i, "all") == 0) {
                rc = master_listen_bind(l, "0.0.0.0", port, true, err_r);
                if (rc == 0)
                    rc = master_listen_bind(l, "::", port, true, err_r);
            } else {
                /* An explicit address may be written in brackets. */
                char a[256];
                size_t n = strlen(*i);
                if ((*i)[0] == '[' && n > 2 && (*i)[n - 1] == ']')
                    snprintf(a, sizeof(a), "%.*s", (int)(n - 2), *i + 1);
                else
                    snprintf(a, sizeof(a), "%s", *i);
                rc = master_listen_bind(l, a, port, false, err_r);
            }
        }
    }
    conf_free_list(&entries);
    conf_free_list(&ifaces);
    if (rc < 0)
        master_listen_close(l);
    return rc;
}
