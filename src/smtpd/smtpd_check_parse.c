/*
 * smtpd_check_parse - the restriction names (a table: name, argument,
 * function), the parsing of the five list parameters, their load at smtpd
 * start and their checks for "postie config check".
 *
 * Names and arguments are Postfix's (postconf(5), "SMTPD ACCESS
 * RESTRICTIONS"); the older names reject_invalid_hostname and
 * reject_non_fqdn_hostname are accepted for the HELO checks, as Postfix
 * still does.  A list is white space and commas; a restriction that takes
 * an argument takes the next element.
 *
 * No open relay (DESIGN.md): as in Postfix, smtpd refuses to start unless
 * smtpd_relay_restrictions or smtpd_recipient_restrictions holds one of
 * reject_unauth_destination, defer_unauth_destination, reject or defer.
 *
 * Does not: evaluate (smtpd_check.c) or parse table files
 * (smtpd_check_access.c); the lists follow no RFC, only postconf(5).
 */
#include "smtpd/smtpd_check_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/msg.h"

smtpd_check_conf smtpd_check_cf;

const char *const smtpd_check_list_names[SMTPD_CHECK_NLISTS] = {
    "smtpd_client_restrictions", "smtpd_helo_restrictions",
    "smtpd_sender_restrictions", "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
};

#define NONE SMTPD_CHECK_ARG_NONE
#define RBL SMTPD_CHECK_ARG_RBL
#define TABLE SMTPD_CHECK_ARG_TABLE
/* clang-format off */
static const smtpd_check_op smtpd_check_ops[] = {
    /* name                            arg    function                      closes dns */
    {"permit",                          NONE,  smtpd_check_permit,           false, false},
    {"reject",                          NONE,  smtpd_check_reject_all,       true,  false},
    {"defer",                           NONE,  smtpd_check_defer_all,        true,  false},
    {"permit_mynetworks",               NONE,  smtpd_check_permit_mynetworks, false, false},
    {"permit_sasl_authenticated",       NONE,  smtpd_check_permit_sasl,      false, false},
    {"reject_unauth_destination",       NONE,  smtpd_check_reject_unauth,    true,  false},
    {"defer_unauth_destination",        NONE,  smtpd_check_defer_unauth,     true,  false},
    {"permit_auth_destination",         NONE,  smtpd_check_permit_auth,      false, false},
    {"reject_unlisted_recipient",       NONE,  smtpd_check_unlisted,         false, false},
    {"reject_non_fqdn_sender",          NONE,  smtpd_check_nonfqdn_sender,   false, false},
    {"reject_non_fqdn_recipient",       NONE,  smtpd_check_nonfqdn_rcpt,     false, false},
    {"reject_non_fqdn_helo_hostname",   NONE,  smtpd_check_nonfqdn_helo,     false, false},
    {"reject_non_fqdn_hostname",        NONE,  smtpd_check_nonfqdn_helo,     false, false},
    {"reject_invalid_helo_hostname",    NONE,  smtpd_check_invalid_helo,     false, false},
    {"reject_invalid_hostname",         NONE,  smtpd_check_invalid_helo,     false, false},
    {"reject_unknown_sender_domain",    NONE,  smtpd_check_dns_unknown_sender, false, true},
    {"reject_unknown_recipient_domain", NONE,  smtpd_check_dns_unknown_rcpt, false, true},
    {"reject_rbl_client",               RBL,   smtpd_check_dns_rbl_client,   false, true},
    {"reject_rhsbl_client",             RBL,   smtpd_check_dns_rhsbl_client, false, true},
    {"reject_rhsbl_helo",               RBL,   smtpd_check_dns_rhsbl_helo,   false, true},
    {"reject_rhsbl_sender",             RBL,   smtpd_check_dns_rhsbl_sender, false, true},
    {"reject_rhsbl_recipient",          RBL,   smtpd_check_dns_rhsbl_rcpt,   false, true},
    {"check_client_access",             TABLE, smtpd_check_access_client,    false, false},
    {"check_helo_access",               TABLE, smtpd_check_access_helo,      false, false},
    {"check_sender_access",             TABLE, smtpd_check_access_sender,    false, false},
    {"check_recipient_access",          TABLE, smtpd_check_access_rcpt,      false, false},
    {NULL, NONE, NULL, false, false},
};
/* clang-format on */
#undef NONE
#undef RBL
#undef TABLE

const smtpd_check_op *smtpd_check_parse_op(const char *name)
{
    for (const smtpd_check_op *op = smtpd_check_ops; op->name; op++)
        if (strcasecmp(op->name, name) == 0)
            return op;
    return NULL;
}

