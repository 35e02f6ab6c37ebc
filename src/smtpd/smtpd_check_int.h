/*
 * smtpd_check_int - what the smtpd_check*.c files share (not for the rest
 * of smtpd; see smtpd_check.h for the module).
 */
#ifndef POSTIE_SMTPD_SMTPD_CHECK_INT_H
#define POSTIE_SMTPD_SMTPD_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtpd/smtpd.h"
#include "smtpd/smtpd_check.h"
#include "smtpd/smtpd_dns.h"

/* What a restriction says. */
#define SMTPD_CHECK_DUNNO 0  /* no opinion: the next restriction */
#define SMTPD_CHECK_OK 1     /* permit: the next list */
#define SMTPD_CHECK_REJECT 2 /* reject or defer: e->reply says how */
#define SMTPD_CHECK_WAIT 3   /* a DNS question went out */

/* The lists, in evaluation order. */
enum smtpd_check_list {
    SMTPD_CHECK_CLIENT, SMTPD_CHECK_HELO, SMTPD_CHECK_SENDER,
    SMTPD_CHECK_RELAY, SMTPD_CHECK_RECIPIENT, SMTPD_CHECK_NLISTS
};
extern const char *const smtpd_check_list_names[SMTPD_CHECK_NLISTS];

/* One evaluation for one recipient. */
typedef struct smtpd_check_eval {
    smtpd_session *s;
    const char *rcpt;      /* the recipient */
    const char *sender;    /* "" for <> */
    int list;              /* list under evaluation (reply class) */
    char *reply;           /* the reply of a reject */
    char *defer_reply;     /* defer_if_permit: replaces an accept */
    bool unlisted_done;    /* reject_unlisted_recipient ran */
    bool may_wait;         /* questions may be sent */
} smtpd_check_eval;

typedef struct smtpd_restr smtpd_restr;
typedef int (*smtpd_check_fn)(smtpd_check_eval *e, const smtpd_restr *r);

enum smtpd_check_arg {
    SMTPD_CHECK_ARG_NONE,
    SMTPD_CHECK_ARG_RBL,    /* zone[=d.d.d.d] */
    SMTPD_CHECK_ARG_TABLE,  /* [hash:]path */
};

typedef struct smtpd_check_op {
    const char *name;
    enum smtpd_check_arg arg;
    smtpd_check_fn fn;
    bool closes_relay;      /* counts against an open relay */
    bool dns;               /* may ask the DNS */
} smtpd_check_op;

typedef struct smtpd_check_table smtpd_check_table;

struct smtpd_restr {
    const smtpd_check_op *op;
    char *arg;              /* zone or table as written */
    bool has_want;          /* reject_rbl_client zone=127.0.0.2 */
    unsigned char want[4];
    smtpd_check_table *table;
};

typedef struct smtpd_check_rlist {
    smtpd_restr *v;
    size_t n;
} smtpd_check_rlist;

/* ---- smtpd_check_parse.c ---- */
/* Look a restriction up by name (case-insensitive); NULL when unknown. */
const smtpd_check_op *smtpd_check_parse_op(const char *name);
/* Parse a list value ("permit_mynetworks, reject_rbl_client zen.example").
 * Returns 0, or -1 with *err_r (new string); *out is set either way (the
 * good part) and freed with smtpd_check_parse_free.  Tables are not read. */
int smtpd_check_parse_list(const char *value, smtpd_check_rlist *out,
                           char **err_r);
void smtpd_check_parse_free(smtpd_check_rlist *l);
/* Does some list hold a restriction that refuses other domains? */
bool smtpd_check_parse_closed(const smtpd_check_rlist *relay,
                              const smtpd_check_rlist *rcpt);

/* The configuration in force. */
typedef struct smtpd_check_conf {
    smtpd_check_rlist lists[SMTPD_CHECK_NLISTS];
    bool uses_dns;          /* some restriction may ask the DNS */
    bool reject_unlisted_recipient;
    int unknown_address_code;   /* unknown_address_reject_code */
    int rbl_code;               /* maps_rbl_reject_code */
} smtpd_check_conf;
extern smtpd_check_conf smtpd_check_cf;

/* ---- smtpd_check.c ---- */
/* Set e->reply to "CODE X.Y.Z <name>: CLASS rejected: TEXT" for the list
 * under evaluation (class "Client host", "Helo command", ...). */
int smtpd_check_reject_class(smtpd_check_eval *e, int list, int code,
                             const char *dsn, const char *text);
