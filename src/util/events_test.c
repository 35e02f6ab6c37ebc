/*
 * events_test - the event loop: read and write readiness of a pipe, removal
 * from inside a callback, timers in deadline order, cancel, event_stop.
 */
#include "util/events.h"

#include <fcntl.h>
#include <unistd.h>

#include "util/test.h"

static char ev_test_log[256];
static size_t ev_test_len;

static void ev_test_note(const char *s)
{
    size_t n = strlen(s);
    if (ev_test_len + n < sizeof(ev_test_log)) {
        memcpy(ev_test_log + ev_test_len, s, n + 1);
        ev_test_len += n;
    }
}

static void ev_test_reset(void)
{
    ev_test_log[0] = '\0';
    ev_test_len = 0;
    event_init();
}

static void ev_test_reader(int fd, int events, void *ctx)
{
    char b[16];
    ssize_t n = read(fd, b, sizeof(b) - 1);
    if (n > 0) {
        b[n] = '\0';
        ev_test_note("r:");
        ev_test_note(b);
        ev_test_note(";");
    } else {
        ev_test_note("eof;");
        event_remove(fd); /* from inside its own callback */
        event_stop();
    }
}

static void ev_test_writer(int fd, int events, void *ctx)
{
    if (events & EVENT_WRITE) {
        ev_test_note("w;");
        event_modify(fd, 0); /* written once: no longer interested */
    }
}

static void test_events_pipe_read_and_eof(void)
{
    ev_test_reset();
    int p[2];
    TEST_EQ_INT(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    event_add(p[0], EVENT_READ, ev_test_reader, NULL);
    event_run_once(0);
    TEST_EQ_STR(ev_test_log, ""); /* nothing to read yet */
    TEST_EQ_INT(write(p[1], "abc", 3), 3);
    event_run_once(1);
    TEST_EQ_STR(ev_test_log, "r:abc;");
    close(p[1]);
    event_loop(); /* ends with event_stop at end of file */
    TEST_EQ_STR(ev_test_log, "r:abc;eof;");
    close(p[0]);
}

static void test_events_write_readiness_and_modify(void)
{
    ev_test_reset();
    int p[2];
    TEST_EQ_INT(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    event_add(p[1], EVENT_WRITE, ev_test_writer, NULL);
    event_run_once(1);
    event_run_once(0);
    TEST_EQ_STR(ev_test_log, "w;"); /* once: the mask was cleared */
    event_remove(p[1]);
    event_remove(p[1]); /* twice is harmless */
    close(p[0]);
    close(p[1]);
}

static void ev_test_timer(void *ctx)
{
    ev_test_note(ctx);
}

static void ev_test_stop_timer(void *ctx)
{
    ev_test_note(ctx);
    event_stop();
}

static void test_events_timers_fire_in_deadline_order(void)
{
    ev_test_reset();
    double t0 = event_now();
    event_timer(0.06, ev_test_stop_timer, "3;");
    event_timer(0.02, ev_test_timer, "1;");
    uint64_t gone = event_timer(0.03, ev_test_timer, "never;");
    event_timer(0.04, ev_test_timer, "2;");
    event_cancel(gone);
    event_cancel(9999999); /* unknown ids are ignored */
    event_loop();
    TEST_EQ_STR(ev_test_log, "1;2;3;");
    double took = event_now() - t0;
    TEST_TRUE(took >= 0.059);
    TEST_TRUE(took < 2.0);
}

static void test_events_run_once_waits_at_most_max(void)
{
    ev_test_reset();
    double t0 = event_now();
    event_run_once(0.05);
    double took = event_now() - t0;
    TEST_TRUE(took >= 0.045);
    TEST_TRUE(took < 1.0);
}

int main(void)
{
    TEST_RUN(test_events_pipe_read_and_eof);
    TEST_RUN(test_events_write_readiness_and_modify);
    TEST_RUN(test_events_timers_fire_in_deadline_order);
    TEST_RUN(test_events_run_once_waits_at_most_max);
    return test_done();
}
