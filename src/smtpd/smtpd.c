/*
 * smtpd - the SMTP service process: listening sockets, accept, connection
 * limits, timeouts, graceful stop.  See smtpd.h for the file layout.
 *
 * Sockets come from master (LISTEN_FDS, mail_service.h); a developer who
 * runs "postie service smtpd" by hand gets sockets bound here from
 * smtpd_listen and inet_interfaces.  Several smtpd processes share the
 * sockets; each accepts non-blocking, so a process that is busy with an
 * fsync leaves new clients to the others.
 *
 * Timeouts: one sweep per second checks every session against its
 * request deadline (smtpd_deadline.c) and smtpd_total_timeout (whole
 * session): O(sessions) per second instead of a timer re-armed on every
 * read.  The same sweep publishes each session's state to the shared
 * connection table and closes the sessions that another process evicted.
 *
 * Connection slots (global/conn_slots.c): smtpd_connection_limit in all,
 * smtpd_client_connection_count_limit per client address (Postfix's
 * anvil limit).  When all slots are taken, a client from an address with
 * fewer connections than the busiest one takes the slot of the quietest
 * connection of that address that is not in DATA/BDAT: a flood of slow
 * connections from a few addresses cannot lock everybody else out.
 *
 * Stop (SIGTERM): listening sockets close at once; sessions in DATA or
 * BDAT get SMTPD_STOP_GRACE seconds to finish their message; every other
 * session, and those still running after the grace, get 421 4.3.2.
 */
#include "smtpd/smtpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "global/conn_slots.h"
#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "global/mynetworks.h"
#include "smtpd/smtpd_check.h"
#include "util/conf.h"
#include "util/events.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

smtpd_conf smtpd_cf;

static smtpd_session *smtpd_sessions;
static int smtpd_nsessions;
static int smtpd_listen_fd[16];
static int smtpd_nlisten;
static int smtpd_client_limit, smtpd_conn_limit;
static conn_slots *smtpd_slots; /* NULL: counted in this process only */

/* "host", "host:port", "[v6]:port" or a bare IPv6 address into a socket
 * address; 0 or -1. */
