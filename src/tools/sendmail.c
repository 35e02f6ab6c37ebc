/*
 * sendmail - the Sendmail command line that every local program uses
 * (cron, PHP's mail(), mailx, scripts), as Postfix's sendmail(1) accepts it:
 *
 *   sendmail [-t] [-i|-oi] [-f sender] [-F name] [-oXXX] [-C dir] [rcpt...]
 *   sendmail -bp (= mailq)   -bi (= newaliases)   -bs (SMTP on stdin/stdout)
 *   sendmail -bv rcpt...     (verify, send nothing)   -q (flush the queue)
 *
 * The message is read from standard input (without -i, a line with a single
 * "." ends it), line ends become LF, and it goes into maildrop/ through
 * postdrop (in-process when the caller may write maildrop/, else through
 * the setgid helper; docs/architecture.md, "Local submission").  Exit codes
 * are those of sysexits.h, with a one-line reason on stderr.
 *
 * With -t the recipients come from To, Cc and Bcc (or the Resent- ones when
 * present), added to those on the command line, and Bcc fields are
 * removed (RFC 5322 section 3.6.3).  The envelope sender defaults to the
 * caller's login name; pickup qualifies it with myorigin.
 *
 * Does not: deliver, or add headers (pickup does: From, Date, Message-ID).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "global/local_rcpt.h"
#include "global/mail_addr.h"
#include "global/mail_conf.h"
#include "global/mail_service.h"
#include "tools/queue_cmd.h"
#include "tools/sendmail.h"
#include "tools/sendmail_hdr.h"
#include "tools/tools.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

typedef enum {
    SENDMAIL_DELIVER, SENDMAIL_MAILQ, SENDMAIL_NEWALIASES, SENDMAIL_SMTP,
    SENDMAIL_VERIFY, SENDMAIL_FLUSH,
} sendmail_mode;

typedef struct sendmail_opts {
    sendmail_mode mode;
    bool extract;         /* -t */
    bool dots_special;    /* not -i */
    const char *sender;   /* -f, or NULL */
    const char *full_name;/* -F, or NULL */
} sendmail_opts;

/* ---- recipients ---- */

typedef struct sendmail_rcpts {
    char **v;
    size_t n;
} sendmail_rcpts;

static void sendmail_rcpt_add(sendmail_rcpts *r, const char *addr)
{
    r->v = mem_realloc(r->v, (r->n + 2) * sizeof(*r->v));
    r->v[r->n++] = mem_strdup(addr);
    r->v[r->n] = NULL;
}

static void sendmail_rcpts_free(sendmail_rcpts *r)
{
    for (size_t i = 0; i < r->n; i++)
        mem_free(&r->v[i]);
    mem_free(&r->v);
    r->n = 0;
}

/* What we accept as an address: printable, no white space outside quotes,
 * at most a path's length (RFC 5321 section 4.5.3.1.3). */
static bool sendmail_addr_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > MAIL_ADDR_PATH_MAX)
        return false;
    bool quoted = false;
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 32 || c == 127)
            return false;
        if (c == '"')
            quoted = !quoted;
        else if (c == ' ' && !quoted)
            return false;
    }
    return true;
}

/* "<addr>" and "addr" alike; "<>" is the null sender. */
static char *sendmail_strip_brackets(const char *a)
{
    size_t n = strlen(a);
    if (n >= 2 && a[0] == '<' && a[n - 1] == '>')
        return mem_strndup(a + 1, n - 2);
    return mem_strdup(a);
}

/* ---- -t: recipients from the header ---- */

typedef struct sendmail_hdr_ctx {
    sendmail_rcpts plain;      /* To, Cc, Bcc */
    sendmail_rcpts resent;     /* Resent-To, Resent-Cc, Resent-Bcc */
    size_t *cut_off;           /* Bcc fields to remove */
    size_t *cut_len;
    int ncut;
} sendmail_hdr_ctx;

static int sendmail_hdr_visit(const char *name, const char *value, size_t off,
                              size_t len, void *ctx)
{
    sendmail_hdr_ctx *c = ctx;
    bool resent = strncasecmp(name, "Resent-", 7) == 0;
    const char *base = resent ? name + 7 : name;
    if (strcasecmp(base, "To") != 0 && strcasecmp(base, "Cc") != 0 &&
        strcasecmp(base, "Bcc") != 0)
        return 0;
    char **v = sendmail_hdr_addresses(value);
    for (char **p = v; *p; p++)
        sendmail_rcpt_add(resent ? &c->resent : &c->plain, *p);
    conf_free_list(&v);
    if (strcasecmp(base, "Bcc") == 0) {
        c->cut_off = mem_realloc(c->cut_off, (size_t)(c->ncut + 1) * sizeof(*c->cut_off));
        c->cut_len = mem_realloc(c->cut_len, (size_t)(c->ncut + 1) * sizeof(*c->cut_len));
        c->cut_off[c->ncut] = off;
        c->cut_len[c->ncut] = len;
        c->ncut++;
    }
    return 0;
}

