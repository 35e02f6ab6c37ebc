/*
 * pop3d_auth - supervisor, login process and the hand-over to the
 * session; see pop3d_auth.h and docs/pop3d.md.
 *
 * Packets on the socketpair (login -> supervisor):
 *   'A' user NUL password NUL      check this password (RFC 1939 USER/PASS
 *                                  or RFC 5034 AUTH PLAIN)
 *   'R' bytes                      input the client sent after the login
 *                                  command (pipelining), then the login
 *                                  process exits
 *   'T' bytes                      the same over TLS: the login process
 *                                  stays as the relay, the session talks
 *                                  to it on the relay socketpair
 * supervisor -> login:
 *   'Y' canonical-user             accepted
 *   'N'                            refused (after POP3D_AUTH_FAIL_DELAY)
 *
 * Log lines are Dovecot's (pop3-login: Login: ..., Disconnected (auth
 * failed, N attempts in S secs): ...) so that fail2ban's dovecot filter
 * and people's greps keep working; see docs/logging.md.
 */
#include "pop3d/pop3d_auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/err.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <shadow.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "global/conn_slots.h"
#include "global/mail_conf.h"
#include "global/mail_users.h"
#include "pop3d/pop3d_login.h"
#include "pop3d/pop3d_maildir.h"
#include "pop3d/pop3d_proto.h"
#include "pop3d/pop3d_session.h"
#include "util/base64.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

/* A refused password costs the client this long (Dovecot's
 * auth_failure_delay is 2 s): a guesser gets few tries per minute. */
#define POP3D_AUTH_FAIL_DELAY 1
/* Largest packet: 'R' or 'T' with the login process's whole input
 * buffer (4096), which is also more than any 'A' request can be. */
#define POP3D_AUTH_PKT_MAX 4200

typedef struct pop3d_peer {
    char rip[64], lip[64];
    char sid[24];
    time_t start;
} pop3d_peer;

static void pop3d_auth_addr(const struct sockaddr_storage *ss, char *out,
                            size_t len)
{
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)len);
    } else {
        snprintf(out, len, "unknown");
    }
}

static void pop3d_auth_peer(int fd, pop3d_peer *p)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(p, 0, sizeof(*p));
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        pop3d_auth_addr(&ss, p->rip, sizeof(p->rip));
    sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        pop3d_auth_addr(&ss, p->lip, sizeof(p->lip));
    /* Dovecot's session=<...>: random bytes in base64, one id for the
     * login lines and the session's lines (12 octets: 16 characters, no
     * padding). */
    unsigned char r[12];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)(rand() ^ getpid());
    base64_encode(r, sizeof(r), p->sid, sizeof(p->sid));
    p->start = time(NULL);
}

/* ---- the login process (unprivileged, reads the network) ---- */

/* Dovecot's tail: ", TLS" when the connection is encrypted, or the
 * reason a handshake failed. */
static char pop3d_auth_tls_note[160];

static void pop3d_auth_login_log(const pop3d_peer *p, const pop3d_login *l,
                                 const char *how)
{
    long secs = (long)(time(NULL) - p->start);
    const char *tls = pop3d_auth_tls_note[0] ? pop3d_auth_tls_note
                      : l->tls_active        ? "TLS"
                                             : NULL;
    if (l->attempts == 0)
        msg_info("pop3-login: %s (no auth attempts in %ld secs): user=<>, "
                 "rip=%s, lip=%s, %s%ssession=<%s>", how, secs, p->rip, p->lip,
                 tls ? tls : "", tls ? ", " : "", p->sid);
    else
        msg_info("pop3-login: %s (auth failed, %d attempts in %ld secs): "
                 "user=<%s>, method=%s, rip=%s, lip=%s, %s%ssession=<%s>",
                 how, l->attempts, secs, l->user, l->method, p->rip, p->lip,
                 tls ? tls : "", tls ? ", " : "", p->sid);
}

/* After a login over TLS: relay between the client (TLS) and the session
 * (clear text on rel) until either side closes.  The session applies the
 * idle limit; this only follows it. */
