/*
 * events - epoll loop with timers; see events.h.
 */
#include "util/events.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "util/mem.h"
#include "util/msg.h"

typedef struct event_fd {
    event_fd_fn fn;
    void *ctx;
    int mask;
    bool used;
} event_fd;

typedef struct event_tm {
    uint64_t id;
    double when;
    event_timer_fn fn;
    void *ctx;
} event_tm;

static int ev_epfd = -1;
static event_fd *ev_fds;
static int ev_nfds;
static event_tm *ev_timers;
static size_t ev_ntimers, ev_captimers;
static uint64_t ev_next_id = 1;
static bool ev_stop;

double event_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void event_init(void)
{
    if (ev_epfd >= 0)
        close(ev_epfd);
    ev_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ev_epfd < 0)
        msg_fatal("epoll_create1: %m");
    mem_free(&ev_fds);
    ev_nfds = 0;
    mem_free(&ev_timers);
    ev_ntimers = ev_captimers = 0;
    ev_stop = false;
}

static uint32_t event_epoll_mask(int mask)
{
    uint32_t m = 0;
    if (mask & EVENT_READ)
        m |= EPOLLIN | EPOLLRDHUP;
    if (mask & EVENT_WRITE)
        m |= EPOLLOUT;
    return m;
}

void event_add(int fd, int mask, event_fd_fn fn, void *ctx)
{
    if (ev_epfd < 0)
        event_init();
    if (fd >= ev_nfds) {
        int n = fd + 64;
        ev_fds = mem_realloc(ev_fds, (size_t)n * sizeof(*ev_fds));
        memset(ev_fds + ev_nfds, 0, (size_t)(n - ev_nfds) * sizeof(*ev_fds));
        ev_nfds = n;
    }
    if (ev_fds[fd].used)
        msg_panic("event_add: fd %d already registered", fd);
    struct epoll_event ee = {.events = event_epoll_mask(mask), .data.fd = fd};
    if (epoll_ctl(ev_epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
        msg_panic("epoll_ctl ADD fd %d: %m", fd);
    ev_fds[fd] = (event_fd){.fn = fn, .ctx = ctx, .mask = mask, .used = true};
}

void event_modify(int fd, int mask)
{
    if (fd >= ev_nfds || !ev_fds[fd].used)
        msg_panic("event_modify: fd %d not registered", fd);
    if (ev_fds[fd].mask == mask)
        return;
    struct epoll_event ee = {.events = event_epoll_mask(mask), .data.fd = fd};
    if (epoll_ctl(ev_epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
        msg_panic("epoll_ctl MOD fd %d: %m", fd);
    ev_fds[fd].mask = mask;
}

void event_remove(int fd)
{
    if (fd < 0 || fd >= ev_nfds || !ev_fds[fd].used)
        return;
    epoll_ctl(ev_epfd, EPOLL_CTL_DEL, fd, NULL);
    ev_fds[fd].used = false;
}

uint64_t event_timer(double seconds, event_timer_fn fn, void *ctx)
{
    if (ev_ntimers == ev_captimers) {
        ev_captimers = ev_captimers ? ev_captimers * 2 : 16;
        ev_timers = mem_realloc(ev_timers, ev_captimers * sizeof(*ev_timers));
    }
    uint64_t id = ev_next_id++;
    ev_timers[ev_ntimers++] =
        (event_tm){.id = id, .when = event_now() + seconds, .fn = fn, .ctx = ctx};
    return id;
}

void event_cancel(uint64_t id)
{
    for (size_t i = 0; i < ev_ntimers; i++) {
        if (ev_timers[i].id == id) {
            ev_timers[i] = ev_timers[--ev_ntimers];
            return;
        }
    }
}

static void event_fire_timers(void)
{
    double now = event_now();
    /* Fire one due timer at a time: callbacks may change the array. */
    for (;;) {
        size_t i;
        for (i = 0; i < ev_ntimers; i++)
            if (ev_timers[i].when <= now)
                break;
        if (i == ev_ntimers)
            return;
        event_tm t = ev_timers[i];
        ev_timers[i] = ev_timers[--ev_ntimers];
        t.fn(t.ctx);
    }
}

void event_run_once(double max_wait)
{
    if (ev_epfd < 0)
        event_init();
    double wait = max_wait;
    if (ev_ntimers > 0) {
        double now = event_now(), next = ev_timers[0].when;
        for (size_t i = 1; i < ev_ntimers; i++)
            if (ev_timers[i].when < next)
                next = ev_timers[i].when;
        double until = next - now;
        if (until < 0)
            until = 0;
        if (wait < 0 || until < wait)
            wait = until;
    }
    int ms = wait < 0 ? -1 : (int)(wait * 1000.0 + 0.999);
    struct epoll_event evs[128];
    int n = epoll_wait(ev_epfd, evs, 128, ms);
    if (n < 0 && errno != EINTR)
        msg_fatal("epoll_wait: %m");
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd >= ev_nfds || !ev_fds[fd].used)
            continue; /* removed by an earlier callback this turn */
        int mask = 0;
        if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
            mask |= EVENT_READ;
        if (evs[i].events & EPOLLOUT)
            mask |= EVENT_WRITE;
        if (evs[i].events & EPOLLERR)
            mask |= EVENT_ERROR | EVENT_READ;
        ev_fds[fd].fn(fd, mask, ev_fds[fd].ctx);
    }
    event_fire_timers();
}

void event_loop(void)
{
    ev_stop = false;
    while (!ev_stop)
        event_run_once(-1);
}

void event_stop(void)
{
    ev_stop = true;
}