/* Take the recipients from the header and drop the Bcc fields in place. */
static void sendmail_extract(buf *content, sendmail_rcpts *rcpts)
{
    sendmail_hdr_ctx c;
    memset(&c, 0, sizeof(c));
    sendmail_hdr_walk(content->data, content->len, sendmail_hdr_visit, &c);
    /* With Resent- fields the message is being re-sent: those name the
     * new recipients, the others the original ones (RFC 5322 3.6.6). */
    sendmail_rcpts *use = c.resent.n > 0 ? &c.resent : &c.plain;
    for (size_t i = 0; i < use->n; i++)
        sendmail_rcpt_add(rcpts, use->v[i]);
    for (int i = c.ncut - 1; i >= 0; i--) {
        memmove(content->data + c.cut_off[i], content->data + c.cut_off[i] + c.cut_len[i],
                content->len - c.cut_off[i] - c.cut_len[i]);
        content->len -= c.cut_len[i];
        content->data[content->len] = '\0';
    }
    sendmail_rcpts_free(&c.plain);
    sendmail_rcpts_free(&c.resent);
    mem_free(&c.cut_off);
    mem_free(&c.cut_len);
}

/* ---- reading the message ---- */

/* Read standard input: CRLF to LF; without -i a "." line ends the message.
 * Returns 0, EX_DATAERR when it is larger than message_size_limit, or
 * EX_IOERR. */
static int sendmail_read(FILE *in, bool dots_special, buf *content)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (dots_special && len == 1 && line[0] == '.')
            break;
        if (buf_append(content, line, len) < 0 || buf_putc(content, '\n') < 0) {
            status = EX_DATAERR;
            break;
        }
    }
    if (status == 0 && ferror(in))
        status = EX_IOERR;
    free(line);
    return status;
}

/* ---- handing the message to postdrop ---- */

/* The setgid helper sits next to the binary: /usr/sbin/postdrop beside
 * /usr/sbin/postie (a copy of postie, group setgid_group, mode 2755). */
static char *sendmail_helper_path(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    return fs_join(dirname(self), "postdrop");
}

static int sendmail_via_helper(const char *helper, const postdrop_msg *m)
{
    size_t len;
    char *stream = postdrop_stream(m, &len);
    int fds[2];
    if (pipe(fds) < 0) {
        mem_free(&stream);
        return EX_OSERR;
    }
    pid_t pid = fork();
    if (pid < 0) {
        mem_free(&stream);
        return EX_OSERR;
    }
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        /* The helper's stdout (the ID) is not ours to print. */
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execl(helper, "postdrop", (char *)NULL);
        fprintf(stderr, "sendmail: cannot run %s: %s\n", helper, strerror(errno));
        _exit(EX_UNAVAILABLE);
    }
    close(fds[0]);
    int wr = fs_write_all(fds[1], stream, len);
    close(fds[1]);
    mem_free(&stream);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st) ? WEXITSTATUS(st) : (wr < 0 ? EX_IOERR : 0);
    fprintf(stderr, "sendmail: postdrop helper died\n");
    return EX_SOFTWARE;
}

/* Store the message; returns a sysexits code. */
static int sendmail_submit(const postdrop_msg *m, char id_r[QUEUE_ID_SIZE])
{
    char *qdir = var_path("queue_directory");
    char *drop = fs_join(qdir, QUEUE_MAILDROP);
    int status = 0;
    id_r[0] = '\0';
    struct stat st;
    if (stat(qdir, &st) < 0 && errno == ENOENT) {
        fprintf(stderr, "sendmail: no queue at %s: is postie set up (postie serve --dir, or -C DIR)?\n",
                qdir);
        status = EX_UNAVAILABLE;
    } else if (access(drop, W_OK | X_OK) == 0) {
        char *err = NULL;
        if (postdrop_store(qdir, m, id_r, &err) < 0) {
            fprintf(stderr, "sendmail: %s\n", err);
            status = errno == EINVAL ? EX_DATAERR : EX_TEMPFAIL;
            mem_free(&err);
        }
    } else {
        char *helper = sendmail_helper_path();
        if (helper == NULL || access(helper, X_OK) < 0) {
            fprintf(stderr, "sendmail: cannot write to %s (%s) and there is no setgid postdrop helper at %s\n",
                    drop, strerror(EACCES), helper ? helper : "(unknown)");
            status = EX_UNAVAILABLE;
        } else {
            status = sendmail_via_helper(helper, m);
        }
        mem_free(&helper);
    }
    mem_free(&drop);
    mem_free(&qdir);
    return status;
}

