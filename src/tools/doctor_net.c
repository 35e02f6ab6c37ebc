/*
 * doctor_net - steps 4 and 5: does each configured listener answer with
 * its greeting, and does the resolver answer for this host and for the
 * destinations of deferred mail.  See doctor.h.
 *
 * Where doctor connects: only to the instance's own listening addresses,
 * and only to those that are addresses of this host (getifaddrs); a
 * wildcard ("all", 0.0.0.0, ::) is tried on loopback.  Nothing else: a
 * diagnosis must not itself send traffic to other people's servers.  The
 * DNS questions go to the resolver postie itself uses (dns_servers, else
 * /etc/resolv.conf), through the smtp client's lookup (global/dns_lookup).
 *
 * Every wait is bounded: connect and greeting by --timeout, each DNS
 * lookup runs in a child process that is killed at its deadline (c-ares'
 * own tries and timeouts can add up to more than a human waits).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/time.h>

#include "global/dns_lookup.h"
#include "global/mail_conf.h"
#include "tools/doctor.h"
#include "util/conf.h"
#include "util/conn.h"
#include "util/fsutil.h"
#include "util/mem.h"

/* ---- pure helpers ---- */

static size_t doctor_net_target_add(char hosts[][64], int *ports, size_t n, size_t max,
                                const char *host, int port)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(hosts[i], host) == 0 && ports[i] == port)
            return n;
    if (n >= max)
        return n;
    snprintf(hosts[n], 64, "%s", host);
    ports[n] = port;
    return n + 1;
}

/* A wildcard is tried where this host surely answers: loopback. */
static size_t doctor_net_target_host(char hosts[][64], int *ports, size_t n, size_t max,
                                 const char *host, int port)
{
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        return doctor_net_target_add(hosts, ports, n, max, "127.0.0.1", port);
    if (strcmp(host, "::") == 0)
        return doctor_net_target_add(hosts, ports, n, max, "::1", port);
    return doctor_net_target_add(hosts, ports, n, max, host, port);
}

size_t doctor_net_listen_targets(const char *entry, char *const *ifaces,
                             char hosts_r[][64], int *ports_r, size_t max)
{
    char host[256];
    int port;
    const char *why;
    if (mail_conf_listen_entry(entry, host, sizeof(host), &port, &why) < 0)
        return 0;
    size_t n = 0;
    if (*host)
        return doctor_net_target_host(hosts_r, ports_r, 0, max, host, port);
    for (size_t i = 0; ifaces && ifaces[i]; i++) {
        const char *a = ifaces[i];
        if (strcmp(a, "loopback-only") == 0 || strcmp(a, "all") == 0) {
            n = doctor_net_target_add(hosts_r, ports_r, n, max, "127.0.0.1", port);
            n = doctor_net_target_add(hosts_r, ports_r, n, max, "::1", port);
            continue;
        }
        char b[256];
        size_t l = strlen(a);
        if (a[0] == '[' && l > 2 && a[l - 1] == ']')
            snprintf(b, sizeof(b), "%.*s", (int)(l - 2), a + 1);
        else
            snprintf(b, sizeof(b), "%s", a);
        n = doctor_net_target_host(hosts_r, ports_r, n, max, b, port);
    }
    return n;
}

enum doctor_status doctor_net_greeting_ok(const char *proto, const char *line)
{
    if (strcmp(proto, "smtp") == 0) {
        if (strncmp(line, "220", 3) == 0 && (line[3] == ' ' || line[3] == '-' || !line[3]))
            return DOCTOR_OK;
        if (strncmp(line, "421", 3) == 0)
            return DOCTOR_WARN; /* alive, but refusing for now */
        return DOCTOR_FAIL;
    }
    if (strcmp(proto, "pop3") == 0)
        return strncmp(line, "+OK", 3) == 0 ? DOCTOR_OK : DOCTOR_FAIL;
    if (strcmp(proto, "imap") == 0)
        return strncmp(line, "* OK", 4) == 0 || strncmp(line, "* PREAUTH", 9) == 0
                   ? DOCTOR_OK : strncmp(line, "* BYE", 5) == 0 ? DOCTOR_WARN : DOCTOR_FAIL;
    return DOCTOR_FAIL;
}

