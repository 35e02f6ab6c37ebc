/*
 * smtpd_check_access - check_client_access, check_helo_access,
 * check_sender_access and check_recipient_access with tables in access(5)
 * syntax, read as plain text: no postmap, no compiled file.  The file is
 * read when smtpd starts and on reload (postie reload), not per lookup.
 *
 * File: "key action" per line; '#' starts a comment line; a line that
 * starts with white space continues the previous one; keys are compared
 * without case.  "hash:", "btree:" and "texthash:" before the path are
 * accepted and ignored (a Postfix configuration works as written); other
 * table types are refused.  A relative path is relative to the
 * configuration directory.  The first of duplicate keys is used.
 *
 * Lookup order (Postfix's, with parent_domain_matches_subdomains):
 *   client   name, its parent domains (".example.com", then
 *            "example.com"), the address, its networks ("192.0.2",
 *            "192.0", "192"; IPv6 by dropping ":groups" from the end)
 *   helo     the name and its parent domains
 *   sender,  user+ext@domain, user@domain, domain and its parents,
 *   recipient  user+ext@, user@ ("<>" for the null sender)
 *
 * Actions (access(5)): OK, DUNNO, REJECT [text], DEFER [text],
 * DEFER_IF_PERMIT [text], "4NN text" and "5NN text" (an enhanced code may
 * start the text), and the restrictions that take no argument
 * (reject_unauth_destination, permit_mynetworks, ...).  An action that
 * does not parse answers "451 4.3.5 Server configuration error", as does
 * a table that could not be read: a broken blacklist must not let mail
 * through.
 *
 * Does not: HOLD, DISCARD, FILTER, REDIRECT, PREPEND, WARN, BCC
 * (they act on the message, which postie's smtpd does not route yet).
 */
#include "smtpd/smtpd_check_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/mail_conf.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

#define SMTPD_CHECK_KEYS_MAX 64

typedef struct smtpd_check_entry {
    char *key;
    char *action;
    int line;
} smtpd_check_entry;

struct smtpd_check_table {
    char *path;
    bool unavailable;
    smtpd_check_entry *v;
    size_t n;
};

static int smtpd_check_access_order(const void *a, const void *b)
{
    const smtpd_check_entry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->line - y->line;
}

