/*
 * pop3d - the POP3 service process: listening sockets from master, accept,
 * the connection limit, one supervisor process per client (pop3d_auth.c).
 * See pop3d.h for the layout and docs/pop3d.md for the processes.
 *
 * A process per connection, not smtpd's event loop: each session must run
 * with its own user's rights (RFC 1939 sessions are long and mostly idle,
 * and a process per user is what gives the kernel's protection between
 * mailboxes), so the fork is needed anyway.  The cost is memory per
 * connection: two small processes while logging in, one afterwards.
 */
#include "pop3d/pop3d.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "global/conn_slots.h"
#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "pop3d/pop3d_auth.h"
#include "util/events.h"
#include "util/mem.h"
#include "util/msg.h"

#define POP3D_MAX_LISTEN 16

static int pop3d_listen_fd[POP3D_MAX_LISTEN];
static int pop3d_nlisten;
static int pop3d_nconn;
static int pop3d_conn_limit;
static pop3d_conf pop3d_cf;
typedef struct pop3d_kid {
    pid_t pid;
    int slot;                     /* in pop3d_cf.slots, or -1 */
    time_t start;
    char addr[INET6_ADDRSTRLEN];  /* the client, for the per-address limit */
    char lip[INET6_ADDRSTRLEN];   /* the local address, for log lines */
} pop3d_kid;
static pop3d_kid *pop3d_kids;  /* connection processes */
static int pop3d_kids_cap;
static int pop3d_client_limit;

/* The certificate is read here, while the service may still be root:
 * the login processes inherit the context and never open the key file.
 * A certificate that does not load turns STLS off with an error line
 * rather than stopping POP3 (Postfix's smtpd does the same). */
static SSL_CTX *pop3d_tls_load(void)
{
    char *cert = var_path("pop3d_tls_cert_file");
    char *key = var_path("pop3d_tls_key_file");
    SSL_CTX *ctx = NULL;
    if (*cert == '\0')
        goto done;
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        goto fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, *key ? key : cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    goto done;
fail: {
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    msg_error("cannot load the POP3 certificate %s (key %s): %s: STLS is off",
              cert, *key ? key : cert, r ? r : "unknown error");
    SSL_CTX_free(ctx);
    ctx = NULL;
}
done:
    mem_free(&cert);
    mem_free(&key);
    return ctx;
}

static void pop3d_conf_load(void)
{
    SSL_CTX_free(pop3d_cf.tls);
    pop3d_cf.tls = pop3d_tls_load();
    pop3d_cf.tls_auth_only = var_bool("pop3d_tls_auth_only");
    if (pop3d_cf.implicit_tls && pop3d_cf.tls == NULL)
        msg_error("pop3s_listen is set but no certificate is loaded "
                  "(pop3d_tls_cert_file): pop3s connections are closed");
    else if (pop3d_cf.tls_auth_only && pop3d_cf.tls == NULL)
        msg_warn("pop3d_tls_auth_only = yes without a certificate: nobody "
                 "can log in");
    pop3d_cf.timeout = (double)var_time("pop3d_timeout");
    /* RFC 1939 section 3: the autologout timer is at least 10 minutes;
     * shorter values are allowed for tests and logged. */
    if (pop3d_cf.timeout < 600)
        msg_info("pop3d_timeout = %.0fs is below RFC 1939's 10 minutes",
                 pop3d_cf.timeout);
    if (pop3d_cf.timeout < 1)
        pop3d_cf.timeout = 1;
    pop3d_cf.attempt_limit = (int)var_int("pop3d_auth_attempt_limit");
    pop3d_conn_limit = (int)var_int("pop3d_connection_limit");
    pop3d_client_limit = (int)var_int("pop3d_client_connection_limit");
    if (pop3d_conn_limit < 1)
        pop3d_conn_limit = 1;
    pop3d_cf.login_uid = pop3d_cf.login_gid = -1;
    if (geteuid() == 0) {
        const char *name = var_str("pop3d_login_user");
        struct passwd *pw = getpwnam(name);
        if (pw == NULL || pw->pw_uid == 0)
            msg_fatal("pop3d_login_user \"%s\" is not an unprivileged user of "
                      "this system", name);
        pop3d_cf.login_uid = pw->pw_uid;
        pop3d_cf.login_gid = pw->pw_gid;
    }
}

static void pop3d_reap(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < pop3d_nconn; i++)
            if (pop3d_kids[i].pid == pid) {
                if (pop3d_cf.slots != NULL)
                    conn_slots_del(pop3d_cf.slots, pop3d_kids[i].slot);
                pop3d_kids[i] = pop3d_kids[--pop3d_nconn];
                break;
            }
        if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)
            msg_warn("connection process %d killed by signal %d", (int)pid,
                     WTERMSIG(st));
    }
}

static void pop3d_sockaddr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out, (socklen_t)len);
}

