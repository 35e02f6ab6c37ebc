/*
 * smtp_deliver - one request from qmgr, in its own child process: read
 * it, check it against the queue file, find the hosts of the next hop
 * (dns_lookup: MX, A/AAAA; or the LMTP socket), try them in order until
 * one takes the recipients, log one line per recipient and answer qmgr.
 *
 * Host order and failures (RFC 5321 section 5.1 and 4.5.4.1): the
 * addresses are tried in MX order; a connection that fails, a greeting
 * that refuses, a 4xx to MAIL FROM or a broken conversation before any
 * recipient was decided moves on to the next address.  Postfix logs the
 * intermediate failures as lines of their own ("connect to mx1[...]:25:
 * Connection refused"); the last one is the recipients' result.
 *
 * Rights: runs as mail_owner; reads active/ID (the queue owner's) and
 * never writes it: qmgr marks the results.
 *
 * Does not: bounces (qmgr and the bounce service turn results into
 * notices); it only says which successes went to a host that took the
 * recipient's NOTIFY (RFC 3461 section 5.2, the "dsn_passed=" line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "global/deliver_log.h"
#include "global/deliver_request.h"
#include "global/dns_lookup.h"
#include "global/mail_conf.h"
#include "smtp/smtp_dest.h"
#include "smtp/smtp_int.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

char *smtp_queue_dir;

static int smtp_port_param(const char *name, int fallback)
{
    const char *v = var_str(name);
    if (strcmp(v, "smtp") == 0)
        return 25;
    if (strcmp(v, "lmtp") == 0)
        return 24;
    char *end;
    long p = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || p <= 0 || p > 65535) {
        msg_warn("%s: bad port \"%s\", using %d", name, v, fallback);
        return fallback;
    }
    return (int)p;
}

#define smtp_last_none(l, dsn, ...) smtp_last_set((l), (dsn), "none", __VA_ARGS__)

/* What no host took gets the last failure (or, with no host tried at
 * all, a plain deferral). */
static void smtp_fail_open_last(smtp_job *job, const smtp_last *last)
{
    for (size_t i = 0; i < job->nrs; i++) {
        if (job->rs[i].final)
            continue;
        if (job->rs[i].soft)
            job->rs[i].final = true; /* its own 4xx from an earlier host */
        else if (last->dsn[0] == '\0')
            smtp_rcpt_set(&job->rs[i], "4.4.1", "none", "no host to try");
        else
            smtp_rcpt_set(&job->rs[i], last->dsn,
                          last->relay[0] ? last->relay : "none", "%s",
                          last->text);
    }
}

static bool smtp_deliver_open(const smtp_job *job)
{
    for (size_t i = 0; i < job->nrs; i++)
        if (!job->rs[i].final)
            return true;
    return false;
}

/* 8BITMIME and SMTPUTF8 are asked for only when the message needs them. */
static void smtp_deliver_scan(smtp_job *job)
{
    char chunk[65536];
    off_t off = job->m->content_off;
    size_t left = job->m->content_len;
    while (left > 0 && !job->need_8bit) {
        ssize_t n = pread(job->qfd, chunk,
                          left < sizeof(chunk) ? left : sizeof(chunk), off);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)chunk[i] >= 0x80) {
                job->need_8bit = true;
                break;
            }
        off += n;
        left -= (size_t)n;
    }
    const char *addrs[2] = {job->req->sender, NULL};
    for (size_t i = 0; i <= job->nrs; i++) {
        const char *a = i < job->nrs ? job->rs[i].dr->addr : addrs[0];
        for (const char *p = a; *p; p++)
            if ((unsigned char)*p >= 0x80)
                job->need_utf8 = true;
    }
}