static void pop3d_auth_relay(conn *io, int rel)
{
    /* Non-blocking (conn makes it so), so that each write has the idle
     * limit: a client that floods commands while its session writes
     * cannot wedge both. */
    conn *side = conn_new(rel, POP3D_IN_MAX, POP3D_LINE_MAX, 1 << 16);
    side->timeout = io->timeout;
    buf_reset(io->in); /* handed over in the 'T' packet already */
    for (;;) {
        struct pollfd pfd[2] = {{.fd = io->fd, .events = POLLIN},
                                {.fd = rel, .events = POLLIN}};
        bool pending = SSL_pending(io->ssl) > 0;
        if (!pending && poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pending || pfd[0].revents) {
            ssize_t n = conn_fill(io);
            if (n > 0) {
                int w = conn_write(side, io->in->data, io->in->len);
                buf_reset(io->in);
                if (w < 0)
                    break;
            } else if (n != CONN_AGAIN) {
                break;
            }
        }
        if (pfd[1].revents) {
            ssize_t n = conn_fill(side);
            if (n == CONN_AGAIN)
                continue;
            if (n < 0)
                break;
            int w = conn_write(io, side->in->data, side->in->len);
            buf_reset(side->in);
            if (w < 0)
                break;
        }
    }
    SSL_shutdown(io->ssl);
}

static void pop3d_auth_login(int fd, int sp, int rel, const pop3d_conf *cf,
                             const pop3d_peer *p)
{
    conn *io = pop3d_proto_conn(fd, cf->timeout);
    pop3d_login l;
    pop3d_login_init(&l, cf->attempt_limit);
    l.tls_offer = cf->tls != NULL;
    l.tls_auth_only = cf->tls_auth_only;
    if (cf->implicit_tls) {
        /* pop3s: TLS from the first byte, no STLS (RFC 8314 section 3.3
         * for the implicit-TLS ports). */
        char why[sizeof(pop3d_auth_tls_note) - 8];
        if (cf->tls == NULL)
            snprintf(why, sizeof(why), "no certificate for pop3s");
        if (cf->tls == NULL || pop3d_proto_tls(io, cf->tls, why, sizeof(why)) < 0) {
            snprintf(pop3d_auth_tls_note, sizeof(pop3d_auth_tls_note), "%s", why);
            pop3d_auth_login_log(p, &l, "Disconnected");
            _exit(0);
        }
        pop3d_login_tls_started(&l);
    }
    buf *out = buf_new(8192);
    pop3d_login_greeting(out);
    for (;;) {
        if (out->len && conn_write(io, out->data, out->len) < 0) {
            pop3d_auth_login_log(p, &l, "Disconnected");
            _exit(0);
        }
        buf_reset(out);
        char *line = NULL;
        size_t len;
        int r = conn_line(io, &line, &len);
        if (r == CONN_TIMEOUT) {
            pop3d_proto_say(io, "-ERR Disconnected for inactivity.\r\n");
            pop3d_auth_login_log(p, &l, "Disconnected: Inactivity");
            _exit(0);
        }
        if (r < 0) {
            pop3d_auth_login_log(p, &l, "Disconnected");
            _exit(0);
        }
        enum pop3d_login_act a = pop3d_login_line(&l, r == CONN_TOOLONG ? "" : line,
                                                  r == CONN_TOOLONG, out);
        memset(line, 0, len); /* it may have carried a password */
        if (a == POP3D_LOGIN_CLOSE) {
            conn_write(io, out->data, out->len);
            pop3d_auth_login_log(p, &l, l.quit ? "Disconnected" : "Aborted login");
            _exit(0);
        }
        if (a == POP3D_LOGIN_STARTTLS) {
            if (conn_write(io, out->data, out->len) < 0) {
                pop3d_auth_login_log(p, &l, "Disconnected");
                _exit(0);
            }
            buf_reset(out);
            /* RFC 2595 section 4 (and the STARTTLS command injection
             * class of bugs): nothing the client sent before the
             * handshake may be read as if it came through TLS; conn
             * drops it when TLS starts. */
            char why[sizeof(pop3d_auth_tls_note) - 8];
            if (pop3d_proto_tls(io, cf->tls, why, sizeof(why)) < 0) {
                snprintf(pop3d_auth_tls_note, sizeof(pop3d_auth_tls_note), "%s", why);
                pop3d_auth_login_log(p, &l, "Disconnected");
                _exit(0);
            }
            pop3d_login_tls_started(&l);
            continue;
        }
        if (a != POP3D_LOGIN_VERIFY)
            continue;
        char pkt[1024];
        size_t ul = strlen(l.user), pl = strlen(l.pass);
        if (2 + ul + pl + 1 > sizeof(pkt)) {
            pop3d_login_result(&l, false, out);
            continue;
        }
        pkt[0] = 'A';
        memcpy(pkt + 1, l.user, ul + 1);
        memcpy(pkt + 2 + ul, l.pass, pl + 1);
        ssize_t sent = send(sp, pkt, 3 + ul + pl, 0);
        memset(pkt, 0, sizeof(pkt));
        char ans[POP3D_USER_MAX + 2];
        ssize_t n = sent < 0 ? -1 : recv(sp, ans, sizeof(ans) - 1, 0);
        if (n <= 0) {
            memset(l.pass, 0, sizeof(l.pass));
            pop3d_proto_say(io, "-ERR [SYS/TEMP] Internal error, try again later.\r\n");
            pop3d_auth_login_log(p, &l, "Disconnected");
            _exit(1);
        }
        ans[n] = '\0';
        bool ok = ans[0] == 'Y';
        a = pop3d_login_result(&l, ok, out);
        if (ok) {
            /* The session process greets; hand over what the client sent
             * after its login command. */
            msg_info("pop3-login: Login: user=<%s>, method=%s, rip=%s, lip=%s, "
                     "mpid=%d, %ssession=<%s>", ans + 1, l.method, p->rip, p->lip,
                     (int)getppid(), io->ssl ? "TLS, " : "", p->sid);
            char rest[4097];
            rest[0] = io->ssl ? 'T' : 'R';
            size_t k = io->skip ? 0 : io->in->len;
            memcpy(rest + 1, io->in->data, k);
            send(sp, rest, 1 + k, 0);
            if (io->ssl)
                pop3d_auth_relay(io, rel);
            _exit(0);
        }
        if (a == POP3D_LOGIN_CLOSE) {
            conn_write(io, out->data, out->len);
            pop3d_auth_login_log(p, &l, "Aborted login");
            _exit(0);
        }
    }
}

