/*
 * events - the event loop: file descriptors (epoll) and one-shot timers.
 *
 * One callback per descriptor receives EVENT_READ / EVENT_WRITE /
 * EVENT_ERROR; a timer callback receives its context.  Callbacks may add or
 * remove any descriptor or timer, including their own.  Not thread-safe:
 * postie's processes are single-threaded.
 *
 * Cost: fd operations are O(1) (epoll); timers are kept in an unsorted array
 * and the next deadline is found in O(timers) per loop turn, which is cheap
 * for the few hundred sessions one process serves.
 */
#ifndef POSTIE_UTIL_EVENTS_H
#define POSTIE_UTIL_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#define EVENT_READ  1
#define EVENT_WRITE 2
#define EVENT_ERROR 4

typedef void (*event_fd_fn)(int fd, int events, void *ctx);
typedef void (*event_timer_fn)(void *ctx);

void event_init(void);
void event_add(int fd, int mask, event_fd_fn fn, void *ctx);
void event_modify(int fd, int mask);
void event_remove(int fd);
/* One-shot timer; returns an id > 0 for event_cancel. */
uint64_t event_timer(double seconds, event_timer_fn fn, void *ctx);
void event_cancel(uint64_t id);
/* Runs one turn: waits at most max_wait seconds (<0: until an event). */
void event_run_once(double max_wait);
/* Runs until event_stop(). */
void event_loop(void);
void event_stop(void);
/* Seconds since an arbitrary origin (CLOCK_MONOTONIC). */
double event_now(void);

#endif