static void smtpd_check_access_lower(char *p)
{
    for (; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* "WHAT: \"ARG\"" to report, when there is one. */
static void smtpd_check_access_report(smtpd_check_report_fn report, void *ctx,
                                      const char *path, int line, const char *what,
                                      const char *arg)
{
    if (report == NULL)
        return;
    char text[600];
    snprintf(text, sizeof(text), "%s: \"%s\"", what, arg);
    report(path, line, text, ctx);
}

const char *smtpd_check_access_bad_action(const char *action)
{
    char word[64];
    size_t n = strcspn(action, " \t");
    snprintf(word, sizeof(word), "%.*s", (int)(n < 63 ? n : 63), action);
    const char *rest = action + n + strspn(action + n, " \t");
    static const char *const words[] = {"OK", "DUNNO", "REJECT", "DEFER",
                                        "DEFER_IF_PERMIT"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(word, words[i]) == 0)
            return i < 2 && *rest ? "OK and DUNNO take no text" : NULL;
    if (n == 3 && isdigit((unsigned char)word[0]) && isdigit((unsigned char)word[1]) &&
        isdigit((unsigned char)word[2]))
        return word[0] == '4' || word[0] == '5' ? NULL : "a reply code must be 4NN or 5NN";
    const smtpd_check_op *op = smtpd_check_parse_op(word);
    if (op != NULL && op->arg == SMTPD_CHECK_ARG_NONE && *rest == '\0')
        return NULL;
    return "unknown action";
}

/* One logical line "key action". */
static void smtpd_check_access_entry(smtpd_check_table *t, const char *p,
                                     int line, smtpd_check_report_fn report,
                                     void *ctx)
{
    size_t kl = strcspn(p, " \t");
    char *key = mem_strndup(p, kl);
    const char *action = p + kl + strspn(p + kl, " \t");
    size_t al = strlen(action);
    while (al > 0 && (action[al - 1] == ' ' || action[al - 1] == '\t'))
        al--;
    char *act = mem_strndup(action, al);
    const char *bad = al == 0 ? "missing action" : smtpd_check_access_bad_action(act);
    if (bad != NULL)
        smtpd_check_access_report(report, ctx, t->path, line, bad, al ? act : key);
    smtpd_check_access_lower(key);
    t->v = mem_realloc(t->v, (t->n + 1) * sizeof(*t->v));
    t->v[t->n++] = (smtpd_check_entry){key, act, line};
}

smtpd_check_table *smtpd_check_access_load(const char *spec,
                                           smtpd_check_report_fn report,
                                           void *ctx, char **err_r)
{
    *err_r = NULL;
    smtpd_check_table *t = mem_zalloc(sizeof(*t));
    const char *colon = strchr(spec, ':');
    const char *file = spec;
    if (colon != NULL && spec[0] != '/') {
        size_t tl = (size_t)(colon - spec);
        if ((tl == 4 && strncasecmp(spec, "hash", 4) == 0) ||
            (tl == 5 && strncasecmp(spec, "btree", 5) == 0) ||
            (tl == 8 && strncasecmp(spec, "texthash", 8) == 0)) {
            file = colon + 1;
        } else {
            char text[400];
            snprintf(text, sizeof(text), "table %s: type %.*s is not supported "
                     "(plain text access tables only)", spec, (int)tl, spec);
            *err_r = mem_strdup(text);
            t->unavailable = true;
            t->path = mem_strdup(spec);
            return t;
        }
    }
    if (file[0] == '/') {
        t->path = mem_strdup(file);
    } else {
        t->path = mem_alloc(strlen(mail_conf_dir()) + strlen(file) + 2);
        sprintf(t->path, "%s/%s", mail_conf_dir(), file);
    }
    char *text = fs_read_file(t->path, 64 << 20, NULL);
    if (text == NULL) {
        char why[600];
        snprintf(why, sizeof(why), "cannot read access table %s: %s", t->path,
                 strerror(errno));
        *err_r = mem_strdup(why);
        t->unavailable = true;
        return t;
    }
    /* Continuation lines join the logical line before them, which keeps
     * the number of its first physical line. */
    int lineno = 0, logical_line = 0;
    buf *cur = buf_new(64 << 20);
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        size_t l = strlen(line);
        if (l > 0 && line[l - 1] == '\r')
            line[--l] = '\0';
        bool blank = line[strspn(line, " \t")] == '\0';
        if (line[0] == '#' || blank) {
            if (next != NULL)
                continue;
        } else if ((line[0] == ' ' || line[0] == '\t') && cur->len > 0) {
            buf_putc(cur, ' ');
            buf_puts(cur, line + strspn(line, " \t"));
            if (next != NULL)
                continue;
        } else {
            if (cur->len > 0)
                smtpd_check_access_entry(t, cur->data, logical_line, report, ctx);
            buf_reset(cur);
            buf_puts(cur, line + strspn(line, " \t"));
            logical_line = lineno;
            if (next != NULL)
                continue;
        }
        /* The end of the file. */
        if (cur->len > 0)
            smtpd_check_access_entry(t, cur->data, logical_line, report, ctx);
        buf_reset(cur);
    }
    buf_free(&cur);
    mem_free(&text);
    if (t->n > 1)
        qsort(t->v, t->n, sizeof(*t->v), smtpd_check_access_order);
    /* Keep the first of duplicate keys. */
    size_t o = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (o > 0 && strcmp(t->v[o - 1].key, t->v[i].key) == 0) {
            smtpd_check_access_report(report, ctx, t->path, t->v[i].line,
                                      "duplicate key (the first is used)",
                                      t->v[i].key);
            mem_free(&t->v[i].key);
            mem_free(&t->v[i].action);
            continue;
        }
        t->v[o++] = t->v[i];
    }
    t->n = o;
    return t;
}

void smtpd_check_access_free(smtpd_check_table **tp)
{
    smtpd_check_table *t = *tp;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        mem_free(&t->v[i].key);
        mem_free(&t->v[i].action);
    }
    mem_free(&t->v);
    mem_free(&t->path);
    mem_free(tp);
}

