/*
 * local_resolve - recipient to targets through aliases and users; see
 * local_resolve.h for the rules.
 *
 * The lookup order matches global/local_rcpt.c (what smtpd accepts at RCPT
 * time): aliases of the full local part, then of the part before the
 * recipient_delimiter, then users.
 */
#include "local/local_resolve.h"

#include <ctype.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/local_rcpt.h"
#include "global/mail_addr.h"
#include "global/mail_aliases.h"
#include "global/mail_conf.h"
#include "global/mail_users.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/msg.h"

typedef struct local_chain {
    const char *name;
    const struct local_chain *up;
} local_chain;

static bool local_resolve_in_chain(const local_chain *c, const char *name)
{
    for (; c; c = c->up)
        if (strcmp(c->name, name) == 0)
            return true;
    return false;
}

static void local_resolve_add(local_targets *t, enum local_target_kind kind,
                              const char *addr, const char *user,
                              const char *dsn, const char *text)
{
    /* One copy per mailbox or forward address (Postfix's duplicate
     * filter); failures are kept once per address. */
    for (size_t i = 0; i < t->n; i++) {
        local_target *o = &t->v[i];
        if (o->kind != kind)
            continue;
        if (kind == LOCAL_T_MAILBOX && strcmp(o->user, user) == 0)
            return;
        if (kind != LOCAL_T_MAILBOX && strcasecmp(o->addr, addr) == 0)
            return;
    }
    t->v = mem_realloc(t->v, (t->n + 1) * sizeof(*t->v));
    local_target *n = &t->v[t->n++];
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->addr = mem_strdup(addr);
    n->user = user ? mem_strdup(user) : NULL;
    n->dsn = dsn ? mem_strdup(dsn) : NULL;
    n->text = text ? mem_strdup(text) : NULL;
}

void local_targets_free(local_targets *t)
{
    for (size_t i = 0; i < t->n; i++) {
        mem_free(&t->v[i].addr);
        mem_free(&t->v[i].user);
        mem_free(&t->v[i].dsn);
        mem_free(&t->v[i].text);
    }
    mem_free(&t->v);
    t->n = 0;
}

/* An alias value as an address: strip <>, qualify a bare name. */
static char *local_resolve_value(const char *v)
{
    size_t n = strlen(v);
    char *a;
    if (n >= 2 && v[0] == '<' && v[n - 1] == '>')
        a = mem_strndup(v + 1, n - 2);
    else
        a = mem_strdup(v);
    if (strchr(a, '@') == NULL) {
        const char *origin = var_str("myorigin");
        char *q = mem_alloc(strlen(a) + strlen(origin) + 2);
        sprintf(q, "%s@%s", a, origin);
        mem_free(&a);
        a = q;
    }
    return a;
}

static int local_resolve_addr(const char *addr, local_targets *t,
                              const local_chain *chain, int depth,
                              char **why_r);

/* Commands and files run with someone's rights and parse mail: left out
 * until there is a reason (qmail's rule). */
static bool local_resolve_unsupported(const char *v)
{
    return v[0] == '|' || v[0] == '/' || strncasecmp(v, ":include:", 9) == 0;
}

/* The entries of a system user's ~/.forward, or NULL when there is none.
 * We may be root here: the file is opened without following links and
 * used only when it is a plain file of the user's (or root's) that nobody
 * else may write, so it cannot make us read someone else's file. */
static char **local_resolve_forward_file(const mail_user *u)
{
    if (!u->system || u->home == NULL || u->home[0] != '/')
        return NULL;
    char *path = mem_alloc(strlen(u->home) + 16);
    sprintf(path, "%s/.forward", u->home);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        mem_free(&path);
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_uid == (uid_t)u->uid || st.st_uid == 0) &&
        (st.st_mode & 022) == 0 && st.st_size < 65536) {
        text = mem_zalloc((size_t)st.st_size + 1);
        ssize_t n = read(fd, text, (size_t)st.st_size);
        text[n > 0 ? n : 0] = '\0';
    } else {
        msg_warn("%s: ignored: not a plain file of user %s, or writable by "
                 "others", path, u->name);
    }
    close(fd);
    mem_free(&path);
    if (text == NULL)
        return NULL;
    size_t n = 0;
    char **v = mem_zalloc(sizeof(*v));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[strspn(line, " \t")] == '#')
            continue;
        for (char *p = line, *e; p; p = e) {
            e = strchr(p, ',');
            if (e)
                *e++ = '\0';
            p += strspn(p, " \t\r");
            size_t l = strlen(p);
            while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r'))
                p[--l] = '\0';
            if (l == 0)
                continue;
            v = mem_realloc(v, (n + 2) * sizeof(*v));
            v[n++] = mem_strdup(p);
            v[n] = NULL;
        }
    }
    mem_free(&text);
    if (n == 0)
        conf_free_list(&v);
    return v;
}

