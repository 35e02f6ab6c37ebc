/*
 * pop3d_session_fuzz - libFuzzer target that drives the pre-login POP3
 * parser the way the login process does: bytes from the network go
 * through the line splitter (RFC 2449's 255-octet limit) into the
 * AUTHORIZATION state machine (RFC 1939 section 4, RFC 5034 AUTH PLAIN).
 * Password checks are answered from the input (byte 0's bits), so both
 * the failure path, with its attempt limit, and the success path run;
 * after a success the rest of the input drives the TRANSACTION state
 * (RFC 1939 section 5) on a Maildir in a temporary directory, its output
 * thrown away (QUIT, whose UPDATE would change the Maildir, ends the run
 * instead: the unit tests check UPDATE).
 *
 * Input layout: byte 0 = bit 7: a certificate is configured (STLS is
 * offered; a handshake "succeeds" at once), bit 6: pop3d_tls_auth_only,
 * bits 0-5: answers to the password checks (bit k: the k-th check
 * succeeds); the rest is what the client sends, split into separate
 * reads at each 0xFF byte (so that lines break at every place).
 *
 * Build: fuzz/Makefile (every fuzz/NAME_fuzz.c is a target).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pop3d/pop3d_login.h"
#include "pop3d/pop3d_maildir.h"
#include "pop3d/pop3d_proto.h"
#include "pop3d/pop3d_session.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/msg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/pop3d_session_fuzz.XXXXXX";
static int fuzz_null = -1;

static void fuzz_put(const char *sub, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, sub);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/%s", fuzz_dir, sub, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mkdtemp(fuzz_dir) == NULL)
        abort();
    fuzz_put("cur", "100.A:2,S", "Subject: a\n\n.\n..x\nend\n");
    fuzz_put("new", "200.B", "Subject: b\r\n\r\nline\r\n");
    fuzz_put("new", "300.C", "no newline at the end");
    fuzz_null = open("/dev/null", O_WRONLY);
    return 0;
}

/* The logged-in part: one line into the session; false ends the run. */
static bool fuzz_session_line(pop3d_session *s, const char *line, bool too_long,
                              buf *out)
{
    if (strncasecmp(line, "quit", 4) == 0)
        return false;
    int r = pop3d_session_line(s, line, too_long, out);
    buf_reset(out);
    return r == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned answers = data[0] & 0x3f;
    bool tls_offer = (data[0] & 0x80) != 0;
    bool auth_only = (data[0] & 0x40) != 0;
    data++;
    size--;
    pop3d_login l;
    pop3d_login_init(&l, 3);
    l.tls_offer = tls_offer;
    l.tls_auth_only = auth_only;
    /* The client's bytes go into a conn with pop3d's limits, as in the
     * login process (no descriptor: the reads are simulated). */
    conn *fc = pop3d_proto_conn(-1, 1);
    buf *in = fc->in;
    buf *out = buf_new(1 << 16);
    int checks = 0;
    bool closed = false;
    pop3d_maildir *md = NULL;
    conn *io = pop3d_proto_conn(fuzz_null, 1);
    pop3d_session sess = {.io = io, .user = "fuzz", .sid = "fuzz"};
    size_t i = 0;
    while (i < size && !closed) {
        size_t j = i;
        while (j < size && data[j] != 0xff)
            j++;
        /* What one read(2) would deliver, bounded as the login process's
         * buffer is. */
        size_t room = in->max - in->len;
        size_t take = j - i < room ? j - i : room;
        buf_append(in, data + i, take);
        i = j + 1;
        for (;;) {
            char *line = NULL;
            size_t len;
            int r = conn_line_take(fc, &line, &len);
            if (r == CONN_AGAIN)
                break;
            if (r == CONN_LINE && (len > POP3D_LINE_MAX || strlen(line) > len))
                abort(); /* the splitter broke its limit */
            if (r == CONN_TOOLONG)
                line = NULL; /* as the login process: no text of it is used */
            if (md != NULL) {
                bool go_on = fuzz_session_line(&sess, line ? line : "", r == CONN_TOOLONG, out);
                if (!go_on) {
                    closed = true;
                    break;
                }
                continue;
            }
            enum pop3d_login_act a = pop3d_login_line(&l, line ? line : "", r == CONN_TOOLONG, out);
            if (a == POP3D_LOGIN_VERIFY) {
                if (strlen(l.user) > POP3D_USER_MAX || strlen(l.pass) > POP3D_LINE_MAX)
                    abort();
                if (l.tls_auth_only && !l.tls_active)
                    abort(); /* a clear-text password got through */
                bool ok = (answers >> (checks++ % 6)) & 1;
                a = pop3d_login_result(&l, ok, out);
                if (l.pass[0] != '\0')
                    abort(); /* a password outlived its check */
                if (ok) {
                    /* The session takes over with what is buffered. */
                    char *err = NULL;
                    if (pop3d_maildir_open(fuzz_dir, &md, &err) != 0)
                        abort();
                    sess.md = md;
                    buf_reset(out);
                    continue;
                }
            }
            if (a == POP3D_LOGIN_STARTTLS) {
                if (!tls_offer || l.tls_active)
                    abort();
                /* As the login process: pipelined clear text is dropped
                 * before the handshake. */
                buf_reset(in);
                fc->skip = false;
                pop3d_login_tls_started(&l);
                buf_reset(out);
                break;
            }
            if (a == POP3D_LOGIN_CLOSE) {
                closed = true;
                break;
            }
            if (l.attempts > l.attempt_limit)
                abort();
            buf_reset(out);
        }
    }
    pop3d_maildir_free(&md);
    conn_free(&fc);
    conn_release(&io); /* fuzz_null serves every run */
    buf_free(&out);
    return 0;
}