/* A DNS zone: labels of letters, digits, '-' and '_', dots between. */
static bool smtpd_check_parse_zone(const char *z)
{
    size_t n = strlen(z), label = 0;
    if (n == 0 || n > 200 || z[0] == '.' || z[n - 1] == '.')
        return false;
    for (const char *p = z; *p; p++) {
        if (*p == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* before + arg + after as a new string. */
static char *smtpd_check_parse_err(const char *before, const char *arg,
                                   const char *after)
{
    char text[600];
    snprintf(text, sizeof(text), "%s%s%s", before, arg, after);
    return mem_strdup(text);
}

int smtpd_check_parse_list(const char *value, smtpd_check_rlist *out,
                           char **err_r)
{
    char **v = conf_split_list(value);
    size_t n = 0;
    while (v[n])
        n++;
    out->v = mem_zalloc((n + 1) * sizeof(*out->v));
    out->n = 0;
    *err_r = NULL;
    for (size_t i = 0; i < n && *err_r == NULL; i++) {
        const smtpd_check_op *op = smtpd_check_parse_op(v[i]);
        if (op == NULL) {
            *err_r = smtpd_check_parse_err("unknown smtpd restriction: \"", v[i], "\"");
            break;
        }
        smtpd_restr r = {.op = op};
        if (op->arg != SMTPD_CHECK_ARG_NONE) {
            if (i + 1 >= n || smtpd_check_parse_op(v[i + 1]) != NULL) {
                *err_r = smtpd_check_parse_err("restriction ", op->name,
                                               op->arg == SMTPD_CHECK_ARG_RBL
                                                   ? " needs a DNS zone"
                                                   : " needs a table");
                break;
            }
            r.arg = mem_strdup(v[++i]);
        }
        if (op->arg == SMTPD_CHECK_ARG_RBL) {
            /* zone=d.d.d.d: only that answer counts as a listing. */
            char *eq = strchr(r.arg, '=');
            if (eq != NULL) {
                *eq = '\0';
                if (inet_pton(AF_INET, eq + 1, r.want) != 1) {
                    *eq = '=';
                    *err_r = smtpd_check_parse_err("bad DNSBL answer filter in \"",
                                                   r.arg, "\" (want zone=d.d.d.d)");
                    mem_free(&r.arg);
                    break;
                }
                r.has_want = true;
            }
            if (!smtpd_check_parse_zone(r.arg)) {
                *err_r = smtpd_check_parse_err("bad DNS zone \"", r.arg, "\"");
                mem_free(&r.arg);
                break;
            }
        }
        out->v[out->n++] = r;
    }
    conf_free_list(&v);
    return *err_r ? -1 : 0;
}

void smtpd_check_parse_free(smtpd_check_rlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        mem_free(&l->v[i].arg);
        smtpd_check_access_free(&l->v[i].table);
    }
    mem_free(&l->v);
    l->n = 0;
}

bool smtpd_check_parse_closed(const smtpd_check_rlist *relay,
                              const smtpd_check_rlist *rcpt)
{
    for (size_t i = 0; i < relay->n; i++)
        if (relay->v[i].op->closes_relay)
            return true;
    for (size_t i = 0; i < rcpt->n; i++)
        if (rcpt->v[i].op->closes_relay)
            return true;
    return false;
}

/* A reply code parameter: 4XX or 5XX. */
static int smtpd_check_parse_code(const char *name)
{
    long long c = var_int(name);
    if (c < 400 || c > 599)
        msg_fatal("%s: want a code from 400 to 599, not %lld", name, c);
    return (int)c;
}

static const char *const smtpd_check_open_relay =
    "smtpd_relay_restrictions and smtpd_recipient_restrictions: neither "
    "holds reject_unauth_destination, defer_unauth_destination, reject or "
    "defer: that would be an open relay";

/* A bad list: fatal at start; on reload (SIGHUP) smtpd keeps the lists
 * it has, so that a typo and "postie reload" do not stop mail service
 * (master's own reload check knows only postie.conf's value types). */
static void smtpd_check_conf_bad(bool loaded, const char *text)
{
    if (!loaded)
        msg_fatal("%s", text); /* fatal: unknown smtpd restriction: "x" */
    msg_warn("%s: keeping the previous smtpd restrictions", text);
}

void smtpd_check_conf_load(void)
{
    static bool loaded;
    smtpd_check_conf *cf = &smtpd_check_cf;
    smtpd_check_rlist lists[SMTPD_CHECK_NLISTS];
    char *err = NULL;
    int l = 0;
    for (; l < SMTPD_CHECK_NLISTS && err == NULL; l++)
        smtpd_check_parse_list(var_str(smtpd_check_list_names[l]), &lists[l], &err);
    if (err == NULL && !smtpd_check_parse_closed(&lists[SMTPD_CHECK_RELAY],
                                                 &lists[SMTPD_CHECK_RECIPIENT]))
        err = mem_strdup(smtpd_check_open_relay);
    if (err != NULL) {
        while (l-- > 0)
            smtpd_check_parse_free(&lists[l]);
        smtpd_check_conf_bad(loaded, err);
        mem_free(&err);
        return;
    }
    bool uses_dns = false;
    for (l = 0; l < SMTPD_CHECK_NLISTS; l++) {
        smtpd_check_parse_free(&cf->lists[l]);
        cf->lists[l] = lists[l];
        for (size_t i = 0; i < cf->lists[l].n; i++) {
            smtpd_restr *r = &cf->lists[l].v[i];
            uses_dns = uses_dns || r->op->dns;
            if (r->op->arg == SMTPD_CHECK_ARG_TABLE) {
                /* An unreadable table answers 451 4.3.5 (Postfix's "server
                 * configuration error") rather than being skipped: a
                 * missing blacklist must not let mail through. */
                r->table = smtpd_check_access_load(r->arg, NULL, NULL, &err);
                if (err != NULL) {
                    msg_warn("%s: %s", smtpd_check_list_names[l], err);
                    mem_free(&err);
                }
            }
        }
    }
    cf->uses_dns = uses_dns;
    cf->reject_unlisted_recipient = var_bool("smtpd_reject_unlisted_recipient");
    cf->unknown_address_code = smtpd_check_parse_code("unknown_address_reject_code");
    cf->rbl_code = smtpd_check_parse_code("maps_rbl_reject_code");
    loaded = true;
}

/* ---- postie config check ---- */

typedef struct smtpd_check_cfctx {
    smtpd_check_report_fn report;
    void *ctx;
    int problems;
} smtpd_check_cfctx;

static void smtpd_check_config_report(const char *path, int line,
                                      const char *text, void *ctx)
{
    smtpd_check_cfctx *c = ctx;
    c->problems++;
    c->report(path, line, text, c->ctx);
}

int smtpd_check_config(smtpd_check_report_fn report, void *ctx)
{
    smtpd_check_cfctx c = {report, ctx, 0};
    char *path = mem_alloc(strlen(mail_conf_dir()) + sizeof(MAIL_CONF_FILE) + 2);
    sprintf(path, "%s/%s", mail_conf_dir(), MAIL_CONF_FILE);
    conf *file = conf_load(path, NULL, NULL);
    smtpd_check_rlist lists[SMTPD_CHECK_NLISTS];
    int line_of[SMTPD_CHECK_NLISTS];
    for (int l = 0; l < SMTPD_CHECK_NLISTS; l++) {
        const char *name = smtpd_check_list_names[l];
        const conf_entry *ce = file ? conf_find(file, name) : NULL;
        line_of[l] = ce ? ce->line : 0;
        char *err = NULL;
        memset(&lists[l], 0, sizeof(lists[l]));
        if (smtpd_check_parse_list(var_str(name), &lists[l], &err) < 0) {
            char text[800];
            snprintf(text, sizeof(text), "%s: %s", name, err);
            smtpd_check_config_report(path, line_of[l], text, &c);
            mem_free(&err);
        }
        for (size_t i = 0; i < lists[l].n; i++) {
            smtpd_restr *r = &lists[l].v[i];
            if (r->op->arg != SMTPD_CHECK_ARG_TABLE)
                continue;
            /* Bad lines are reported at the table's own file and line. */
            r->table = smtpd_check_access_load(r->arg, smtpd_check_config_report, &c, &err);
            if (err != NULL) {
                char text[800];
                snprintf(text, sizeof(text), "%s: %s", name, err);
                smtpd_check_config_report(path, line_of[l], text, &c);
                mem_free(&err);
            }
        }
    }
    if (!smtpd_check_parse_closed(&lists[SMTPD_CHECK_RELAY], &lists[SMTPD_CHECK_RECIPIENT])) {
        int line = line_of[SMTPD_CHECK_RELAY] ? line_of[SMTPD_CHECK_RELAY]
                                               : line_of[SMTPD_CHECK_RECIPIENT];
        smtpd_check_config_report(path, line, smtpd_check_open_relay, &c);
    }
    for (int l = 0; l < SMTPD_CHECK_NLISTS; l++)
        smtpd_check_parse_free(&lists[l]);
    const char *codes[] = {"unknown_address_reject_code", "maps_rbl_reject_code"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        long long v = conf_parse_int(var_str(codes[i]));
        if (v < 400 || v > 599) {
            const conf_entry *ce = file ? conf_find(file, codes[i]) : NULL;
            char text[300];
            snprintf(text, sizeof(text), "%s = %s: want a code from 400 to 599",
                     codes[i], var_str(codes[i]));
            smtpd_check_config_report(path, ce ? ce->line : 0, text, &c);
        }
    }
    conf_free(&file);
    mem_free(&path);
    return c.problems;
}
