/*
 * sendmail_hdr_fuzz - "sendmail -t"'s header walk and address-list parser
 * (tools/sendmail_hdr, RFC 5322 sections 2.2 and 3.4) on arbitrary
 * content: any local user feeds it, and it runs before postdrop.  Checks:
 * every field the walk reports lies inside the content, fields do not
 * overlap and come in order, the body offset is within the content, and
 * no extracted address is empty or holds a line end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/sendmail_hdr.h"
#include "util/conf.h"
#include "util/mem.h"

typedef struct {
    size_t len;
    size_t next;  /* where the next field may start */
} fuzz_walk;

static int fuzz_field(const char *name, const char *value, size_t off, size_t len,
                      void *ctx)
{
    fuzz_walk *w = ctx;
    if (off < w->next || off + len > w->len || len == 0 || *name == '\0')
        abort();
    w->next = off + len;
    char **addrs = sendmail_hdr_addresses(value);
    for (char **a = addrs; *a; a++)
        if (**a == '\0' || strchr(*a, '\n') != NULL)
            abort();
    conf_free_list(&addrs);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = mem_alloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_walk w = {size, 0};
    size_t body = sendmail_hdr_walk(text, size, fuzz_field, &w);
    if (body > size || body < w.next)
        abort();
    /* The value parser alone, on the whole input as one field. */
    char **addrs = sendmail_hdr_addresses(text);
    conf_free_list(&addrs);
    mem_free(&text);
    return 0;
}