/* Open the next address as a session.  0, or -1 with *last set. */
static int smtp_deliver_connect(smtp_job *job, const smtp_dest *d,
                                const dns_addr *a, smtp_sess *s,
                                smtp_last *last)
{
    memset(s, 0, sizeof(*s));
    double t = (double)var_time("smtp_connect_timeout");
    if (d->kind == SMTP_DEST_UNIX) {
        /* Postfix logs an LMTP socket as myhostname[path]. */
        snprintf(s->host, sizeof(s->host), "%s", var_str("myhostname"));
        snprintf(s->addr, sizeof(s->addr), "%s", d->host);
        snprintf(s->namaddr, sizeof(s->namaddr), "%s[%s]", s->host, s->addr);
        snprintf(s->relay, sizeof(s->relay), "%s", s->namaddr);
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        char *path = d->host[0] == '/' ? mem_strdup(d->host)
                                       : fs_join(smtp_queue_dir, d->host);
        int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        mem_free(&path);
        if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
            smtp_last_none(last, "4.3.5", "connect to %s: socket path too long",
                           s->namaddr);
            return -1;
        }
        s->io = conn_connect((struct sockaddr *)&sun, sizeof(sun), t, SMTP_IN_MAX,
                             SMTP_LINE_MAX, SMTP_OUT_MAX);
        if (s->io == NULL) {
            smtp_last_none(last, "4.4.1", "connect to %s: %s", s->namaddr,
                           strerror(errno));
            return -1;
        }
        s->tls_level = SMTP_TLS_NONE; /* a local socket needs no TLS */
        return 0;
    }
    snprintf(s->host, sizeof(s->host), "%s", a->host);
    snprintf(s->addr, sizeof(s->addr), "%s", a->text);
    s->port = d->port;
    snprintf(s->namaddr, sizeof(s->namaddr), "%s[%s]", s->host, s->addr);
    snprintf(s->relay, sizeof(s->relay), "%s:%d", s->namaddr, s->port);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sl;
    if (a->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)d->port);
        memcpy(&sin->sin_addr, a->addr, 4);
        sl = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)d->port);
        memcpy(&sin6->sin6_addr, a->addr, 16);
        sl = sizeof(*sin6);
    }
    s->io = conn_connect((struct sockaddr *)&ss, sl, t, SMTP_IN_MAX, SMTP_LINE_MAX,
                         SMTP_OUT_MAX);
    if (s->io == NULL) {
        smtp_last_none(last, "4.4.1", "connect to %s: %s", s->relay,
                       errno == ETIMEDOUT ? "Connection timed out"
                                          : strerror(errno));
        return -1;
    }
    s->tls_level = job->lmtp ? SMTP_TLS_NONE : smtp_tls_level();
    return 0;
}

/* Remember why the next hop is unreachable, for the "dead=" line. */
static void smtp_deliver_dead(smtp_job *job, const smtp_last *last)
{
    job->dead = true;
    snprintf(job->dead_dsn, sizeof(job->dead_dsn), "%s", last->dsn);
    snprintf(job->dead_text, sizeof(job->dead_text), "%s", last->text);
}

/* Deliver the job's recipients.  *s is a session kept from an earlier
 * request to the same next hop (s->io set) or empty; on return it holds
 * the session that may be kept for the next request, or nothing. */
