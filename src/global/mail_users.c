/*
 * mail_users - virtual users (users file) and system users; see
 * mail_users.h for the file syntax.
 *
 * The file is small and read whole on each lookup: a lookup per RCPT or
 * delivery costs one read of a file that lives in the page cache, and no
 * cache can then go stale after "postie user add".  Changes take an fcntl
 * lock on PATH.lock and replace the file atomically (tmp, fsync, rename,
 * fsync dir), so a reader sees the old or the new file, never half of one.
 */
#include "global/mail_users.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"

#define MAIL_USERS_MAX_FILE (64u << 20)

static char *mail_users_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *mail_users_err(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return mem_strdup(text);
}

void mail_user_free(mail_user **up)
{
    mail_user *u = *up;
    if (u == NULL)
        return;
    mem_free(&u->name);
    mem_free(&u->password);
    mem_free(&u->gecos);
    mem_free(&u->home);
    mem_free(&u->shell);
    mem_free(&u->extra);
    mem_free(up);
}

bool mail_users_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == ':' || c == '/' || c == '@' || c == 0x7f)
            return false;
    }
    return name[0] != '.' && name[0] != '-';
}

static void mail_users_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* A uid or gid field: "" is -1; else digits only. */
static int mail_users_id(const char *s, long *id_r)
{
    if (*s == '\0') {
        *id_r = -1;
        return 0;
    }
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > 100000000L)
            return -1;
        v = v * 10 + (*p - '0');
    }
    *id_r = v;
    return 0;
}

int mail_users_parse_line(const char *line, mail_user **u_r, char **err_r)
{
    /* Split on ':' into at most 8 fields: the 8th (extra) keeps its colons,
     * as in Dovecot's passwd-file. */
    char *copy = mem_strdup(line);
    char *f[8] = {0};
    int nf = 0;
    char *p = copy;
    f[nf++] = p;
    while (nf < 8 && (p = strchr(p, ':')) != NULL) {
        *p++ = '\0';
        f[nf++] = p;
    }
    mail_user *u = mem_zalloc(sizeof(*u));
    u->name = mem_strdup(f[0]);
    mail_users_lower(u->name);
    u->password = mem_strdup(nf > 1 ? f[1] : "");
    u->gecos = mem_strdup(nf > 4 ? f[4] : "");
    u->home = mem_strdup(nf > 5 ? f[5] : "");
    u->shell = mem_strdup(nf > 6 ? f[6] : "");
    u->extra = mem_strdup(nf > 7 ? f[7] : "");
    const char *why = NULL;
    if (!mail_users_name_ok(u->name))
        why = "bad user name";
    else if (mail_users_id(nf > 2 ? f[2] : "", &u->uid) < 0)
        why = "bad uid";
    else if (mail_users_id(nf > 3 ? f[3] : "", &u->gid) < 0)
        why = "bad gid";
    mem_free(&copy);
    if (why != NULL) {
        if (err_r)
            *err_r = mem_strdup(why);
        mail_user_free(&u);
        return -1;
    }
    *u_r = u;
    return 0;
}

char *mail_users_format(const mail_user *u)
{
    buf *b = buf_new(1 << 16);
    buf_printf(b, "%s:%s:", u->name, u->password ? u->password : "");
    if (u->uid >= 0)
        buf_printf(b, "%ld", u->uid);
    buf_putc(b, ':');
    if (u->gid >= 0)
        buf_printf(b, "%ld", u->gid);
    buf_printf(b, ":%s:%s:%s", u->gecos ? u->gecos : "", u->home ? u->home : "",
               u->shell ? u->shell : "");
    if (u->extra && *u->extra)
        buf_printf(b, ":%s", u->extra);
    char *s = mem_strdup(b->data);
    buf_free(&b);
    return s;
}

