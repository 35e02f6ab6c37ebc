/*
 * buf - the one buffer type: a byte string that cannot grow past a maximum
 * fixed at creation (curl's dynbuf rule).
 *
 * Every protocol input lands in a buf, so "input that would grow a buffer
 * without bound" becomes an explicit -1 from buf_append, never a crash or an
 * out-of-memory.  The content is always NUL-terminated for convenience, but
 * may hold NUL bytes; use buf->len.
 */
#ifndef POSTIE_UTIL_BUF_H
#define POSTIE_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *data;   /* always NUL-terminated at data[len] */
    size_t len;
    size_t cap;   /* allocated, excluding the NUL */
    size_t max;   /* hard limit on len */
} buf;

buf *buf_new(size_t max);
void buf_free(buf **bp);
/* Append n bytes; returns 0, or -1 (and appends nothing) past max. */
int buf_append(buf *b, const void *p, size_t n);
int buf_puts(buf *b, const char *s);
int buf_putc(buf *b, int c);
int buf_printf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Drop the first n bytes (consumed input). */
void buf_consume(buf *b, size_t n);
void buf_reset(buf *b);
/* Shorten to n bytes (n <= len). */
void buf_truncate(buf *b, size_t n);
static inline const char *buf_str(const buf *b) { return b->data; }

#endif
