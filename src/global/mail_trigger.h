/*
 * mail_trigger - wake a service: one datagram to queue/public/NAME.
 *
 * Triggers are hints: losing one costs at most a queue_run_delay, because
 * the woken service also scans on a timer.  Sending never blocks.
 */
#ifndef POSTIE_GLOBAL_MAIL_TRIGGER_H
#define POSTIE_GLOBAL_MAIL_TRIGGER_H

/* Send a wake-up to queue_dir/public/service; errors are ignored. */
void mail_trigger(const char *queue_dir, const char *service);
/* Bind queue_dir/public/service (non-blocking datagram socket); -1 on error. */
int mail_trigger_listen(const char *queue_dir, const char *service);
/* Read and discard pending wake-ups. */
void mail_trigger_drain(int fd);

#endif