static int local_resolve_user(const char *addr, const char *base,
                              local_targets *t, const local_chain *chain,
                              int depth, char **why_r)
{
    mail_user *u = NULL;
    int r = mail_users_find(base, &u, why_r);
    if (r < 0)
        return -1;
    if (r > 0) {
        /* A system user's ~/.forward replaces the mailbox (sendmail's and
         * Postfix's rule); "\\user" in it means that user's own mailbox. */
        char key[80];
        snprintf(key, sizeof(key), "~%s", u->name);
        char **fw = local_resolve_in_chain(chain, key)
                        ? NULL : local_resolve_forward_file(u);
        if (fw == NULL) {
            local_resolve_add(t, LOCAL_T_MAILBOX, addr, u->name, NULL, NULL);
            mail_user_free(&u);
            return 0;
        }
        local_chain here = {.name = key, .up = chain};
        for (char **v = fw; *v && r >= 0; v++) {
            if ((*v)[0] == '\\') {
                char *a = local_resolve_value(*v + 1);
                char *lp, *dom;
                mail_addr_split(a, &lp, &dom);
                if (mail_users_find(lp, NULL, NULL) > 0)
                    local_resolve_add(t, LOCAL_T_MAILBOX, a, lp, NULL, NULL);
                else
                    local_resolve_add(t, LOCAL_T_FAIL, a, NULL, "5.1.1",
                                      "unknown user in .forward");
                mem_free(&lp);
                mem_free(&dom);
                mem_free(&a);
            } else if (local_resolve_unsupported(*v)) {
                local_resolve_add(t, LOCAL_T_FAIL, addr, NULL, "5.3.5",
                                  ".forward: delivery to commands, files and "
                                  ":include: is not supported");
            } else {
                char *a = local_resolve_value(*v);
                r = local_resolve_addr(a, t, &here, depth + 1, why_r) < 0 ? -1 : 1;
                mem_free(&a);
            }
        }
        conf_free_list(&fw);
        mail_user_free(&u);
        return r < 0 ? -1 : 0;
    }
    if (strcmp(base, "postmaster") == 0) {
        /* RFC 5321 section 4.5.1: postmaster must be deliverable even on
         * a system that forgot to define it. */
        char *first = mail_users_first();
        if (first == NULL && mail_users_find("root", NULL, NULL) > 0)
            first = mem_strdup("root");
        if (first != NULL) {
            local_resolve_add(t, LOCAL_T_MAILBOX, addr, first, NULL, NULL);
            mem_free(&first);
            return 0;
        }
    }
    char text[300];
    snprintf(text, sizeof(text), "unknown user: \"%.200s\"", base);
    local_resolve_add(t, LOCAL_T_FAIL, addr, NULL, "5.1.1", text);
    return 0;
}

static int local_resolve_addr(const char *addr, local_targets *t,
                              const local_chain *chain, int depth,
                              char **why_r)
{
    if (depth > LOCAL_RESOLVE_MAX_DEPTH) {
        local_resolve_add(t, LOCAL_T_FAIL, addr, NULL, "5.4.6",
                          "alias expansion too deep: mail forwarding loop");
        return 0;
    }
    char *local, *domain;
    mail_addr_split(addr, &local, &domain);
    if (*domain && !mail_addr_domain_is_local(domain)) {
        local_resolve_add(t, LOCAL_T_FORWARD, addr, NULL, NULL, NULL);
        mem_free(&local);
        mem_free(&domain);
        return 0;
    }
    for (char *p = local; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char *base = local_rcpt_base(local, NULL);
    int r = 0;
    char **values = NULL;
    const char *name = NULL;
    if (!local_resolve_in_chain(chain, local)) {
        r = mail_aliases_lookup(local, &values, why_r);
        name = local;
        if (r == 0 && strcmp(base, local) != 0 &&
            !local_resolve_in_chain(chain, base)) {
            r = mail_aliases_lookup(base, &values, why_r);
            name = base;
        }
    }
    if (r < 0)
        goto out;
    if (r > 0) {
        local_chain here = {.name = name, .up = chain};
        for (char **v = values; *v && r >= 0; v++) {
            if (local_resolve_unsupported(*v)) {
                char text[300];
                snprintf(text, sizeof(text),
                         "alias %.100s: delivery to commands, files and "
                         ":include: is not supported",
                         name);
                local_resolve_add(t, LOCAL_T_FAIL, addr, NULL, "5.3.5", text);
                continue;
            }
            char *a = local_resolve_value(*v);
            r = local_resolve_addr(a, t, &here, depth + 1, why_r) < 0 ? -1 : 1;
            mem_free(&a);
        }
        r = r < 0 ? -1 : 0;
        goto out;
    }
    if (chain != NULL && local_resolve_in_chain(chain, local) &&
        mail_users_find(base, NULL, NULL) <= 0 &&
        strcmp(base, "postmaster") != 0) {
        local_resolve_add(t, LOCAL_T_FAIL, addr, NULL, "5.4.6",
                          "mail forwarding loop in aliases");
        goto out;
    }
    r = local_resolve_user(addr, base, t, chain, depth, why_r);
out:
    conf_free_list(&values);
    mem_free(&base);
    mem_free(&local);
    mem_free(&domain);
    return r;
}

int local_resolve(const char *rcpt, local_targets *t, char **why_r)
{
    memset(t, 0, sizeof(*t));
    if (local_resolve_addr(rcpt, t, NULL, 0, why_r) < 0) {
        local_targets_free(t);
        return -1;
    }
    if (t->n == 0)
        local_resolve_add(t, LOCAL_T_FAIL, rcpt, NULL, "5.1.1",
                          "alias expands to nothing");
    return 0;
}