static void smtp_deliver_hosts(smtp_job *job, smtp_sess *s)
{
    smtp_last last;
    memset(&last, 0, sizeof(last));
    if (s->io != NULL && conn_input_waiting(s->io)) {
        /* The server spoke while we were idle (a 421 before its own
         * time-out, a close): that connection is done. */
        s->broken = true;
        smtp_session_close(s);
        memset(s, 0, sizeof(*s));
    }
    if (s->io != NULL) {
        /* A connection kept from the last request to this next hop
         * (Postfix's connection cache): straight to MAIL FROM.  If the
         * server has gone meanwhile, nothing is decided yet and the usual
         * lookup and connect follow. */
        job->conn_done = deliver_log_now();
        job->final_host = true; /* one host here: no next one to try */
        enum smtp_outcome o = smtp_session_mail(job, s, &last);
        if (o == SMTP_DONE) {
            smtp_fail_open_last(job, &last);
            return;
        }
        smtp_session_close(s);
        memset(&last, 0, sizeof(last));
        job->conn_done = 0;
    }
    smtp_dest d;
    const char *why;
    int defport = job->lmtp ? smtp_port_param("lmtp_tcp_port", 24)
                            : smtp_port_param("smtp_tcp_port", 25);
    if (smtp_dest_parse(job->req->nexthop, job->lmtp, defport, &d, &why) < 0) {
        /* A configuration mistake (relayhost, local_transport): keep the
         * mail until it is fixed. */
        smtp_last_none(&last, "4.3.5", "bad next hop \"%s\": %s",
                       job->req->nexthop, why);
        smtp_fail_open_last(job, &last);
        return;
    }
    dns_addr_list list = {0};
    dns_addr unix_one;
    memset(&unix_one, 0, sizeof(unix_one));
    size_t naddr = 1;
    if (d.kind == SMTP_DEST_INET) {
        dns_error err;
        if (dns_lookup_dest(d.host, d.mx, &list, &err) < 0) {
            smtp_last_none(&last, err.dsn, "%s", err.text);
            /* A temporary DNS failure holds for every recipient of this
             * next hop; a permanent one (no such domain) bounces these
             * and says nothing of the next message's fate. */
            if (last.dsn[0] == '4')
                smtp_deliver_dead(job, &last);
            smtp_fail_open_last(job, &last);
            return;
        }
        naddr = list.n;
        /* Postfix's bounds on one delivery: so many addresses, so many
         * sessions, so that a destination with many dead MX hosts costs
         * minutes, not hours (RFC 5321 section 5.1 leaves the number to
         * the client). */
        long long alimit = var_int("smtp_mx_address_limit");
        if (alimit > 0 && naddr > (size_t)alimit)
            naddr = (size_t)alimit;
    }
    long long slimit = var_int("smtp_mx_session_limit");
    long long sessions = 0;
    bool plain_retry = false;
    size_t tried = 0, connected = 0;
    for (size_t i = 0; i < naddr; i++) {
        const dns_addr *a = d.kind == SMTP_DEST_INET ? &list.v[i] : &unix_one;
        bool more = i + 1 < naddr;
        job->final_host = !more;
        tried++;
        if (smtp_deliver_connect(job, &d, a, s, &last) < 0) {
            if (more) /* Postfix's line for a host left behind */
                msg_info("%s", last.text);
            continue;
        }
        connected++;
        if (!plain_retry && slimit > 0 && ++sessions >= slimit) {
            more = false; /* the last session this delivery may have */
            job->final_host = true;
        }
        if (plain_retry) {
            s->tls_level = SMTP_TLS_NONE;
            plain_retry = false;
        }
        enum smtp_outcome o = smtp_session_open(job, s, &last);
        if (o == SMTP_DONE) {
            job->conn_done = deliver_log_now();
            o = smtp_session_mail(job, s, &last);
        }
        if (o == SMTP_RETRY_PLAIN) {
            msg_info("%s: %s; trying again without TLS", job->req->id,
                     last.text);
            conn_free(&s->io);
            plain_retry = true;
            i--; /* the same address once more */
            continue;
        }
        if (o == SMTP_DONE && !(more && smtp_deliver_open(job)))
            break; /* the session stays for the caller */
        if (o == SMTP_DONE) {
            /* Recipients a 4xx kept open: on to the next host for them. */
            smtp_session_close(s);
            continue;
        }
        if (more)
            msg_info("%s: %s", job->req->id, last.text);
        smtp_session_close(s);
        if (!more)
            break;
    }
    dns_addr_list_free(&list);
    /* No host even took a connection: the destination is down, not
     * these recipients' problem.  A host that answered and refused (a
     * 4xx greeting, a broken session) does not count: that may differ
     * from message to message. */
    if (tried > 0 && connected == 0 && last.dsn[0] == '4')
        smtp_deliver_dead(job, &last);
    smtp_fail_open_last(job, &last);
}

/* The recipients of the request, checked against the queue file. */
static int smtp_deliver_setup(smtp_job *job)
{
    char *path = mem_alloc(strlen(smtp_queue_dir) + 64);
    sprintf(path, "%s/%s/%s", smtp_queue_dir, QUEUE_ACTIVE, job->req->id);
    char *err = NULL;
    job->rs = mem_zalloc((job->req->nrcpt ? job->req->nrcpt : 1) *
                         sizeof(*job->rs));
    job->nrs = job->req->nrcpt;
    for (size_t i = 0; i < job->nrs; i++)
        job->rs[i].dr = &job->req->rcpts[i];
    /* One descriptor, checked (queue_file_open), for envelope and content. */
    job->qfd = queue_file_open(path, O_RDONLY, queue_file_owner(), NULL, &err);
    if (job->qfd < 0 || queue_file_read(job->qfd, path, &job->m, &err) < 0) {
        for (size_t i = 0; i < job->nrs; i++)
            smtp_rcpt_set(&job->rs[i], "4.3.0", "none",
                          "cannot read queue file: %s", err);
        mem_free(&err);
        mem_free(&path);
        if (job->qfd >= 0)
            close(job->qfd);
        job->qfd = -1;
        return -1;
    }
    mem_free(&path);
    /* The request may name only this file's recipients (a request can
     * name no other file, docs/architecture.md). */
    for (size_t i = 0; i < job->nrs; i++) {
        const deliver_rcpt *dr = job->rs[i].dr;
        bool found = false;
        for (size_t j = 0; j < job->m->nrcpt; j++)
            if (job->m->rcpts[j].index == dr->index &&
                strcmp(job->m->rcpts[j].addr, dr->addr) == 0)
                found = true;
        if (!found)
            smtp_rcpt_set(&job->rs[i], "4.3.0", "none",
                          "recipient not in queue file");
    }
    if (strcmp(job->m->sender, job->req->sender) != 0) {
        /* The file is the truth; qmgr read it too. */
        mem_free(&job->req->sender);
        job->req->sender = mem_strdup(job->m->sender);
    }
    return 0;
}

