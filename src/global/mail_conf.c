/*
 * mail_conf - the parameter table and its access functions; see mail_conf.h.
 *
 * The embedded defaults are those of "postie serve": loopback, unprivileged
 * ports, every path inside the instance directory.  A system installation
 * overrides the listening addresses, paths and mail_owner in its file.
 */
#include "global/mail_conf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/dns_lookup.h"
#include "global/mail_forbid.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

/* clang-format off */
const mail_conf_param mail_conf_params[] = {
    /* Identity (postconf(5)). */
    {"myhostname", "", MCT_STR, "this host's fully-qualified name (default: from the system)"},
    {"mydomain", "", MCT_STR, "this host's domain (default: $myhostname less its first label)"},
    {"myorigin", "$myhostname", MCT_STR, "domain of locally submitted mail"},
    {"mydestination", "$myhostname, localhost.$mydomain, localhost", MCT_LIST, "domains delivered locally"},
    {"mynetworks", "127.0.0.0/8 [::1]/128", MCT_LIST, "trusted clients, allowed to relay"},
    {"relay_domains", "", MCT_LIST, "domains this host relays to from anywhere"},
    {"relayhost", "", MCT_STR, "send all non-local mail through this host: [host]:port skips MX"},
    {"mail_name", "postie", MCT_STR, "name in the SMTP greeting and Received headers"},
    {"syslog_name", "postie", MCT_STR, "program name prefix in log lines"},
    /* Listening (postie's own: Postfix keeps these in master.cf). */
    {"inet_interfaces", "loopback-only", MCT_LIST, "addresses to listen on: all, loopback-only, or a list"},
    {"inet_protocols", "all", MCT_LIST, "ipv4, ipv6 or all"},
    {"smtpd_listen", "2525", MCT_LIST, "SMTP service: port, or addr:port list (25 on a system install)"},
    {"submission_listen", "", MCT_LIST, "submission service (587 on a system install); empty: off (not in this version: needs AUTH)"},
    {"pop3d_listen", "2110", MCT_LIST, "POP3 service; empty: off"},
    {"pop3s_listen", "", MCT_LIST, "POP3 over implicit TLS (995 on a system install; needs pop3d_tls_cert_file); empty: off"},
    {"imapd_listen", "", MCT_LIST, "IMAP service; empty: off (not in this version)"},
    /* POP3 server (src/pop3d, docs/pop3d.md; postie's own names). */
    {"pop3d_timeout", "600s", MCT_TIME, "idle time before a POP3 session ends (RFC 1939 section 3: at least 10 minutes)"},
    {"pop3d_connection_limit", "100", MCT_INT, "simultaneous POP3 connections"},
    {"pop3d_client_connection_limit", "10", MCT_INT, "simultaneous POP3 connections from one client address (Dovecot's mail_max_userip_connections, per address)"},
    {"pop3d_auth_attempt_limit", "3", MCT_INT, "failed logins on one POP3 connection before it is closed"},
    {"pop3d_login_user", "nobody", MCT_STR, "unprivileged user of the POP3 login process when started by root (Dovecot's default_login_user)"},
    {"pop3d_tls_cert_file", "$smtpd_tls_cert_file", MCT_PATH, "POP3 server certificate (PEM); STLS is offered when set"},
    {"pop3d_tls_key_file", "$smtpd_tls_key_file", MCT_PATH, "POP3 server key (PEM); empty: in pop3d_tls_cert_file"},
    {"pop3d_tls_auth_only", "no", MCT_BOOL, "refuse USER/PASS and AUTH before STLS (as Postfix's smtpd_tls_auth_only)"},
    /* Files and users. */
    {"queue_directory", "queue", MCT_PATH, "the queue"},
    {"data_directory", "data", MCT_PATH, "postie's own state (pid file, caches)"},
    {"maillog_file", "maillog", MCT_PATH, "log file; empty: syslog"},
    {"maillog_file_rfc3339", "no", MCT_BOOL, "RFC 3339 time stamps with microseconds in the log"},
    {"mail_owner", "postie", MCT_STR, "unprivileged user the services run as when started by root"},
    {"mail_users_file", "users", MCT_PATH, "virtual users, Dovecot passwd-file syntax (user:{SCHEME}hash:uid:gid::home)"},
    {"mail_user_source", "file", MCT_LIST, "where users come from: file, system, or both"},
    {"virtual_mailbox_base", "mail", MCT_PATH, "homes of virtual users without one in the users file"},
    {"home_mailbox", "Maildir/", MCT_STR, "mailbox relative to home: ends in / for Maildir; empty: mbox in mail_spool_directory"},
    {"mail_spool_directory", "spool", MCT_PATH, "directory of mbox files, one per user"},
    {"alias_maps", "aliases", MCT_LIST, "alias files in aliases(5) syntax (hash: prefix accepted)"},
    {"alias_database", "$alias_maps", MCT_LIST, "alias files that newaliases rebuilds"},
    {"recipient_delimiter", "+", MCT_STR, "user+extension separator"},
    {"dns_servers", "", MCT_LIST, "resolver addresses (host:port); empty: /etc/resolv.conf"},
    /* SMTP server limits (RFC 5321 section 4.5.3). */
    {"smtpd_banner", "$myhostname ESMTP $mail_name", MCT_STR, "text after 220 in the greeting"},
    {"message_size_limit", "10240000", MCT_SIZE, "largest message accepted, bytes"},
    {"header_size_limit", "102400", MCT_SIZE, "largest message header (with its continuation lines) kept, bytes; the excess is discarded"},
    {"smtpd_recipient_limit", "1000", MCT_INT, "recipients per message"},
    {"smtpd_timeout", "300s", MCT_TIME, "idle time before 421 4.4.2"},
    {"smtpd_total_timeout", "3600s", MCT_TIME, "longest SMTP session before 421 4.4.2"},
    {"smtpd_per_request_deadline", "yes", MCT_BOOL, "smtpd_timeout limits a whole command line (and DATA/BDAT by smtpd_min_data_rate), not each read (Postfix 3.7; its default is no unless overloaded)"},
    {"smtpd_min_data_rate", "500", MCT_INT, "with smtpd_per_request_deadline: bytes/s of DATA/BDAT content that each move the deadline on by 1 s, up to smtpd_timeout"},
    {"smtpd_client_connection_count_limit", "50", MCT_INT, "simultaneous connections from one client (mynetworks exempt)"},
    {"smtpd_connection_limit", "500", MCT_INT, "simultaneous SMTP connections in all"},
    {"smtpd_processes", "2", MCT_INT, "smtpd processes sharing the listening sockets"},
    {"smtpd_soft_error_limit", "10", MCT_INT, "errors before each reply is delayed"},
    {"smtpd_hard_error_limit", "20", MCT_INT, "errors before 421 4.7.0 and disconnect"},
    {"smtpd_error_sleep_time", "1s", MCT_TIME, "delay per reply past the soft error limit"},
    {"smtpd_junk_command_limit", "100", MCT_INT, "NOOP/RSET/VRFY... without a transaction before disconnect"},
    {"smtpd_forbid_bare_newline", "normalize", MCT_STR, "bare LF in SMTP: normalize (accept as line end, logged) or reject"},
    {"smtpd_forbidden_commands", "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}", MCT_STR, "commands that end the session with 221 2.7.0 (so do header-like 'Label:' lines); of regexp: tables only {{/^[^A-Z]/ ...}}: a first word that starts with a non-letter"},
    {"smtpd_forbid_unauth_pipelining", "yes", MCT_BOOL, "disconnect (554 5.5.0) a client that talks before the greeting or sends ahead where RFC 2920 does not allow it"},
    {"smtpd_greet_pause", "0s", MCT_TIME, "wait this long before the greeting (clients outside mynetworks); who talks meanwhile is an improper pipeliner"},
    {"disable_vrfy_command", "yes", MCT_BOOL, "answer VRFY with 502"},
    {"smtpd_peername_lookup", "yes", MCT_BOOL, "name clients by PTR + forward lookup (hosts file first); no: hosts file only"},
    /* SMTP server TLS (RFC 3207; src/smtpd/smtpd_tls.c; postconf(5) names). */
    {"smtpd_tls_security_level", "", MCT_STR, "none, may (offer STARTTLS) or encrypt (MAIL needs STARTTLS first: 530 5.7.0); empty: may when a certificate is configured (or made by postie serve), else none"},
    {"smtpd_tls_cert_file", "", MCT_PATH, "server certificate (PEM), followed by its chain; STARTTLS is offered when it loads"},
    {"smtpd_tls_key_file", "$smtpd_tls_cert_file", MCT_PATH, "server key (PEM); must be readable by mail_owner"},
    {"smtpd_tls_protocols", ">=TLSv1.2", MCT_LIST, "TLS versions offered (Postfix syntax: >=TLSv1.2, <=TLSv1.3, !TLSv1.1)"},
    {"smtpd_tls_mandatory_protocols", ">=TLSv1.2", MCT_LIST, "TLS versions at smtpd_tls_security_level = encrypt"},
    {"smtpd_tls_ciphers", "high", MCT_STR, "TLS 1.2 cipher grade: high or medium (TLS 1.3 suites are all strong)"},
    {"smtpd_tls_loglevel", "0", MCT_INT, "1: log each TLS connection (Anonymous TLS connection established from ...)"},
    {"smtpd_tls_received_header", "no", MCT_BOOL, "put the TLS protocol and cipher in the Received header: (using TLSv1.3 with cipher ...)"},
    {"smtpd_starttls_timeout", "300s", MCT_TIME, "longest STARTTLS handshake"},
    {"smtpd_client_restrictions", "", MCT_LIST, "restrictions on the client, applied at RCPT time (docs/smtpd.md)"},
    {"smtpd_helo_restrictions", "", MCT_LIST, "restrictions on the HELO/EHLO name, applied at RCPT time"},
    {"smtpd_sender_restrictions", "", MCT_LIST, "restrictions on the MAIL FROM address, applied at RCPT time"},
    {"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", MCT_LIST, "relay control at RCPT time (Postfix defers with defer_unauth_destination; postie refuses: 554 5.7.1)"},
    {"smtpd_recipient_restrictions", "", MCT_LIST, "restrictions on the RCPT TO address, after smtpd_relay_restrictions"},
    {"smtpd_reject_unlisted_recipient", "yes", MCT_BOOL, "refuse unknown users of local domains (550 5.1.1) even when no list says reject_unlisted_recipient"},
    {"unknown_address_reject_code", "450", MCT_INT, "reply code of reject_unknown_sender_domain and reject_unknown_recipient_domain"},
    {"maps_rbl_reject_code", "554", MCT_INT, "reply code of reject_rbl_client and reject_rhsbl_*"},
    /* Queue (qmgr(8)). */
    {"queue_run_delay", "300s", MCT_TIME, "how often the deferred queue is scanned"},
    {"minimal_backoff_time", "300s", MCT_TIME, "least time before a deferred message is retried"},
    {"maximal_backoff_time", "4000s", MCT_TIME, "most time between retries"},
    {"maximal_queue_lifetime", "5d", MCT_TIME, "age at which undeliverable mail is returned"},
    {"bounce_queue_lifetime", "5d", MCT_TIME, "the same for bounces"},
    {"bounce_size_limit", "50000", MCT_SIZE, "a returned message larger than this comes back as headers only"},  /* bounce (issue 4) */
    {"delay_warning_time", "0h", MCT_TIME, "send a delay notice after this; 0: never"},
    {"qmgr_message_active_limit", "20000", MCT_INT, "messages in the active queue at once"},
    {"default_process_limit", "100", MCT_INT, "deliveries running at once"},
    {"local_destination_concurrency_limit", "2", MCT_INT, "parallel deliveries to one local user"},
    {"default_destination_concurrency_limit", "20", MCT_INT, "parallel deliveries to one destination"},
    {"service_throttle_time", "60s", MCT_TIME, "longest wait before master restarts a service that keeps dying at start"},
    {"local_delivery_timeout", "600s", MCT_TIME, "longest local delivery (postie's own)"},
    {"queue_admin_group", "", MCT_STR, "group whose members may change the queue (postie queue delete/hold/release/requeue); root and the queue owner always may"},
    {"setgid_group", "postdrop", MCT_STR, "group of the setgid postdrop helper and of maildrop/ (local submission without setuid root)"},
    /* smtp and lmtp delivery agents (src/smtp; postconf(5) names).  lmtp
     * shares the smtp_* timeouts and TLS settings (postie's own rule: one
     * agent, one set of knobs). */
    {"local_transport", "local", MCT_STR, "transport for mydestination recipients: local, or lmtp:unix:/path, lmtp:inet:host:port"},
    {"default_destination_recipient_limit", "50", MCT_INT, "recipients per smtp/lmtp delivery request"},
    {"daemon_timeout", "18000s", MCT_TIME, "longest time an smtp/lmtp agent may spend on one request"},
    {"smtp_tcp_port", "25", MCT_STR, "port the smtp client connects to when the next hop names none"},
    {"lmtp_tcp_port", "24", MCT_STR, "port the lmtp client connects to when the next hop names none"},
    {"smtp_helo_name", "$myhostname", MCT_STR, "name sent with EHLO/HELO/LHLO"},
    {"smtp_connect_timeout", "30s", MCT_TIME, "TCP connection set-up, per address"},
    {"smtp_helo_timeout", "300s", MCT_TIME, "greeting and EHLO/HELO reply"},
    {"smtp_starttls_timeout", "300s", MCT_TIME, "STARTTLS reply and the TLS handshake"},
    {"smtp_mail_timeout", "300s", MCT_TIME, "MAIL FROM reply"},
    {"smtp_rcpt_timeout", "300s", MCT_TIME, "RCPT TO reply"},
    {"smtp_data_init_timeout", "120s", MCT_TIME, "DATA reply"},
    {"smtp_data_xfer_timeout", "180s", MCT_TIME, "each write of the message content"},
    {"smtp_data_done_timeout", "600s", MCT_TIME, "reply to the end of data"},
    {"smtp_quit_timeout", "300s", MCT_TIME, "QUIT reply"},
    {"smtp_tls_security_level", "may", MCT_STR, "none, may (opportunistic STARTTLS), encrypt (TLS required), verify (TLS with a verified certificate matching the host name)"},
    {"smtp_tls_CAfile", "", MCT_PATH, "trust anchors (PEM) for verify; empty: the system's"},
    {"smtp_tls_loglevel", "0", MCT_INT, "1: log each TLS connection the client makes"},
    {"smtp_connection_cache_time_limit", "2s", MCT_TIME, "how long an idle smtp connection waits for more mail to its destination"},
    {"smtp_mx_address_limit", "5", MCT_INT, "addresses (of all MX hosts) tried per delivery; 0: all"},
    {"smtp_mx_session_limit", "2", MCT_INT, "SMTP sessions (connections that got a greeting) per delivery; 0: no limit"},
    {NULL, NULL, 0, NULL},
};
/* clang-format on */

