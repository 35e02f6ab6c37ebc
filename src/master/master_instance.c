/*
 * master_instance - first-start set-up of an instance; see master_instance.h.
 *
 * Every step is "make it if it is missing": nothing that exists is
 * rewritten, so an administrator's edits and users survive every start.
 * Does not: bind sockets or start processes (master.c does).
 */
#include "master/master_instance.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "global/mail_conf.h"
#include "global/mail_spool.h"
#include "global/mail_users.h"
#include "global/queue_file.h"
#include "master/master_accounts.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

/* The commented configuration written on first start: the values worth
 * changing, each with its default, in postconf(5) style. */
static const char master_instance_template[] =
    "# postie.conf - the configuration of this postie instance.\n"
    "#\n"
    "# Syntax and names are those of Postfix's main.cf (postconf(5)):\n"
    "# \"name = value\", '#' starts a comment, a line that starts with white\n"
    "# space continues the previous one, $name expands another parameter.\n"
    "# Relative paths are relative to this directory.  Every line below is\n"
    "# commented out and shows the built-in default; \"postie config\" prints\n"
    "# the values you have changed, \"postie config all\" every value, and\n"
    "# \"postie config check\" finds mistakes (with file and line).\n"
    "# After a change: postie -c THIS_DIRECTORY reload (or restart serve).\n"
    "\n"
    "# ---- Who we are ----\n"
    "# myhostname = (this host's name)\n"
    "# mydomain = (myhostname less its first label)\n"
    "# myorigin = $myhostname\n"
    "\n"
    "# Mail for these domains is delivered here, to the users file below:\n"
    "# mydestination = $myhostname, localhost.$mydomain, localhost\n"
    "\n"
    "# Clients that may send mail to other domains (no open relay):\n"
    "# mynetworks = 127.0.0.0/8 [::1]/128\n"
    "# relayhost =\n"
    "\n"
    "# ---- Where we listen ----\n"
    "# loopback-only (127.0.0.1 and ::1), all, or a list of addresses.\n"
    "# inet_interfaces = loopback-only\n"
    "# inet_protocols = all\n"
    "# Each service: a port, or addr:port / [v6addr]:port entries.\n"
    "# A system installation (run by root) uses 25 here.\n"
    "# smtpd_listen = 2525\n"
    "# smtpd_processes = 2\n"
    "\n"
    "# ---- TLS (STARTTLS on smtpd, STLS on pop3d) ----\n"
    "# Unset, serve makes a self-signed certificate in data_directory\n"
    "# (serve-tls.pem) and uses it; name a real one here (chain after the\n"
    "# certificate; the key readable by mail_owner), or leave it empty for\n"
    "# no TLS.  \"postie reload\" picks up a renewed certificate.\n"
    "# smtpd_tls_cert_file =\n"
    "# smtpd_tls_key_file = $smtpd_tls_cert_file\n"
    "# smtpd_tls_security_level = (may with a certificate, else none)\n"
    "# smtpd_tls_loglevel = 0\n"
    "\n"
    "# ---- Users and mailboxes ----\n"
    "# Virtual users, Dovecot passwd-file syntax; manage them with\n"
    "# \"postie user add|del|list|passwd\".  Add \"system\" to also deliver to\n"
    "# the accounts of this host (needs root).\n"
    "# mail_users_file = users\n"
    "# mail_user_source = file\n"
    "# virtual_mailbox_base = mail\n"
    "# Maildir (ends in /) relative to the user's home; empty: mbox files in\n"
    "# mail_spool_directory.\n"
    "# home_mailbox = Maildir/\n"
    "# mail_spool_directory = spool\n"
    "# alias_maps = aliases\n"
    "\n"
    "# ---- Limits ----\n"
    "# message_size_limit = 10240000\n"
    "# smtpd_recipient_limit = 1000\n"
    "# smtpd_timeout = 300s\n"
    "\n"
    "# ---- Queue ----\n"
    "# queue_directory = queue\n"
    "# queue_run_delay = 300s\n"
    "# minimal_backoff_time = 300s\n"
    "# maximal_backoff_time = 4000s\n"
    "# maximal_queue_lifetime = 5d\n"
    "\n"
    "# ---- Logging and processes ----\n"
    "# Empty maillog_file: log to syslog (facility mail).\n"
    "# maillog_file = maillog\n"
    "# maillog_file_rfc3339 = no\n"
    "# syslog_name = postie\n"
    "# The user the services run as when master is started by root.\n"
    "# mail_owner = postie\n";