static void smtp_deliver_log(const smtp_job *job)
{
    long long now = deliver_log_now();
    for (size_t i = 0; i < job->nrs; i++) {
        const smtp_rcpt *r = &job->rs[i];
        deliver_stats st = {
            .arrival = job->req->arrival,
            .active = job->req->active,
            .handoff = job->req->handoff,
            /* No session: all the time went into trying to connect
             * (Postfix's delays=a/b/c/0 for a failed connect). */
            .conn_done = job->conn_done > 0 ? job->conn_done : now,
            .done = now,
        };
        const char *orig = NULL;
        if (r->dr->orcpt && strncasecmp(r->dr->orcpt, "rfc822;", 7) == 0)
            orig = r->dr->orcpt + 7;
        deliver_log(job->req->id, r->dr->addr, orig,
                    r->relay[0] ? r->relay : "none", &st, r->dsn,
                    deliver_dsn_status(r->dsn), r->text);
    }
}

/* One request on the qmgr connection fd (its text already read). */
static void smtp_deliver_request(int fd, const char *text, size_t len,
                                 bool lmtp, smtp_sess *s)
{
    alarm((unsigned)var_time("daemon_timeout"));
    smtp_job job;
    memset(&job, 0, sizeof(job));
    job.qfd = -1;
    job.lmtp = lmtp;
    const char *why;
    if (deliver_request_parse(text, len, &job.req, &why) < 0) {
        msg_warn("bad request from qmgr: %s", why);
        close(fd);
        return;
    }
    if (smtp_deliver_setup(&job) == 0) {
        smtp_deliver_scan(&job);
        smtp_deliver_hosts(&job, s);
    }
    smtp_deliver_log(&job);
    buf *out = buf_new(DELIVER_REPLY_MAX * (job.nrs + 2));
    /* Before the results: qmgr suspends the destination as it reads
     * them (deliver_request.h). */
    if (job.dead)
        deliver_dead_format(out, job.dead_dsn, job.dead_text);
    for (size_t i = 0; i < job.nrs; i++) {
        /* A success at a host that took NOTIFY: the success notice is
         * that host's (RFC 3461 section 5.2), not our "relayed". */
        if (job.rs[i].dsn[0] == '2' && job.rs[i].dsn_passed)
            deliver_dsn_passed_format(out, job.rs[i].dr->index);
        deliver_reply_format(out, job.rs[i].dr->index, job.rs[i].dsn,
                             job.rs[i].text);
    }
    fs_write_all(fd, out->data, out->len);
    close(fd);
    buf_free(&out);
    if (job.qfd >= 0)
        close(job.qfd);
    queue_msg_free(&job.m);
    mem_free(&job.rs);
    deliver_request_free(&job.req);
    alarm(0);
}

int smtp_child(int fd, const char *text, size_t len, int ctl, bool lmtp)
{
    smtp_sess s;
    memset(&s, 0, sizeof(s));
    smtp_deliver_request(fd, text, len, lmtp, &s);
    /* Connection reuse (see smtp.c): while the session is good, tell the
     * parent we are idle and wait for another request to the same next
     * hop, or for the parent's word to quit. */
    char *msg = mem_alloc(SMTP_CTL_MAX);
    while (s.io != NULL && !s.broken && ctl >= 0) {
        if (smtp_ctl_send(ctl, "I", 1, -1) < 0)
            break;
        int qfd = -1;
        ssize_t n = smtp_ctl_recv(ctl, msg, SMTP_CTL_MAX, &qfd);
        if (n <= 0 || msg[0] != 'J' || qfd < 0) {
            if (qfd >= 0)
                close(qfd);
            break; /* "Q", or the parent is gone */
        }
        smtp_deliver_request(qfd, msg + 1, (size_t)n - 1, lmtp, &s);
    }
    mem_free(&msg);
    smtp_session_close(&s);
    return 0;
}