/* Parse a whole file into a vector.  A missing file is an empty list. */
static int mail_users_load(const char *path, mail_user ***v_r, char **err_r)
{
    size_t len;
    char *text = fs_read_file(path, MAIL_USERS_MAX_FILE, &len);
    size_t n = 0, cap = 8;
    mail_user **v = mem_zalloc(cap * sizeof(*v));
    if (text == NULL) {
        if (errno != ENOENT) {
            if (err_r)
                *err_r = mail_users_err("read %s: %s", path, strerror(errno));
            mem_free(&v);
            return -1;
        }
        *v_r = v;
        return 0;
    }
    int lineno = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = '\0';
        if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
            continue;
        mail_user *u;
        char *why = NULL;
        if (mail_users_parse_line(line, &u, &why) < 0) {
            /* One bad line must not make every user unknown: skip it (the
             * check in "postie config check" reports it). */
            mem_free(&why);
            continue;
        }
        if (n + 1 >= cap) {
            cap *= 2;
            v = mem_realloc(v, cap * sizeof(*v));
        }
        v[n++] = u;
        v[n] = NULL;
    }
    mem_free(&text);
    *v_r = v;
    return 0;
}

void mail_users_list_free(mail_user ***vp)
{
    if (*vp == NULL)
        return;
    for (mail_user **u = *vp; *u; u++)
        mail_user_free(u);
    mem_free(vp);
}

int mail_users_file_list(const char *path, mail_user ***v_r, char **err_r)
{
    return mail_users_load(path, v_r, err_r);
}

int mail_users_file_find(const char *path, const char *name, mail_user **u_r,
                         char **err_r)
{
    mail_user **v;
    if (mail_users_load(path, &v, err_r) < 0)
        return -1;
    char *want = mem_strdup(name);
    mail_users_lower(want);
    int found = 0;
    for (mail_user **u = v; *u; u++) {
        if (strcmp((*u)->name, want) == 0) {
            if (u_r) {
                *u_r = *u;
                /* Detach the found entry so list_free leaves it alone. */
                mail_user **last = u;
                while (last[1])
                    last++;
                *u = *last;
                *last = NULL;
            }
            found = 1;
            break;
        }
    }
    mem_free(&want);
    mail_users_list_free(&v);
    return found;
}

/* ---- changes ---- */

static int mail_users_lock(const char *path, char **err_r)
{
    char *lpath = mem_alloc(strlen(path) + 6);
    sprintf(lpath, "%s.lock", path);
    int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (err_r)
            *err_r = mail_users_err("open %s: %s", lpath, strerror(errno));
        mem_free(&lpath);
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_SETLKW, &fl) < 0) {
        if (errno != EINTR) {
            if (err_r)
                *err_r = mail_users_err("lock %s: %s", lpath, strerror(errno));
            close(fd);
            mem_free(&lpath);
            return -1;
        }
    }
    mem_free(&lpath);
    return fd;
}

/* Replace the file atomically, keeping its owner, group and mode (master
 * makes it root:mail_owner 0640 so that smtpd and the login services can
 * read it); a new file is 0600. */
static int mail_users_write(const char *path, const char *data, size_t len)
{
    struct stat st;
    bool had = stat(path, &st) == 0;
    char *tmp = mem_alloc(strlen(path) + 32);
    sprintf(tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0) {
        mem_free(&tmp);
        return -1;
    }
    int r = 0;
    if (had && (fchown(fd, st.st_uid, st.st_gid) < 0 && geteuid() == 0))
        r = -1;
    if (r == 0 && had && fchmod(fd, st.st_mode & 07777) < 0)
        r = -1;
    if (r == 0 && !had && geteuid() == 0) {
        /* A new file made by root: as master makes it, readable by the
         * services (mail_owner's group) and by nobody else. */
        struct passwd *pw = getpwnam(var_str("mail_owner"));
        if (pw != NULL && fchown(fd, 0, pw->pw_gid) == 0)
            fchmod(fd, 0640);
    }
    if (r == 0 && (fs_write_all(fd, data, len) < 0 || fsync(fd) < 0))
        r = -1;
    int saved = errno;
    if (close(fd) < 0 && r == 0) {
        r = -1;
        saved = errno;
    }
    if (r == 0 && rename(tmp, path) < 0) {
        r = -1;
        saved = errno;
    }
    if (r < 0)
        unlink(tmp);
    else
        fs_sync_parent(path);
    mem_free(&tmp);
    errno = saved;
    return r;
}