static char *sendmail_login(void)
{
    struct passwd *pw = getpwuid(getuid());
    if (pw != NULL)
        return mem_strdup(pw->pw_name);
    char text[32];
    snprintf(text, sizeof(text), "uid%ld", (long)getuid());
    return mem_strdup(text);
}

/* ---- modes ---- */

static int sendmail_deliver(const sendmail_opts *o, sendmail_rcpts *rcpts)
{
    long long limit = var_int("message_size_limit");
    buf *content = buf_new(limit > 0 ? (size_t)limit : (size_t)10240000);
    int status = sendmail_read(stdin, o->dots_special, content);
    if (status == EX_DATAERR)
        fprintf(stderr, "sendmail: message is larger than message_size_limit (%lld bytes)\n", limit);
    else if (status != 0)
        fprintf(stderr, "sendmail: read standard input: %s\n", strerror(errno));
    if (status == 0 && o->extract)
        sendmail_extract(content, rcpts);
    if (status == 0 && rcpts->n == 0) {
        fprintf(stderr, "sendmail: no recipients: give them as arguments or use -t\n");
        status = EX_USAGE;
    }
    for (size_t i = 0; status == 0 && i < rcpts->n; i++) {
        if (!sendmail_addr_ok(rcpts->v[i])) {
            fprintf(stderr, "sendmail: bad recipient address: %s\n", rcpts->v[i]);
            status = EX_DATAERR;
        }
    }
    char *sender = o->sender ? sendmail_strip_brackets(o->sender) : sendmail_login();
    if (status == 0 && *sender && !sendmail_addr_ok(sender)) {
        fprintf(stderr, "sendmail: bad sender address: %s\n", sender);
        status = EX_DATAERR;
    }
    if (status == 0) {
        char *full_name = o->full_name ? mem_strdup(o->full_name) : NULL;
        postdrop_msg m = {
            .sender = sender,
            .full_name = full_name,
            .rcpts = rcpts->v,
            .nrcpt = rcpts->n,
            .content = content->data,
            .content_len = content->len,
        };
        char id[QUEUE_ID_SIZE];
        status = sendmail_submit(&m, id);
        mem_free(&full_name);
    }
    mem_free(&sender);
    buf_free(&content);
    return status;
}

/* -bv: say for each recipient whether it would be delivered, send nothing. */
static int sendmail_verify(sendmail_rcpts *rcpts)
{
    if (rcpts->n == 0) {
        fprintf(stderr, "sendmail: -bv needs recipients\n");
        return EX_USAGE;
    }
    int status = 0;
    for (size_t i = 0; i < rcpts->n; i++) {
        const char *a = rcpts->v[i];
        char *local = NULL, *domain = NULL;
        mail_addr_split(a, &local, &domain);
        if (!sendmail_addr_ok(a)) {
            printf("%s: undeliverable: bad address syntax\n", a);
            status = EX_DATAERR;
        } else if (*domain == '\0' || mail_addr_domain_is_local(domain)) {
            char *why = NULL;
            int r = local_rcpt_check(a, &why);
            if (r == 1) {
                printf("%s: deliverable: local recipient\n", a);
            } else if (r == 0) {
                printf("%s: undeliverable: %s\n", a, why);
                status = status ? status : EX_NOUSER;
            } else {
                printf("%s: undeliverable for now: %s\n", a, why);
                status = EX_TEMPFAIL;
            }
            mem_free(&why);
        } else {
            printf("%s: deliverable: remote domain %s (relayed)\n", a, domain);
        }
        mem_free(&local);
        mem_free(&domain);
    }
    return status;
}

/* ---- -bs: an SMTP session on stdin/stdout (RFC 5321) ---- */

static void sendmail_smtp_reply(const char *text)
{
    printf("%s\r\n", text);
    fflush(stdout);
}

