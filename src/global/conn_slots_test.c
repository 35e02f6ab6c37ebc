/*
 * conn_slots_test - counts across two mappings of one table, and the
 * choice of the eviction victim (conn_slots.h): busiest address, quiet
 * longest, never a busy connection, never one that would only trade
 * places.
 */
#include "global/conn_slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/test.h"

static char test_path[64];

static void test_counts_are_shared(void)
{
    conn_slots *a = conn_slots_open(test_path), *b = conn_slots_open(test_path);
    TEST_TRUE(a != NULL && b != NULL);
    int s1 = conn_slots_add(a, "192.0.2.1", getpid(), 1.0);
    int s2 = conn_slots_add(b, "192.0.2.1", getpid(), 2.0);
    int s3 = conn_slots_add(b, "192.0.2.2", getpid(), 3.0);
    int total, same;
    conn_slots_count(a, "192.0.2.1", &total, &same);
    TEST_EQ_INT(total, 3);
    TEST_EQ_INT(same, 2);
    conn_slots_del(a, s2);
    conn_slots_count(b, "192.0.2.1", &total, &same);
    TEST_EQ_INT(total, 2);
    TEST_EQ_INT(same, 1);
    conn_slots_del(a, s1);
    conn_slots_del(a, s3);
    conn_slots_close(&a);
    conn_slots_close(&b);
    TEST_TRUE(a == NULL);
}

static void test_victim_choice(void)
{
    conn_slots *t = conn_slots_open(test_path);
    pid_t me = getpid(), owner = 0;
    int vs = 0;
    /* 198.51.100.1: three connections; the oldest is in DATA, the next
     * completed a command at 9, the newest never did. */
    int busy = conn_slots_add(t, "198.51.100.1", me, 1.0);
    int cmd = conn_slots_add(t, "198.51.100.1", me, 2.0);
    int quiet = conn_slots_add(t, "198.51.100.1", me, 5.0);
    conn_slots_mark(t, busy, CONN_SLOTS_BUSY, 0);
    conn_slots_mark(t, cmd, CONN_SLOTS_IDLE, 9.0);
    /* 198.51.100.2: one connection, older than all. */
    int lone = conn_slots_add(t, "198.51.100.2", me, 0.5);
    /* A newcomer from the busy address itself may evict nobody. */
    TEST_EQ_INT(conn_slots_evict(t, "198.51.100.1", &owner, &vs), -1);
    /* A new address takes the slot of the connection without a command. */
    TEST_EQ_INT(conn_slots_evict(t, "203.0.113.9", &owner, &vs), quiet);
    TEST_EQ_INT(owner, me);
    TEST_EQ_INT(vs, 3);
    TEST_TRUE(conn_slots_evicted(t, quiet));
    TEST_TRUE(!conn_slots_evicted(t, cmd));
    /* Flagged slots no longer count; the next victim is the idle one. */
    int total, same;
    conn_slots_count(t, "198.51.100.1", &total, &same);
    TEST_EQ_INT(total, 3);
    TEST_EQ_INT(same, 2);
    TEST_EQ_INT(conn_slots_evict(t, "203.0.113.9", &owner, &vs), cmd);
    /* Left: one busy, one lone connection: nothing more to evict. */
    TEST_EQ_INT(conn_slots_evict(t, "203.0.113.9", &owner, &vs), -1);
    int all[] = {busy, cmd, quiet, lone};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        conn_slots_del(t, all[i]);
    conn_slots_close(&t);
}

int main(void)
{
    snprintf(test_path, sizeof(test_path), "/tmp/conn_slots_test.%d", (int)getpid());
    TEST_RUN(test_counts_are_shared);
    TEST_RUN(test_victim_choice);
    unlink(test_path);
    return test_done();
}
