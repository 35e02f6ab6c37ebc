/*
 * bounce_log_test - the bounce log on disk: records as documented in
 * docs/queue.md, control characters neutralised, the expiry reason taken
 * from the pass's deferral text, removal of log and delay marker.
 */
#include "bounce/bounce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/mem.h"
#include "util/test.h"

static char test_dir[] = "/tmp/bounce_log_test.XXXXXX";

static char *test_read(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s/%s", test_dir, QUEUE_BOUNCE, name);
    return fs_read_file(path, 1 << 20, NULL);
}

static void test_append_and_remove(void)
{
    const char *id = "0123456789AB";
    TEST_TRUE(!bounce_log_exists(test_dir, id));
    TEST_EQ_INT(bounce_log_append(test_dir, id, 0, BOUNCE_FAILED, "5.1.1",
                                  "unknown user: \"x\""), 0);
    TEST_EQ_INT(bounce_log_append(test_dir, id, 2, BOUNCE_DELIVERED, "2.0.0",
                                  "tab\there\nand a line end"), 0);
    TEST_TRUE(bounce_log_exists(test_dir, id));
    char *text = test_read(id);
    TEST_EQ_STR(text, "0\tfailed\t5.1.1\tunknown user: \"x\"\n"
                      "2\tdelivered\t2.0.0\ttab?here?and a line end\n");
    mem_free(&text);

    queue_rcpt r = {.addr = "bob@example.org", .index = 1};
    const char *defer = "carol@example.org\t4.4.1\tconnection refused\n"
                        "bob@example.org\t4.2.0\tmailbox busy\n";
    TEST_EQ_INT(bounce_log_expire(test_dir, id, &r, defer), 0);
    queue_rcpt r2 = {.addr = "dave@example.org", .index = 3};
    TEST_EQ_INT(bounce_log_expire(test_dir, id, &r2, defer), 0);
    text = test_read(id);
    TEST_TRUE(text && strstr(text, "1\tfailed\t4.2.0\tmailbox busy\n") != NULL);
    TEST_TRUE(text && strstr(text, "3\tfailed\t4.4.7\tdelivery time expired\n") != NULL);
    mem_free(&text);

    char marker[256];
    snprintf(marker, sizeof(marker), "%s/%s/%s.delay", test_dir, QUEUE_BOUNCE, id);
    TEST_EQ_INT(fs_write_atomic(marker, "", 0, 0600), 0);
    TEST_TRUE(bounce_delay_sent(test_dir, id));
    bounce_log_remove(test_dir, id);
    TEST_TRUE(!bounce_log_exists(test_dir, id));
    TEST_TRUE(!bounce_delay_sent(test_dir, id));
}

static void test_wants(void)
{
    queue_attr attrs[] = {{.name = "dsn_notify.0", .value = "NEVER"},
                          {.name = "dsn_notify.1", .value = "SUCCESS"}};
    queue_rcpt rcpts[] = {{.addr = "a@x", .index = 0}, {.addr = "b@x", .index = 1},
                          {.addr = "c@x", .index = 2}};
    queue_msg m = {.sender = "s@x", .attrs = attrs, .nattr = 2, .rcpts = rcpts,
                   .nrcpt = 3};
    TEST_TRUE(!bounce_wants(&m, 0, 4 /* DSN_NOTIFY_FAILURE */));
    TEST_TRUE(bounce_wants(&m, 1, 2 /* DSN_NOTIFY_SUCCESS */));
    TEST_TRUE(!bounce_wants(&m, 1, 4));
    TEST_TRUE(bounce_wants(&m, 2, 4));   /* default: FAILURE,DELAY */
    TEST_TRUE(!bounce_wants(&m, 2, 2));
    m.sender = "";                       /* never a notice to <> */
    TEST_TRUE(!bounce_wants(&m, 2, 4));
}

int main(void)
{
    if (mkdtemp(test_dir) == NULL)
        return 1;
    TEST_RUN(test_append_and_remove);
    TEST_RUN(test_wants);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", test_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", test_dir);
    return test_done();
}