/* Rewrite the file with fn applied to each line.  fn returns the new line
 * (a new string), NULL to drop it, or the line itself to keep it. */
enum mu_op { MU_ADD, MU_DEL, MU_PASSWD };

static int mail_users_change(const char *path, enum mu_op op,
                             const mail_user *add, const char *name,
                             const char *hash, char **err_r)
{
    int lfd = mail_users_lock(path, err_r);
    if (lfd < 0)
        return -1;
    size_t len;
    char *text = fs_read_file(path, MAIL_USERS_MAX_FILE, &len);
    if (text == NULL && errno != ENOENT) {
        if (err_r)
            *err_r = mail_users_err("read %s: %s", path, strerror(errno));
        close(lfd);
        return -1;
    }
    char *want = mem_strdup(op == MU_ADD ? add->name : name);
    mail_users_lower(want);
    buf *out = buf_new(MAIL_USERS_MAX_FILE + 4096);
    bool found = false;
    /* Comments and lines we do not change are kept byte for byte. */
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        mail_user *u = NULL;
        char *why = NULL;
        bool match = line[0] != '#' &&
                     mail_users_parse_line(line, &u, &why) == 0 &&
                     strcmp(u->name, want) == 0;
        mem_free(&why);
        if (match) {
            found = true;
            if (op == MU_PASSWD) {
                mem_free(&u->password);
                u->password = mem_strdup(hash);
                char *l = mail_users_format(u);
                buf_printf(out, "%s\n", l);
                mem_free(&l);
            } else if (op == MU_ADD) {
                buf_printf(out, "%s\n", line);
            }
            /* MU_DEL: drop the line */
        } else {
            buf_printf(out, "%s\n", line);
        }
        mail_user_free(&u);
    }
    int r = 0;
    if (op == MU_ADD && found) {
        if (err_r)
            *err_r = mail_users_err("user %s already exists in %s", want, path);
        r = -1;
    } else if (op != MU_ADD && !found) {
        if (err_r)
            *err_r = mail_users_err("no user %s in %s", want, path);
        r = -1;
    } else {
        if (op == MU_ADD) {
            char *l = mail_users_format(add);
            buf_printf(out, "%s\n", l);
            mem_free(&l);
        }
        if (mail_users_write(path, out->data, out->len) < 0) {
            if (err_r)
                *err_r = mail_users_err("write %s: %s", path, strerror(errno));
            r = -1;
        }
    }
    buf_free(&out);
    mem_free(&want);
    mem_free(&text);
    close(lfd);
    return r;
}

int mail_users_file_add(const char *path, const mail_user *u, char **err_r)
{
    if (!mail_users_name_ok(u->name)) {
        if (err_r)
            *err_r = mail_users_err("bad user name: %s", u->name);
        return -1;
    }
    return mail_users_change(path, MU_ADD, u, NULL, NULL, err_r);
}

int mail_users_file_del(const char *path, const char *name, char **err_r)
{
    return mail_users_change(path, MU_DEL, NULL, name, NULL, err_r);
}

int mail_users_file_passwd(const char *path, const char *name,
                           const char *hash, char **err_r)
{
    return mail_users_change(path, MU_PASSWD, NULL, name, hash, err_r);
}

/* ---- by configuration ---- */