/* ---- step 4: listeners ---- */

/* Is this numeric address one of this host's? */
static bool doctor_net_is_local(const struct sockaddr *sa)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != sa->sa_family)
            continue;
        if (sa->sa_family == AF_INET)
            found = ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr ==
                    ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr;
        else if (sa->sa_family == AF_INET6)
            found = memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                           &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr,
                           16) == 0;
    }
    freeifaddrs(ifa);
    /* The whole of 127/8 is this host, whatever lo carries. */
    if (!found && sa->sa_family == AF_INET)
        found = (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
    return found;
}

static double doctor_net_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The outcome of one probe. */
typedef enum {
    PROBE_GREETED, PROBE_SKIPPED, PROBE_NOT_LOCAL, PROBE_REFUSED, PROBE_CONNECT_TIMEOUT,
    PROBE_SILENT, PROBE_CLOSED, PROBE_ERROR, PROBE_TLS_FAILED,
} doctor_net_probe_result;

/* What the TLS handshake showed (implicit-TLS listeners). */
typedef struct doctor_net_tls_info {
    char text[300];            /* "TLSv1.3, certificate CN=x, expires in 90 days" */
    enum doctor_status cert;   /* fail: expired; warn: expires within 14 days */
} doctor_net_tls_info;

/* The greeting line out of a conn's read: GREETED, SILENT or CLOSED, and
 * the line up to its first CR or LF (a greeting cut short by a close
 * still counts: the server spoke). */
static doctor_net_probe_result doctor_net_greeting(conn *c, bool tls, char *line,
                                                   size_t linelen)
{
    char *got = NULL;
    size_t len = 0;
    doctor_net_probe_result out;
    int r = conn_line(c, &got, &len);
    if (r == CONN_LINE || r == CONN_TOOLONG) {
        out = PROBE_GREETED;
    } else if (c->in->len > 0 && (r != CONN_TIMEOUT || tls)) {
        got = c->in->data;
        len = c->in->len;
        out = PROBE_GREETED;
    } else {
        out = r == CONN_EOF || (r == CONN_ERROR && !tls) ? PROBE_CLOSED : PROBE_SILENT;
    }
    if (len > linelen - 1)
        len = linelen - 1;
    if (got != NULL)
        memcpy(line, got, len);
    line[out == PROBE_GREETED ? len : 0] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    return out;
}

/* Implicit TLS: handshake (no verification: a private CA or a
 * self-signed certificate is the admin's choice), the certificate's
 * dates, then the greeting through TLS.  Each step has the timeout. */
