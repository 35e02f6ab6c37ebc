/*
 * mem - allocation wrappers; see mem.h.  Out of memory is fatal.
 */
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

#include "util/msg.h"

void *mem_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        msg_fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *mem_zalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (p == NULL)
        msg_fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        msg_fatal("out of memory reallocating %zu bytes", n);
    return q;
}

char *mem_strdup(const char *s)
{
    return mem_dup(s, strlen(s) + 1);
}

char *mem_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = mem_alloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void *mem_dup(const void *p, size_t n)
{
    void *d = mem_alloc(n);
    memcpy(d, p, n);
    return d;
}

void mem_free_ptr(void **pp)
{
    free(*pp);
    *pp = NULL;
}
