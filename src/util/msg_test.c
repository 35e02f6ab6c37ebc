/*
 * msg_test - the log line format: Postfix's prefix with a traditional time
 * stamp (no fractions), RFC 3339 as an option, host up to the first dot,
 * syslog_name/program[pid], one line per call, control characters made
 * harmless, and the severity prefixes.
 */
#include "util/msg.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

/* 2026-11-23 16:45:01.123456 UTC */
#define MSG_TEST_USEC 1795452301123456LL

static void test_msg_traditional_prefix(void)
{
    static const struct {
        int day;           /* added to the time, in days */
        const char *want;
    } cases[] = {
        {0, "Nov 23 16:45:01 mx postie/smtpd[1234]: connect from x\n"},
        /* Days below 10 are space-padded, as syslog writes them. */
        {10, "Dec  3 16:45:01 mx postie/smtpd[1234]: connect from x\n"},
    };
    msg_set_hostname("mx.example.org"); /* syslog writes up to the dot */
    msg_set_syslog_name("postie");
    msg_set_time_format(MSG_TIME_TRADITIONAL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[512];
        int n = msg_format_line(line, sizeof(line),
                                MSG_TEST_USEC + cases[i].day * 86400LL * 1000000,
                                "smtpd", 1234, "connect from x");
        TEST_EQ_STR(line, cases[i].want);
        TEST_EQ_INT(n, strlen(cases[i].want));
    }
}

static void test_msg_rfc3339_and_syslog_name(void)
{
    msg_set_hostname("mx");
    msg_set_syslog_name("postfix-out");
    msg_set_time_format(MSG_TIME_RFC3339);
    char line[512];
    msg_format_line(line, sizeof(line), MSG_TEST_USEC, "qmgr", 7, "ABC: removed");
    TEST_EQ_STR(line, "2026-11-23T16:45:01.123456+00:00 mx postfix-out/qmgr[7]: ABC: removed\n");
    msg_set_time_format(MSG_TIME_TRADITIONAL);
    msg_set_syslog_name("postie");
}

static void test_msg_long_text_is_cut_to_one_line(void)
{
    char text[3000];
    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    char line[256];
    int n = msg_format_line(line, sizeof(line), MSG_TEST_USEC, "smtpd", 1, text);
    TEST_EQ_INT(n, sizeof(line) - 1);
    TEST_EQ_INT(line[n - 1], '\n');
    TEST_TRUE(strchr(line, '\n') == line + n - 1);
}

static void test_msg_file_lines_severities_and_sanitizing(void)
{
    char path[] = "/tmp/postie-msg-test-XXXXXX";
    int fd = mkstemp(path);
    TEST_TRUE(fd >= 0);
    close(fd);
    msg_init("smtpd");
    msg_set_hostname("mx");
    TEST_EQ_INT(msg_open_file(path), 0);
    msg_info("connect from %s", "evil\nNov 23 00:00:00 mx postie/qmgr[1]: forged");
    msg_warn("bare LF\r received");
    msg_error("failed %d", 3);
    msg_info_as("cleanup", "ABC: message-id=<%s>", "x@y");
    size_t len = 0;
    char *log = fs_read_file(path, 1 << 16, &len);
    TEST_TRUE(log != NULL);
    /* Four calls, four lines: a client's newline cannot start a new one. */
    int lines = 0;
    for (char *p = log; *p; p++)
        lines += *p == '\n';
    TEST_EQ_INT(lines, 4);
    char want[256];
    snprintf(want, sizeof(want), " mx postie/smtpd[%d]: connect from evil?Nov 23 00:00:00 mx postie/qmgr[1]: forged\n",
             (int)getpid());
    TEST_TRUE(strstr(log, want) != NULL);
    snprintf(want, sizeof(want), " mx postie/smtpd[%d]: warning: bare LF? received\n", (int)getpid());
    TEST_TRUE(strstr(log, want) != NULL);
    snprintf(want, sizeof(want), " mx postie/smtpd[%d]: error: failed 3\n", (int)getpid());
    TEST_TRUE(strstr(log, want) != NULL);
    snprintf(want, sizeof(want), " mx postie/cleanup[%d]: ABC: message-id=<x@y>\n", (int)getpid());
    TEST_TRUE(strstr(log, want) != NULL);
    /* Traditional stamps carry no fraction of a second (pflogsumm). */
    TEST_TRUE(log[3] == ' ' && log[6] == ' ' && log[9] == ':' && log[15] == ' ');
    mem_free(&log);
    unlink(path);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    TEST_RUN(test_msg_traditional_prefix);
    TEST_RUN(test_msg_rfc3339_and_syslog_name);
    TEST_RUN(test_msg_long_text_is_cut_to_one_line);
    TEST_RUN(test_msg_file_lines_severities_and_sanitizing);
    return test_done();
}
