/*
 * mail_conf_test - parameters: file over embedded defaults, $name
 * expansion, paths relative to the configuration directory, typed values,
 * listen entries, and "config check" reports with file and line.
 */
#include "global/mail_conf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/conf.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static char mc_test_dir[] = "/tmp/postie-mail-conf-test-XXXXXX";

static void mc_test_write(const char *text)
{
    char *p = fs_join(mc_test_dir, MAIL_CONF_FILE);
    if (fs_write_atomic(p, text, strlen(text), 0644) < 0)
        perror(p);
    mem_free(&p);
}

static void test_mail_conf_listen_entry(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *host;
        int port;
    } cases[] = {
        {"2525", 0, "", 2525},
        {"127.0.0.1:25", 0, "127.0.0.1", 25},
        {"[::1]:587", 0, "::1", 587},
        {"mail.example.org:465", 0, "mail.example.org", 465},
        {":2525", 0, "", 2525},
        {"0", -1, NULL, 0},
        {"65536", -1, NULL, 0},
        {"smtp", -1, NULL, 0},
        {"::1:25", -1, NULL, 0},     /* v6 without brackets */
        {"[::1]25", -1, NULL, 0},
        {"[]:25", -1, NULL, 0},
        {"127.0.0.1:", -1, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[64] = "?";
        int port = 0;
        const char *why = NULL;
        int rc = mail_conf_listen_entry(cases[i].in, host, sizeof(host), &port, &why);
        TEST_EQ_INT(rc, cases[i].rc);
        if (rc == 0) {
            TEST_EQ_STR(host, cases[i].host);
            TEST_EQ_INT(port, cases[i].port);
        } else {
            TEST_TRUE(why != NULL && *why != '\0');
        }
    }
}

static void test_mail_conf_values(void)
{
    mc_test_write("myhostname = mx.example.org\n"
                  "mydestination = $myhostname, localhost.${mydomain}\n"
                  "queue_run_delay = 2m\n"
                  "message_size_limit = 5000\n"
                  "disable_vrfy_command = no\n"
                  "queue_directory = /var/spool/postie\n");
    mail_conf_set_dir(mc_test_dir);
    mail_conf_read();
    char real[4096];
    TEST_TRUE(realpath(mc_test_dir, real) != NULL);
    TEST_EQ_STR(mail_conf_dir(), real);
    TEST_EQ_STR(var_str("mydestination"), "mx.example.org, localhost.example.org");
    TEST_EQ_STR(mail_conf_raw("mydestination"), "$myhostname, localhost.${mydomain}");
    TEST_EQ_INT(var_time("queue_run_delay"), 120);
    TEST_EQ_INT(var_int("message_size_limit"), 5000);
    TEST_EQ_INT(var_bool("disable_vrfy_command"), 0);
    TEST_TRUE(var_is_set("myhostname"));
    TEST_TRUE(!var_is_set("smtpd_listen"));
    /* Relative paths are relative to the configuration directory. */
    char *p = var_path("maillog_file");
    char *want = fs_join(real, "maillog");
    TEST_EQ_STR(p, want);
    mem_free(&p);
    mem_free(&want);
    p = var_path("queue_directory");
    TEST_EQ_STR(p, "/var/spool/postie");
    mem_free(&p);
    char **v = var_list("mydestination");
    TEST_EQ_STR(v[0], "mx.example.org");
    TEST_EQ_STR(v[1], "localhost.example.org");
    TEST_TRUE(v[2] == NULL);
    conf_free_list(&v);
    /* An override in memory wins over the file. */
    var_set("myhostname", "other.example.net");
    TEST_EQ_STR(var_str("myorigin"), "other.example.net");
}

typedef struct mc_test_reports {
    buf *b;
} mc_test_reports;

static void mc_test_report(const char *path, int line, const char *text, void *ctx)
{
    mc_test_reports *r = ctx;
    const char *base = strrchr(path, '/');
    buf_printf(r->b, "%s:%d: %s\n", base ? base + 1 : path, line, text);
}

static void test_mail_conf_check_reports_file_and_line(void)
{
    static const struct {
        const char *text;
        int problems;
        const char *want;
    } cases[] = {
        {"myhostname = a.example\n", 0, ""},
        {"bogus = 1\n", 1, "postie.conf:1: unknown parameter: bogus\n"},
        {"\nsmtpd_timeout = soon\n", 1,
         "postie.conf:2: smtpd_timeout = soon: not a time value (e.g. 300s, 5m, 1h, 5d)\n"},
        {"smtpd_listen = 2525 [::1]:0\n", 1,
         "postie.conf:1: smtpd_listen = 2525 [::1]:0: \"[::1]:0\": port must be a number from 1 to 65535\n"},
        {"inet_interfaces = all, 127.0.0.1\n", 1,
         "postie.conf:1: inet_interfaces = all, 127.0.0.1: all and loopback-only stand alone\n"},
        {"smtpd_processes = 0\n", 1,
         "postie.conf:1: smtpd_processes = 0: at least one process is needed\n"},
        {"smtpd_forbid_bare_newline = sometimes\n", 1,
         "postie.conf:1: smtpd_forbid_bare_newline = sometimes: expected normalize, reject, yes or no\n"},
        /* Values are checked after expansion. */
        {"x_limit = 5\n", 1, "postie.conf:1: unknown parameter: x_limit\n"},
        {"message_size_limit = $smtpd_recipient_limit\n", 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mc_test_write(cases[i].text);
        mc_test_reports r = {buf_new(8192)};
        TEST_EQ_INT(mail_conf_check(mc_test_report, &r), cases[i].problems);
        TEST_EQ_STR(buf_str(r.b), cases[i].want);
        buf_free(&r.b);
    }
}

/* A service started by master reads the text master passed (once), then
 * the file on SIGHUP; a bad descriptor value is refused, never guessed. */
static void test_mail_conf_reads_what_master_passed(void)
{
    mail_conf_set_dir(mc_test_dir);
    mc_test_write("queue_run_delay = later\nrelayhost = from-file.test\n");
    int fd = memfd_create("postie.conf", 0);
    TEST_TRUE(fd >= 3);
    const char *snap = "relayhost = from-master.test\n";
    TEST_EQ_INT((int)write(fd, snap, strlen(snap)), (int)strlen(snap));
    char v[16];
    snprintf(v, sizeof(v), "%d", fd);
    setenv(MAIL_CONF_FD_ENV, v, 1);
    mail_conf_read();
    TEST_EQ_STR(var_str("relayhost"), "from-master.test");
    TEST_TRUE(getenv(MAIL_CONF_FD_ENV) == NULL);  /* not for its children */
    TEST_TRUE(fcntl(fd, F_GETFD) < 0);            /* closed */
    mail_conf_reload();                           /* SIGHUP: the file */
    TEST_EQ_STR(var_str("relayhost"), "from-file.test");
    mc_test_write("");
    mail_conf_read();
}

int main(void)
{
    if (mkdtemp(mc_test_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    TEST_RUN(test_mail_conf_listen_entry);
    TEST_RUN(test_mail_conf_values);
    TEST_RUN(test_mail_conf_check_reports_file_and_line);
    TEST_RUN(test_mail_conf_reads_what_master_passed);
    char *p = fs_join(mc_test_dir, MAIL_CONF_FILE);
    unlink(p);
    mem_free(&p);
    rmdir(mc_test_dir);
    return test_done();
}
