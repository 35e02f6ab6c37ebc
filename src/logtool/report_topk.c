/*
 * report_topk - bounded top-N string counting (Space-Saving) with a
 * HyperLogLog estimate of the distinct strings.  See report_topk.h.
 *
 * Layout: `items` is a fixed array of cap entries; `slots` is an
 * open-addressing (linear probing) index over it, deletions done by
 * backward shift so no tombstones pile up; `heap` is a binary min-heap of
 * item indexes by count, so the eviction victim is heap[0] and a count
 * increment is one sift-down.
 */
#include "logtool/report_topk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

uint64_t report_topk_hash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    /* FNV's low bits mix poorly for short keys: finish like splitmix64. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

report_topk *report_topk_new(size_t cap, size_t keymax)
{
    report_topk *t = mem_zalloc(sizeof(*t));
    if (cap < 1)
        cap = 1;
    t->cap = cap;
    t->keymax = keymax;
    t->items = mem_zalloc(cap * sizeof(*t->items));
    t->heap = mem_zalloc(cap * sizeof(*t->heap));
    t->nslots = 16;
    while (t->nslots < cap * 2)
        t->nslots <<= 1;
    t->slots = mem_zalloc(t->nslots * sizeof(*t->slots));
    t->exact = true;
    return t;
}

void report_topk_free(report_topk **tp)
{
    report_topk *t = *tp;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        mem_free(&t->items[i].key);
    mem_free(&t->items);
    mem_free(&t->heap);
    mem_free(&t->slots);
    mem_free(tp);
}

static void report_topk_swap(report_topk *t, uint32_t a, uint32_t b)
{
    uint32_t ia = t->heap[a], ib = t->heap[b];
    t->heap[a] = ib;
    t->heap[b] = ia;
    t->items[ib].heap = a;
    t->items[ia].heap = b;
}

/* The item at heap position i grew: move it down past smaller children. */
static void report_topk_sift_down(report_topk *t, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && t->items[t->heap[l]].count < t->items[t->heap[m]].count)
            m = l;
        if (r < t->n && t->items[t->heap[r]].count < t->items[t->heap[m]].count)
            m = r;
        if (m == i)
            return;
        report_topk_swap(t, i, m);
        i = m;
    }
}

static void report_topk_sift_up(report_topk *t, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (t->items[t->heap[p]].count <= t->items[t->heap[i]].count)
            return;
        report_topk_swap(t, i, p);
        i = p;
    }
}

/* Slot holding key, or the empty slot where it would go. */
static size_t report_topk_find(const report_topk *t, const char *key, size_t len, uint64_t h)
{
    size_t mask = t->nslots - 1, s = (size_t)h & mask;
    for (;;) {
        uint32_t v = t->slots[s];
        if (v == 0)
            return s;
        const report_topk_item *it = &t->items[v - 1];
        if (it->hash == h && it->keylen == len && memcmp(it->key, key, len) == 0)
            return s;
        s = (s + 1) & mask;
    }
}

/* Remove slot s, shifting later members of its probe run back (no tombstones). */
static void report_topk_unslot(report_topk *t, size_t s)
{
    size_t mask = t->nslots - 1;
    t->slots[s] = 0;
    size_t j = s;
    for (;;) {
        j = (j + 1) & mask;
        uint32_t v = t->slots[j];
        if (v == 0)
            return;
        size_t home = (size_t)t->items[v - 1].hash & mask;
        /* Move it back if its home is not in the (s, j] cyclic range. */
        bool between = s <= j ? (home > s && home <= j) : (home > s || home <= j);
        if (!between) {
            t->slots[s] = v;
            t->slots[j] = 0;
            s = j;
        }
    }
}

