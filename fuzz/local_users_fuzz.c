/*
 * local_users_fuzz - one users-file line (mail_users_parse_line): a line
 * that parses formats back to a line that parses to the same user.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/mail_users.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = mem_strndup((const char *)data, size);
    mail_user *u = NULL;
    char *err = NULL;
    if (strchr(line, '\n') == NULL && mail_users_parse_line(line, &u, &err) == 0) {
        char *again = mail_users_format(u);
        mail_user *v = NULL;
        if (mail_users_parse_line(again, &v, NULL) != 0 ||
            strcmp(u->name, v->name) != 0 || strcmp(u->password, v->password) != 0 ||
            u->uid != v->uid || u->gid != v->gid || strcmp(u->home, v->home) != 0)
            abort();
        mail_user_free(&v);
        mem_free(&again);
        mail_user_free(&u);
    }
    mem_free(&err);
    mem_free(&line);
    return 0;
}