static int sendmail_smtp(void)
{
    long long limit = var_int("message_size_limit");
    char greet[512];
    snprintf(greet, sizeof(greet), "220 %s ESMTP %s", var_str("myhostname"), var_str("mail_name"));
    sendmail_smtp_reply(greet);
    char *sender = NULL;
    sendmail_rcpts rcpts = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 512) { /* RFC 5321 section 4.5.3.1.4: command line length */
            sendmail_smtp_reply("500 5.5.0 Error: line too long");
            continue;
        }
        if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
            char r[600];
            if (toupper((unsigned char)line[0]) == 'E')
                snprintf(r, sizeof(r), "250-%s\r\n250-SIZE %lld\r\n250 8BITMIME", var_str("myhostname"), limit);
            else
                snprintf(r, sizeof(r), "250 %s", var_str("myhostname"));
            sendmail_smtp_reply(r);
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            char *addr = NULL;
            const char *end, *why;
            if (sender != NULL) {
                sendmail_smtp_reply("503 5.5.1 Error: nested MAIL command");
            } else if (mail_addr_parse_path(line + 10, MAIL_ADDR_NULL_OK | MAIL_ADDR_LENIENT |
                                                           MAIL_ADDR_UTF8_OK,
                                            &addr, &end, &why) < 0) {
                char r[300];
                snprintf(r, sizeof(r), "501 5.1.7 Bad sender address syntax: %s", why);
                sendmail_smtp_reply(r);
            } else {
                sender = addr;
                sendmail_smtp_reply("250 2.1.0 Ok");
            }
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            char *addr = NULL;
            const char *end, *why;
            if (sender == NULL) {
                sendmail_smtp_reply("503 5.5.1 Error: need MAIL command");
            } else if (mail_addr_parse_path(line + 8, MAIL_ADDR_POSTMASTER_OK | MAIL_ADDR_LENIENT |
                                                          MAIL_ADDR_UTF8_OK,
                                            &addr, &end, &why) < 0) {
                char r[300];
                snprintf(r, sizeof(r), "501 5.1.3 Bad recipient address syntax: %s", why);
                sendmail_smtp_reply(r);
            } else {
                sendmail_rcpt_add(&rcpts, addr);
                mem_free(&addr);
                sendmail_smtp_reply("250 2.1.5 Ok");
            }
        } else if (strcasecmp(line, "DATA") == 0) {
            if (sender == NULL || rcpts.n == 0) {
                sendmail_smtp_reply("503 5.5.1 Error: need RCPT command");
                continue;
            }
            sendmail_smtp_reply("354 End data with <CR><LF>.<CR><LF>");
            buf *content = buf_new(limit > 0 ? (size_t)limit : (size_t)10240000);
            bool too_big = false, ended = false;
            while ((n = getline(&line, &cap, stdin)) > 0) {
                size_t len = (size_t)n;
                if (line[len - 1] == '\n')
                    len--;
                if (len > 0 && line[len - 1] == '\r')
                    len--;
                if (len == 1 && line[0] == '.') {
                    ended = true;
                    break;
                }
                /* Dot-unstuffing, RFC 5321 section 4.5.2. */
                const char *p = line[0] == '.' ? line + 1 : line;
                size_t pl = line[0] == '.' ? len - 1 : len;
                if (!too_big && (buf_append(content, p, pl) < 0 || buf_putc(content, '\n') < 0))
                    too_big = true;
            }
            if (!ended) {
                buf_free(&content);
                status = EX_DATAERR;
                break;
            }
            if (too_big) {
                sendmail_smtp_reply("552 5.3.4 Error: message file too big");
            } else {
                postdrop_msg m = {.sender = sender, .rcpts = rcpts.v, .nrcpt = rcpts.n,
                                  .content = content->data, .content_len = content->len};
                char id[QUEUE_ID_SIZE], r[128];
                int st = sendmail_submit(&m, id);
                if (st == 0)
                    snprintf(r, sizeof(r), "250 2.0.0 Ok: queued as %s", id[0] ? id : "maildrop");
                else
                    snprintf(r, sizeof(r), "451 4.3.0 Error: queue file write error");
                sendmail_smtp_reply(r);
            }
            buf_free(&content);
            mem_free(&sender);
            sendmail_rcpts_free(&rcpts);
        } else if (strcasecmp(line, "RSET") == 0) {
            mem_free(&sender);
            sendmail_rcpts_free(&rcpts);
            sendmail_smtp_reply("250 2.0.0 Ok");
        } else if (strncasecmp(line, "NOOP", 4) == 0) {
            sendmail_smtp_reply("250 2.0.0 Ok");
        } else if (strcasecmp(line, "QUIT") == 0) {
            sendmail_smtp_reply("221 2.0.0 Bye");
            break;
        } else if (strncasecmp(line, "VRFY", 4) == 0) {
            sendmail_smtp_reply("502 5.5.1 VRFY command is disabled");
        } else {
            sendmail_smtp_reply("502 5.5.2 Error: command not recognized");
        }
    }
    free(line);
    mem_free(&sender);
    sendmail_rcpts_free(&rcpts);
    return status;
}

