/*
 * report_topk - bounded "top N" counting of strings for the log report:
 * senders, recipients, hosts, domains, reasons.
 *
 * A log of a busy server names millions of distinct addresses; the report
 * must not grow with them.  Each table holds at most `cap` strings and uses
 * the Space-Saving rule (Metwally et al.) when full: a new string replaces
 * the one with the smallest count and inherits that count as its possible
 * over-count (err).  Every string whose true count exceeds total/cap is
 * guaranteed to be in the table, so the head of the list is right; while
 * the table never filled up, every count is exact (topk->exact).
 *
 * Beside it, a HyperLogLog sketch (4 KiB) estimates the number of distinct
 * strings, exact while the table has not overflowed.
 *
 * Cost: one hash and probe per add, O(log cap) for the count heap.
 * What it does not do: keep strings that were evicted, or order by bytes
 * exactly once evictions happened (the bytes of tracked strings are kept
 * from the moment they entered the table).
 */
#ifndef POSTIE_LOGTOOL_REPORT_TOPK_H
#define POSTIE_LOGTOOL_REPORT_TOPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct report_topk_item {
    char *key;
    size_t keylen;
    uint64_t count;
    uint64_t bytes;
    uint64_t err;       /* possible over-count from an eviction */
    double dsum, dmax;  /* free for the caller (delays of a domain) */
    uint64_t hash;
    uint32_t heap;      /* position in the min-heap */
} report_topk_item;

#define REPORT_HLL_BITS 12

typedef struct report_topk {
    report_topk_item *items;   /* cap slots */
    uint32_t *heap;            /* item indexes, min count on top */
    uint32_t *slots;           /* open-addressing hash of item index + 1 */
    size_t nslots;             /* power of two, >= 2 * cap */
    size_t n, cap;
    size_t keymax;             /* longer keys are cut */
    uint64_t total;            /* sum of counts added */
    uint64_t evictions;
    bool exact;                /* no eviction happened */
    uint8_t hll[1u << REPORT_HLL_BITS];
} report_topk;

report_topk *report_topk_new(size_t cap, size_t keymax);
void report_topk_free(report_topk **tp);
/*
 * Count one occurrence of key with its bytes (0 if none).  Returns its item,
 * whose dsum and dmax the caller may update (zero for a new key); valid
 * until the next add.
 */
report_topk_item *report_topk_add(report_topk *t, const char *key, size_t len, uint64_t bytes);
/* The item of key, or NULL if it is not tracked. */
const report_topk_item *report_topk_lookup(const report_topk *t, const char *key, size_t len);
/* Distinct keys seen: exact while t->exact, else the HyperLogLog estimate. */
uint64_t report_topk_distinct(const report_topk *t);
/*
 * The tracked items sorted by count (by_bytes false) or bytes, largest
 * first, ties by key.  Returns how many were written to out (at most max).
 */
size_t report_topk_sorted(const report_topk *t, bool by_bytes,
                          const report_topk_item **out, size_t max);
/* 64-bit hash (FNV-1a, then a finalizer) used for tables and sketches. */
uint64_t report_topk_hash(const char *p, size_t n);

#endif
