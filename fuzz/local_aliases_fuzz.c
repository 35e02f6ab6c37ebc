/*
 * local_aliases_fuzz - aliases(5) text (mail_aliases_parse): any input is
 * parsed without a crash, and every name it keeps can be looked up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/mail_aliases.h"
#include "util/mem.h"

static void ignore(const char *path, int line, const char *text, void *ctx)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = mem_strndup((const char *)data, size);
    alias_table *t = mail_aliases_parse(text, "fuzz", ignore, NULL);
    /* The first line's name, if kept, must be found (case-insensitively). */
    char *colon = strchr(text, ':');
    if (colon != NULL) {
        *colon = '\0';
        char *const *v = mail_aliases_table_lookup(t, text);
        if (v != NULL && v[0] == NULL)
            abort(); /* an entry never has an empty value list */
    }
    mail_aliases_free(&t);
    mem_free(&text);
    return 0;
}