/* ---- the command line ---- */

static int sendmail_usage(const char *why)
{
    fprintf(stderr, "sendmail: %s\n"
                    "usage: sendmail [-t] [-i] [-f sender] [-F name] [-bp|-bi|-bs|-bv] [-q] [recipient...]\n",
            why);
    return EX_USAGE;
}

int sendmail_main(int argc, char **argv)
{
    sendmail_opts o = {.mode = SENDMAIL_DELIVER, .dots_special = true};
    const char *config = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        /* Options that take a value, attached ("-fbob") or apart. */
        char opt = a[1];
        if (strchr("fFrCBNRVXLO", opt) != NULL) {
            const char *val = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
            if (val == NULL) {
                char why[64];
                snprintf(why, sizeof(why), "option -%c needs a value", opt);
                return sendmail_usage(why);
            }
            if (opt == 'f' || opt == 'r')
                o.sender = val;
            else if (opt == 'F')
                o.full_name = val;
            else if (opt == 'C')
                config = val;
            /* -B body type, -N dsn, -R ret, -V envid, -X log, -L label, -O
             * option: accepted, as Postfix does, and not needed here. */
            continue;
        }
        if (opt == 'o') {
            /* -oi; -oem/-oee/-oep/-oeq/-oew (error mode), -odi/-odb/-odq
             * (delivery mode) and other -oX: accepted, delivery is always
             * through the queue. */
            if (strcmp(a, "-oi") == 0)
                o.dots_special = false;
            else if (a[2] == '\0')
                return sendmail_usage("option -o needs a letter");
            continue;
        }
        if (opt == 'b') {
            if (strcmp(a, "-bp") == 0)
                o.mode = SENDMAIL_MAILQ;
            else if (strcmp(a, "-bi") == 0)
                o.mode = SENDMAIL_NEWALIASES;
            else if (strcmp(a, "-bs") == 0)
                o.mode = SENDMAIL_SMTP;
            else if (strcmp(a, "-bv") == 0)
                o.mode = SENDMAIL_VERIFY;
            else if (strcmp(a, "-bm") == 0)
                o.mode = SENDMAIL_DELIVER;
            else
                return sendmail_usage("unsupported -b mode");
            continue;
        }
        if (opt == 'q') { /* -q, -q30m, -qR...: run the queue now */
            o.mode = SENDMAIL_FLUSH;
            continue;
        }
        /* Flags without a value may be combined, as with getopt: "-ti". */
        for (const char *f = a + 1; *f; f++) {
            if (*f == 't')
                o.extract = true;
            else if (*f == 'i')
                o.dots_special = false;
            else if (strchr("vnmGUAh", *f) == NULL) {
                char why[64];
                snprintf(why, sizeof(why), "invalid option -- '%c'", *f);
                return sendmail_usage(why);
            } /* else: accepted and ignored, as Postfix does */
        }
    }
    if (config != NULL) {
        setenv("MAIL_CONFIG", config, 1); /* the helper finds it too */
        mail_conf_set_dir(config);
    }
    /* Programs act on sendmail's exit code; a configuration we may not
     * read is EX_CONFIG here, not the generic 1 of a fatal error. */
    char *conf_path = fs_join(mail_conf_dir(), MAIL_CONF_FILE);
    if (access(conf_path, R_OK) < 0 && errno != ENOENT) {
        fprintf(stderr, "sendmail: cannot read %s: %s\n", conf_path, strerror(errno));
        mem_free(&conf_path);
        return EX_CONFIG;
    }
    mem_free(&conf_path);
    if (o.mode == SENDMAIL_MAILQ)
        return mailq_main(1, (char *[]){"mailq", NULL});
    if (o.mode == SENDMAIL_NEWALIASES)
        return newaliases_main(1, (char *[]){"newaliases", NULL});
    if (o.mode == SENDMAIL_FLUSH)
        return queue_main(2, (char *[]){"queue", "flush", NULL});
    mail_command_init("sendmail");
    sendmail_rcpts rcpts = {0};
    for (; i < argc; i++) {
        /* "a@x, b@y" in one argument, as mailx and PHP pass them. */
        char **v = sendmail_hdr_addresses(argv[i]);
        for (char **p = v; *p; p++)
            sendmail_rcpt_add(&rcpts, *p);
        conf_free_list(&v);
    }
    int status;
    if (o.mode == SENDMAIL_SMTP)
        status = sendmail_smtp();
    else if (o.mode == SENDMAIL_VERIFY)
        status = sendmail_verify(&rcpts);
    else
        status = sendmail_deliver(&o, &rcpts);
    sendmail_rcpts_free(&rcpts);
    return status;
}
