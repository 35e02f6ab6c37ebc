/*
 * conn_slots - the shared connection table; see conn_slots.h.
 *
 * Cost: a count scans all slots (4096 x 96 bytes = 384 KiB) under the
 * lock, once per accepted connection: microseconds, below the cost of the
 * connection itself.  The eviction choice counts per address, O(n^2) in
 * the slots in use, and runs only when the slots are full.
 */
#include "global/conn_slots.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

typedef struct conn_slots_slot {
    int32_t pid;          /* 0: free */
    int32_t state;        /* CONN_SLOTS_* */
    int32_t evict;        /* flagged for eviction */
    int32_t pad;
    double start;         /* connected */
    double cmd_time;      /* last command completed, 0: none */
    char addr[64];
} conn_slots_slot;

struct conn_slots {
    int fd;
    conn_slots_slot *tab;
};

conn_slots *conn_slots_open(const char *path)
{
    /* No path: the table is shared with the children forked later only
     * (pop3d), and needs no file in the queue. */
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)
                  : memfd_create("conn_slots", MFD_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t size = CONN_SLOTS_MAX * sizeof(conn_slots_slot);
    struct stat st;
    if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0 ||
        (st.st_size != (off_t)size && ftruncate(fd, 0) < 0) ||
        (st.st_size != (off_t)size && ftruncate(fd, (off_t)size) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    conn_slots *t = mem_zalloc(sizeof(*t));
    t->fd = fd;
    t->tab = p;
    /* Slots of processes that are gone (crash, kill -9), and of this
     * process's previous life (a reused pid). */
    for (int i = 0; i < CONN_SLOTS_MAX; i++) {
        pid_t pid = t->tab[i].pid;
        if (pid != 0 && (pid == getpid() || (kill(pid, 0) < 0 && errno == ESRCH)))
            t->tab[i].pid = 0;
    }
    flock(fd, LOCK_UN);
    return t;
}

void conn_slots_close(conn_slots **tp)
{
    conn_slots *t = *tp;
    if (t == NULL)
        return;
    munmap(t->tab, CONN_SLOTS_MAX * sizeof(conn_slots_slot));
    close(t->fd);
    mem_free(tp);
}

static bool conn_slots_same(const conn_slots_slot *e, const char *addr)
{
    return strncmp(e->addr, addr, sizeof(e->addr)) == 0;
}

void conn_slots_count(conn_slots *t, const char *addr, int *total_r, int *same_r)
{
    *total_r = *same_r = 0;
    flock(t->fd, LOCK_SH);
    for (int i = 0; i < CONN_SLOTS_MAX; i++) {
        if (t->tab[i].pid == 0 || t->tab[i].evict)
            continue; /* an evicted connection is as good as gone */
        (*total_r)++;
        if (conn_slots_same(&t->tab[i], addr))
            (*same_r)++;
    }
    flock(t->fd, LOCK_UN);
}

int conn_slots_add(conn_slots *t, const char *addr, pid_t owner, double now)
{
    int slot = -1;
    flock(t->fd, LOCK_EX);
    for (int i = 0; i < CONN_SLOTS_MAX; i++) {
        conn_slots_slot *e = &t->tab[i];
        if (e->pid != 0)
            continue;
        memset(e, 0, sizeof(*e));
        e->pid = (int32_t)owner;
        e->state = CONN_SLOTS_NEW;
        e->start = now;
        strncpy(e->addr, addr, sizeof(e->addr) - 1);
        slot = i;
        break;
    }
    flock(t->fd, LOCK_UN);
    return slot;
}

void conn_slots_del(conn_slots *t, int slot)
{
    if (t == NULL || slot < 0 || slot >= CONN_SLOTS_MAX)
        return;
    flock(t->fd, LOCK_EX);
    t->tab[slot].pid = 0;
    flock(t->fd, LOCK_UN);
}

void conn_slots_mark(conn_slots *t, int slot, int state, double cmd_time)
{
    if (t == NULL || slot < 0 || slot >= CONN_SLOTS_MAX)
        return;
    /* Plain stores of aligned words, read under the lock by the others:
     * a reader sees the old or the new value, both fine for a choice. */
    t->tab[slot].state = state;
    if (cmd_time > 0)
        t->tab[slot].cmd_time = cmd_time;
}

int conn_slots_evict(conn_slots *t, const char *addr, pid_t *owner_r,
                     int *victim_same_r)
{
    static int count[CONN_SLOTS_MAX]; /* connections from each slot's address */
    int best = -1;
    flock(t->fd, LOCK_EX);
    int mine = 0;
    for (int i = 0; i < CONN_SLOTS_MAX; i++) {
        conn_slots_slot *e = &t->tab[i];
        count[i] = 0;
        if (e->pid == 0 || e->evict)
            continue;
        if (conn_slots_same(e, addr))
            mine++;
        for (int j = 0; j < i; j++) {
            if (t->tab[j].pid != 0 && !t->tab[j].evict &&
                conn_slots_same(&t->tab[j], e->addr)) {
                count[i] = count[j]; /* the first slot of the address counts */
                break;
            }
        }
        if (count[i] > 0)
            continue;
        for (int j = i; j < CONN_SLOTS_MAX; j++)
            if (t->tab[j].pid != 0 && !t->tab[j].evict &&
                conn_slots_same(&t->tab[j], e->addr))
                count[i]++;
    }
    for (int i = 0; i < CONN_SLOTS_MAX; i++) {
        conn_slots_slot *e = &t->tab[i];
        if (e->pid == 0 || e->evict || e->state == CONN_SLOTS_BUSY || count[i] <= mine + 1)
            continue; /* (an address one ahead would only trade places) */
        if (best < 0 || count[i] > count[best]) {
            best = i;
            continue;
        }
        if (count[i] < count[best])
            continue;
        /* Quiet longest: never a completed command beats any, then the
         * oldest activity. */
        conn_slots_slot *b = &t->tab[best];
        double ea = e->cmd_time > 0 ? e->cmd_time : e->start;
        double ba = b->cmd_time > 0 ? b->cmd_time : b->start;
        bool e_new = e->state == CONN_SLOTS_NEW, b_new = b->state == CONN_SLOTS_NEW;
        if ((e_new && !b_new) || (e_new == b_new && ea < ba))
            best = i;
    }
    if (best >= 0) {
        t->tab[best].evict = 1;
        *owner_r = t->tab[best].pid;
        *victim_same_r = count[best];
    }
    flock(t->fd, LOCK_UN);
    return best;
}

bool conn_slots_evicted(conn_slots *t, int slot)
{
    if (t == NULL || slot < 0 || slot >= CONN_SLOTS_MAX)
        return false;
    return t->tab[slot].evict != 0;
}
