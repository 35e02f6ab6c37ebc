/*
 * logtrace - the correlation engine: lines into messages, messages into
 * groups (see logtrace.h for what it follows).
 *
 * Data structures, all with O(1) work per line:
 *   - messages in a chained hash table keyed by "host\x1finstance\x1fqid";
 *   - a second chain through the same messages keyed by Message-ID (hops);
 *   - smtpd sessions in a small hash keyed by "host\x1fpid";
 *   - qmail delivery numbers and bounce qp in fixed-size direct-mapped
 *     tables (qmail runs at most a few hundred deliveries at once, so a
 *     collision means a very old entry and overwriting it is right);
 *   - two eviction lists of unmatched messages, open and finished, oldest
 *     first.  Matched messages are on no list and are never dropped.
 * The only allocations are per message and per session, and the amortised
 * growth of a message's line store; never per line.
 */
#include "logtool/logtrace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

#define LOGTRACE_KEY_MAX 600
#define LOGTRACE_MSG_TEXT_MAX (1024 * 1024)
#define LOGTRACE_SESSION_CAP 65536
#define LOGTRACE_QMAIL_SLOTS 4096
#define LOGTRACE_QP_SLOTS 256

typedef struct logtrace_session {
    char *key;
    char *connect;              /* the "connect from" line */
    size_t connect_len;
    long long time;
    int usec;
    char *qids[8];              /* messages received in this session */
    int nq;
    struct logtrace_session *hnext;
    struct logtrace_session *lprev, *lnext;
} logtrace_session;

typedef struct logtrace_list {
    logtrace_msg *head, *tail;
    size_t n;
} logtrace_list;

typedef struct logtrace_qslot {
    long no;                    /* qmail delivery number or qp, -1 free */
    char key[160];              /* qmail keys are short: host, "qmail", number */
} logtrace_qslot;

struct logtrace {
    char *query;                /* NULL: match nothing */
    size_t qlen;
    char *query_id;             /* query without <> */
    size_t qidlen;
    bool query_domain;          /* "@example.com" */

    logtrace_msg **tab;         /* by key */
    size_t tab_size, tab_n;
    logtrace_msg **mtab;        /* by Message-ID */
    size_t mtab_size;
    logtrace_session **stab;
    size_t stab_size, stab_n;
    logtrace_session *s_head, *s_tail;

    logtrace_list open, done;
    size_t open_cap, done_cap;
    logtrace_msg *x_head;       /* every matched message still held */
    logtrace_emit_fn emit_fn;
    void *emit_ctx;

    logtrace_qslot *qmail_deliv;
    logtrace_qslot *qmail_qp;

    char instances[16][48];     /* syslog names seen: for "queued as" lookups */
    int ninst;

    unsigned long seq;
    logtrace_done_fn done_fn;
    void *done_ctx;
    logtrace_stats st;
};

/* ---- hashing ---------------------------------------------------------------- */