static int smtpd_dns_server_parse(const char *spec, struct sockaddr_storage *ss,
                                  socklen_t *len)
{
    char host[128];
    const char *port = "53";
    snprintf(host, sizeof(host), "%s", spec);
    char *colon = strrchr(host, ':');
    if (host[0] == '[') {
        char *close_br = strchr(host, ']');
        if (close_br == NULL)
            return -1;
        *close_br = '\0';
        if (close_br[1] == ':')
            port = spec + (close_br + 2 - host);
        memmove(host, host + 1, strlen(host + 1) + 1);
    } else if (colon != NULL && strchr(host, ':') == colon) {
        *colon = '\0'; /* one colon: host:port */
        port = spec + (colon + 1 - host);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* The name server for client name lookups: dns_servers, else the first
 * nameserver of /etc/resolv.conf. */
static void smtpd_dns_server_load(void)
{
    smtpd_cf.dns_server_len = 0;
    char **list = var_list("dns_servers");
    smtpd_cf.dns_servers_set = list[0] != NULL;
    if (list[0] != NULL &&
        smtpd_dns_server_parse(list[0], &smtpd_cf.dns_server, &smtpd_cf.dns_server_len) < 0)
        msg_warn("dns_servers: bad server \"%s\"", list[0]);
    conf_free_list(&list);
    if (smtpd_cf.dns_servers_set)
        return;
    char *text = fs_read_file("/etc/resolv.conf", 1 << 16, NULL);
    char *save = NULL;
    for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char ns[128];
        if (sscanf(line, " nameserver %127s", ns) == 1 &&
            smtpd_dns_server_parse(ns, &smtpd_cf.dns_server, &smtpd_cf.dns_server_len) == 0)
            break;
    }
    mem_free(&text);
}

void smtpd_conf_load(void)
{
    mem_free(&smtpd_cf.queue_dir);
    smtpd_cf.queue_dir = var_path("queue_directory");
    smtpd_cf.myhostname = var_str("myhostname");
    smtpd_cf.message_size_limit = (unsigned long long)var_int("message_size_limit");
    if (smtpd_cf.message_size_limit == 0)
        smtpd_cf.message_size_limit = ULLONG_MAX; /* Postfix: 0 is no limit */
    smtpd_cf.recipient_limit = (int)var_int("smtpd_recipient_limit");
    smtpd_cf.timeout = (double)var_time("smtpd_timeout");
    smtpd_cf.total_timeout = (double)var_time("smtpd_total_timeout");
    smtpd_cf.per_request_deadline = var_bool("smtpd_per_request_deadline");
    smtpd_cf.min_data_rate = (double)var_int("smtpd_min_data_rate");
    smtpd_cf.hard_error_limit = (int)var_int("smtpd_hard_error_limit");
    smtpd_cf.soft_error_limit = (int)var_int("smtpd_soft_error_limit");
    smtpd_cf.error_sleep = (double)var_time("smtpd_error_sleep_time");
    smtpd_cf.junk_limit = (int)var_int("smtpd_junk_command_limit");
    const char *bare = var_str("smtpd_forbid_bare_newline");
    if (strcmp(bare, "reject") != 0 && strcmp(bare, "normalize") != 0 &&
        strcmp(bare, "yes") != 0 && strcmp(bare, "no") != 0)
        msg_warn("smtpd_forbid_bare_newline: unknown value \"%s\": using "
                 "normalize", bare);
    /* "yes" is Postfix 3.5-3.8's name for what 3.9 calls reject. */
    smtpd_cf.forbid_bare_lf_reject =
        strcmp(bare, "reject") == 0 || strcmp(bare, "yes") == 0;
    smtpd_cf.disable_vrfy = var_bool("disable_vrfy_command");
    char why[512];
    if (mail_forbid_parse(var_str("smtpd_forbidden_commands"), &smtpd_cf.forbidden, why,
                          sizeof(why)) < 0)
        msg_warn("smtpd_forbidden_commands: %s: ignored", why);
    smtpd_cf.forbid_unauth_pipelining = var_bool("smtpd_forbid_unauth_pipelining");
    smtpd_cf.greet_pause = (double)var_time("smtpd_greet_pause");
    mynetworks_free(&smtpd_cf.mynetworks);
    smtpd_cf.mynetworks = mynetworks_from_conf();
    conf_free_list(&smtpd_cf.relay_domains);
    smtpd_cf.relay_domains = var_list("relay_domains");
    smtpd_conn_limit = (int)var_int("smtpd_connection_limit");
    smtpd_cf.peername_lookup = var_bool("smtpd_peername_lookup");
    smtpd_dns_server_load();
    smtpd_check_conf_load(); /* after relay_domains and the DNS server */
    smtpd_tls_conf_load();   /* a new context: a renewed certificate on reload */
    smtpd_client_limit = (int)var_int("smtpd_client_connection_count_limit");
}

/* ---- sessions ---- */

static void smtpd_link(smtpd_session *s)
{
    s->next = smtpd_sessions;
    if (smtpd_sessions)
        smtpd_sessions->prev = s;
    smtpd_sessions = s;
    smtpd_nsessions++;
}

static void smtpd_unlink_free(smtpd_session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        smtpd_sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    smtpd_nsessions--;
    if (smtpd_slots != NULL)
        conn_slots_del(smtpd_slots, s->conn_slot);
    smtpd_session_free(&s);
}

/* Free the sessions that finished during this loop turn. */
static void smtpd_reap(void)
{
    for (smtpd_session *s = smtpd_sessions, *next; s; s = next) {
        next = s->next;
        if (s->closed)
            smtpd_unlink_free(s);
    }
}

/* Count this process's sessions from addr (used when the shared table
 * is not available). */
static int smtpd_count_local(const char *addr)
{
    int n = 0;
    for (smtpd_session *s = smtpd_sessions; s; s = s->next)
        if (strcmp(s->addr, addr) == 0)
            n++;
    return n;
}

/* All slots are taken: evict the quietest connection of the busiest
 * address (conn_slots.h) so that this client is served.  True when one
 * was flagged (its process closes it at its next sweep). */
static bool smtpd_evict_for(smtpd_session *s)
{
    pid_t owner;
    int victim_same;
    if (smtpd_slots == NULL ||
        conn_slots_evict(smtpd_slots, s->addr, &owner, &victim_same) < 0)
        return false;
    msg_info("connection slots full (smtpd_connection_limit %d): evicting an idle "
             "connection of an address with %d connections (smtpd pid %d) for %s",
             smtpd_conn_limit, victim_same, (int)owner, s->namaddr);
    return true;
}

/* The client is named: log it, apply the connection limits, greet. */
static void smtpd_accept_ready(smtpd_session *s)
{
    smtpd_session_log_connect(s);
    int total = 0, same = 0;
    if (smtpd_slots != NULL)
        conn_slots_count(smtpd_slots, s->addr, &total, &same);
    else {
        total = smtpd_nsessions - 1;
        same = smtpd_count_local(s->addr) - 1;
    }
    if (!s->mynetworks && same >= smtpd_client_limit) {
        /* Postfix's anvil wording (service name as in master.cf), so that
         * log tools and fail2ban rules match. */
        msg_warn("Connection concurrency limit exceeded: %d from %s for "
                 "service smtp", same + 1, s->namaddr);
        smtpd_session_end(s, "421 4.7.0 %s Error: too many connections from %s",
                          smtpd_cf.myhostname, s->addr);
    } else if (total >= smtpd_conn_limit && !smtpd_evict_for(s)) {
        msg_warn("Connection limit exceeded: %d connections for service smtpd, "
                 "refusing %s", total + 1, s->namaddr);
        smtpd_session_end(s, "421 4.7.0 %s Error: too many connections",
                          smtpd_cf.myhostname);
    } else {
        if (smtpd_slots != NULL)
            s->conn_slot = conn_slots_add(smtpd_slots, s->addr, getpid(), event_now());
        smtpd_deadline_start(s, event_now());
        if (smtpd_session_pregreet(s) == 0)
            smtpd_session_greet(s);
    }
    event_add(s->fd, EVENT_READ, smtpd_session_event, s);
    smtpd_session_flush(s);
}

static void smtpd_accept_one(int lfd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
            errno != ECONNABORTED)
            msg_warn("accept: %m");
        return;
    }
    smtpd_session *s = smtpd_session_create(fd, (struct sockaddr *)&ss, sl);
    smtpd_link(s);
    /* Not in the hosts file: ask the DNS, and go on with other sessions
     * meanwhile (smtpd_peer.c). */
    if (smtpd_peer_resolve(s, smtpd_accept_ready) == 0)
        smtpd_accept_ready(s);
}

