/*
 * pop3d_session - TRANSACTION and UPDATE states; see pop3d_session.h.
 *
 * Replies follow Dovecot's texts where clients or people may look for
 * them.  The session counts what Dovecot's default pop3_logout_format
 * reports, so the closing line reads the same:
 *   pop3(USER)<PID><SESSION>: Disconnected: Logged out top=N/B, retr=N/B,
 *   del=N/M, size=S
 */
#include "pop3d/pop3d_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pop3d/pop3d_login.h"
#include "util/mem.h"
#include "util/msg.h"

/* Unknown commands before the session ends (a client in a loop). */
#define POP3D_SESSION_BAD_LIMIT 20

int pop3d_session_msgno(const char *arg, int n, const char **rest_r)
{
    long v = 0;
    const char *p = arg;
    if (*p < '1' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > n)
            return -1;
        p++;
    }
    if (*p != '\0' && *p != ' ')
        return -1;
    if (rest_r)
        *rest_r = *p == ' ' ? p + 1 : p;
    else if (*p != '\0')
        return -1;
    return (int)v - 1;
}

void pop3d_session_top_init(pop3d_top *t, long lines)
{
    memset(t, 0, sizeof(*t));
    t->bol = true;
    t->lines = lines;
}

size_t pop3d_session_top_cut(pop3d_top *t, const char *p, size_t n)
{
    if (t->done)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!t->body) {
            if (c == '\n') {
                if (t->bol || t->cr_line) {
                    /* The empty line ends the header (RFC 5322 2.1). */
                    t->body = true;
                    if (t->lines == 0) {
                        t->done = true;
                        return i + 1;
                    }
                }
                t->bol = true;
                t->cr_line = false;
                continue;
            }
            t->cr_line = t->bol && c == '\r';
            t->bol = false;
            continue;
        }
        if (c == '\n' && --t->lines == 0) {
            t->done = true;
            return i + 1;
        }
    }
    return n;
}

static int pop3d_session_flush(pop3d_session *s, buf *out)
{
    int r = 0;
    if (out->len > 0)
        r = conn_write(s->io, out->data, out->len);
    buf_reset(out);
    return r;
}

/* RETR and TOP: stream the file through the encoder; lines < 0: all. */
static int pop3d_session_send(pop3d_session *s, int i, long lines, buf *out,
                              long long *bytes_r)
{
    int fd = pop3d_maildir_fopen(s->md, i);
    if (fd < 0) {
        buf_puts(out, "-ERR Message was deleted by another session.\r\n");
        return 0;
    }
    pop3d_msg *m = &s->md->v[i];
    pop3d_dot dot = {0};
    pop3d_top top;
    pop3d_session_top_init(&top, lines);
    char tmp[32768];
    /* The replies before, the +OK line, the content and the end go out
     * together, in writes of up to about 64 KB: a small message is one
     * write.  Written in pieces (reply, content, end), the last piece
     * waited for the client's delayed ACK under Nagle's algorithm, about
     * 40 ms per RETR (issue #15).  Each content octet becomes at most two
     * (CR LF, or a stuffed dot). */
    buf *enc = buf_new(out->len + 4 * sizeof(tmp) + 256);
    buf_append(enc, out->data, out->len);
    buf_reset(out);
    buf_printf(enc, "+OK %lld octets\r\n", m->size);
    long long sent = 0;
    int r = 0;
    ssize_t n;
    while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
        size_t take = (size_t)n;
        if (lines >= 0)
            take = pop3d_session_top_cut(&top, tmp, take);
        size_t before = enc->len;
        pop3d_proto_dot(&dot, tmp, take, enc);
        sent += (long long)(enc->len - before);
        if (enc->len + 2 * sizeof(tmp) + 8 > enc->max) {
            if (conn_write(s->io, enc->data, enc->len) < 0) {
                r = -1;
                break;
            }
            buf_reset(enc);
        }
        if (lines >= 0 && top.done)
            break;
    }
    if (n < 0) {
        /* The +OK may be out: the only honest end left is to drop the
         * connection (RFC 1939 has no way to take back a +OK). */
        msg_error("pop3(%s)<%d><%s>: read %s: %m", s->user, (int)getpid(),
                  s->sid, m->name);
        r = -1;
    }
    close(fd);
    if (r == 0) {
        pop3d_proto_dot_end(&dot, enc);
        r = conn_write(s->io, enc->data, enc->len);
    }
    buf_free(&enc);
    m->seen = true;
    *bytes_r += sent;
    return r;
}

static void pop3d_session_listing(pop3d_session *s, const char *kw,
                                  const char *arg, buf *out)
{
    bool uidl = strcmp(kw, "UIDL") == 0;
    if (*arg) {
        int i = pop3d_session_msgno(arg, s->md->n, NULL);
        if (i < 0 || s->md->v[i].deleted) {
            buf_puts(out, "-ERR There's no message with that number.\r\n");
            return;
        }
        if (uidl)
            buf_printf(out, "+OK %d %s\r\n", i + 1, s->md->v[i].uidl);
        else
            buf_printf(out, "+OK %d %lld\r\n", i + 1, s->md->v[i].size);
        return;
    }
    buf_puts(out, "+OK\r\n");
    for (int i = 0; i < s->md->n; i++) {
        if (s->md->v[i].deleted)
            continue; /* section 5: deleted messages are not listed */
        if (uidl)
            buf_printf(out, "%d %s\r\n", i + 1, s->md->v[i].uidl);
        else
            buf_printf(out, "%d %lld\r\n", i + 1, s->md->v[i].size);
        if (out->len > 60000)
            pop3d_session_flush(s, out);
    }
    buf_puts(out, ".\r\n");
}