static void report_topk_hll_add(report_topk *t, uint64_t h)
{
    uint32_t idx = (uint32_t)(h >> (64 - REPORT_HLL_BITS));
    uint64_t rest = (h << REPORT_HLL_BITS) | (1ULL << (REPORT_HLL_BITS - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > t->hll[idx])
        t->hll[idx] = rank;
}

const report_topk_item *report_topk_lookup(const report_topk *t, const char *key, size_t len)
{
    if (len > t->keymax)
        len = t->keymax;
    size_t s = report_topk_find(t, key, len, report_topk_hash(key, len));
    return t->slots[s] ? &t->items[t->slots[s] - 1] : NULL;
}

report_topk_item *report_topk_add(report_topk *t, const char *key, size_t len, uint64_t bytes)
{
    if (len > t->keymax)
        len = t->keymax;
    uint64_t h = report_topk_hash(key, len);
    report_topk_hll_add(t, h);
    t->total++;
    size_t s = report_topk_find(t, key, len, h);
    uint32_t idx;
    if (t->slots[s] != 0) {
        idx = t->slots[s] - 1;
        t->items[idx].count++;
        t->items[idx].bytes += bytes;
        report_topk_sift_down(t, t->items[idx].heap);
        return &t->items[idx];
    }
    if (t->n < t->cap) {
        idx = (uint32_t)t->n++;
        report_topk_item *it = &t->items[idx];
        it->key = mem_strndup(key, len);
        it->keylen = len;
        it->hash = h;
        it->count = 1;
        it->bytes = bytes;
        it->err = 0;
        it->dsum = it->dmax = 0;
        it->heap = idx;
        t->heap[idx] = idx;
        t->slots[s] = idx + 1;
        report_topk_sift_up(t, idx);
        return it;
    }
    /* Full: the smallest count makes room (Space-Saving). */
    idx = t->heap[0];
    report_topk_item *it = &t->items[idx];
    report_topk_unslot(t, report_topk_find(t, it->key, it->keylen, it->hash));
    t->evictions++;
    t->exact = false;
    mem_free(&it->key);
    it->key = mem_strndup(key, len);
    it->keylen = len;
    it->hash = h;
    it->err = it->count;
    it->count++;
    it->bytes = bytes;
    it->dsum = it->dmax = 0;
    t->slots[report_topk_find(t, key, len, h)] = idx + 1;
    report_topk_sift_down(t, 0);
    return it;
}

uint64_t report_topk_distinct(const report_topk *t)
{
    if (t->exact)
        return t->n;
    const double m = (double)(1u << REPORT_HLL_BITS);
    double sum = 0;
    int zeros = 0;
    for (size_t i = 0; i < (1u << REPORT_HLL_BITS); i++) {
        sum += ldexp(1.0, -t->hll[i]);
        zeros += t->hll[i] == 0;
    }
    double alpha = 0.7213 / (1.0 + 1.079 / m);
    double est = alpha * m * m / sum;
    /* Small range: linear counting is better while registers are empty. */
    if (est <= 2.5 * m && zeros > 0)
        est = m * log(m / zeros);
    uint64_t e = (uint64_t)(est + 0.5);
    return e < t->n ? t->n : e;
}

static bool report_topk_sort_bytes;

static int report_topk_cmp(const void *a, const void *b)
{
    const report_topk_item *x = *(const report_topk_item *const *)a;
    const report_topk_item *y = *(const report_topk_item *const *)b;
    uint64_t vx = report_topk_sort_bytes ? x->bytes : x->count;
    uint64_t vy = report_topk_sort_bytes ? y->bytes : y->count;
    if (vx != vy)
        return vx > vy ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c != 0)
        return c;
    return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

size_t report_topk_sorted(const report_topk *t, bool by_bytes,
                          const report_topk_item **out, size_t max)
{
    if (t->n == 0 || max == 0)
        return 0;
    const report_topk_item **all = mem_alloc(t->n * sizeof(*all));
    for (size_t i = 0; i < t->n; i++)
        all[i] = &t->items[i];
    report_topk_sort_bytes = by_bytes;
    qsort(all, t->n, sizeof(*all), report_topk_cmp);
    size_t k = t->n < max ? t->n : max;
    memcpy(out, all, k * sizeof(*all));
    mem_free(&all);
    return k;
}
