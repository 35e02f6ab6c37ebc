/*
 * mail_addr - SMTP path parsing and address helpers; see mail_addr.h.
 *
 * Grammar (RFC 5321 section 4.1.2, extended by RFC 6531 section 3.3):
 *   Path         = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox      = Local-part "@" ( Domain / address-literal )
 *   Local-part   = Dot-string / Quoted-string
 *   Domain       = sub-domain *("." sub-domain)
 * The source route (A-d-l) is accepted and thrown away, as section 4.1.1.3
 * and Appendix C ask.  The parser never reads past the terminating NUL and
 * allocates only the result.
 */
#include "global/mail_addr.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/mem.h"

/* atext, RFC 5322 section 3.2.3 (used by RFC 5321's Atom). */
static bool mail_addr_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool mail_addr_letdig(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

bool mail_addr_is_8bit(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* Local part [p, e): Dot-string or Quoted-string.  0 or MAIL_ADDR_ERR_*. */
static int mail_addr_check_local(const char *p, const char *e, int flags,
                                 const char **why_r)
{
    if (p == e) {
        *why_r = "empty local part";
        return MAIL_ADDR_ERR_SYNTAX;
    }
    if ((size_t)(e - p) > MAIL_ADDR_LOCAL_MAX) {
        *why_r = "local part too long";
        return MAIL_ADDR_ERR_LENGTH;
    }
    if (*p == '"') {
        /* qtextSMTP = %d32-33 / %d35-91 / %d93-126; quoted-pairSMTP =
         * "\" %d32-126 (section 4.1.2). */
        const char *q = p + 1;
        for (; q < e && *q != '"'; q++) {
            unsigned char c = (unsigned char)*q;
            if (c == '\\') {
                q++;
                if (q >= e || (unsigned char)*q < 32 || (unsigned char)*q > 126) {
                    *why_r = "bad quoted pair in local part";
                    return MAIL_ADDR_ERR_SYNTAX;
                }
            } else if (c >= 0x80) {
                if (!(flags & MAIL_ADDR_UTF8_OK)) {
                    *why_r = "non-ASCII local part without SMTPUTF8";
                    return MAIL_ADDR_ERR_UTF8;
                }
            } else if (c < 32 || c > 126) {
                *why_r = "bad character in quoted local part";
                return MAIL_ADDR_ERR_SYNTAX;
            }
        }
        if (q + 1 != e) {
            *why_r = "bad quoted local part";
            return MAIL_ADDR_ERR_SYNTAX;
        }
        return 0;
    }
    bool after_dot = true; /* no leading dot */
    for (const char *q = p; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '.') {
            if (after_dot) {
                *why_r = "empty atom in local part";
                return MAIL_ADDR_ERR_SYNTAX;
            }
            after_dot = true;
            continue;
        }
        after_dot = false;
        if (c >= 0x80) {
            if (!(flags & MAIL_ADDR_UTF8_OK)) {
                *why_r = "non-ASCII local part without SMTPUTF8";
                return MAIL_ADDR_ERR_UTF8;
            }
        } else if (!mail_addr_atext(c)) {
            *why_r = "bad character in local part";
            return MAIL_ADDR_ERR_SYNTAX;
        }
    }
    if (after_dot) {
        *why_r = "local part ends in a dot";
        return MAIL_ADDR_ERR_SYNTAX;
    }
    return 0;
}

/* address-literal: "[" ( IPv4 / "IPv6:" IPv6 / tag ":" dcontent ) "]". */
static int mail_addr_check_literal(const char *p, const char *e,
                                   const char **why_r)
{
    char tmp[MAIL_ADDR_DOMAIN_MAX + 1];
    size_t n = (size_t)(e - p);
    *why_r = "bad address literal";
    if (n < 3 || p[0] != '[' || e[-1] != ']' || n - 2 >= sizeof(tmp))
        return MAIL_ADDR_ERR_SYNTAX;
    memcpy(tmp, p + 1, n - 2);
    tmp[n - 2] = '\0';
    unsigned char a[16];
    if (strncasecmp(tmp, "IPv6:", 5) == 0)
        return inet_pton(AF_INET6, tmp + 5, a) == 1 ? 0 : MAIL_ADDR_ERR_SYNTAX;
    if (inet_pton(AF_INET, tmp, a) == 1)
        return 0;
    /* General-address-literal: Standardized-tag ":" 1*dcontent. */
    char *colon = strchr(tmp, ':');
    if (colon == NULL || colon == tmp || colon[1] == '\0')
        return MAIL_ADDR_ERR_SYNTAX;
    for (char *q = tmp; q < colon; q++)
        if (!mail_addr_letdig((unsigned char)*q) && *q != '-')
            return MAIL_ADDR_ERR_SYNTAX;
    for (char *q = colon + 1; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
            return MAIL_ADDR_ERR_SYNTAX;
    }
    return 0;
}

/* Domain [p, e): dotted sub-domains (Let-dig [Ldh-str]) or a literal. */
static int mail_addr_check_domain(const char *p, const char *e, int flags,
                                  const char **why_r)
{
    if (p == e) {
        *why_r = "empty domain";
        return MAIL_ADDR_ERR_SYNTAX;
    }
    if ((size_t)(e - p) > MAIL_ADDR_DOMAIN_MAX) {
        *why_r = "domain too long";
        return MAIL_ADDR_ERR_LENGTH;
    }
    if (*p == '[')
        return mail_addr_check_literal(p, e, why_r);
    const char *label = p;
    for (const char *q = p; q <= e; q++) {
        if (q < e && *q != '.') {
            unsigned char c = (unsigned char)*q;
            if (c >= 0x80) {
                /* A U-label (RFC 6531 section 3.3). */
                if (!(flags & MAIL_ADDR_UTF8_OK)) {
                    *why_r = "non-ASCII domain without SMTPUTF8";
                    return MAIL_ADDR_ERR_UTF8;
                }
            } else if (!mail_addr_letdig(c) && c != '-') {
                *why_r = "bad character in domain";
                return MAIL_ADDR_ERR_SYNTAX;
            }
            continue;
        }
        /* End of a label: not empty, no hyphen at either end. */
        if (q == label || *label == '-' || q[-1] == '-') {
            *why_r = "bad domain label";
            return MAIL_ADDR_ERR_SYNTAX;
        }
        label = q + 1;
    }
    return 0;
}

/* Mailbox [p, e) or the bare postmaster. */
static int mail_addr_check_span(const char *p, const char *e, int flags,
                                const char **why_r)
{
    /* The '@' that ends the local part: skip a quoted string first. */
    const char *at = NULL;
    if (p < e && *p == '"') {
        const char *q = p + 1;
        while (q < e && *q != '"')
            q += (*q == '\\' && q + 1 < e) ? 2 : 1;
        if (q >= e) {
            *why_r = "unterminated quoted local part";
            return MAIL_ADDR_ERR_SYNTAX;
        }
        at = memchr(q, '@', (size_t)(e - q));
    } else {
        at = memchr(p, '@', (size_t)(e - p));
    }
    if (at == NULL) {
        if ((flags & MAIL_ADDR_POSTMASTER_OK) && e - p == 10 &&
            strncasecmp(p, "postmaster", 10) == 0)
            return 0;
        *why_r = "no domain in address";
        return MAIL_ADDR_ERR_SYNTAX;
    }
    int r = mail_addr_check_local(p, at, flags, why_r);
    if (r != 0)
        return r;
    return mail_addr_check_domain(at + 1, e, flags, why_r);
}

int mail_addr_check(const char *addr, int flags, const char **why_r)
{
    return mail_addr_check_span(addr, addr + strlen(addr), flags, why_r);
}

/* A source route "@a,@b:" at p (section 4.1.2 A-d-l); returns the byte
 * after the colon, or NULL when it is malformed. */
static const char *mail_addr_skip_route(const char *p, const char *e, int flags)
{
    for (;;) {
        if (p >= e || *p != '@')
            return NULL;
        const char *s = ++p;
        while (p < e && *p != ',' && *p != ':')
            p++;
        const char *why;
        if (p >= e || mail_addr_check_domain(s, p, flags, &why) != 0)
            return NULL;
        if (*p++ == ':')
            return p;
    }
}

int mail_addr_parse_path(const char *s, int flags, char **addr_r,
                         const char **end_r, const char **why_r)
{
    const char *p = s;
    *addr_r = NULL;
    if (flags & MAIL_ADDR_LENIENT)
        while (*p == ' ' || *p == '\t')
            p++;
    const char *start, *stop, *end;
    if (*p == '<') {
        /* The closing '>' that is not inside a quoted string. */
        const char *q = p + 1;
        bool quoted = false;
        for (; *q; q++) {
            if (quoted && *q == '\\' && q[1] != '\0')
                q++;
            else if (*q == '"')
                quoted = !quoted;
            else if (!quoted && *q == '>')
                break;
        }
        if (*q != '>') {
            *why_r = "missing '>'";
            return MAIL_ADDR_ERR_SYNTAX;
        }
        start = p + 1;
        stop = q;
        end = q + 1;
        if (start < stop && *start == '@') {
            start = mail_addr_skip_route(start, stop, flags);
            if (start == NULL) {
                *why_r = "bad source route";
                return MAIL_ADDR_ERR_SYNTAX;
            }
        }
    } else if (flags & MAIL_ADDR_LENIENT) {
        /* Postfix accepts "MAIL FROM:user@domain" (strict_rfc821_envelopes
         * = no); so do we, up to the first space. */
        start = p;
        stop = p + strcspn(p, " \t");
        end = stop;
        if (start == stop) {
            *why_r = "missing address";
            return MAIL_ADDR_ERR_SYNTAX;
        }
    } else {
        *why_r = "missing '<'";
        return MAIL_ADDR_ERR_SYNTAX;
    }
    if (start == stop) {
        if (!(flags & MAIL_ADDR_NULL_OK)) {
            *why_r = "null address not allowed here";
            return MAIL_ADDR_ERR_SYNTAX;
        }
    } else {
        if ((size_t)(stop - start) + 2 > MAIL_ADDR_PATH_MAX) {
            *why_r = "address too long";
            return MAIL_ADDR_ERR_LENGTH;
        }
        int r = mail_addr_check_span(start, stop, flags, why_r);
        if (r != 0)
            return r;
    }
    *addr_r = mem_strndup(start, (size_t)(stop - start));
    *end_r = end;
    return 0;
}

int mail_addr_split(const char *addr, char **local_r, char **domain_r)
{
    const char *at = strrchr(addr, '@');
    if (at == NULL) {
        *local_r = mem_strdup(addr);
        *domain_r = mem_strdup("");
        return 0;
    }
    *local_r = mem_strndup(addr, (size_t)(at - addr));
    *domain_r = mem_strdup(at + 1);
    return 1;
}

/* Compare two domains ignoring case and one trailing dot on either. */
static bool mail_addr_domain_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

bool mail_addr_domain_in_list(const char *domain, char *const *list)
{
    for (; list && *list; list++)
        if (mail_addr_domain_eq(domain, *list))
            return true;
    return false;
}

bool mail_addr_domain_is_local(const char *domain)
{
    if (*domain == '\0')
        return true;
    char **list = var_list("mydestination");
    bool r = mail_addr_domain_in_list(domain, list);
    conf_free_list(&list);
    return r;
}

bool mail_addr_is_postmaster(const char *addr)
{
    size_t n = strcspn(addr, "@");
    return n == 10 && strncasecmp(addr, "postmaster", 10) == 0;
}