/* ---- the supervisor (privileged, reads only the socketpair) ---- */

/* 1 accepted (*u_r set), 0 refused. */
static int pop3d_auth_verify(const char *name, const char *pass, mail_user **u_r)
{
    mail_user *u = NULL;
    char *err = NULL;
    if (!mail_users_name_ok(name))
        return 0;
    int r = mail_users_find(name, &u, &err);
    if (r < 0) {
        msg_warn("pop3-login: user lookup for %s: %s", name, err);
        mem_free(&err);
        return 0;
    }
    if (r == 0)
        return 0;
    int ok = 0;
    if (u->system) {
        /* Without PAM: the crypt(3) hash of the shadow file, which only
         * root can read.  PAM is out of scope (docs/pop3d.md). */
        struct spwd *sp = getspnam(u->name);
        if (sp == NULL || sp->sp_pwdp == NULL || sp->sp_pwdp[0] == '\0' ||
            sp->sp_pwdp[0] == '!' || sp->sp_pwdp[0] == '*') {
            if (sp == NULL && geteuid() != 0)
                msg_warn("pop3-login: system user %s: the shadow file is "
                         "readable by root only", u->name);
        } else {
            size_t n = strlen(sp->sp_pwdp) + 8;
            char *stored = mem_alloc(n);
            snprintf(stored, n, "{CRYPT}%s", sp->sp_pwdp);
            ok = mail_users_verify(stored, pass) == 1;
            mem_free(&stored);
        }
    } else if (u->password && u->password[0]) {
        ok = mail_users_verify(u->password, pass) == 1;
    }
    if (ok)
        *u_r = u;
    else
        mail_user_free(&u);
    return ok;
}