int pop3d_session_line(pop3d_session *s, const char *line, bool too_long,
                       buf *out)
{
    char kw[41];
    const char *arg;
    if (too_long) {
        buf_puts(out, "-ERR Input line too long.\r\n");
        return ++s->bad_commands >= POP3D_SESSION_BAD_LIMIT ? -1 : 0;
    }
    if (pop3d_proto_split(line, kw, sizeof(kw), &arg) < 0) {
        buf_puts(out, "-ERR Unknown command.\r\n");
        return ++s->bad_commands >= POP3D_SESSION_BAD_LIMIT ? -1 : 0;
    }
    pop3d_maildir *md = s->md;
    if (strcmp(kw, "STAT") == 0) {
        int n = 0;
        long long size = 0;
        for (int i = 0; i < md->n; i++)
            if (!md->v[i].deleted) {
                n++;
                size += md->v[i].size;
            }
        buf_printf(out, "+OK %d %lld\r\n", n, size);
    } else if (strcmp(kw, "LIST") == 0 || strcmp(kw, "UIDL") == 0) {
        pop3d_session_listing(s, kw, arg, out);
    } else if (strcmp(kw, "RETR") == 0 || strcmp(kw, "TOP") == 0) {
        bool top = kw[0] == 'T';
        const char *rest = ""; /* not set when the number is bad */
        int i = pop3d_session_msgno(arg, md->n, &rest);
        long lines = -1;
        if (top && i >= 0) {
            char *end;
            errno = 0;
            lines = *rest >= '0' && *rest <= '9' ? strtol(rest, &end, 10) : -1;
            if (lines < 0 || errno != 0 || *end != '\0') {
                buf_puts(out, "-ERR Invalid number of lines.\r\n");
                return 0;
            }
        } else if (*rest != '\0') {
            i = -1;
        }
        if (i < 0 || md->v[i].deleted) {
            buf_puts(out, "-ERR There's no message with that number.\r\n");
            return 0;
        }
        long long *bytes = top ? &s->top_bytes : &s->retr_bytes;
        if (top)
            s->top_n++;
        else
            s->retr_n++;
        if (pop3d_session_send(s, i, lines, out, bytes) < 0)
            return -1;
    } else if (strcmp(kw, "DELE") == 0) {
        int i = pop3d_session_msgno(arg, md->n, NULL);
        if (i < 0 || md->v[i].deleted) {
            buf_puts(out, "-ERR There's no message with that number.\r\n");
            return 0;
        }
        md->v[i].deleted = true;
        s->del_n++;
        buf_puts(out, "+OK Marked to be deleted.\r\n");
    } else if (strcmp(kw, "RSET") == 0) {
        for (int i = 0; i < md->n; i++)
            md->v[i].deleted = false;
        s->del_n = 0;
        buf_puts(out, "+OK\r\n");
    } else if (strcmp(kw, "NOOP") == 0) {
        buf_puts(out, "+OK\r\n");
    } else if (strcmp(kw, "CAPA") == 0) {
        pop3d_login_capa(out, NULL);
    } else if (strcmp(kw, "QUIT") == 0) {
        /* Section 6: the UPDATE state.  The reply waits for the removals,
         * so that +OK means they are done. */
        pop3d_maildir_update(md);
        buf_puts(out, s->del_n ? "+OK Logging out, messages deleted.\r\n"
                               : "+OK Logging out.\r\n");
        s->quit = true;
        return 1;
    } else {
        buf_puts(out, "-ERR Unknown command.\r\n");
        return ++s->bad_commands >= POP3D_SESSION_BAD_LIMIT ? -1 : 0;
    }
    return 0;
}

void pop3d_session_run(pop3d_session *s)
{
    buf *out = buf_new(1 << 20);
    const char *why = "Connection closed";
    int count = s->md->n;
    long long size = s->md->total;
    buf_puts(out, "+OK Logged in.\r\n");
    if (pop3d_session_flush(s, out) < 0)
        goto done;
    for (;;) {
        char *line = NULL;
        size_t len;
        int r = conn_line(s->io, &line, &len);
        if (r == CONN_TIMEOUT) {
            /* RFC 1939 section 3: an autologout timer of at least ten
             * minutes; no UPDATE state, nothing is deleted. */
            why = "Inactivity";
            pop3d_proto_say(s->io, "-ERR Disconnected for inactivity.\r\n");
            break;
        }
        if (r < 0)
            break;
        int c = pop3d_session_line(s, r == CONN_TOOLONG ? "" : line, r == CONN_TOOLONG, out);
        int w = pop3d_session_flush(s, out);
        if (c == 1) {
            why = "Logged out";
            break;
        }
        if (c < 0) {
            if (s->bad_commands >= POP3D_SESSION_BAD_LIMIT)
                why = "Too many invalid commands";
            break;
        }
        if (w < 0)
            break;
    }
done:
    buf_free(&out);
    /* The deleted count is what was marked; without QUIT nothing was
     * removed (section 6), so del shows 0 then, as Dovecot's does. */
    msg_info("pop3(%s)<%d><%s>: Disconnected: %s top=%d/%lld, retr=%d/%lld, "
             "del=%d/%d, size=%lld",
             s->user, (int)getpid(), s->sid, why, s->top_n, s->top_bytes,
             s->retr_n, s->retr_bytes, s->quit ? s->del_n : 0, count, size);
}