static doctor_net_probe_result doctor_net_probe_tls(conn *c, double timeout, const char *proto,
                                            char *line, size_t linelen, char *err,
                                            size_t errlen, doctor_net_tls_info *ti)
{
    c->timeout = timeout;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "TLS: cannot make a context");
        return PROBE_ERROR;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    doctor_net_probe_result out = PROBE_TLS_FAILED;
    if (conn_tls_client(c, ctx, NULL, NULL) < 0) {
        char why[200];
        if (c->tls_err != 0)
            ERR_error_string_n(c->tls_err, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "%s", errno == ETIMEDOUT ? "no answer in time"
                                                               : "connection closed");
        snprintf(err, errlen, "TLS handshake failed: %s", why);
        goto done;
    }
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    char subject[160] = "none";
    int days = 0, secs = 0;
    ti->cert = DOCTOR_OK;
    if (cert != NULL) {
        X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
        const ASN1_TIME *na = X509_get0_notAfter(cert);
        if (na != NULL && ASN1_TIME_diff(&days, &secs, NULL, na) == 1) {
            if (days < 0 || secs < 0)
                ti->cert = DOCTOR_FAIL;
            else if (days < 14)
                ti->cert = DOCTOR_WARN;
        }
        X509_free(cert);
    }
    snprintf(ti->text, sizeof(ti->text), "%s, certificate %s, %s %d day%s", SSL_get_version(c->ssl),
             subject, days < 0 || secs < 0 ? "expired" : "expires in",
             days < 0 ? -days : days, (days == 1 || days == -1) ? "" : "s");
    out = doctor_net_greeting(c, true, line, linelen);
    if (out == PROBE_GREETED) {
        const char *bye = strcmp(proto, "imap") == 0 ? "a LOGOUT\r\n" : "QUIT\r\n";
        (void)conn_write(c, bye, strlen(bye)); /* the greeting is what counts */
    } else if (out == PROBE_SILENT) {
        snprintf(err, errlen, "TLS is up, but no greeting within %gs", timeout);
    } else {
        snprintf(err, errlen, "TLS is up, but the server closed without a greeting");
    }
done:
    SSL_CTX_free(ctx);
    return out;
}

static doctor_net_probe_result doctor_net_probe(const char *host, int port, const char *proto,
                                        bool tls, double timeout, bool implicit, char *line,
                                        size_t linelen, char *err, size_t errlen,
                                        doctor_net_tls_info *ti)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "%s", gai_strerror(gai));
        return PROBE_ERROR;
    }
    if (!doctor_net_is_local(res->ai_addr)) {
        freeaddrinfo(res);
        if (implicit)
            return PROBE_SKIPPED;
        snprintf(err, errlen, "not an address of this host");
        return PROBE_NOT_LOCAL;
    }
    /* One deadline for the connection and the greeting. */
    double deadline = doctor_net_now() + timeout;
    conn *c = conn_connect(res->ai_addr, res->ai_addrlen, timeout, 4096, linelen, 64);
    freeaddrinfo(res);
    if (c == NULL) {
        int e = errno;
        if (e == ETIMEDOUT) {
            snprintf(err, errlen, "no answer to the connection within %gs", timeout);
            return PROBE_CONNECT_TIMEOUT;
        }
        if (implicit && (e == EADDRNOTAVAIL || e == ENETUNREACH || e == EAFNOSUPPORT))
            return PROBE_SKIPPED; /* no ::1 here: IPv4 alone is fine */
        snprintf(err, errlen, "%s", strerror(e));
        return e == ECONNREFUSED ? PROBE_REFUSED : PROBE_ERROR;
    }
    if (tls) {
        doctor_net_probe_result pr = doctor_net_probe_tls(c, timeout, proto, line, linelen, err,
                                                  errlen, ti);
        conn_free(&c);
        return pr;
    }
    double left = deadline - doctor_net_now();
    c->timeout = left > 0 ? left : 0;
    doctor_net_probe_result out = doctor_net_greeting(c, false, line, linelen);
    if (out == PROBE_GREETED) {
        /* Say goodbye, so the server logs a clean session. */
        const char *bye = strcmp(proto, "imap") == 0 ? "a LOGOUT\r\n" : "QUIT\r\n";
        char *junk;
        size_t jl;
        c->timeout = 0.2;
        if (conn_write(c, bye, strlen(bye)) == 0)
            (void)conn_line(c, &junk, &jl); /* its answer, briefly */
    } else if (out == PROBE_SILENT) {
        snprintf(err, errlen, "connected, but no greeting within %gs", timeout);
    } else {
        snprintf(err, errlen, "connected, but closed without a greeting");
    }
    conn_free(&c);
    return out;
}

typedef struct doctor_net_listener {
    const char *service, *param, *proto;
    bool tls;   /* implicit TLS: the greeting comes after the handshake */
} doctor_net_listener;