static void smtpd_accept(int lfd, int events, void *ctx)
{
    /* A few per wake-up: the other processes get their share. */
    for (int i = 0; i < 16; i++) {
        int before = smtpd_nsessions;
        smtpd_accept_one(lfd);
        if (smtpd_nsessions == before)
            break;
    }
}

/* Tell the other processes what the session is doing: a trusted client
 * or one in DATA/BDAT is never evicted. */
static void smtpd_sweep_mark(smtpd_session *s)
{
    int state = s->cmd_time > 0 ? CONN_SLOTS_IDLE : CONN_SLOTS_NEW;
    if (s->mynetworks || s->mode == SMTPD_MODE_DATA || s->mode == SMTPD_MODE_BDAT ||
        s->state == SMTPD_ST_BDAT)
        state = CONN_SLOTS_BUSY;
    conn_slots_mark(smtpd_slots, s->conn_slot, state, s->cmd_time);
}

static void smtpd_sweep(void)
{
    double now = event_now();
    for (smtpd_session *s = smtpd_sessions; s; s = s->next) {
        if (s->closed || s->dns_step != SMTPD_PEER_DONE)
            continue; /* a name lookup has its own time limit */
        if (s->mode == SMTPD_MODE_CLOSING) {
            /* The last reply cannot be written (a client that does not
             * read): give up on it rather than keep the session. */
            if (now - s->last_io >= SMTPD_CLOSE_WAIT)
                s->closed = true;
            continue;
        }
        if (smtpd_deadline_expired(s, now) || now - s->start >= smtpd_cf.total_timeout) {
            smtpd_session_timeout(s);
            continue;
        }
        if (smtpd_slots == NULL || s->conn_slot < 0)
            continue;
        if (conn_slots_evicted(smtpd_slots, s->conn_slot)) {
            char where[64];
            smtpd_session_where(s, where, sizeof(where));
            msg_info("evicted idle connection after %s from %s: connection slots "
                     "needed for new clients", where, s->namaddr);
            smtpd_session_end(s, "421 4.7.0 %s Error: too many connections",
                              smtpd_cf.myhostname);
            smtpd_session_flush(s);
            continue;
        }
        smtpd_sweep_mark(s);
    }
}

/* ---- listening ---- */

static void smtpd_listen_add(int fd)
{
    if (smtpd_nlisten >= (int)(sizeof(smtpd_listen_fd) / sizeof(int)))
        msg_fatal("too many listening sockets");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    smtpd_listen_fd[smtpd_nlisten++] = fd;
}

/* Bind host:port (host NULL: wildcard of the family). */
static void smtpd_bind(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res;
    int r = getaddrinfo(host, port, &hints, &res);
    if (r != 0)
        msg_fatal("smtpd_listen: %s:%s: %s", host ? host : "*", port, gai_strerror(r));
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
            msg_warn("bind %s port %s: %m", host ? host : "*", port);
            close(fd);
            continue;
        }
        smtpd_listen_add(fd);
    }
    freeaddrinfo(res);
}