static int mail_users_system(const char *name, mail_user **u_r, char **err_r)
{
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        if (errno != 0 && errno != ENOENT && errno != ESRCH &&
            errno != EBADF && errno != EPERM) {
            if (err_r)
                *err_r = mail_users_err("getpwnam %s: %s", name, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (u_r) {
        mail_user *u = mem_zalloc(sizeof(*u));
        u->name = mem_strdup(name);
        u->password = mem_strdup(""); /* shadow passwords are not ours */
        u->uid = (long)pw->pw_uid;
        u->gid = (long)pw->pw_gid;
        u->gecos = mem_strdup("");
        u->home = mem_strdup(pw->pw_dir ? pw->pw_dir : "");
        u->shell = mem_strdup(pw->pw_shell ? pw->pw_shell : "");
        u->extra = mem_strdup("");
        u->system = true;
        *u_r = u;
    }
    return 1;
}

int mail_users_find(const char *name, mail_user **u_r, char **err_r)
{
    char *want = mem_strdup(name);
    mail_users_lower(want);
    if (!mail_users_name_ok(want)) {
        mem_free(&want);
        return 0;
    }
    char **src = var_list("mail_user_source");
    int r = 0;
    for (char **s = src; *s && r == 0; s++) {
        if (strcmp(*s, "file") == 0) {
            char *path = var_path("mail_users_file");
            r = mail_users_file_find(path, want, u_r, err_r);
            mem_free(&path);
        } else if (strcmp(*s, "system") == 0) {
            r = mail_users_system(want, u_r, err_r);
        }
    }
    conf_free_list(&src);
    mem_free(&want);
    return r;
}

char *mail_users_first(void)
{
    char **src = var_list("mail_user_source");
    char *first = NULL;
    for (char **s = src; *s && first == NULL; s++) {
        if (strcmp(*s, "file") == 0) {
            char *path = var_path("mail_users_file");
            mail_user **v;
            if (mail_users_load(path, &v, NULL) == 0) {
                if (v[0])
                    first = mem_strdup(v[0]->name);
                mail_users_list_free(&v);
            }
            mem_free(&path);
        }
    }
    conf_free_list(&src);
    return first;
}

char *mail_users_home(const mail_user *u)
{
    if (u->home && u->home[0] == '/')
        return mem_strdup(u->home);
    if (u->home && u->home[0]) {
        const char *d = mail_conf_dir();
        char *p = mem_alloc(strlen(d) + strlen(u->home) + 2);
        sprintf(p, "%s/%s", d, u->home);
        return p;
    }
    char *base = var_path("virtual_mailbox_base");
    char *p = fs_join(base, u->name);
    mem_free(&base);
    return p;
}

/* ---- passwords ---- */

int mail_users_hash(const char *password, char **hash_r, char **err_r)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL random bytes: libxcrypt takes them from the kernel. */
    if (crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
        if (err_r)
            *err_r = mail_users_err("crypt_gensalt: %s", strerror(errno));
        return -1;
    }
    struct crypt_data *cd = mem_zalloc(sizeof(*cd));
    const char *h = crypt_r(password, salt, cd);
    if (h == NULL || h[0] == '*') {
        if (err_r)
            *err_r = mail_users_err("crypt: %s", strerror(errno));
        mem_free(&cd);
        return -1;
    }
    char *out = mem_alloc(strlen(h) + 16);
    sprintf(out, "{SHA512-CRYPT}%s", h);
    memset(cd, 0, sizeof(*cd));
    mem_free(&cd);
    *hash_r = out;
    return 0;
}

int mail_users_verify(const char *stored, const char *password)
{
    static const char *const schemes[] = {
        "{SHA512-CRYPT}", "{SHA256-CRYPT}", "{BLF-CRYPT}",
        "{MD5-CRYPT}", "{CRYPT}", NULL,
    };
    const char *hash = NULL;
    for (int i = 0; schemes[i]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(stored, schemes[i], n) == 0) {
            hash = stored + n;
            break;
        }
    }
    if (hash == NULL) {
        /* Dovecot's default scheme for a bare hash is CRYPT when it looks
         * like one; anything else (PLAIN...) is refused: we never compare
         * clear text. */
        if (stored[0] == '$')
            hash = stored;
        else
            return -1;
    }
    if (*hash == '\0')
        return 0;
    struct crypt_data *cd = mem_zalloc(sizeof(*cd));
    const char *h = crypt_r(password, hash, cd);
    int ok = 0;
    if (h != NULL && h[0] != '*' && strlen(h) == strlen(hash)) {
        /* Constant time over the length: a timing side channel would tell
         * how much of the hash matched. */
        unsigned char d = 0;
        for (size_t i = 0; hash[i]; i++)
            d |= (unsigned char)(h[i] ^ hash[i]);
        ok = d == 0;
    }
    memset(cd, 0, sizeof(*cd));
    mem_free(&cd);
    return ok;
}