/* The client's and the local address as text ("" when unknown). */
static void pop3d_addr(int fd, char *out, char *lip, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    out[0] = lip[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        pop3d_sockaddr(&ss, out, len);
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        pop3d_sockaddr(&ss, lip, len);
}

/* All slots are taken: end the quietest login of the busiest address
 * (global/conn_slots.h), as Dovecot's login processes drop their oldest
 * unauthenticated client at client_limit, so that this client is served.
 * Sessions that logged in are never chosen.  True when one was ended. */
static bool pop3d_evict(const char *addr)
{
    pid_t owner;
    int victim_same;
    int slot = pop3d_cf.slots == NULL ? -1
               : conn_slots_evict(pop3d_cf.slots, addr, &owner, &victim_same);
    if (slot < 0)
        return false;
    for (int i = 0; i < pop3d_nconn; i++) {
        pop3d_kid *k = &pop3d_kids[i];
        if (k->slot != slot)
            continue;
        /* The supervisor and its login process are one process group. */
        kill(-k->pid, SIGTERM);
        msg_info("pop3-login: Disconnected: Connection queue full (no auth attempts "
                 "in %ld secs): user=<>, rip=%s, lip=%s", (long)(time(NULL) - k->start),
                 k->addr, k->lip);
        return true;
    }
    return true; /* gone meanwhile: its slot is free at the next reap */
}

static void pop3d_refuse(int fd, const char *reply, const char *why, int limit,
                         const char *addr)
{
    (void)!write(fd, reply, strlen(reply));
    close(fd);
    msg_warn("%s (%d) reached%s%s: connection refused", why, limit,
             *addr ? " for " : "", addr);
}

static void pop3d_accept(int lfd, int events, void *ctx)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return; /* another process took it, or a transient error */
    /* Replies are written whole (pop3d_session.c): nothing is gained by
     * Nagle's algorithm, and with the client's delayed ACK it cost about
     * 40 ms per reply that followed another (issue #15). */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char addr[INET6_ADDRSTRLEN], lip[INET6_ADDRSTRLEN];
    pop3d_addr(fd, addr, lip, sizeof(addr));
    int total = pop3d_nconn, same = 0;
    if (pop3d_cf.slots != NULL)
        conn_slots_count(pop3d_cf.slots, addr, &total, &same);
    else
        for (int i = 0; i < pop3d_nconn && *addr; i++)
            same += strcmp(pop3d_kids[i].addr, addr) == 0;
    /* One address may not take every slot: idle logins are cheap to open
     * and last pop3d_timeout. */
    if (pop3d_client_limit > 0 && same >= pop3d_client_limit) {
        pop3d_refuse(fd, "-ERR [SYS/TEMP] Too many connections from your address, "
                         "try again later.\r\n",
                     "pop3d_client_connection_limit", pop3d_client_limit, addr);
        return;
    }
    /* RFC 2449 section 8.1.2's [SYS/TEMP]: try again later. */
    if (total >= pop3d_conn_limit && !pop3d_evict(addr)) {
        pop3d_refuse(fd, "-ERR [SYS/TEMP] Too many connections, try again later.\r\n",
                     "pop3d_connection_limit", pop3d_conn_limit, "");
        return;
    }
    int slot = pop3d_cf.slots == NULL ? -1
               : conn_slots_add(pop3d_cf.slots, addr, getpid(), event_now());
    pid_t pid = fork();
    if (pid < 0) {
        msg_error("fork: %m");
        if (pop3d_cf.slots != NULL)
            conn_slots_del(pop3d_cf.slots, slot);
        close(fd);
        return;
    }
    if (pid == 0) {
        /* Its own process group, with the login process it forks: an
         * eviction ends both (pop3d_evict). */
        setpgid(0, 0);
        pop3d_cf.slot = slot;
        for (int i = 0; i < pop3d_nlisten; i++)
            close(pop3d_listen_fd[i]);
        /* A session killed by SIGTERM ends without UPDATE (RFC 1939
         * section 6): nothing is deleted. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        msg_refresh_pid();
        pop3d_auth_conn(fd, &pop3d_cf);
    }
    setpgid(pid, pid); /* (both sides: no window before the child's) */
    close(fd);
    if (pop3d_nconn == pop3d_kids_cap) {
        pop3d_kids_cap = pop3d_kids_cap ? 2 * pop3d_kids_cap : 64;
        pop3d_kids = mem_realloc(pop3d_kids, (size_t)pop3d_kids_cap * sizeof(*pop3d_kids));
    }
    pop3d_kid *k = &pop3d_kids[pop3d_nconn++];
    k->pid = pid;
    k->slot = slot;
    k->start = time(NULL);
    snprintf(k->addr, sizeof(k->addr), "%s", addr);
    snprintf(k->lip, sizeof(k->lip), "%s", lip);
}

int pop3d_service_main(int argc, char **argv)
{
    /* "postie service pop3s": the same program on pop3s_listen, with TLS
     * before the greeting.  Both log as pop3d (Dovecot's pop3-login lines
     * do not tell the two apart either; ", TLS" does). */
    pop3d_cf.implicit_tls = argc > 0 && strcmp(argv[0], "pop3s") == 0;
    mail_service_init("pop3d");
    pop3d_conf_load();
    /* The connection table is shared with the connection processes only
     * (they mark a login), so it needs no file. */
    pop3d_cf.slot = -1;
    if ((pop3d_cf.slots = conn_slots_open(NULL)) == NULL)
        msg_warn("connection table: %m: no eviction when the slots are full");
    event_init();
    int first, n = mail_service_listen_fds(&first);
    if (n == 0)
        msg_fatal("pop3d gets its sockets from master: run postie serve or "
                  "postie start");
    for (int i = 0; i < n && pop3d_nlisten < POP3D_MAX_LISTEN; i++) {
        pop3d_listen_fd[pop3d_nlisten++] = first + i;
        event_add(first + i, EVENT_READ, pop3d_accept, NULL);
    }
    mail_service_hooks hooks = {.wait = 1.0, .watch_master = true,
                                .turn = pop3d_reap, .reload = pop3d_conf_load};
    mail_service_run(&hooks);
    /* Stop: sessions end without UPDATE (nothing deleted); each
     * supervisor takes its login process with it. */
    for (int i = 0; i < pop3d_nlisten; i++)
        close(pop3d_listen_fd[i]);
    for (int i = 0; i < pop3d_nconn; i++)
        kill(-pop3d_kids[i].pid, SIGTERM); /* with its login process */
    mem_free(&pop3d_kids);
    conn_slots_close(&pop3d_cf.slots);
    return 0;
}