/* No sockets from master: bind smtpd_listen on inet_interfaces. */
static void smtpd_bind_own(void)
{
    char **ports = var_list("smtpd_listen");
    char **ifs = var_list("inet_interfaces");
    for (char **p = ports; *p; p++) {
        char *colon = strrchr(*p, ':');
        if (colon != NULL) {
            /* addr:port or [v6addr]:port */
            char host[128];
            snprintf(host, sizeof(host), "%.*s", (int)(colon - *p), *p);
            size_t hl = strlen(host);
            if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
                memmove(host, host + 1, hl - 2);
                host[hl - 2] = '\0';
            }
            smtpd_bind(host, colon + 1);
            continue;
        }
        for (char **i = ifs; *i; i++) {
            if (strcmp(*i, "loopback-only") == 0) {
                smtpd_bind("127.0.0.1", *p);
                smtpd_bind("::1", *p);
            } else if (strcmp(*i, "all") == 0) {
                smtpd_bind("0.0.0.0", *p);
                smtpd_bind("::", *p);
            } else {
                smtpd_bind(*i, *p);
            }
        }
    }
    conf_free_list(&ports);
    conf_free_list(&ifs);
    if (smtpd_nlisten == 0)
        msg_fatal("smtpd: no listening socket could be bound");
}

static void smtpd_stop_listening(void)
{
    for (int i = 0; i < smtpd_nlisten; i++) {
        event_remove(smtpd_listen_fd[i]);
        close(smtpd_listen_fd[i]);
    }
    smtpd_nlisten = 0;
}

/* ---- the service loop (global/mail_service) ---- */

static double smtpd_next_sweep, smtpd_stop_deadline;

/* Every turn: sessions that ended go, and once a second the sweep. */
static void smtpd_turn(void)
{
    smtpd_reap();
    if (event_now() >= smtpd_next_sweep) {
        smtpd_sweep();
        smtpd_reap();
        smtpd_next_sweep = event_now() + 1.0;
    }
}

static void smtpd_reload(void)
{
    smtpd_conf_load();
}

static void smtpd_stop(void)
{
    smtpd_stop_listening();
    smtpd_stop_deadline = event_now() + SMTPD_STOP_GRACE;
}

/* While stopping: a session in DATA or BDAT may finish its message until
 * the grace is over; every other one gets 421 now. */
static bool smtpd_stopped(void)
{
    bool late = event_now() >= smtpd_stop_deadline;
    for (smtpd_session *s = smtpd_sessions; s; s = s->next) {
        bool busy = s->mode == SMTPD_MODE_DATA || s->mode == SMTPD_MODE_BDAT ||
                    s->state == SMTPD_ST_BDAT;
        if (s->dns_step != SMTPD_PEER_DONE) {
            s->closed = true; /* not greeted yet: just hang up */
            continue;
        }
        if (s->mode != SMTPD_MODE_CLOSING && (late || !busy)) {
            smtpd_session_end(s, "421 4.3.2 %s Service shutting down",
                              smtpd_cf.myhostname);
            smtpd_session_flush(s);
        }
        if (late && s->mode == SMTPD_MODE_CLOSING)
            s->closed = true;
    }
    smtpd_reap();
    return smtpd_sessions == NULL;
}

int smtpd_service_main(int argc, char **argv)
{
    mail_service_init("smtpd");
    smtpd_conf_load();
    event_init();
    int first, n = mail_service_listen_fds(&first);
    for (int i = 0; i < n; i++)
        smtpd_listen_add(first + i);
    if (n == 0)
        smtpd_bind_own();
    /* The shared table lives in the queue (which belongs to mail_owner,
     * as smtpd does), in pid/ as Postfix keeps its process files there. */
    char *pid_dir = fs_join(smtpd_cf.queue_dir, "pid");
    fs_mkdirs(pid_dir, 0700);
    char *tab = fs_join(pid_dir, "smtpd.conn");
    if ((smtpd_slots = conn_slots_open(tab)) == NULL)
        msg_warn("open %s: %m: connection limits are counted per process", tab);
    mem_free(&tab);
    mem_free(&pid_dir);
    for (int i = 0; i < smtpd_nlisten; i++)
        event_add(smtpd_listen_fd[i], EVENT_READ, smtpd_accept, NULL);

    smtpd_next_sweep = event_now() + 1.0;
    /* Started by master (its sockets): end when it is gone (kill -9). */
    mail_service_hooks hooks = {.wait = 1.0, .watch_master = n > 0,
                                .turn = smtpd_turn, .reload = smtpd_reload,
                                .stop = smtpd_stop, .stopped = smtpd_stopped};
    return mail_service_run(&hooks);
}