static const doctor_net_listener doctor_net_table[] = {
    {"smtpd", "smtpd_listen", "smtp", false},
    {"pop3d", "pop3d_listen", "pop3", false},
    {"pop3s", "pop3s_listen", "pop3", true},
    {"imapd", "imapd_listen", "imap", false},
    {NULL, NULL, NULL, false},
};

const char *doctor_net_listen_param(const char *service)
{
    for (const doctor_net_listener *l = doctor_net_table; l->service; l++)
        if (strcmp(l->service, service) == 0)
            return l->param;
    return NULL;
}

static bool doctor_net_running(const doctor_facts *f, const char *name)
{
    for (char **p = f->running; p && *p; p++)
        if (strcmp(*p, name) == 0)
            return true;
    return false;
}

void doctor_net_listeners(doctor_report *r, doctor_facts *f)
{
    const char *cmd = doctor_postie();
    char **ifaces = var_list("inet_interfaces");
    int checked = 0;
    for (const doctor_net_listener *l = doctor_net_table; l->service; l++) {
        if (!doctor_checks_in_build(l->service))
            continue;
        char **entries = var_list(l->param);
        if (entries[0] == NULL) {
            conf_free_list(&entries);
            continue;
        }
        checked++;
        doctor_check *c = doctor_add(r, 4, l->service);
        int good = 0, tried = 0;
        const char *next;
        for (char **e = entries; *e; e++) {
            char hosts[16][64];
            int ports[16];
            size_t n = doctor_net_listen_targets(*e, ifaces, hosts, ports, 16);
            char h0[256];
            int p0;
            const char *why;
            bool implicit_host = mail_conf_listen_entry(*e, h0, sizeof(h0), &p0, &why) == 0 &&
                                 h0[0] == '\0';
            for (size_t i = 0; i < n; i++) {
                char line[512], err[256] = "";
                /* The IPv6 loopback of loopback-only/all may be absent. */
                bool implicit = implicit_host && strcmp(hosts[i], "::1") == 0;
                char label[128];
                snprintf(label, sizeof(label), strchr(hosts[i], ':') ? "[%s]:%d" : "%s:%d",
                         hosts[i], ports[i]);
                doctor_net_tls_info ti;
                memset(&ti, 0, sizeof(ti));
                doctor_net_probe_result pr = doctor_net_probe(hosts[i], ports[i], l->proto, l->tls,
                                                      f->timeout, implicit, line, sizeof(line),
                                                      err, sizeof(err), &ti);
                if (pr == PROBE_SKIPPED)
                    continue;
                tried++;
                if (ti.text[0]) {
                    doctor_detail(c, "%s: %s", label, ti.text);
                    if (ti.cert != DOCTOR_OK)
                        doctor_set(c, ti.cert, "renew the certificate, then reload",
                                   "%s: %s", label, ti.text);
                }
                if (pr == PROBE_GREETED) {
                    enum doctor_status s = doctor_net_greeting_ok(l->proto, line);
                    doctor_detail(c, "%s (%s): \"%s\"", label, l->param, line);
                    if (s == DOCTOR_OK) {
                        good++;
                        if (f->master <= 0)
                            doctor_set(c, DOCTOR_WARN, "find who holds the port: ss -tlnp | "
                                       "grep :PORT; stop it or move postie's port",
                                       "%s answers although master is not running: another "
                                       "program holds the port", label);
                    } else if (s == DOCTOR_WARN) {
                        doctor_set(c, DOCTOR_WARN, "it is turning clients away: look for "
                                   "connection limits in the log (step 3)",
                                   "%s answers, but refuses: \"%s\"", label, line);
                    } else {
                        doctor_set(c, DOCTOR_FAIL, "is another program on this port?  ss -tlnp",
                                   "%s greets with \"%s\", not the %s greeting", label, line,
                                   l->proto);
                    }
                    continue;
                }
                doctor_detail(c, "%s (%s): %s", label, l->param, err);
                if (f->master <= 0) {
                    next = doctor_tmp("start master (step 1): %s start", cmd);
                } else if (pr == PROBE_REFUSED) {
                    next = doctor_tmp("%s status; ss -tlnp | grep :%d; is %s in "
                             "inet_interfaces and %s right?", cmd, ports[i], hosts[i], l->param);
                } else if (pr == PROBE_NOT_LOCAL) {
                    next = doctor_tmp("set %s or inet_interfaces to an address of "
                             "this host (ip addr show)", l->param);
                } else if (pr == PROBE_TLS_FAILED) {
                    next = doctor_tmp("see the handshake: openssl s_client -connect %s; check "
                                      "the certificate and key files in postie.conf and the "
                                      "log's TLS lines", label);
                } else if (pr == PROBE_CONNECT_TIMEOUT) {
                    next = doctor_tmp("a firewall dropping packets?  iptables -L -n "
                             "or nft list ruleset");
                } else {
                    next = doctor_tmp("%s is %s: look at step 1 (restarts) and the "
                             "log for %s lines; %s stop; %s start if it stays so", l->service,
                             doctor_net_running(f, l->service) ? "hung or overloaded" : "not running",
                             l->service, cmd, cmd);
                }
                doctor_set(c, DOCTOR_FAIL, next, "%s does not answer on %s: %s", l->service,
                           label, err);
            }
        }
        if (tried == 0)
            doctor_set(c, DOCTOR_WARN, "set inet_interfaces to an address of this host",
                       "%s = %s gives no address to test", l->param, var_str(l->param));
        else if (good == tried)
            doctor_set(c, DOCTOR_OK, NULL, "%s answers on %d address%s with its greeting",
                       l->service, good, good == 1 ? "" : "es");
        conf_free_list(&entries);
    }
    if (checked == 0) {
        doctor_check *c = doctor_add(r, 4, "listeners");
        doctor_set(c, DOCTOR_WARN, "set smtpd_listen (a port, e.g. 25)",
                   "no listener is configured: nothing can reach this host");
    }
    conf_free_list(&ifaces);
}

