/*
 * smtpd_session_fuzz - libFuzzer target that drives a whole SMTP server
 * session from a byte stream (Dovecot's habit: fuzz the server, not only
 * one parser).  The session has no socket; its replies are dropped; mail
 * it accepts is really written to a queue in a temporary directory, so
 * cleanup and the queue file writer are fuzzed too.
 *
 * Input layout: byte 0 picks the client (bit 0: inside or outside
 * mynetworks) and the bare-LF mode (bit 1: reject); the rest is what the
 * client sends, split into separate reads at each 0xFF byte (so that
 * pipelining and DATA/BDAT boundaries fall everywhere).
 *
 * Build: see fuzz/Makefile, or by hand: clang with
 * -fsanitize=fuzzer,address,undefined -std=c17 -D_GNU_SOURCE -Isrc, this
 * file and every non-test .c of src/smtpd, src/cleanup, src/global and
 * src/util, linked with -lcrypt -lssl -lcrypto -lz -lm.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "global/mail_conf.h"
#include "global/queue_file.h"
#include "smtpd/smtpd.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/smtpd_session_fuzz.XXXXXX";
static char *fuzz_incoming;
static unsigned fuzz_runs;

/* Leave no queue behind in /tmp. */
static void fuzz_remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fuzz_dir);
    (void)!system(cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (mkdtemp(fuzz_dir) == NULL)
        abort();
    atexit(fuzz_remove_dir);
    char *q = fs_join(fuzz_dir, "queue");
    queue_dirs_create(q);
    fuzz_incoming = fs_join(q, "incoming");
    char *users = fs_join(fuzz_dir, "users");
    fs_write_atomic(users, "bob:{SHA512-CRYPT}$6$x$y::::::\n", 31, 0600);
    char *aliases = fs_join(fuzz_dir, "aliases");
    fs_write_atomic(aliases, "info: bob\n", 10, 0600);
    mail_conf_set_dir(fuzz_dir);
    var_set("queue_directory", q);
    var_set("mail_users_file", users);
    var_set("alias_maps", aliases);
    var_set("myhostname", "mx.example.test");
    var_set("mydestination", "$myhostname, localhost");
    var_set("smtpd_recipient_limit", "5");
    var_set("message_size_limit", "20000");
    var_set("header_size_limit", "300");
    /* An input is one pipelined stream: with the default (yes) nearly
     * every session would end at its first line, and the fuzzer would
     * never reach DATA or BDAT.  The strict mode's checks are covered by
     * smtpd_session_test. */
    var_set("smtpd_forbid_unauth_pipelining", "no");
    msg_init("smtpd");
    msg_open_file("/dev/null");
    smtpd_conf_load();
    mem_free(&q);
    mem_free(&users);
    mem_free(&aliases);
    return 0;
}

/* Accepted messages pile up in incoming/: empty it now and then. */
static void fuzz_clean(void)
{
    DIR *d = opendir(fuzz_incoming);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = fs_join(fuzz_incoming, e->d_name);
        unlink(p);
        mem_free(&p);
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(40000)};
    inet_pton(AF_INET, (data[0] & 1) ? "192.0.2.1" : "127.0.0.1", &sin.sin_addr);
    smtpd_cf.forbid_bare_lf_reject = (data[0] & 2) != 0;
    smtpd_session *s = smtpd_session_new(-1, (struct sockaddr *)&sin, sizeof(sin));
    smtpd_session_greet(s);
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    while (n > 0) {
        const char *cut = memchr(p, 0xff, n);
        size_t k = cut ? (size_t)(cut - p) : n;
        smtpd_session_input(s, p, k);
        p += k + (cut ? 1 : 0);
        n -= k + (cut ? 1 : 0);
    }
    smtpd_session_free(&s);
    if (++fuzz_runs % 256 == 0)
        fuzz_clean();
    return 0;
}