/* Become the mailbox owner: the user's uid for system users, the uid of
 * the users file when given (not 0), else mail_owner (local.md "Rights"). */
static int pop3d_auth_become(const mail_user *u, char **why_r)
{
    if (geteuid() != 0)
        return 0;
    uid_t uid;
    gid_t gid;
    const char *gname;
    struct passwd *pw = NULL;
    if (u->system) {
        pw = getpwnam(u->name);
        if (pw == NULL) {
            *why_r = mem_strdup("system user vanished");
            return -1;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        gname = u->name;
    } else if (u->uid > 0) {
        uid = (uid_t)u->uid;
        gid = u->gid > 0 ? (gid_t)u->gid : (gid_t)u->uid;
        gname = NULL;
    } else {
        pw = getpwnam(var_str("mail_owner"));
        if (pw == NULL) {
            *why_r = mem_strdup("mail_owner is not a user of this system");
            return -1;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        gname = pw->pw_name;
    }
    if (uid == 0) {
        *why_r = mem_strdup("refusing to serve a mailbox as root");
        return -1;
    }
    if (setgid(gid) < 0 ||
        (gname ? initgroups(gname, gid) : setgroups(1, &gid)) < 0 ||
        setuid(uid) < 0 || setuid(0) == 0) {
        *why_r = mem_strdup("cannot drop privileges");
        return -1;
    }
    return 0;
}

/* The logged-in session on fd (the client, or the relay to the login
 * process under TLS).  Returns the exit status. */
static int pop3d_auth_session(int fd, const pop3d_conf *cf, const pop3d_peer *p,
                              const mail_user *u, const char *rest, size_t restlen)
{
    conn *io = pop3d_proto_conn(fd, cf->timeout);
    buf_append(io->in, rest, restlen);
    char *why = NULL;
    int pid = (int)getpid();
    const char *hm = var_str("home_mailbox");
    if (*hm == '\0' || hm[strlen(hm) - 1] != '/') {
        /* mbox needs locking against local and a rewrite at UPDATE;
         * postie's POP3 serves Maildir only. */
        pop3d_proto_say(io, "-ERR [SYS/PERM] This server serves Maildir "
                             "mailboxes only.\r\n");
        msg_error("pop3(%s)<%d><%s>: mailbox is mbox (home_mailbox = %s): "
                  "pop3d serves Maildir only (home_mailbox ending in /)",
                  u->name, pid, p->sid, *hm ? hm : "\"\"");
        return 0;
    }
    if (pop3d_auth_become(u, &why) < 0) {
        pop3d_proto_say(io, "-ERR [SYS/TEMP] Internal error, try again later.\r\n");
        msg_error("pop3(%s)<%d><%s>: %s", u->name, pid, p->sid, why);
        mem_free(&why);
        return 1;
    }
    if (chdir("/") < 0)
        msg_warn("chdir /: %m");
    char *home = mail_users_home(u);
    char *path = fs_join(home, hm);
    mem_free(&home);
    size_t pl = strlen(path);
    if (pl > 1 && path[pl - 1] == '/')
        path[pl - 1] = '\0';
    pop3d_maildir *md = NULL;
    char *err = NULL;
    int r = pop3d_maildir_open(path, &md, &err);
    mem_free(&path);
    if (r == -2) {
        /* RFC 2449 section 8.1.2: [IN-USE], the maildrop is locked. */
        pop3d_proto_say(io, "-ERR [IN-USE] Mailbox is locked by another POP3 session.\r\n");
        msg_info("pop3(%s)<%d><%s>: Disconnected: Mailbox is locked by another "
                 "POP3 session", u->name, pid, p->sid);
        return 0;
    }
    if (r < 0) {
        pop3d_proto_say(io, "-ERR [SYS/TEMP] Couldn't open the mailbox.\r\n");
        msg_error("pop3(%s)<%d><%s>: Couldn't open INBOX: %s", u->name, pid,
                  p->sid, err);
        mem_free(&err);
        return 1;
    }
    pop3d_session s = {.io = io, .md = md, .user = u->name, .sid = p->sid};
    pop3d_session_run(&s);
    pop3d_maildir_free(&md);
    conn_release(&io); /* the caller closes fd */
    return 0;
}

void pop3d_auth_conn(int fd, const pop3d_conf *cf)
{
    pop3d_peer p;
    pop3d_auth_peer(fd, &p);
    int sp[2], rel[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rel) < 0) {
        msg_error("socketpair: %m");
        _exit(1);
    }
    pid_t login = fork();
    if (login < 0) {
        msg_error("fork: %m");
        _exit(1);
    }
    if (login == 0) {
        close(sp[0]);
        close(rel[0]);
        msg_refresh_pid();
        if (cf->login_uid >= 0) {
            gid_t g = (gid_t)cf->login_gid;
            if (setgroups(1, &g) < 0 || setgid(g) < 0 ||
                setuid((uid_t)cf->login_uid) < 0 || setuid(0) == 0)
                msg_fatal("pop3-login: cannot drop privileges to pop3d_login_user");
        }
        /* Passwords pass through this process: other processes of the
         * same user (nobody is shared) must not attach to it or read its
         * core. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        pop3d_auth_login(fd, sp[1], rel[1], cf, &p);
        _exit(0);
    }
    close(sp[1]);
    close(rel[1]);
    mail_user *u = NULL;
    char pkt[POP3D_AUTH_PKT_MAX + 1];
    int status = 0;
    for (;;) {
        ssize_t n = recv(sp[0], pkt, POP3D_AUTH_PKT_MAX, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the login process ended without a login */
        pkt[n] = '\0';
        if (u != NULL && (pkt[0] == 'R' || pkt[0] == 'T')) {
            /* Logged in: no longer a candidate for eviction when the
             * slots run out (Dovecot drops only unauthenticated clients). */
            if (cf->slots != NULL)
                conn_slots_mark(cf->slots, cf->slot, CONN_SLOTS_BUSY, 0);
            close(sp[0]);
            sp[0] = -1;
            int sfd = fd;
            if (pkt[0] == 'R') {
                /* Clear text: the login process is gone, the session
                 * takes the client's socket. */
                int st;
                waitpid(login, &st, 0);
                login = -1;
                close(rel[0]);
            } else {
                /* TLS: the login process relays; this process never
                 * touches the client's socket again. */
                close(fd);
                sfd = rel[0];
                fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
            }
            status = pop3d_auth_session(sfd, cf, &p, u, pkt + 1, (size_t)n - 1);
            close(sfd);
            break;
        }
        /* 'A' user NUL pass NUL: both within the packet, or it is no
         * request (a subverted login process gets nothing from it). */
        const char *user = pkt + 1;
        const char *z = memchr(user, '\0', (size_t)n - 1);
        if (pkt[0] != 'A' || u != NULL || z == NULL ||
            memchr(z + 1, '\0', (size_t)(pkt + n - z - 1)) == NULL)
            break;
        int ok = pop3d_auth_verify(user, z + 1, &u);
        memset(pkt, 0, sizeof(pkt));
        if (!ok)
            sleep(POP3D_AUTH_FAIL_DELAY);
        char ans[POP3D_USER_MAX + 2];
        int al = snprintf(ans, sizeof(ans), "%c%s", ok ? 'Y' : 'N', ok ? u->name : "");
        if (send(sp[0], ans, (size_t)al, 0) < 0)
            break;
    }
    if (sp[0] >= 0)
        close(sp[0]);
    if (login > 0) {
        int st;
        /* The relay ends when the session's side closes; a login process
         * that is still talking is told to stop. */
        if (u == NULL)
            kill(login, SIGTERM);
        waitpid(login, &st, 0);
    }
    mail_user_free(&u);
    _exit(status);
}