/* Set e->reply from a format; returns SMTPD_CHECK_REJECT. */
int smtpd_check_reject(smtpd_check_eval *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The name a list's replies carry: namaddr, helo, sender, recipient. */
const char *smtpd_check_reply_name(const smtpd_check_eval *e, int list);
/* Is domain a fully-qualified name or an address literal? */
bool smtpd_check_fqdn(const char *domain);
/* The domain part of an address ("" when none), in buf. */
const char *smtpd_check_domain(const char *addr, char *out, size_t len);
/* Restrictions without DNS or tables. */
int smtpd_check_permit(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_reject_all(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_defer_all(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_permit_mynetworks(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_permit_sasl(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_reject_unauth(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_defer_unauth(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_permit_auth(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_unlisted(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_nonfqdn_sender(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_nonfqdn_rcpt(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_nonfqdn_helo(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_invalid_helo(smtpd_check_eval *e, const smtpd_restr *r);

/* ---- smtpd_check_dns.c ---- */
typedef struct smtpd_check_answer smtpd_check_answer;
/* What a session keeps (s->check). */
typedef struct smtpd_check_state {
    /* The verdict smtpd_check_wait found for the RCPT about to run. */
    char *ready_addr;
    int ready_result;
    char *ready_reply;
    /* This session's DNS answers: a client's DNSBL listing does not
     * change between its recipients. */
    smtpd_check_answer *cache;
    size_t ncache;
    bool in_eval;   /* answers of a RCPT still coming: keep the cache */
    /* The question under way. */
    int fd;
    uint64_t timer;
    uint16_t id;
    char qname[SMTPD_DNS_NAME_MAX];
    int qtype;
} smtpd_check_state;
/* The session's state, made on first use. */
smtpd_check_state *smtpd_check_state_of(smtpd_session *s);
#define SMTPD_CHECK_DNS_FOUND 0
#define SMTPD_CHECK_DNS_NONE 1  /* NXDOMAIN or no record of the type */
#define SMTPD_CHECK_DNS_TEMP 2  /* SERVFAIL, time limit, no name server */
/* Seconds a name server gets per question. */
#define SMTPD_CHECK_DNS_TIMEOUT 2.0
struct smtpd_check_answer {
    char *name;
    int type;
    int status;
    int n;
    smtpd_dns_rr rr[4];
};
/* The answer to (name, type) from the session's cache; else a question
 * is sent and SMTPD_CHECK_WAIT returned (or, when no question can be
 * sent, a temporary failure is the answer). */
int smtpd_check_dns_lookup(smtpd_check_eval *e, const char *name, int type,
                           const smtpd_check_answer **a_r);
/* Forget the session's answers. */
void smtpd_check_dns_clear(smtpd_check_state *st);
/* Answers a session keeps: the few names of its client and its senders'
 * and recipients' domains; past this the cache starts over at the next
 * recipient. */
#define SMTPD_CHECK_CACHE_MAX 32
/* Put an answer into a session's cache (tests). */
void smtpd_check_dns_store(smtpd_session *s, const char *name, int type,
                           int status, const smtpd_dns_rr *rr, int n);
/* "2.0.0.127.zen.example" for 127.0.0.2 (IPv6: nibbles, RFC 5782
 * section 2.4).  0, or -1 when addr does not parse or does not fit. */
int smtpd_check_dns_rbl_name(const char *addr, const char *zone, char *out,
                             size_t outlen);
int smtpd_check_dns_rbl_client(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_dns_rhsbl_client(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_dns_rhsbl_helo(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_dns_rhsbl_sender(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_dns_rhsbl_rcpt(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_dns_unknown_sender(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_dns_unknown_rcpt(smtpd_check_eval *e, const smtpd_restr *r);

/* ---- smtpd_check_access.c ---- */
/* Read a table file ("hash:" and "texthash:" prefixes are allowed: the
 * text is read either way).  Problems go to report (may be NULL) with the
 * file's line; an unreadable file gives a table that answers every
 * lookup with 451 4.3.5.  Returns the table; *err_r (new string or NULL)
 * says why the file could not be read. */
smtpd_check_table *smtpd_check_access_load(const char *spec,
                                           smtpd_check_report_fn report,
                                           void *ctx, char **err_r);
void smtpd_check_access_free(smtpd_check_table **tp);
/* The action of key exactly (lower case), or NULL. */
const char *smtpd_check_access_get(const smtpd_check_table *t,
                                   const char *key, int *line_r);
/* Does the action parse?  NULL when good, else a static text. */
const char *smtpd_check_access_bad_action(const char *action);
int smtpd_check_access_client(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_access_helo(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_access_sender(smtpd_check_eval *e, const smtpd_restr *r);
int smtpd_check_access_rcpt(smtpd_check_eval *e, const smtpd_restr *r);
/* The lookup keys of a name or address, in order (tests): returns how
 * many were written to keys (each a new string). */
size_t smtpd_check_access_keys_domain(const char *name, char **keys,
                                      size_t max);
size_t smtpd_check_access_keys_addr(const char *ip, char **keys, size_t max);
size_t smtpd_check_access_keys_mail(const char *addr, char **keys,
                                    size_t max);

#endif