static const char master_instance_aliases[] =
    "# aliases - local aliases, aliases(5) syntax (alias_maps).\n"
    "#\n"
    "#   name: user, other@example.org\n"
    "#\n"
    "# postmaster is always deliverable: without an alias here it goes to the\n"
    "# first user of the users file.  \"postie newaliases\" checks this file.\n"
    "#\n"
    "# root: you\n";

static char *master_instance_err(const char *what, const char *path)
{
    buf *b = buf_new(8192);
    buf_printf(b, "%s %s: %s", what, path, strerror(errno));
    char *s = mem_strdup(b->data);
    buf_free(&b);
    return s;
}

int master_instance_conf(const char *dir, master_instance_report *r,
                         char **err_r)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno != ENOENT || fs_mkdirs(dir, 0755) < 0) {
            *err_r = master_instance_err("create directory", dir);
            return -1;
        }
        r->created_dir = true;
    } else if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        *err_r = master_instance_err("use", dir);
        return -1;
    }
    char *path = fs_join(dir, MAIL_CONF_FILE);
    int rc = 0;
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        if (fs_write_atomic(path, master_instance_template,
                            sizeof(master_instance_template) - 1, 0644) < 0) {
            *err_r = master_instance_err("write", path);
            rc = -1;
        } else {
            r->created_conf = true;
        }
    }
    mem_free(&path);
    return rc;
}

/* A password a human can type: no look-alike characters. */
static void master_instance_password(char *out, size_t n)
{
    static const char set[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char rnd[64];
    if (n > sizeof(rnd))
        n = sizeof(rnd);
    if (getrandom(rnd, n, 0) != (ssize_t)n)
        msg_fatal("getrandom: %m");
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = set[rnd[i] % (sizeof(set) - 1)];
    out[n - 1] = '\0';
}

/* The first user's name: whoever runs serve, as mail to oneself is the
 * first thing one tries (master_accounts_first_user says who for root). */
static char *master_instance_user_name(void)
{
    struct passwd *pw = getpwuid(getuid());
    return master_accounts_first_user(getuid(), pw ? pw->pw_name : NULL,
                                      getenv("SUDO_USER"));
}

/* Walk a directory by descriptors: every step is openat(O_NOFOLLOW) and
 * fchownat(AT_SYMLINK_NOFOLLOW) relative to the directory already open.
 * The tree belongs to mail_owner, who could swap a directory for a
 * symbolic link while a root master walks it; a walk by path names
 * (nftw) would then follow the link and hand root's files to mail_owner. */
static void master_instance_chown_at(int dirfd, uid_t uid, gid_t gid,
                                     int depth)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if ((st.st_uid != uid || st.st_gid != gid) &&
            fchownat(dirfd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            msg_warn("chown %s: %m", de->d_name);
        if (S_ISDIR(st.st_mode) && depth < 8) {
            int sub = openat(dirfd, de->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                master_instance_chown_at(sub, uid, gid, depth + 1);
                close(sub);
            }
        }
    }
    closedir(d);
}

/* Give a tree to the service user: the queue holds files that root
 * commands may have made while master was down. */
static void master_instance_chown_tree(const char *path, uid_t uid, gid_t gid)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fchown(fd, uid, gid) < 0)
        msg_warn("chown %s: %m", path);
    master_instance_chown_at(fd, uid, gid, 0);
    close(fd);
}