const char *smtpd_check_access_get(const smtpd_check_table *t, const char *key,
                                   int *line_r)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* binary search: keys are sorted and unique */
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->v[mid].key, key);
        if (c == 0) {
            if (line_r)
                *line_r = t->v[mid].line;
            return t->v[mid].action;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- lookup keys ---- */

static size_t smtpd_check_access_add(char **keys, size_t n, size_t max,
                                     const char *k, size_t len)
{
    if (n >= max || len == 0)
        return n;
    keys[n] = mem_strndup(k, len);
    smtpd_check_access_lower(keys[n]);
    return n + 1;
}

size_t smtpd_check_access_keys_domain(const char *name, char **keys, size_t max)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--; /* "example.com." is "example.com" */
    size_t n = smtpd_check_access_add(keys, 0, max, name, len);
    if (name[0] == '[')
        return n; /* an address literal has no parents */
    for (size_t i = 0; i < len; i++) {
        if (name[i] != '.' || i + 1 >= len)
            continue;
        n = smtpd_check_access_add(keys, n, max, name + i, len - i);
        n = smtpd_check_access_add(keys, n, max, name + i + 1, len - i - 1);
    }
    return n;
}

size_t smtpd_check_access_keys_addr(const char *ip, char **keys, size_t max)
{
    size_t len = strlen(ip), n = 0;
    char sep = strchr(ip, ':') ? ':' : '.';
    while (len > 0) {
        n = smtpd_check_access_add(keys, n, max, ip, len);
        while (len > 0 && ip[len - 1] != sep)
            len--;
        while (len > 0 && ip[len - 1] == sep)
            len--; /* "2001:db8::" drops to "2001:db8" */
    }
    return n;
}

size_t smtpd_check_access_keys_mail(const char *addr, char **keys, size_t max)
{
    if (*addr == '\0')
        return smtpd_check_access_add(keys, 0, max, "<>", 2);
    const char *at = strrchr(addr, '@');
    size_t ll = at ? (size_t)(at - addr) : strlen(addr);
    const char *delim = var_str("recipient_delimiter");
    size_t base = ll;
    for (size_t i = 1; *delim && i < ll; i++) {
        if (strchr(delim, addr[i]) != NULL) {
            base = i;
            break;
        }
    }
    char tmp[600];
    size_t n = smtpd_check_access_add(keys, 0, max, addr, strlen(addr));
    if (base < ll && at) {
        snprintf(tmp, sizeof(tmp), "%.*s%s", (int)base, addr, at);
        n = smtpd_check_access_add(keys, n, max, tmp, strlen(tmp));
    }
    if (at && at[1])
        n += smtpd_check_access_keys_domain(at + 1, keys + n, max - n);
    snprintf(tmp, sizeof(tmp), "%.*s@", (int)ll, addr);
    n = smtpd_check_access_add(keys, n, max, tmp, strlen(tmp));
    if (base < ll) {
        snprintf(tmp, sizeof(tmp), "%.*s@", (int)base, addr);
        n = smtpd_check_access_add(keys, n, max, tmp, strlen(tmp));
    }
    return n;
}

/* ---- actions ---- */

/* "5.7.1 text": the enhanced code at the start of text, when its class
 * matches the reply code's. */
static const char *smtpd_check_access_dsn(const char *text, int code, char *dsn,
                                          size_t len)
{
    if (text[0] == '0' + code / 100 && text[1] == '.' && isdigit((unsigned char)text[2])) {
        size_t n = strcspn(text, " \t");
        snprintf(dsn, len, "%.*s", (int)n, text);
        return text + n + strspn(text + n, " \t");
    }
    snprintf(dsn, len, "%d.7.1", code / 100);
    return text;
}

