/*
 * mem - memory allocation that never returns NULL.
 *
 * Running out of memory is fatal (Postfix's rule): the durable queue makes
 * that safe, and callers never carry an error path they cannot test.
 * Destructors take a pointer to the pointer and clear it (Dovecot's rule).
 */
#ifndef POSTIE_UTIL_MEM_H
#define POSTIE_UTIL_MEM_H

#include <stddef.h>

void *mem_alloc(size_t n);
void *mem_zalloc(size_t n);
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
void *mem_dup(const void *p, size_t n);
/* Frees *pp and sets it to NULL. */
void mem_free_ptr(void **pp);
#define mem_free(pp) mem_free_ptr((void **)(pp))

#endif