static void master_instance_chown(const char *path, uid_t uid, gid_t gid)
{
    if (lchown(path, uid, gid) < 0 && errno != ENOENT)
        msg_warn("chown %s: %m", path);
}

static int master_instance_first_user(master_instance_report *r, char **err_r)
{
    char *users = var_path("mail_users_file");
    int rc = 0;
    if (access(users, F_OK) == 0 || errno != ENOENT) {
        mem_free(&users);
        return 0;
    }
    char pw[17];
    master_instance_password(pw, sizeof(pw));
    char *hash = NULL;
    mail_user u;
    memset(&u, 0, sizeof(u));
    u.name = master_instance_user_name();
    u.uid = u.gid = -1;
    u.gecos = u.home = u.shell = u.extra = (char *)"";
    if (mail_users_hash(pw, &hash, err_r) < 0 ||
        (u.password = hash, mail_users_file_add(users, &u, err_r)) < 0) {
        rc = -1;
        mem_free(&u.name);
    } else {
        r->first_user = u.name;
        r->first_password = mem_strdup(pw);
    }
    mem_free(&hash);
    mem_free(&users);
    return rc;
}

/* The first user's Maildir, so that a newcomer sees where mail will land
 * before the first delivery makes it. */
static void master_instance_mailbox(const char *name, uid_t uid, gid_t gid)
{
    const char *hm = var_str("home_mailbox");
    size_t n = strlen(hm);
    if (n == 0 || hm[n - 1] != '/')
        return;
    mail_user *u = NULL;
    if (mail_users_find(name, &u, NULL) != 1)
        return;
    if (!u->system) {
        char *home = mail_users_home(u);
        char *md = fs_join(home, hm);
        static const char *const sub[] = {"tmp", "new", "cur"};
        for (size_t i = 0; i < 3; i++) {
            char *p = fs_join(md, sub[i]);
            if (fs_mkdirs(p, 0700) < 0)
                msg_warn("create %s: %m", p);
            mem_free(&p);
        }
        if (uid != (uid_t)-1)
            master_instance_chown_tree(home, uid, gid);
        mem_free(&md);
        mem_free(&home);
    }
    mail_user_free(&u);
}

/* maildrop/ and public/ are group setgid_group on a system install, so
 * that the setgid postdrop helper can enter them (docs/architecture.md,
 * "Local submission"); the walk above gave them mail_owner's group, which
 * would lock out every normal user's sendmail after each start.  Where the
 * group does not exist (postie serve, a bare make install) nothing is done. */
static void master_instance_setgid_dirs(const char *queue, uid_t uid)
{
    struct group *g = getgrnam(var_str("setgid_group"));
    if (g == NULL)
        return;
    static const char *const dirs[] = {QUEUE_MAILDROP, QUEUE_PUBLIC};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *p = fs_join(queue, dirs[i]);
        master_instance_chown(p, uid, g->gr_gid);
        mem_free(&p);
    }
}