static char *mc_dir;
static conf *mc_file;     /* as read from the file */
static conf *mc_mem;      /* var_set overrides */
static char mc_host[256];
static char mc_domain[256];

static const mail_conf_param *mail_conf_lookup(const char *name)
{
    for (const mail_conf_param *p = mail_conf_params; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

void mail_conf_set_dir(const char *dir)
{
    const char *d = dir;
    if (d == NULL || *d == '\0')
        d = getenv("MAIL_CONFIG");
    if (d == NULL || *d == '\0')
        d = MAIL_CONF_DEFAULT_DIR;
    char real[PATH_MAX];
    /* d may be mail_conf_dir() itself: resolve before freeing it. */
    char *next = mem_strdup(realpath(d, real) != NULL ? real : d);
    mem_free(&mc_dir);
    mc_dir = next;
}

const char *mail_conf_dir(void)
{
    if (mc_dir == NULL)
        mail_conf_set_dir(NULL);
    return mc_dir;
}

static void mail_conf_warn(const char *path, int line, const char *text,
                           void *ctx)
{
    msg_warn("%s, line %d: %s", path, line, text);
}

static void mail_conf_identity(void)
{
    /* myhostname: from the system when unset (postconf(5)). */
    if (gethostname(mc_host, sizeof(mc_host)) != 0)
        snprintf(mc_host, sizeof(mc_host), "localhost");
    mc_host[sizeof(mc_host) - 1] = '\0';
    const char *dot = strchr(mc_host, '.');
    snprintf(mc_domain, sizeof(mc_domain), "%s", dot ? dot + 1 : "localdomain");
}

static bool mc_quiet;

void mail_conf_read_quietly(void)
{
    mc_quiet = true;
    mail_conf_read();
    mc_quiet = false;
}

static char *mail_conf_path(void)
{
    return fs_join(mail_conf_dir(), MAIL_CONF_FILE);
}

/* A service that master started reads the text master checked, from the
 * sealed memory file it inherited (MAIL_CONF_FD_ENV), not the file as it is
 * now: after a refused reload the file holds values master rejected, and a
 * service restarted then (a crash, a recycled process) would die on them
 * and be restarted in a loop.  Once only: a SIGHUP comes after master
 * accepted the file, and the service reads the file then.  NULL when there
 * is nothing inherited. */
static char *mail_conf_inherited(void)
{
    static bool taken;
    const char *s = getenv(MAIL_CONF_FD_ENV);
    if (taken || s == NULL)
        return NULL;
    taken = true;
    char *end;
    long fd = strtol(s, &end, 10);
    unsetenv(MAIL_CONF_FD_ENV);
    if (*s == '\0' || *end != '\0' || fd < 3 || fd > 65535)
        msg_fatal("%s=%s: not a descriptor", MAIL_CONF_FD_ENV, s);
    buf *b = buf_new(CONF_FILE_MAX);
    char chunk[8192];
    off_t off = 0;
    for (;;) {
        /* pread: the offset is shared with master and every sibling. */
        ssize_t n = pread((int)fd, chunk, sizeof(chunk), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            msg_fatal("read the configuration master passed (descriptor %ld): %m", fd);
        if (n == 0)
            break;
        if (buf_append(b, chunk, (size_t)n) < 0)
            msg_fatal("the configuration master passed is over %d bytes", CONF_FILE_MAX);
        off += n;
    }
    close((int)fd); /* no program this service runs gets it */
    char *text = mem_strdup(b->data);
    buf_free(&b);
    return text;
}

void mail_conf_read(void)
{
    char *text = mail_conf_inherited();
    char *path = mail_conf_path();
    if (text == NULL && (text = conf_read_file(path)) == NULL) {
        if (errno != ENOENT)
            msg_fatal("open %s: %m", path);
        text = mem_strdup("");
    }
    mail_conf_read_text(text);
    mem_free(&text);
    mem_free(&path);
}

void mail_conf_read_text(const char *text)
{
    char *path = mail_conf_path();
    conf_free(&mc_file);
    mc_file = conf_parse(text, path, mc_quiet ? NULL : mail_conf_warn, NULL);
    mem_free(&path);
    mail_conf_identity();
    for (size_t i = 0; i < mc_file->n && !mc_quiet; i++)
        if (mail_conf_lookup(mc_file->v[i].name) == NULL)
            msg_warn("%s, line %d: unknown parameter: %s", mc_file->path,
                     mc_file->v[i].line, mc_file->v[i].name);
}

void mail_conf_reload(void)
{
    mail_conf_read();
}

/* The unexpanded value: memory override, file, then embedded default. */
static const char *mail_conf_rawval(const char *name, bool *known)
{
    const char *v;
    *known = true;
    if (mc_mem && (v = conf_raw(mc_mem, name)) != NULL)
        return v;
    if (mc_file && (v = conf_raw(mc_file, name)) != NULL)
        return v;
    const mail_conf_param *p = mail_conf_lookup(name);
    if (p == NULL) {
        *known = false;
        return NULL;
    }
    if (strcmp(name, "smtpd_tls_cert_file") == 0 && p->def[0] == '\0') {
        /* The certificate "postie serve" made, if it did (master_instance.c):
         * TLS is on out of the box, and never silently on a system whose
         * administrator chose none. */
        static char made[4096];
        char *data = var_path("data_directory");
        snprintf(made, sizeof(made), "%s/%s", data, MAIL_CONF_SERVE_CERT);
        mem_free(&data);
        return access(made, F_OK) == 0 ? made : p->def;
    }
    if (strcmp(name, "myhostname") == 0 && p->def[0] == '\0')
        return mc_host[0] ? mc_host : (mail_conf_identity(), mc_host);
    if (strcmp(name, "mydomain") == 0 && p->def[0] == '\0') {
        /* Postfix: $myhostname less its first component. */
        bool k;
        const char *h = mail_conf_rawval("myhostname", &k);
        const char *dot = strchr(h, '.');
        if (dot != NULL && strchr(dot + 1, '.') != NULL)
            return dot + 1;
        return dot ? dot + 1 : (mc_domain[0] ? mc_domain : "localdomain");
    }
    return p->def;
}

static void mail_conf_expand(buf *out, const char *raw, int depth)
{
    for (const char *p = raw; *p;) {
        if (*p != '$') {
            buf_putc(out, *p++);
            continue;
        }
        p++;
        char name[128];
        size_t n = 0;
        bool brace = *p == '{';
        if (brace)
            p++;
        while ((isalnum((unsigned char)*p) || *p == '_') && n < sizeof(name) - 1)
            name[n++] = *p++;
        name[n] = '\0';
        if (brace && *p == '}')
            p++;
        if (n == 0) {
            buf_putc(out, '$');
            continue;
        }
        bool known;
        const char *v = mail_conf_rawval(name, &known);
        if (v == NULL || depth > 10)
            continue; /* undefined: empty, as postconf does */
        mail_conf_expand(out, v, depth + 1);
    }
}

/* Expanded values are kept for the process's life: callers hold pointers. */
typedef struct mc_cache {
    char *name;
    char *value;
    struct mc_cache *next;
} mc_cache;
static mc_cache *mc_values;

const char *var_str(const char *name)
{
    bool known;
    const char *raw = mail_conf_rawval(name, &known);
    if (!known)
        msg_panic("var_str: unknown parameter \"%s\"", name);
    buf *b = buf_new(1 << 20);
    mail_conf_expand(b, raw, 0);
    for (mc_cache *c = mc_values; c; c = c->next) {
        if (strcmp(c->name, name) == 0 && strcmp(c->value, b->data) == 0) {
            buf_free(&b);
            return c->value;
        }
    }
    mc_cache *c = mem_zalloc(sizeof(*c));
    c->name = mem_strdup(name);
    c->value = mem_strdup(b->data);
    c->next = mc_values;
    mc_values = c;
    buf_free(&b);
    return c->value;
}

long long var_int(const char *name)
{
    long long v = conf_parse_int(var_str(name));
    if (v < 0)
        msg_fatal("%s: bad number: \"%s\"", name, var_str(name));
    return v;
}

long long var_time(const char *name)
{
    long long v = conf_parse_time(var_str(name), 's');
    if (v < 0)
        msg_fatal("%s: bad time value: \"%s\"", name, var_str(name));
    return v;
}

bool var_bool(const char *name)
{
    int v = conf_parse_bool(var_str(name));
    if (v < 0)
        msg_fatal("%s: bad boolean (yes or no): \"%s\"", name, var_str(name));
    return v == 1;
}

char **var_list(const char *name)
{
    return conf_split_list(var_str(name));
}

char *var_path(const char *name)
{
    const char *v = var_str(name);
    if (*v == '\0' || *v == '/')
        return mem_strdup(v);
    const char *d = mail_conf_dir();
    char *p = mem_alloc(strlen(d) + strlen(v) + 2);
    sprintf(p, "%s/%s", d, v);
    return p;
}

const char *mail_conf_raw(const char *name)
{
    bool known;
    const char *v = mail_conf_rawval(name, &known);
    if (!known)
        msg_panic("mail_conf_raw: unknown parameter \"%s\"", name);
    return v;
}

bool var_is_set(const char *name)
{
    return (mc_mem && conf_raw(mc_mem, name)) ||
           (mc_file && conf_raw(mc_file, name));
}

void var_set(const char *name, const char *value)
{
    if (mc_mem == NULL)
        mc_mem = conf_new();
    conf_set(mc_mem, name, value, 0);
}

/* Validate one value against its type; NULL when good. */
static const char *mail_conf_bad_value(const mail_conf_param *p,
                                       const char *value)
{
    switch (p->type) {
    case MCT_INT:
    case MCT_SIZE:
        return conf_parse_int(value) < 0 ? "not a number" : NULL;
    case MCT_TIME:
        return conf_parse_time(value, 's') < 0
                   ? "not a time value (e.g. 300s, 5m, 1h, 5d)" : NULL;
    case MCT_BOOL:
        return conf_parse_bool(value) < 0 ? "not yes or no" : NULL;
    default:
        return NULL;
    }
}

int mail_conf_listen_entry(const char *entry, char *host_r, size_t hostlen,
                           int *port_r, const char **why_r)
{
    const char *port = entry;
    size_t hl = 0;
    const char *host = "";
    if (entry[0] == '[') {
        /* "[v6]:port": brackets keep the address's colons apart. */
        const char *close = strchr(entry, ']');
        if (close == NULL || close[1] != ':') {
            *why_r = "expected [address]:port";
            return -1;
        }
        host = entry + 1;
        hl = (size_t)(close - host);
        port = close + 2;
    } else {
        const char *colon = strrchr(entry, ':');
        if (colon != NULL) {
            if (strchr(entry, ':') != colon) {
                *why_r = "an IPv6 address needs brackets: [address]:port";
                return -1;
            }
            host = entry;
            hl = (size_t)(colon - entry);
            port = colon + 1;
        }
    }
    if (hl + 1 > hostlen) {
        *why_r = "address too long";
        return -1;
    }
    memcpy(host_r, host, hl);
    host_r[hl] = '\0';
    long long n = conf_parse_int(port);
    if (n < 1 || n > 65535) {
        *why_r = "port must be a number from 1 to 65535";
        return -1;
    }
    if (entry[0] == '[' && hl == 0) {
        *why_r = "empty address in brackets";
        return -1;
    }
    *port_r = (int)n;
    return 0;
}

/* Checks beyond the type, for values with a small language of their own.
 * Returns NULL when good, else a text in why (static or in tmp). */
static const char *mail_conf_bad_special(const mail_conf_param *p,
                                         const char *value, char *tmp,
                                         size_t tmplen)
{
    size_t nl = strlen(p->name);
    if (nl > 7 && strcmp(p->name + nl - 7, "_listen") == 0) {
        char **v = conf_split_list(value);
        const char *why = NULL;
        for (char **e = v; *e && why == NULL; e++) {
            char host[256];
            int port;
            const char *w;
            if (mail_conf_listen_entry(*e, host, sizeof(host), &port, &w) < 0) {
                snprintf(tmp, tmplen, "\"%s\": %s", *e, w);
                why = tmp;
            }
        }
        conf_free_list(&v);
        return why;
    }
    /* The smtp/lmtp agents' enumerations and lists (src/smtp). */
    if (strcmp(p->name, "smtp_tls_security_level") == 0) {
        static const char *const levels[] = {"none", "may", "encrypt",
                                             "verify", "secure", "dane", NULL};
        for (const char *const *l = levels; *l; l++)
            if (strcmp(value, *l) == 0)
                return NULL;
        return "expected none, may, encrypt, verify, secure or dane";
    }
    if (strcmp(p->name, "dns_servers") == 0) {
        char **v = conf_split_list(value);
        char csv[1024];
        int r = dns_servers_csv(v, csv, sizeof(csv));
        conf_free_list(&v);
        return r < 0 ? "expected address[:port] entries ([v6]:port for IPv6)"
                     : NULL;
    }
    if (strcmp(p->name, "local_transport") == 0 && strcmp(value, "local") != 0 &&
        strncmp(value, "local:", 6) != 0 && strncmp(value, "lmtp:", 5) != 0)
        return "expected local, or lmtp:unix:PATH, lmtp:inet:HOST:PORT";
    if (strcmp(p->name, "inet_protocols") == 0) {
        char **v = conf_split_list(value);
        const char *why = NULL;
        for (char **e = v; *e && why == NULL; e++)
            if (strcmp(*e, "all") != 0 && strcmp(*e, "ipv4") != 0 &&
                strcmp(*e, "ipv6") != 0)
                why = "expected all, ipv4 or ipv6";
        conf_free_list(&v);
        return why;
    }
    if (strcmp(p->name, "inet_interfaces") == 0) {
        char **v = conf_split_list(value);
        const char *why = NULL;
        for (char **e = v; *e && why == NULL; e++) {
            if (strcmp(*e, "all") == 0 || strcmp(*e, "loopback-only") == 0) {
                if (v[1] != NULL)
                    why = "all and loopback-only stand alone";
                continue;
            }
            if (strchr(*e, ':') != NULL && (*e)[0] != '[' &&
                strchr(*e, '.') != NULL) {
                snprintf(tmp, tmplen, "\"%s\": an address, without a port "
                         "(ports go in the *_listen parameters)", *e);
                why = tmp;
            }
        }
        conf_free_list(&v);
        return why;
    }
    if (strcmp(p->name, "smtpd_forbid_bare_newline") == 0) {
        if (strcmp(value, "normalize") != 0 && strcmp(value, "reject") != 0 &&
            conf_parse_bool(value) < 0)
            return "expected normalize, reject, yes or no";
        return NULL;
    }
    if (strcmp(p->name, "smtpd_forbidden_commands") == 0) {
        mail_forbid f = {0};
        int r = mail_forbid_parse(value, &f, tmp, tmplen);
        mail_forbid_free(&f);
        return r < 0 ? tmp : NULL;
    }
    if (strcmp(p->name, "smtpd_processes") == 0 && conf_parse_int(value) == 0)
        return "at least one process is needed";
    return NULL;
}

typedef struct mc_check {
    mail_conf_report_fn report;
    void *ctx;
    int problems;
} mc_check;

static void mail_conf_check_syntax(const char *path, int line,
                                   const char *text, void *ctx)
{
    mc_check *ck = ctx;
    ck->problems++;
    ck->report(path, line, text, ck->ctx);
}

int mail_conf_check(mail_conf_report_fn report, void *ctx)
{
    char *path = mail_conf_path();
    char *text = conf_read_file(path);
    if (text == NULL) {
        char msg[512];
        snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
        report(path, 0, msg, ctx);
        mem_free(&path);
        return 1;
    }
    mem_free(&path);
    int bad = mail_conf_check_text(text, report, ctx);
    mem_free(&text);
    return bad;
}

int mail_conf_check_text(const char *text, mail_conf_report_fn report, void *ctx)
{
    mc_check ck = {report, ctx, 0};
    char *path = mail_conf_path();
    conf *c = conf_parse(text, path, mail_conf_check_syntax, &ck);
    for (size_t i = 0; i < c->n; i++) {
        const mail_conf_param *p = mail_conf_lookup(c->v[i].name);
        char msg[512];
        if (p == NULL) {
            snprintf(msg, sizeof(msg), "unknown parameter: %s", c->v[i].name);
            ck.problems++;
            report(path, c->v[i].line, msg, ctx);
            continue;
        }
        buf *b = buf_new(1 << 20);
        mail_conf_expand(b, c->v[i].value, 0);
        char tmp[300];
        const char *why = mail_conf_bad_value(p, b->data);
        if (why == NULL)
            why = mail_conf_bad_special(p, b->data, tmp, sizeof(tmp));
        if (why != NULL) {
            snprintf(msg, sizeof(msg), "%s = %s: %s", p->name, b->data, why);
            ck.problems++;
            report(path, c->v[i].line, msg, ctx);
        }
        buf_free(&b);
    }
    conf_free(&c);
    mem_free(&path);
    return ck.problems;
}

void mail_conf_print(bool all, bool show_defaults_too)
{
    for (const mail_conf_param *p = mail_conf_params; p->name; p++) {
        if (!all && !var_is_set(p->name))
            continue;
        bool known;
        const char *raw = mail_conf_rawval(p->name, &known);
        printf("%s = %s\n", p->name, raw);
        if (show_defaults_too && var_is_set(p->name))
            printf("#   default: %s\n", p->def);
    }
}