static int smtpd_check_access_action(smtpd_check_eval *e, const smtpd_check_table *t,
                                     const char *action, int line, int list)
{
    size_t n = strcspn(action, " \t");
    const char *rest = action + n + strspn(action + n, " \t");
    char word[64];
    snprintf(word, sizeof(word), "%.*s", (int)(n < 63 ? n : 63), action);
    int code = 0;
    bool if_permit = false;
    if (strcasecmp(word, "OK") == 0 && *rest == '\0')
        return SMTPD_CHECK_OK;
    if (strcasecmp(word, "DUNNO") == 0 && *rest == '\0')
        return SMTPD_CHECK_DUNNO;
    if (strcasecmp(word, "REJECT") == 0)
        code = 554;
    else if (strcasecmp(word, "DEFER") == 0)
        code = 450;
    else if (strcasecmp(word, "DEFER_IF_PERMIT") == 0)
        code = 450, if_permit = true;
    else if (n == 3 && (word[0] == '4' || word[0] == '5') && isdigit((unsigned char)word[1]) &&
             isdigit((unsigned char)word[2]))
        code = atoi(word);
    if (code != 0) {
        char dsn[32];
        const char *text = smtpd_check_access_dsn(rest, code, dsn, sizeof(dsn));
        int v = smtpd_check_reject_class(e, list, code, dsn, *text ? text : "Access denied");
        if (!if_permit)
            return v;
        if (e->defer_reply == NULL)
            e->defer_reply = e->reply;
        else
            mem_free(&e->reply);
        e->reply = NULL;
        return SMTPD_CHECK_DUNNO;
    }
    const smtpd_check_op *op = smtpd_check_parse_op(word);
    if (op != NULL && op->arg == SMTPD_CHECK_ARG_NONE && *rest == '\0') {
        smtpd_restr r = {.op = op};
        return op->fn(e, &r);
    }
    msg_warn("access table %s, line %d: unknown action: \"%s\"", t->path, line, action);
    return smtpd_check_reject(e, "451 4.3.5 Server configuration error");
}

/* Look the keys up in order; the first found decides. */
static int smtpd_check_access_keys(smtpd_check_eval *e, const smtpd_restr *r,
                                   char **keys, size_t n, int list)
{
    const smtpd_check_table *t = r->table;
    int v = SMTPD_CHECK_DUNNO;
    if (t == NULL || t->unavailable) {
        v = smtpd_check_reject(e, "451 4.3.5 Server configuration error");
    } else {
        for (size_t i = 0; i < n; i++) {
            int line = 0;
            const char *action = smtpd_check_access_get(t, keys[i], &line);
            if (action != NULL) {
                v = smtpd_check_access_action(e, t, action, line, list);
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        mem_free(&keys[i]);
    return v;
}

int smtpd_check_access_client(smtpd_check_eval *e, const smtpd_restr *r)
{
    char *keys[SMTPD_CHECK_KEYS_MAX];
    size_t n = 0;
    if (strcmp(e->s->name, "unknown") != 0)
        n = smtpd_check_access_keys_domain(e->s->name, keys, SMTPD_CHECK_KEYS_MAX);
    n += smtpd_check_access_keys_addr(e->s->addr, keys + n, SMTPD_CHECK_KEYS_MAX - n);
    return smtpd_check_access_keys(e, r, keys, n, SMTPD_CHECK_CLIENT);
}

int smtpd_check_access_helo(smtpd_check_eval *e, const smtpd_restr *r)
{
    if (e->s->helo == NULL)
        return SMTPD_CHECK_DUNNO;
    char *keys[SMTPD_CHECK_KEYS_MAX];
    size_t n = smtpd_check_access_keys_domain(e->s->helo, keys, SMTPD_CHECK_KEYS_MAX);
    return smtpd_check_access_keys(e, r, keys, n, SMTPD_CHECK_HELO);
}

int smtpd_check_access_sender(smtpd_check_eval *e, const smtpd_restr *r)
{
    char *keys[SMTPD_CHECK_KEYS_MAX];
    size_t n = smtpd_check_access_keys_mail(e->sender, keys, SMTPD_CHECK_KEYS_MAX);
    return smtpd_check_access_keys(e, r, keys, n, SMTPD_CHECK_SENDER);
}

int smtpd_check_access_rcpt(smtpd_check_eval *e, const smtpd_restr *r)
{
    char *keys[SMTPD_CHECK_KEYS_MAX];
    size_t n = smtpd_check_access_keys_mail(e->rcpt, keys, SMTPD_CHECK_KEYS_MAX);
    return smtpd_check_access_keys(e, r, keys, n, SMTPD_CHECK_RECIPIENT);
}