static size_t logtrace_hash(const char *p, size_t n)
{
    /* FNV-1a: short keys, good spread, no setup. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h ^ (h >> 29));
}

static size_t logtrace_keycat(char *k, size_t off, const char *p, size_t n)
{
    if (n > 200)
        n = 200;
    memcpy(k + off, p, n);
    return off + n;
}

/* The instance: Postfix's syslog name up to the first '/', else the format. */
static logstr logtrace_instance(const logline *ll)
{
    if ((ll->format == LOGF_POSTFIX || ll->format == LOGF_POSTIE) && ll->sysname.p != NULL) {
        const char *sl = memchr(ll->sysname.p, '/', ll->sysname.n);
        logstr s = {ll->sysname.p, sl ? (size_t)(sl - ll->sysname.p) : ll->sysname.n};
        return s;
    }
    const char *f = logline_format_name(ll->format);
    logstr s = {f, strlen(f)};
    return s;
}

static size_t logtrace_make_key(char *k, const logline *ll, logstr qid)
{
    size_t n = 0;
    if (ll->host.p != NULL)
        n = logtrace_keycat(k, n, ll->host.p, ll->host.n);
    k[n++] = '\x1f';
    logstr inst = logtrace_instance(ll);
    n = logtrace_keycat(k, n, inst.p, inst.n);
    k[n++] = '\x1f';
    n = logtrace_keycat(k, n, qid.p, qid.n);
    k[n] = '\0';
    return n;
}

/* ---- lists ------------------------------------------------------------------ */

static void logtrace_list_remove(logtrace *t, logtrace_msg *m)
{
    logtrace_list *l = m->lru == 1 ? &t->open : m->lru == 2 ? &t->done : NULL;
    if (l == NULL)
        return;
    if (m->lprev)
        m->lprev->lnext = m->lnext;
    else
        l->head = m->lnext;
    if (m->lnext)
        m->lnext->lprev = m->lprev;
    else
        l->tail = m->lprev;
    m->lprev = m->lnext = NULL;
    m->lru = 0;
    l->n--;
}

static void logtrace_list_append(logtrace *t, logtrace_msg *m, int which)
{
    logtrace_list *l = which == 1 ? &t->open : &t->done;
    m->lru = which;
    m->lnext = NULL;
    m->lprev = l->tail;
    if (l->tail)
        l->tail->lnext = m;
    else
        l->head = m;
    l->tail = m;
    l->n++;
}

/* ---- groups ----------------------------------------------------------------- */

static void logtrace_x_add(logtrace *t, logtrace_msg *m)
{
    if (m->in_x)
        return;
    m->in_x = true;
    m->xprev = NULL;
    m->xnext = t->x_head;
    if (t->x_head)
        t->x_head->xprev = m;
    t->x_head = m;
}

static void logtrace_x_remove(logtrace *t, logtrace_msg *m)
{
    if (!m->in_x)
        return;
    if (m->xprev)
        m->xprev->xnext = m->xnext;
    else
        t->x_head = m->xnext;
    if (m->xnext)
        m->xnext->xprev = m->xprev;
    m->in_x = false;
}

/*
 * A group matched: its members are kept.  Open ones leave the open list (the
 * open cap never drops them); finished ones stay on the finished list, whose
 * eviction hands a fully finished group to the emit function.
 */
static void logtrace_group_match(logtrace *t, logtrace_group *g)
{
    if (g->matched)
        return;
    g->matched = true;
    for (logtrace_msg *m = g->head; m; m = m->gnext) {
        logtrace_x_add(t, m);
        if (m->lru == 1)
            logtrace_list_remove(t, m);
    }
}

static void logtrace_group_add(logtrace_group *g, logtrace_msg *m)
{
    m->group = g;
    m->gprev = NULL;
    m->gnext = g->head;
    if (g->head)
        g->head->gprev = m;
    g->head = m;
    g->n++;
    if (m->seq < g->seq)
        g->seq = m->seq;
}

static void logtrace_union(logtrace *t, logtrace_msg *a, logtrace_msg *b)
{
    logtrace_group *ga = a->group, *gb = b->group;
    if (ga == gb)
        return;
    if (ga->n < gb->n) {
        logtrace_group *x = ga;
        ga = gb;
        gb = x;
    }
    bool matched = ga->matched || gb->matched;
    logtrace_msg *m = gb->head;
    while (m) {
        logtrace_msg *next = m->gnext;
        logtrace_group_add(ga, m);
        m = next;
    }
    mem_free(&gb);
    if (matched) {
        ga->matched = false;
        logtrace_group_match(t, ga);
    }
}

/* ---- messages --------------------------------------------------------------- */

static void logtrace_grow(logtrace *t)
{
    size_t nsize = t->tab_size * 2;
    logtrace_msg **ntab = mem_zalloc(nsize * sizeof(*ntab));
    for (size_t i = 0; i < t->tab_size; i++) {
        logtrace_msg *m = t->tab[i];
        while (m) {
            logtrace_msg *next = m->hnext;
            size_t h = m->hash & (nsize - 1);
            m->hnext = ntab[h];
            if (m->hnext)
                m->hnext->hpp = &m->hnext;
            ntab[h] = m;
            m->hpp = &ntab[h];
            m = next;
        }
    }
    mem_free(&t->tab);
    t->tab = ntab;
    t->tab_size = nsize;
    /* The Message-ID table grows with it: rebuild its chains. */
    logtrace_msg **nm = mem_zalloc(nsize * sizeof(*nm));
    for (size_t i = 0; i < nsize; i++)
        for (logtrace_msg *m = ntab[i]; m; m = m->hnext) {
            if (!m->in_msgid)
                continue;
            size_t h = m->mhash & (nsize - 1);
            m->mnext = nm[h];
            if (m->mnext)
                m->mnext->mpp = &m->mnext;
            nm[h] = m;
            m->mpp = &nm[h];
        }
    mem_free(&t->mtab);
    t->mtab = nm;
    t->mtab_size = nsize;
}

static logtrace_msg *logtrace_find_h(logtrace *t, const char *key, size_t n, size_t hash)
{
    for (logtrace_msg *m = t->tab[hash & (t->tab_size - 1)]; m; m = m->hnext)
        if (m->hash == hash && m->keylen == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

static logtrace_msg *logtrace_find(logtrace *t, const char *key, size_t n)
{
    return logtrace_find_h(t, key, n, logtrace_hash(key, n));
}

/* Out of both chains in O(1): each message knows who points at it. */
static void logtrace_unhash(logtrace *t, logtrace_msg *m)
{
    if (m->hpp != NULL) {
        *m->hpp = m->hnext;
        if (m->hnext)
            m->hnext->hpp = m->hpp;
        m->hpp = NULL;
        m->hnext = NULL;
        t->tab_n--;
    }
    if (m->in_msgid) {
        *m->mpp = m->mnext;
        if (m->mnext)
            m->mnext->mpp = m->mpp;
        m->mpp = NULL;
        m->mnext = NULL;
        m->in_msgid = false;
    }
}

static logtrace_msg *logtrace_new_msg(logtrace *t, const char *key, size_t n,
                                      const logline *ll)
{
    if (t->tab_n >= t->tab_size)
        logtrace_grow(t);
    logtrace_msg *m = mem_zalloc(sizeof(*m));
    /* One allocation: "key\0host\0instance\0" (fewer mallocs per message). */
    const char *e1 = memchr(key, '\x1f', n);
    const char *e2 = e1 ? memchr(e1 + 1, '\x1f', (size_t)(key + n - e1 - 1)) : NULL;
    size_t hn = e1 ? (size_t)(e1 - key) : 0;
    size_t in = e1 && e2 ? (size_t)(e2 - e1 - 1) : 0;
    m->key = mem_alloc(n + 1 + hn + 1 + in + 1);
    memcpy(m->key, key, n);
    m->key[n] = '\0';
    m->keylen = n;
    m->hash = logtrace_hash(key, n);
    m->host = m->key + n + 1;
    memcpy(m->host, key, hn);
    m->host[hn] = '\0';
    m->instance = m->host + hn + 1;
    if (in)
        memcpy(m->instance, e1 + 1, in);
    m->instance[in] = '\0';
    m->qid = e2 ? m->key + (e2 - key) + 1 : m->key;
    m->format = ll->format;
    m->seq = ++t->seq;
    m->nrcpt = -1;
    m->first_time = m->last_time = ll->time;
    size_t h = m->hash & (t->tab_size - 1);
    m->hnext = t->tab[h];
    if (m->hnext)
        m->hnext->hpp = &m->hnext;
    t->tab[h] = m;
    m->hpp = &t->tab[h];
    t->tab_n++;
    logtrace_group *g = mem_zalloc(sizeof(*g));
    g->seq = m->seq;
    logtrace_group_add(g, m);
    logtrace_list_append(t, m, 1);
    t->st.messages++;
    return m;
}

static void logtrace_free_msg(logtrace_msg **mp)
{
    logtrace_msg *m = *mp;
    mem_free(&m->key);
    mem_free(&m->msgid);
    mem_free(&m->parent);
    mem_free(&m->text);
    mem_free(&m->steps);
    mem_free(mp);
}

/* Drop a message: out of every table, list and group. */
static void logtrace_evict(logtrace *t, logtrace_msg *m)
{
    logtrace_unhash(t, m);
    logtrace_list_remove(t, m);
    logtrace_x_remove(t, m);
    logtrace_group *g = m->group;
    if (m->gprev)
        m->gprev->gnext = m->gnext;
    else
        g->head = m->gnext;
    if (m->gnext)
        m->gnext->gprev = m->gprev;
    if (--g->n == 0)
        mem_free(&g);
    logtrace_free_msg(&m);
}

void logtrace_forget(logtrace *t, logtrace_msg *m)
{
    if (m->group->matched)
        return;
    logtrace_evict(t, m);
}

static void logtrace_add_raw(logtrace_msg *m, const char *p, size_t n,
                             long long time, int usec)
{
    if (m->text_len + n + 1 > LOGTRACE_MSG_TEXT_MAX) {
        m->dropped++;
        return;
    }
    if (m->text_len + n + 1 > m->text_cap) {
        size_t c = m->text_cap ? m->text_cap * 2 : 512;
        while (c < m->text_len + n + 1)
            c *= 2;
        m->text = mem_realloc(m->text, c);
        m->text_cap = c;
    }
    if (m->nsteps == m->steps_cap) {
        m->steps_cap = m->steps_cap ? m->steps_cap * 2 : 8;
        m->steps = mem_realloc(m->steps, m->steps_cap * sizeof(*m->steps));
    }
    logtrace_step *s = &m->steps[m->nsteps++];
    s->off = (uint32_t)m->text_len;
    s->len = (uint32_t)n;
    s->time = time;
    s->usec = usec;
    memcpy(m->text + m->text_len, p, n);
    m->text_len += n;
    m->text[m->text_len++] = '\n';
    if (time >= 0) {
        if (m->first_time < 0)
            m->first_time = time;
        m->last_time = time;
    }
}

static void logtrace_add_line(logtrace *t, logtrace_msg *m, const logline *ll)
{
    logtrace_add_raw(m, ll->raw.p, ll->raw.n, ll->time, ll->usec);
    if (m->lru == 1) {
        /* Most recently active goes last: the open cap drops the stalest. */
        logtrace_list_remove(t, m);
        logtrace_list_append(t, m, 1);
    }
}

static void logtrace_mark_done(logtrace *t, logtrace_msg *m)
{
    if (m->done)
        return;
    m->done = true;
    if (m->lru == 1)
        logtrace_list_remove(t, m);
    if (m->lru == 0)
        logtrace_list_append(t, m, 2);
    if (t->done_fn != NULL)
        t->done_fn(t, m, t->done_ctx);
}

/* A key reused (qmail inode numbers, short Postfix IDs): retire the old. */
static void logtrace_retire(logtrace *t, logtrace_msg *m)
{
    if (!m->group->matched) {
        logtrace_evict(t, m);
        return;
    }
    /* Out of the tables, still held (matched list, finished list). */
    logtrace_unhash(t, m);
}

/*
 * Record a message's Message-ID.  The table keeps only the latest message
 * per Message-ID (older ones drop out of the chain), so chains stay as
 * short as the number of distinct IDs even when some software reuses one
 * ID for everything.  For the same reason a hop is only linked when the two
 * messages are close in time and their groups small: real hops on one host
 * follow each other within seconds.
 */
#define LOGTRACE_HOP_WINDOW 900
#define LOGTRACE_HOP_GROUP_MAX 32

static void logtrace_set_msgid(logtrace *t, logtrace_msg *m, logstr id)
{
    if (m->msgid != NULL || id.n == 0 || id.n > 998)
        return;
    m->msgid = mem_strndup(id.p, id.n);
    m->mhash = logtrace_hash(id.p, id.n);
    size_t h = m->mhash & (t->mtab_size - 1);
    for (logtrace_msg **pp = &t->mtab[h]; *pp; pp = &(*pp)->mnext) {
        logtrace_msg *o = *pp;
        if (o == m || o->mhash != m->mhash || strcmp(o->msgid, m->msgid) != 0 ||
            strcmp(o->host, m->host) != 0)
            continue;
        bool near = o->last_time < 0 || m->first_time < 0 ||
                    (m->first_time - o->last_time <= LOGTRACE_HOP_WINDOW &&
                     o->first_time - m->first_time <= LOGTRACE_HOP_WINDOW);
        if (near && o->group->n + m->group->n <= LOGTRACE_HOP_GROUP_MAX) {
            logtrace_union(t, o, m);
            if (m->parent == NULL && o->seq < m->seq) {
                m->parent = mem_strdup(o->qid);
                m->link = "hop";
            }
        }
        /* The newer message takes the older's place in the table. */
        *pp = o->mnext;
        if (o->mnext)
            o->mnext->mpp = pp;
        o->mnext = NULL;
        o->mpp = NULL;
        o->in_msgid = false;
        break;
    }
    m->mnext = t->mtab[h];
    if (m->mnext)
        m->mnext->mpp = &m->mnext;
    t->mtab[h] = m;
    m->mpp = &t->mtab[h];
    m->in_msgid = true;
}

static logtrace_msg *logtrace_find_msgid(logtrace *t, logstr id)
{
    if (id.n == 0)
        return NULL;
    size_t hash = logtrace_hash(id.p, id.n);
    logtrace_msg *best = NULL;
    for (logtrace_msg *o = t->mtab[hash & (t->mtab_size - 1)]; o; o = o->mnext)
        if (o->mhash == hash && strlen(o->msgid) == id.n && memcmp(o->msgid, id.p, id.n) == 0)
            if (best == NULL || o->seq > best->seq)
                best = o; /* the last hop is the one that delivered */
    return best;
}

/* ---- sessions --------------------------------------------------------------- */

static size_t logtrace_session_key(char *k, const logline *ll)
{
    size_t n = 0;
    if (ll->host.p != NULL)
        n = logtrace_keycat(k, n, ll->host.p, ll->host.n);
    k[n++] = '\x1f';
    /* the pid in decimal, by hand: this runs for every smtpd line */
    char d[24];
    int i = 0;
    unsigned long v = ll->pid < 0 ? 0 : (unsigned long)ll->pid;
    do
        d[i++] = (char)('0' + v % 10);
    while ((v /= 10) != 0 && i < 20);
    while (i > 0)
        k[n++] = d[--i];
    k[n] = '\0';
    return n;
}

static logtrace_session *logtrace_session_find(logtrace *t, const char *k, size_t n)
{
    size_t h = logtrace_hash(k, n) & (t->stab_size - 1);
    for (logtrace_session *s = t->stab[h]; s; s = s->hnext)
        if (strcmp(s->key, k) == 0)
            return s;
    return NULL;
}

static void logtrace_session_free(logtrace *t, logtrace_session *s)
{
    size_t h = logtrace_hash(s->key, strlen(s->key)) & (t->stab_size - 1);
    for (logtrace_session **pp = &t->stab[h]; *pp; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            break;
        }
    if (s->lprev)
        s->lprev->lnext = s->lnext;
    else
        t->s_head = s->lnext;
    if (s->lnext)
        s->lnext->lprev = s->lprev;
    else
        t->s_tail = s->lprev;
    for (int i = 0; i < s->nq; i++)
        mem_free(&s->qids[i]);
    mem_free(&s->key);
    mem_free(&s->connect);
    mem_free(&s);
    t->stab_n--;
}

static void logtrace_session_open(logtrace *t, const logline *ll)
{
    char k[LOGTRACE_KEY_MAX];
    size_t n = logtrace_session_key(k, ll);
    logtrace_session *s = logtrace_session_find(t, k, n);
    if (s != NULL)
        logtrace_session_free(t, s); /* pid reused: the old one ended unlogged */
    if (t->stab_n >= LOGTRACE_SESSION_CAP)
        logtrace_session_free(t, t->s_head);
    s = mem_zalloc(sizeof(*s));
    s->key = mem_strndup(k, n);
    s->connect = mem_strndup(ll->raw.p, ll->raw.n);
    s->connect_len = ll->raw.n;
    s->time = ll->time;
    s->usec = ll->usec;
    size_t h = logtrace_hash(k, n) & (t->stab_size - 1);
    s->hnext = t->stab[h];
    t->stab[h] = s;
    s->lprev = t->s_tail;
    if (t->s_tail)
        t->s_tail->lnext = s;
    else
        t->s_head = s;
    t->s_tail = s;
    t->stab_n++;
    t->st.sessions++;
}

/* ---- qmail tables ------------------------------------------------------------- */

/* The qmail tables, made on the first qmail line. */
static void logtrace_qmail_init(logtrace *t)
{
    if (t->qmail_deliv != NULL)
        return;
    t->qmail_deliv = mem_alloc(LOGTRACE_QMAIL_SLOTS * sizeof(logtrace_qslot));
    t->qmail_qp = mem_alloc(LOGTRACE_QP_SLOTS * sizeof(logtrace_qslot));
    for (size_t i = 0; i < LOGTRACE_QMAIL_SLOTS; i++)
        t->qmail_deliv[i].no = -1;
    for (size_t i = 0; i < LOGTRACE_QP_SLOTS; i++)
        t->qmail_qp[i].no = -1;
}

static void logtrace_qslot_put(logtrace_qslot *tab, size_t size, long no,
                               const char *key)
{
    logtrace_qslot *s = &tab[(size_t)no % size];
    s->no = no;
    snprintf(s->key, sizeof(s->key), "%s", key);
}

static const char *logtrace_qslot_get(logtrace_qslot *tab, size_t size, long no)
{
    logtrace_qslot *s = &tab[(size_t)no % size];
    return s->no == no ? s->key : NULL;
}

/* ---- matching ------------------------------------------------------------------ */

static bool logtrace_ieq(logstr s, const char *q, size_t n)
{
    return s.p != NULL && s.n == n && strncasecmp(s.p, q, n) == 0;
}

static bool logtrace_domain(logstr s, const char *q, size_t n)
{
    return s.p != NULL && s.n > n && strncasecmp(s.p + s.n - n, q, n) == 0;
}

static bool logtrace_match(logtrace *t, const logline *ll)
{
    if (t->query == NULL || t->qidlen == 0)
        return false;
    const char *q = t->query_id;
    size_t n = t->qidlen;
    if (t->query_domain)
        return logtrace_domain(ll->from, q, n) || logtrace_domain(ll->to, q, n) ||
               logtrace_domain(ll->orig_to, q, n);
    if (ll->queue_id.n == n && memcmp(ll->queue_id.p, q, n) == 0)
        return true;
    if (ll->new_queue_id.n == n && memcmp(ll->new_queue_id.p, q, n) == 0)
        return true;
    if (ll->message_id.n == n && memcmp(ll->message_id.p, q, n) == 0)
        return true;
    return logtrace_ieq(ll->from, q, n) || logtrace_ieq(ll->to, q, n) ||
           logtrace_ieq(ll->orig_to, q, n) ||
           (ll->dovecot && (logtrace_ieq(ll->user, q, n) ||
                            (ll->uid.n == n && memcmp(ll->uid.p, q, n) == 0)));
}

/* ---- the engine ------------------------------------------------------------------ */

logtrace *logtrace_new(const char *query)
{
    logtrace *t = mem_zalloc(sizeof(*t));
    if (query != NULL) {
        t->query = mem_strdup(query);
        t->qlen = strlen(query);
        const char *q = query;
        size_t n = t->qlen;
        if (n >= 2 && q[0] == '<' && q[n - 1] == '>') {
            q++;
            n -= 2;
        }
        t->query_id = mem_strndup(q, n);
        t->qidlen = n;
        t->query_domain = n > 1 && q[0] == '@';
    }
    t->tab_size = 1024;
    t->tab = mem_zalloc(t->tab_size * sizeof(*t->tab));
    t->mtab_size = t->tab_size;
    t->mtab = mem_zalloc(t->mtab_size * sizeof(*t->mtab));
    t->stab_size = 8192;
    t->stab = mem_zalloc(t->stab_size * sizeof(*t->stab));
    t->open_cap = 500000;
    t->done_cap = 20000;
    return t;
}

void logtrace_free(logtrace **tp)
{
    logtrace *t = *tp;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->tab_size; i++)
        while (t->tab[i])
            logtrace_evict(t, t->tab[i]);
    while (t->x_head)
        logtrace_evict(t, t->x_head);
    while (t->s_head)
        logtrace_session_free(t, t->s_head);
    mem_free(&t->tab);
    mem_free(&t->mtab);
    mem_free(&t->stab);
    mem_free(&t->qmail_deliv);
    mem_free(&t->qmail_qp);
    mem_free(&t->query);
    mem_free(&t->query_id);
    mem_free(tp);
}

void logtrace_set_done(logtrace *t, logtrace_done_fn fn, void *ctx)
{
    t->done_fn = fn;
    t->done_ctx = ctx;
}

void logtrace_set_caps(logtrace *t, size_t open_cap, size_t done_cap)
{
    t->open_cap = open_cap;
    t->done_cap = done_cap;
}

const logtrace_stats *logtrace_stats_get(logtrace *t)
{
    t->st.open = t->open.n;
    t->st.done_kept = t->done.n;
    return &t->st;
}

static int logtrace_cmp(const void *a, const void *b);

/*
 * The oldest finished message leaves the finished list.  Unmatched: dropped.
 * Matched: if every member of its group is finished, the group goes to the
 * emit function and is freed; otherwise it waits, off the list, for the
 * last member (whose own eviction then emits the whole group).
 */
static void logtrace_done_evict(logtrace *t, logtrace_msg *m)
{
    logtrace_group *g = m->group;
    if (!g->matched) {
        logtrace_evict(t, m);
        return;
    }
    logtrace_list_remove(t, m);
    if (t->emit_fn == NULL)
        return;
    for (logtrace_msg *x = g->head; x; x = x->gnext)
        if (!x->done)
            return;
    logtrace_msg **v = mem_alloc(g->n * sizeof(*v));
    size_t n = 0;
    for (logtrace_msg *x = g->head; x; x = x->gnext)
        v[n++] = x;
    qsort(v, n, sizeof(*v), logtrace_cmp);
    t->emit_fn(t, v, n, t->emit_ctx);
    for (size_t i = 0; i < n; i++)
        logtrace_evict(t, v[i]); /* the last one frees the group */
    mem_free(&v);
}

void logtrace_set_emit(logtrace *t, logtrace_emit_fn fn, void *ctx)
{
    t->emit_fn = fn;
    t->emit_ctx = ctx;
}

static void logtrace_enforce_caps(logtrace *t)
{
    while (t->done.n > t->done_cap)
        logtrace_done_evict(t, t->done.head);
    while (t->open.n > t->open_cap) {
        t->st.evicted_open++;
        logtrace_evict(t, t->open.head);
    }
}

/* A message created on the spot: a NOQUEUE reject, a lone mailbox delivery. */
static logtrace_msg *logtrace_pseudo(logtrace *t, const logline *ll, const char *connect,
                            size_t clen, long long ctime, int cusec)
{
    char k[LOGTRACE_KEY_MAX];
    char id[32];
    snprintf(id, sizeof(id), "NOQUEUE-%lu", t->seq + 1);
    logstr qid = {id, strlen(id)};
    size_t n = logtrace_make_key(k, ll, qid);
    logtrace_msg *m = logtrace_new_msg(t, k, n, ll);
    m->pseudo = true;
    if (connect != NULL)
        logtrace_add_raw(m, connect, clen, ctime, cusec);
    logtrace_add_line(t, m, ll);
    if (ll->message_id.n > 0 && ll->message_id.n < 998)
        m->msgid = mem_strndup(ll->message_id.p, ll->message_id.n);
    logtrace_group_match(t, m->group);
    logtrace_mark_done(t, m);
    return m;
}

static bool logtrace_is_smtpd(const logline *ll)
{
    return (ll->format == LOGF_POSTFIX || ll->format == LOGF_POSTIE) &&
           logstr_eq(ll->program, "smtpd");
}

/* Session lines (no queue ID).  Returns true when the line was used up. */
static bool logtrace_session_line(logtrace *t, const logline *ll, bool match)
{
    if (!logtrace_is_smtpd(ll))
        return false;
    char k[LOGTRACE_KEY_MAX];
    if (ll->event == LOGE_CONNECT) {
        logtrace_session_open(t, ll);
        return true;
    }
    if (ll->event == LOGE_DISCONNECT || (ll->event == LOGE_LOST && ll->queue_id.p == NULL)) {
        size_t n = logtrace_session_key(k, ll);
        logtrace_session *s = logtrace_session_find(t, k, n);
        if (s == NULL)
            return true;
        for (int i = 0; i < s->nq; i++) {
            logtrace_msg *m = logtrace_find(t, s->qids[i], strlen(s->qids[i]));
            if (m != NULL)
                logtrace_add_raw(m, ll->raw.p, ll->raw.n, ll->time, ll->usec);
        }
        if (ll->event == LOGE_DISCONNECT)
            logtrace_session_free(t, s);
        return true;
    }
    if (ll->event == LOGE_REJECT && ll->queue_id.p == NULL) {
        if (match) {
            size_t n = logtrace_session_key(k, ll);
            logtrace_session *s = logtrace_session_find(t, k, n);
            logtrace_msg *m = logtrace_pseudo(t, ll, s ? s->connect : NULL,
                                              s ? s->connect_len : 0, s ? s->time : -1,
                                              s ? s->usec : -1);
            /* The disconnect line will find it like a queued message. */
            if (s != NULL && s->nq < 8)
                s->qids[s->nq++] = mem_strndup(m->key, m->keylen);
        }
        return true;
    }
    return false;
}

/* Remember an instance name (few per host: postfix, postfix-out, ...). */
static void logtrace_note_instance(logtrace *t, logstr inst)
{
    if (inst.n == 0 || inst.n >= sizeof(t->instances[0]))
        return;
    for (int i = 0; i < t->ninst; i++)
        if (strlen(t->instances[i]) == inst.n && memcmp(t->instances[i], inst.p, inst.n) == 0)
            return;
    if (t->ninst < 16) {
        memcpy(t->instances[t->ninst], inst.p, inst.n);
        t->instances[t->ninst++][inst.n] = '\0';
    }
}

/*
 * "status=sent (250 2.0.0 Ok: queued as NEWID)" to a content filter or a
 * second instance, and local's "forwarded as NEWID": when NEWID is a
 * message of this host's log (in any instance), it is the next hop.
 */
static void logtrace_queued_as(logtrace *t, logtrace_msg *m, const logline *ll)
{
    if ((ll->format != LOGF_POSTFIX && ll->format != LOGF_POSTIE) || ll->status_text.p == NULL)
        return;
    const char *p = ll->status_text.p, *end = p + ll->status_text.n;
    const char *hit = NULL;
    bool fwd = false;
    for (const char *c = p; c + 10 <= end; c++) {
        if (*c == 'q' && memcmp(c, "queued as ", 10) == 0) {
            hit = c + 10;
            break;
        }
        if (*c == 'f' && c + 13 <= end && memcmp(c, "forwarded as ", 13) == 0) {
            hit = c + 13;
            fwd = true;
            break;
        }
    }
    if (hit == NULL)
        return;
    const char *e = hit;
    while (e < end && ((*e >= '0' && *e <= '9') || (*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z')))
        e++;
    if (!logline_is_queue_id(hit, (size_t)(e - hit)))
        return;
    logstr nq = {hit, (size_t)(e - hit)};
    for (int i = 0; i < t->ninst; i++) {
        char k[LOGTRACE_KEY_MAX];
        size_t n = 0;
        if (ll->host.p != NULL)
            n = logtrace_keycat(k, n, ll->host.p, ll->host.n);
        k[n++] = '\x1f';
        n = logtrace_keycat(k, n, t->instances[i], strlen(t->instances[i]));
        k[n++] = '\x1f';
        n = logtrace_keycat(k, n, nq.p, nq.n);
        logtrace_msg *c = logtrace_find(t, k, n);
        if (c == NULL || c == m)
            continue;
        /* More specific than a Message-ID match: it names this very hop. */
        if (c->parent == NULL || (c->link != NULL && strcmp(c->link, "hop") == 0)) {
            mem_free(&c->parent);
            c->parent = mem_strdup(m->qid);
            c->link = fwd ? "forward" : "hop";
        }
        logtrace_union(t, m, c);
        return;
    }
}

static bool logtrace_final(enum logline_status s)
{
    return s == LOGS_SENT || s == LOGS_BOUNCED || s == LOGS_EXPIRED ||
           s == LOGS_DISCARDED || s == LOGS_DELIVERABLE || s == LOGS_UNDELIVERABLE;
}

void logtrace_line(logtrace *t, const logline *ll)
{
    if (ll->event == LOGE_UNKNOWN || ll->binary ||
        (ll->event == LOGE_OTHER && ll->queue_id.p == NULL))
        return;
    bool match = logtrace_match(t, ll);
    char k[LOGTRACE_KEY_MAX];
    if (ll->format == LOGF_QMAIL)
        logtrace_qmail_init(t);

    /* NOQUEUE rejects from postscreen or other formats. */
    if (logtrace_session_line(t, ll, match))
        goto out;
    if (ll->event == LOGE_REJECT && ll->queue_id.p == NULL) {
        if (match)
            logtrace_pseudo(t, ll, NULL, 0, -1, -1);
        goto out;
    }

    /* A mailbox session: the login and the session's lines carry the same
     * session id.  Kept only when the query names its user (or once it
     * does), so a big log of logins costs nothing for a queue ID query. */
    if (ll->dovecot && ll->event != LOGE_DELIVERY && ll->uid.n > 0 && ll->uid.n < 200) {
        char sid[220];
        int sn = snprintf(sid, sizeof(sid), "session %.*s", (int)ll->uid.n, ll->uid.p);
        logstr skey = {sid, (size_t)sn};
        size_t kn = logtrace_make_key(k, ll, skey);
        logtrace_msg *m = logtrace_find(t, k, kn);
        if (m == NULL && match) {
            /* Usually the login; a logout first when the log starts later. */
            m = logtrace_new_msg(t, k, kn, ll);
            m->pseudo = true;
            m->session = true;
        }
        if (m == NULL)
            goto out;
        logtrace_add_line(t, m, ll);
        if (ll->event == LOGE_LOGOUT || ll->event == LOGE_LOGIN_FAIL || ll->event == LOGE_LOST)
            logtrace_mark_done(t, m);
        if (match)
            logtrace_group_match(t, m->group);
        goto out;
    }

    /* Dovecot: a mailbox delivery belongs to the message with its Message-ID. */
    if (ll->format == LOGF_DOVECOT) {
        if (ll->event != LOGE_DELIVERY)
            goto out;
        logtrace_msg *m = logtrace_find_msgid(t, ll->message_id);
        if (m != NULL) {
            logtrace_add_line(t, m, ll);
            if (match)
                logtrace_group_match(t, m->group);
        } else if (match)
            logtrace_pseudo(t, ll, NULL, 0, -1, -1);
        goto out;
    }

    /* qmail's delivery results carry only the delivery number. */
    if (ll->format == LOGF_QMAIL && ll->queue_id.p == NULL && ll->delivery_no >= 0) {
        const char *key = logtrace_qslot_get(t->qmail_deliv, LOGTRACE_QMAIL_SLOTS, ll->delivery_no);
        logtrace_msg *m = key ? logtrace_find(t, key, strlen(key)) : NULL;
        if (m == NULL)
            goto out;
        logtrace_add_line(t, m, ll);
        if (m->pending > 0)
            m->pending--;
        if (logtrace_final(ll->status))
            m->finals++;
        if (match)
            logtrace_group_match(t, m->group);
        goto out;
    }
    if (ll->queue_id.p == NULL)
        goto out;

    size_t n = logtrace_make_key(k, ll, ll->queue_id);
    logtrace_msg *m = logtrace_find(t, k, n);
    bool start = ll->event == LOGE_CLIENT || ll->event == LOGE_PICKUP ||
                 (ll->event == LOGE_QUEUED && ll->format != LOGF_POSTFIX &&
                  ll->format != LOGF_POSTIE && ll->format != LOGF_DMA);
    if (m != NULL && m->done && start) {
        logtrace_retire(t, m);
        m = NULL;
    }
    if (m == NULL) {
        m = logtrace_new_msg(t, k, n, ll);
        logtrace_note_instance(t, logtrace_instance(ll));
    }

    /* The session that carried it: its connect line comes first. */
    if (ll->event == LOGE_CLIENT && logtrace_is_smtpd(ll) && m->nsteps == 0) {
        char sk[LOGTRACE_KEY_MAX];
        size_t sn = logtrace_session_key(sk, ll);
        logtrace_session *s = logtrace_session_find(t, sk, sn);
        if (s != NULL) {
            logtrace_add_raw(m, s->connect, s->connect_len, s->time, s->usec);
            if (s->nq < 8)
                s->qids[s->nq++] = mem_strndup(k, n);
        }
    }
    logtrace_add_line(t, m, ll);
    if (ll->message_id.p != NULL)
        logtrace_set_msgid(t, m, ll->message_id);

    switch (ll->event) {
    case LOGE_QUEUED:
        if (ll->nrcpt >= 0)
            m->nrcpt = ll->nrcpt;
        if (ll->format == LOGF_QMAIL && ll->qp >= 0 && ll->from.n == 0 && ll->from.p) {
            const char *pk = logtrace_qslot_get(t->qmail_qp, LOGTRACE_QP_SLOTS, ll->qp);
            logtrace_msg *p = pk ? logtrace_find(t, pk, strlen(pk)) : NULL;
            if (p != NULL && p != m) {
                mem_free(&m->parent);
                m->parent = mem_strdup(p->qid);
                m->link = "bounce";
                logtrace_union(t, p, m);
            }
        }
        if (ll->format == LOGF_EXIM && ll->new_queue_id.p != NULL) {
            char pk[LOGTRACE_KEY_MAX];
            size_t pn = logtrace_make_key(pk, ll, ll->new_queue_id);
            logtrace_msg *p = logtrace_find(t, pk, pn);
            mem_free(&m->parent);
            m->parent = mem_strndup(ll->new_queue_id.p, ll->new_queue_id.n);
            m->link = "bounce";
            if (p != NULL)
                logtrace_union(t, p, m);
        }
        break;
    case LOGE_DELIVERY_START:
        m->pending++;
        if (ll->format == LOGF_QMAIL && ll->delivery_no >= 0)
            logtrace_qslot_put(t->qmail_deliv, LOGTRACE_QMAIL_SLOTS, ll->delivery_no, m->key);
        break;
    case LOGE_DELIVERY:
        if (logtrace_final(ll->status))
            m->finals++;
        if (ll->status == LOGS_SENT)
            logtrace_queued_as(t, m, ll);
        if (ll->format == LOGF_DMA) {
            if (m->pending > 0)
                m->pending--;
            if (m->pending == 0 && m->finals > 0)
                logtrace_mark_done(t, m);
        }
        if (ll->format == LOGF_SENDMAIL && m->nrcpt > 0 && m->finals >= m->nrcpt)
            logtrace_mark_done(t, m);
        break;
    case LOGE_BOUNCE:
        if (ll->new_queue_id.p != NULL) {
            char ck[LOGTRACE_KEY_MAX];
            size_t cn = logtrace_make_key(ck, ll, ll->new_queue_id);
            logtrace_msg *c = logtrace_find(t, ck, cn);
            if (c == m)
                break; /* a line naming itself: nothing to link */
            if (c != NULL && c->done) {
                /* an old message with a reused queue ID */
                logtrace_retire(t, c);
                c = NULL;
            }
            if (c == NULL) {
                /* The bounce line came first: the child's lines follow. */
                c = logtrace_new_msg(t, ck, cn, ll);
                c->format = m->format;
            }
            mem_free(&c->parent);
            c->parent = mem_strdup(m->qid);
            c->link = "bounce";
            logtrace_union(t, m, c);
        } else if (ll->format == LOGF_QMAIL && ll->qp >= 0) {
            logtrace_qslot_put(t->qmail_qp, LOGTRACE_QP_SLOTS, ll->qp, m->key);
        }
        break;
    case LOGE_REMOVED:
        logtrace_mark_done(t, m);
        break;
    case LOGE_REJECT:
    case LOGE_DISCARD:
        /* cleanup refused it: no queue file remains. */
        if (!logstr_eq(ll->program, "smtpd") || ll->event == LOGE_DISCARD)
            logtrace_mark_done(t, m);
        break;
    case LOGE_WARNING: {
        /* Too big: smtpd dropped the queue file (Postfix logs no removal). */
        logstr why;
        if (logline_is_size_limit(ll, &why))
            logtrace_mark_done(t, m);
        break;
    }
    default:
        break;
    }
    if (match)
        logtrace_group_match(t, m->group);
out:
    logtrace_enforce_caps(t);
}

static int logtrace_cmp(const void *a, const void *b)
{
    const logtrace_msg *x = *(logtrace_msg *const *)a, *y = *(logtrace_msg *const *)b;
    if (x->group != y->group) {
        if (x->group->seq != y->group->seq)
            return x->group->seq < y->group->seq ? -1 : 1;
        return x->group < y->group ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t logtrace_matched(logtrace *t, logtrace_msg ***msgs_r)
{
    size_t n = 0, cap = 16;
    logtrace_msg **v = mem_alloc(cap * sizeof(*v));
    for (logtrace_msg *m = t->x_head; m; m = m->xnext) {
        if (n == cap)
            v = mem_realloc(v, (cap *= 2) * sizeof(*v));
        v[n++] = m;
    }
    qsort(v, n, sizeof(*v), logtrace_cmp);
    *msgs_r = v;
    return n;
}
