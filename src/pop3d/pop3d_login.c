/*
 * pop3d_login - AUTHORIZATION state (RFC 1939 section 4); see
 * pop3d_login.h.
 *
 * Reply texts follow Dovecot's where a client or a person might look for
 * them ("-ERR [AUTH] Authentication failed."): RFC 2449's response codes
 * [AUTH], [SYS/TEMP] let a client tell a wrong password from a server
 * problem.
 */
#include "pop3d/pop3d_login.h"

#include <stdio.h>
#include <string.h>

#include "util/base64.h"

/* Commands that were neither valid nor in state before the connection
 * ends: a client that speaks no POP3 is not kept talking. */
#define POP3D_LOGIN_BAD_LIMIT 10

void pop3d_login_init(pop3d_login *l, int attempt_limit)
{
    memset(l, 0, sizeof(*l));
    l->attempt_limit = attempt_limit > 0 ? attempt_limit : 1;
    l->method = "PLAIN";
}

void pop3d_login_greeting(buf *out)
{
    buf_puts(out, "+OK POP3 server ready.\r\n");
}

void pop3d_login_capa(buf *out, const pop3d_login *l)
{
    /* RFC 2449 section 6: the capabilities in force in this state. */
    /* PIPELINING (section 6.6): commands are read from a buffer and
     * answered in order, also across the login (pop3d_auth.c). */
    buf_puts(out, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\n");
    if (l != NULL) {
        /* RFC 2595 section 4: STLS only before TLS; passwords only where
         * they may be sent. */
        if (l->tls_offer && !l->tls_active)
            buf_puts(out, "STLS\r\n");
        if (l->tls_active || !l->tls_auth_only)
            buf_puts(out, "USER\r\nSASL PLAIN\r\n");
        buf_puts(out, "AUTH-RESP-CODE\r\n");
    }
    buf_puts(out, "IMPLEMENTATION postie\r\n.\r\n");
}

void pop3d_login_tls_started(pop3d_login *l)
{
    l->tls_active = true;
    /* RFC 2595 section 4: the client must forget what it knew, so must
     * we: a USER given before STLS does not count. */
    l->have_user = false;
    l->user[0] = '\0';
}

static bool pop3d_login_plain_ok(const pop3d_login *l)
{
    return l->tls_active || !l->tls_auth_only;
}

#define POP3D_LOGIN_NEED_TLS \
    "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"

static enum pop3d_login_act pop3d_login_bad(pop3d_login *l, buf *out,
                                            const char *reply)
{
    buf_puts(out, reply);
    if (++l->bad_commands >= POP3D_LOGIN_BAD_LIMIT) {
        buf_puts(out, "-ERR Too many invalid commands.\r\n");
        return POP3D_LOGIN_CLOSE;
    }
    return POP3D_LOGIN_NONE;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd, base64 (RFC 5034 section 4). */
static enum pop3d_login_act pop3d_login_plain(pop3d_login *l, const char *b64,
                                              buf *out)
{
    char dec[POP3D_LINE_MAX + 1];
    long n = base64_decode(b64, strlen(b64), dec, sizeof(dec) - 1);
    if (n < 0)
        return pop3d_login_bad(l, out, "-ERR Invalid base64 data in response.\r\n");
    dec[n] = '\0';
    const char *authz = dec;
    const char *z1 = memchr(dec, '\0', (size_t)n);
    const char *z2 = z1 ? memchr(z1 + 1, '\0', (size_t)(dec + n - z1 - 1)) : NULL;
    if (z1 == NULL || z2 == NULL)
        return pop3d_login_bad(l, out, "-ERR [AUTH] Invalid AUTH PLAIN response.\r\n");
    const char *authc = z1 + 1;
    const char *pw = z2 + 1;
    size_t pwlen = (size_t)(dec + n - pw);
    /* Acting as another user (an authzid other than the authcid) would
     * need a master-user concept postie does not have. */
    if (*authz && strcmp(authz, authc) != 0) {
        memset(dec, 0, sizeof(dec));
        return pop3d_login_bad(l, out, "-ERR [AUTH] Authorization as another user is not supported.\r\n");
    }
    if (strlen(authc) > POP3D_USER_MAX || memchr(pw, '\0', pwlen) != NULL) {
        memset(dec, 0, sizeof(dec));
        return pop3d_login_result(l, false, out);
    }
    snprintf(l->user, sizeof(l->user), "%s", authc);
    memcpy(l->pass, pw, pwlen);
    l->pass[pwlen] = '\0';
    memset(dec, 0, sizeof(dec));
    l->method = "PLAIN";
    return POP3D_LOGIN_VERIFY;
}

enum pop3d_login_act pop3d_login_line(pop3d_login *l, const char *line,
                                      bool too_long, buf *out)
{
    if (l->sasl_wait) {
        /* RFC 5034 section 4: the client's response to "+ ", or "*" to
         * cancel. */
        l->sasl_wait = false;
        if (too_long)
            return pop3d_login_bad(l, out, "-ERR Input line too long.\r\n");
        if (strcmp(line, "*") == 0)
            return pop3d_login_bad(l, out, "-ERR Authentication aborted by client.\r\n");
        return pop3d_login_plain(l, line, out);
    }
    if (too_long)
        return pop3d_login_bad(l, out, "-ERR Input line too long.\r\n");
    char kw[41];
    const char *arg;
    if (pop3d_proto_split(line, kw, sizeof(kw), &arg) < 0)
        return pop3d_login_bad(l, out, "-ERR Unknown command.\r\n");

    if (strcmp(kw, "QUIT") == 0) {
        /* Section 4: QUIT in AUTHORIZATION ends without an UPDATE state. */
        buf_puts(out, "+OK Logging out.\r\n");
        l->quit = true;
        return POP3D_LOGIN_CLOSE;
    }
    if (strcmp(kw, "CAPA") == 0) {
        pop3d_login_capa(out, l);
        return POP3D_LOGIN_NONE;
    }
    if (strcmp(kw, "STLS") == 0) {
        if (!l->tls_offer)
            return pop3d_login_bad(l, out, "-ERR TLS support isn't enabled.\r\n");
        if (l->tls_active)
            return pop3d_login_bad(l, out, "-ERR TLS is already active.\r\n");
        buf_puts(out, "+OK Begin TLS negotiation now.\r\n");
        return POP3D_LOGIN_STARTTLS;
    }
    if ((strcmp(kw, "USER") == 0 || strcmp(kw, "PASS") == 0 ||
         strcmp(kw, "AUTH") == 0) && !pop3d_login_plain_ok(l))
        return pop3d_login_bad(l, out, POP3D_LOGIN_NEED_TLS);
    if (strcmp(kw, "USER") == 0) {
        /* Section 7: a name the users file could not hold is refused at
         * PASS like a wrong password, so that USER tells nothing about
         * which names exist. */
        snprintf(l->user, sizeof(l->user), "%.*s", POP3D_USER_MAX, arg);
        if (*arg == '\0')
            return pop3d_login_bad(l, out, "-ERR USER: Missing argument.\r\n");
        l->have_user = true;
        buf_puts(out, "+OK\r\n");
        return POP3D_LOGIN_NONE;
    }
    if (strcmp(kw, "PASS") == 0) {
        if (!l->have_user)
            return pop3d_login_bad(l, out, "-ERR No username given.\r\n");
        l->have_user = false; /* section 7: a failed PASS needs USER again */
        snprintf(l->pass, sizeof(l->pass), "%s", arg);
        l->method = "PLAIN";
        return POP3D_LOGIN_VERIFY;
    }
    if (strcmp(kw, "AUTH") == 0) {
        char mech[32];
        const char *ir;
        if (*arg == '\0' || pop3d_proto_split(arg, mech, sizeof(mech), &ir) < 0)
            return pop3d_login_bad(l, out, "-ERR Unsupported authentication mechanism.\r\n");
        if (strcmp(mech, "PLAIN") != 0)
            return pop3d_login_bad(l, out, "-ERR Unsupported authentication mechanism.\r\n");
        if (*ir == '\0') {
            buf_puts(out, "+ \r\n");
            l->sasl_wait = true;
            return POP3D_LOGIN_NONE;
        }
        if (strcmp(ir, "=") == 0) /* RFC 5034 section 4: empty response */
            ir = "";
        return pop3d_login_plain(l, ir, out);
    }
    if (strcmp(kw, "APOP") == 0)
        return pop3d_login_bad(l, out, "-ERR Not supported.\r\n");
    if (strcmp(kw, "STAT") == 0 || strcmp(kw, "LIST") == 0 ||
        strcmp(kw, "RETR") == 0 || strcmp(kw, "DELE") == 0 ||
        strcmp(kw, "UIDL") == 0 || strcmp(kw, "TOP") == 0 ||
        strcmp(kw, "NOOP") == 0 || strcmp(kw, "RSET") == 0)
        return pop3d_login_bad(l, out, "-ERR Unknown command in AUTHORIZATION state.\r\n");
    return pop3d_login_bad(l, out, "-ERR Unknown command.\r\n");
}

enum pop3d_login_act pop3d_login_result(pop3d_login *l, bool ok, buf *out)
{
    memset(l->pass, 0, sizeof(l->pass));
    l->attempts++;
    if (ok)
        return POP3D_LOGIN_NONE;
    /* One reply, then the close: a second -ERR would be read as the
     * answer to the client's next command. */
    buf_puts(out, "-ERR [AUTH] Authentication failed.\r\n");
    return l->attempts >= l->attempt_limit ? POP3D_LOGIN_CLOSE : POP3D_LOGIN_NONE;
}
