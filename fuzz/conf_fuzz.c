/*
 * conf_fuzz - the postie.conf parser (util/conf, Postfix's main.cf syntax)
 * and its value parsers on arbitrary text: comments, continuation lines,
 * "name = value", lists, times, numbers, booleans.  postie.conf is written
 * by an administrator, not a stranger, but "postie config check" must
 * report any file, however broken, and never crash.  Checks: every entry
 * has a non-empty name without '=' or white space, and the list splitter
 * returns no empty and no white-space-holding element.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/conf.h"
#include "util/mem.h"

static void fuzz_report(const char *path, int line, const char *text, void *ctx)
{
    if (line < 1 || text == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = mem_alloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    conf *c = conf_parse(text, "fuzz.conf", fuzz_report, NULL);
    for (size_t i = 0; i < c->n; i++) {
        const char *name = c->v[i].name;
        if (*name == '\0' || strchr(name, '=') != NULL)
            abort();
        for (const char *p = name; *p; p++)
            if (isspace((unsigned char)*p))
                abort();
        char **list = conf_split_list(c->v[i].value);
        for (char **p = list; *p; p++) {
            if (**p == '\0')
                abort();
            for (const char *q = *p; *q; q++)
                if (isspace((unsigned char)*q) || *q == ',')
                    abort();
        }
        conf_free_list(&list);
        conf_parse_time(c->v[i].value, 's');
        conf_parse_int(c->v[i].value);
        conf_parse_bool(c->v[i].value);
    }
    conf_free(&c);
    mem_free(&text);
    return 0;
}
