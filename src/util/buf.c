/*
 * buf - bounded byte buffer; see buf.h.
 */
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"
#include "util/msg.h"

buf *buf_new(size_t max)
{
    buf *b = mem_zalloc(sizeof(*b));
    b->cap = max < 256 ? max : 256;
    b->data = mem_alloc(b->cap + 1);
    b->data[0] = '\0';
    b->max = max;
    return b;
}

void buf_free(buf **bp)
{
    if (*bp == NULL)
        return;
    mem_free(&(*bp)->data);
    mem_free(bp);
}

static void buf_grow(buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 16;
    while (cap < need)
        cap = cap * 2;
    if (cap > b->max)
        cap = b->max;
    b->data = mem_realloc(b->data, cap + 1);
    b->cap = cap;
}

int buf_append(buf *b, const void *p, size_t n)
{
    if (n > b->max - b->len)
        return -1;
    if (b->len + n > b->cap)
        buf_grow(b, b->len + n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(buf *b, int c)
{
    char ch = (char)c;
    return buf_append(b, &ch, 1);
}

int buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        msg_panic("buf_vprintf: bad format \"%s\"", fmt);
    if ((size_t)n > b->max - b->len) {
        b->data[b->len] = '\0';
        return -1;
    }
    if (b->len + (size_t)n > b->cap) {
        buf_grow(b, b->len + (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, ap);
    }
    b->len += (size_t)n;
    return 0;
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void buf_consume(buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    b->data[b->len] = '\0';
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->data[0] = '\0';
}

void buf_truncate(buf *b, size_t n)
{
    if (n > b->len)
        msg_panic("buf_truncate: %zu > %zu", n, b->len);
    b->len = n;
    b->data[n] = '\0';
}