/* ---- step 5: DNS ---- */

/* One lookup in a child, killed at the deadline.  0 found (out: the
 * addresses), -1 failed (out: the reason, dsn_r its status). */
static int doctor_net_dns_lookup(const char *name, bool mx, double limit, char *out,
                             size_t outlen, char *dsn_r, size_t dsnlen)
{
    int fds[2];
    snprintf(dsn_r, dsnlen, "4.4.3");
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(out, outlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(out, outlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        dns_addr_list l = {NULL, 0};
        dns_error e;
        memset(&e, 0, sizeof(e));
        char text[2048];
        if (dns_lookup_dest(name, mx, &l, &e) == 0) {
            size_t used = (size_t)snprintf(text, sizeof(text), "O");
            for (size_t i = 0; i < l.n && i < 4 && used < sizeof(text); i++) {
                int w;
                if (l.v[i].pref >= 0)
                    w = snprintf(text + used, sizeof(text) - used, "%sMX %d %s [%s]",
                                 i ? ", " : "", l.v[i].pref, l.v[i].host, l.v[i].text);
                else
                    w = snprintf(text + used, sizeof(text) - used, "%s%s [%s]",
                                 i ? ", " : "", l.v[i].host, l.v[i].text);
                if (w > 0)
                    used += (size_t)w;
            }
            if (l.n > 4 && used < sizeof(text))
                snprintf(text + used, sizeof(text) - used, " and %zu more", l.n - 4);
            dns_addr_list_free(&l);
        } else {
            snprintf(text, sizeof(text), "F%s\t%s", e.dsn, e.text);
        }
        if (fs_write_all(fds[1], text, strlen(text)) < 0)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    char text[2048];
    size_t got = 0;
    double deadline = doctor_net_now() + limit;
    bool timed_out = false;
    for (;;) {
        double left = deadline - doctor_net_now();
        struct pollfd p = {fds[0], POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0) {
            timed_out = true;
            break;
        }
        ssize_t n = read(fds[0], text + got, sizeof(text) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= sizeof(text) - 1)
            break;
    }
    text[got] = '\0';
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (timed_out || got == 0) {
        if (timed_out)
            snprintf(out, outlen, "no answer from the resolver within %gs", limit);
        else
            snprintf(out, outlen, "the lookup process died");
        return -1;
    }
    /* Copies cut at the caller's sizes (the child's text is bounded too). */
    if (text[0] == 'O') {
        snprintf(out, outlen, "%.*s", (int)(outlen - 1), text + 1);
        return 0;
    }
    char *tab = strchr(text, '\t');
    if (tab != NULL) {
        *tab = '\0';
        snprintf(dsn_r, dsnlen, "%.*s", (int)(dsnlen - 1), text + 1);
        snprintf(out, outlen, "%.*s", (int)(outlen - 1), tab + 1);
    } else {
        snprintf(out, outlen, "%.*s", (int)(outlen - 1), text + 1);
    }
    return -1;
}

/* The address of name in /etc/hosts, as the lookup itself tries first. */
static bool doctor_net_hosts_file(const char *name, char *addr, size_t n)
{
    char *text = fs_read_file("/etc/hosts", 1 << 20, NULL);
    if (text == NULL)
        return false;
    bool found = false;
    for (char *line = text, *nl; line && *line && !found; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL, *a = strtok_r(line, " \t", &save), *h;
        while (a && (h = strtok_r(NULL, " \t", &save)) != NULL) {
            if (strcasecmp(h, name) == 0) {
                snprintf(addr, n, "%s", a);
                found = true;
                break;
            }
        }
    }
    mem_free(&text);
    return found;
}

static bool doctor_net_local_domain(const char *dom)
{
    char **v = var_list("mydestination");
    bool local = false;
    for (char **p = v; *p && !local; p++)
        local = strcasecmp(*p, dom) == 0;
    conf_free_list(&v);
    return local;
}

void doctor_net_dns(doctor_report *r, doctor_facts *f)
{
    double limit = f->timeout * 2;
    const char *next;
    char out[1024], dsn[16];
    doctor_check *c = doctor_add(r, 5, "resolver");
    char **servers = var_list("dns_servers");
    bool servers_ok = true;
    if (servers[0] != NULL) {
        char csv[1024];
        if (dns_servers_csv(servers, csv, sizeof(csv)) < 0) {
            servers_ok = false;
            doctor_set(c, DOCTOR_FAIL, "write dns_servers as address[:port] entries, e.g. "
                       "127.0.0.1:53; or leave it empty for /etc/resolv.conf",
                       "dns_servers = %s: not a list of addresses", var_str("dns_servers"));
        } else {
            doctor_set(c, DOCTOR_OK, NULL, "dns_servers: %s (instead of /etc/resolv.conf)", csv);
        }
    } else {
        char *text = fs_read_file("/etc/resolv.conf", 1 << 20, NULL);
        char list[512] = "";
        size_t used = 0;
        for (char *line = text, *nl; line && *line; line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            char a[128];
            if (sscanf(line, " nameserver %127s", a) == 1) {
                int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? " " : "", a);
                if (w > 0 && (size_t)w < sizeof(list) - used)
                    used += (size_t)w;
            }
        }
        mem_free(&text);
        if (used == 0)
            doctor_set(c, DOCTOR_WARN, "add a nameserver line to /etc/resolv.conf, or set "
                       "dns_servers in postie.conf", "/etc/resolv.conf names no nameserver: "
                       "lookups go to 127.0.0.1:53 and likely fail");
        else
            doctor_set(c, DOCTOR_OK, NULL, "/etc/resolv.conf: nameserver %s", list);
    }
    conf_free_list(&servers);

    doctor_check *h = doctor_add(r, 5, "myhostname");
    const char *me = var_str("myhostname");
    char addr[128];
    if (doctor_net_hosts_file(me, addr, sizeof(addr))) {
        doctor_set(h, DOCTOR_OK, NULL, "%s is in /etc/hosts: %s", me, addr);
    } else if (!servers_ok) {
        doctor_set(h, DOCTOR_WARN, "fix dns_servers first", "%s: not looked up (bad "
                   "dns_servers)", me);
    } else if (doctor_net_dns_lookup(me, false, limit, out, sizeof(out), dsn, sizeof(dsn)) == 0) {
        doctor_set(h, DOCTOR_OK, NULL, "%s resolves: %s", me, out);
    } else {
        next = doctor_tmp("add \"ADDRESS %s\" to /etc/hosts, or an A record; or "
                 "set myhostname to this host's real name", me);
        doctor_set(h, DOCTOR_WARN, next, "%s does not resolve: %s", me, out);
    }

    doctor_check *d = doctor_add(r, 5, "destinations");
    if (f->deferred == 0) {
        doctor_set(d, DOCTOR_OK, NULL, "skipped: no deferred mail, so no destination to look up");
        return;
    }
    if (!servers_ok) {
        doctor_set(d, DOCTOR_WARN, "fix dns_servers first", "not looked up (bad dns_servers)");
        return;
    }
    const char *relay = var_str("relayhost");
    int looked = 0, failed = 0;
    if (*relay) {
        /* Everything goes through the relay host: that is the lookup that
         * matters.  "[host]:port" means no MX lookup. */
        char host[256];
        bool mx = relay[0] != '[';
        const char *s = relay + !mx;
        size_t n = mx ? strcspn(s, ":") : strcspn(s, "]");
        snprintf(host, sizeof(host), "%.*s", (int)n, s);
        looked++;
        if (doctor_net_dns_lookup(host, mx, limit, out, sizeof(out), dsn, sizeof(dsn)) == 0) {
            doctor_detail(d, "relayhost %s: %s", relay, out);
        } else {
            failed++;
            next = doctor_tmp("dig %s %s; check relayhost and the resolver",
                     mx ? "MX" : "A", host);
            doctor_set(d, DOCTOR_WARN, next, "relayhost %s: %s (%s)", relay, out, dsn);
        }
    } else {
        for (size_t i = 0; i < f->dest_domains.n && looked < 3; i++) {
            const doctor_group *g = &f->dest_domains.v[i];
            if (doctor_net_local_domain(g->key)) {
                doctor_detail(d, "%s: a local domain (mydestination), no DNS involved: see "
                              "step 7 for its mailboxes", g->key);
                continue;
            }
            looked++;
            if (doctor_net_dns_lookup(g->key, true, limit, out, sizeof(out), dsn,
                                  sizeof(dsn)) == 0) {
                doctor_detail(d, "%s (%lu deferred): %s", g->key, g->count, out);
            } else {
                failed++;
                next = doctor_tmp("dig MX %s; dig A %s; if this resolver is wrong, "
                         "fix dns_servers or /etc/resolv.conf, then postie queue flush",
                         g->key, g->key);
                doctor_set(d, DOCTOR_WARN, next, "%s (%lu deferred): %s (%s)", g->key,
                           g->count, out, dsn);
                doctor_detail(d, "%s: %s", g->key, out);
            }
        }
    }
    if (looked == 0)
        doctor_set(d, DOCTOR_OK, NULL, "deferred mail is for local domains only: no DNS "
                   "lookup needed");
    else if (failed == 0)
        doctor_set(d, DOCTOR_OK, NULL, "%d destination%s of deferred mail resolve%s: the "
                   "deferral is the far side's answer or the path to it", looked,
                   looked == 1 ? "" : "s", looked == 1 ? "s" : "");
}
