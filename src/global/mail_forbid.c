/*
 * mail_forbid - smtpd_forbidden_commands; see mail_forbid.h.
 */
#include "global/mail_forbid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/mem.h"

void mail_forbid_free(mail_forbid *f)
{
    if (f->names != NULL)
        for (char **p = f->names; *p; p++)
            mem_free(p);
    mem_free(&f->names);
    f->nonalpha = false;
}

static void mail_forbid_add(mail_forbid *f, const char *w, size_t n, size_t *count)
{
    f->names = mem_realloc(f->names, (*count + 2) * sizeof(char *));
    char *name = mem_strndup(w, n);
    for (char *p = name; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    f->names[(*count)++] = name;
    f->names[*count] = NULL;
}

/* The inside of "regexp:{{...}}": one rule "/pattern/ result". */
static int mail_forbid_inline(mail_forbid *f, const char *body, size_t n,
                              char *why, size_t whylen)
{
    while (n > 0 && isspace((unsigned char)*body))
        body++, n--;
    static const char *const nonalpha[] = {"/^[^A-Z]/", "/^[^a-z]/",
                                           "/^[^A-Za-z]/", "/^[^a-zA-Z]/"};
    for (size_t i = 0; i < sizeof(nonalpha) / sizeof(nonalpha[0]); i++) {
        size_t k = strlen(nonalpha[i]);
        if (n >= k && strncmp(body, nonalpha[i], k) == 0 &&
            (n == k || isspace((unsigned char)body[k]))) {
            f->nonalpha = true;
            return 0;
        }
    }
    snprintf(why, whylen, "\"regexp:{{%.*s}}\": postie has no regexp tables; "
             "only {{/^[^A-Z]/ text}} (Postfix's default) is understood", (int)n, body);
    return -1;
}

int mail_forbid_parse(const char *value, mail_forbid *f, char *why, size_t whylen)
{
    mail_forbid_free(f);
    size_t count = 0;
    int rc = 0;
    f->names = mem_zalloc(sizeof(char *));
    const char *p = value;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        if (strncasecmp(p, "regexp:{{", 9) == 0) {
            const char *body = p + 9, *end = strstr(body, "}}");
            if (end == NULL) {
                snprintf(why, whylen, "\"%s\": no closing }}", p);
                return -1;
            }
            if (mail_forbid_inline(f, body, (size_t)(end - body), why, whylen) < 0)
                rc = -1;
            p = end + 2;
            continue;
        }
        size_t n = strcspn(p, " \t,\n");
        if (memchr(p, ':', n) != NULL) {
            if (rc == 0)
                snprintf(why, whylen, "\"%.*s\": postie takes no lookup tables "
                         "here, only command names", (int)n, p);
            rc = -1;
        } else {
            mail_forbid_add(f, p, n, &count);
        }
        p += n;
    }
    return rc;
}

bool mail_forbid_match(const mail_forbid *f, const char *w, size_t n)
{
    if (n == 0)
        return false;
    if (f->nonalpha && !isalpha((unsigned char)w[0]))
        return true;
    if (f->names != NULL)
        for (char **p = f->names; *p; p++)
            if (strlen(*p) == n && strncasecmp(*p, w, n) == 0)
                return true;
    return false;
}

bool mail_forbid_is_header(const char *w, size_t n)
{
    /* RFC 5322 section 2.2: a field name is printable US-ASCII other than
     * ':' and space, then the colon. */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c == ':')
            return i > 0;
        if (c < 33 || c > 126)
            return false;
    }
    return false;
}