int master_instance_dirs(uid_t uid, gid_t gid, master_instance_report *r,
                         char **err_r)
{
    char *queue = var_path("queue_directory");
    char *data = var_path("data_directory");
    char *base = var_path("virtual_mailbox_base");
    char *spool = var_path("mail_spool_directory");
    char *users = var_path("mail_users_file");
    int rc = -1;
    if (queue_dirs_create(queue) < 0) {
        *err_r = master_instance_err("create queue", queue);
        goto out;
    }
    if (fs_mkdirs(data, 0755) < 0) {
        *err_r = master_instance_err("create", data);
        goto out;
    }
    /* Virtual mailboxes belong to mail_owner; the spool holds mbox files
     * of several owners, which root's local makes (mail_spool.h): 2775
     * root:mail as Debian's /var/mail, never world-writable. */
    if (fs_mkdirs(base, 0700) < 0) {
        *err_r = master_instance_err("create", base);
        goto out;
    }
    if (mail_spool_make(spool) < 0) {
        *err_r = master_instance_err("create", spool);
        goto out;
    }
    char **maps = var_list("alias_maps");
    if (maps[0] != NULL && strchr(maps[0], ':') == NULL) {
        char *ap = maps[0][0] == '/' ? mem_strdup(maps[0])
                                     : fs_join(mail_conf_dir(), maps[0]);
        if (access(ap, F_OK) < 0 && errno == ENOENT)
            if (fs_write_atomic(ap, master_instance_aliases,
                                sizeof(master_instance_aliases) - 1, 0644) < 0)
                msg_warn("write %s: %m", ap);
        mem_free(&ap);
    }
    conf_free_list(&maps);
    if (master_instance_first_user(r, err_r) < 0)
        goto out;
    if (uid != (uid_t)-1) {
        master_instance_chown_tree(queue, uid, gid);
        master_instance_setgid_dirs(queue, uid);
        master_instance_chown(base, uid, gid);
        /* The users file holds password hashes: root's, readable by the
         * services' group (smtpd checks recipients, local delivers). */
        if (lchown(users, 0, gid) == 0)
            chmod(users, 0640);
    }
    if (r->first_user)
        master_instance_mailbox(r->first_user, uid, gid);
    rc = 0;
out:
    mem_free(&queue);
    mem_free(&data);
    mem_free(&base);
    mem_free(&spool);
    mem_free(&users);
    return rc;
}

/* A self-signed certificate for myhostname (and localhost, 127.0.0.1,
 * ::1) with an EC P-256 key: quick to make at a first start, and known to
 * every client of the field that does TLS 1.2 or 1.3.  0, or -1. */
static int master_instance_cert_make(const char *path, uid_t uid, gid_t gid)
{
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    size_t tl = strlen(path) + 8;
    char *tmp = mem_alloc(tl);
    snprintf(tmp, tl, "%s.new", path);
    FILE *f = NULL;
    if (key == NULL || x == NULL)
        goto out;
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f; /* RFC 5280 section 4.1.2.2: positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    /* 825 days: the longest validity clients still accept for a leaf. */
    X509_gmtime_adj(X509_getm_notAfter(x), 825L * 86400);
    X509_set_pubkey(x, key);
    const char *host = var_str("myhostname");
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)host, -1,
                               -1, 0);
    X509_set_issuer_name(x, n);
    char san[600];
    snprintf(san, sizeof(san), "DNS:%.255s,DNS:localhost,IP:127.0.0.1,IP:::1", host);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
        X509_EXTENSION_free(ext);
        goto out;
    }
    X509_EXTENSION_free(ext);
    if (X509_sign(x, key, EVP_sha256()) <= 0)
        goto out;
    /* The key is in the file: only its owner reads it. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        if (fd >= 0)
            close(fd);
        goto out;
    }
    if (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0)
        goto out;
    if (PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_X509(f, x) != 1 || fflush(f) != 0 || fsync(fd) != 0)
        goto out;
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    if (rename(tmp, path) < 0)
        goto out;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    if (rc < 0)
        unlink(tmp);
    mem_free(&tmp);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

void master_instance_tls(uid_t uid, gid_t gid, master_instance_report *r)
{
    if (var_is_set("smtpd_tls_cert_file"))
        return; /* the administrator's choice, a real certificate or none */
    char *data = var_path("data_directory");
    char *path = fs_join(data, MAIL_CONF_SERVE_CERT);
    mem_free(&data);
    if (access(path, F_OK) < 0) {
        if (master_instance_cert_make(path, uid, gid) < 0) {
            msg_warn("cannot make a self-signed certificate %s: %m: no TLS", path);
            mem_free(&path);
            return;
        }
        r->made_cert = true;
    }
    r->serve_cert = path;
}

void master_instance_report_free(master_instance_report *r)
{
    mem_free(&r->serve_cert);
    mem_free(&r->first_user);
    if (r->first_password)
        memset(r->first_password, 0, strlen(r->first_password));
    mem_free(&r->first_password);
}
