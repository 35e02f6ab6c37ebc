/*
 * smtpd_deadline - time limits per request rather than per read: Postfix
 * 3.7's smtpd_per_request_deadline and smtpd_min_data_rate.
 *
 * With per-request deadlines (postie's default), smtpd_timeout limits the
 * time to receive a whole command line (from the greeting or the
 * completion of the previous command), not the time between two reads: a
 * client that trickles one byte every few seconds no longer holds its
 * connection until smtpd_total_timeout.  In DATA and BDAT content each
 * read of N octets moves the deadline N / smtpd_min_data_rate seconds on,
 * never further than smtpd_timeout from now, so a large message at a
 * reasonable rate always goes through and a trickle does not.
 *
 * Without them (smtpd_per_request_deadline = no), every read restarts
 * smtpd_timeout, as before Postfix 3.7.
 *
 * The STARTTLS handshake ends at smtpd_starttls_timeout (Postfix's name)
 * from its start, whatever it reads.
 *
 * Does not: deadlines on writes (a client that does not read its replies
 * ends at the request deadline too, since it sends no next command).
 */
#include "smtpd/smtpd.h"

static int smtpd_deadline_commands(const smtpd_session *s)
{
    int n = 0;
    for (int i = 0; i < SMTPD_C_COUNT; i++)
        n += s->count_all[i];
    return n;
}

void smtpd_deadline_start(smtpd_session *s, double now)
{
    s->deadline = now + smtpd_cf.timeout;
    s->deadline_cmds = smtpd_deadline_commands(s);
}

void smtpd_deadline_read(smtpd_session *s, size_t n, bool content, double now)
{
    int cmds = smtpd_deadline_commands(s);
    if (cmds != s->deadline_cmds) {
        s->cmd_time = now;
        smtpd_deadline_start(s, now);
        return;
    }
    if (!content || smtpd_cf.min_data_rate <= 0)
        return;
    s->deadline += (double)n / smtpd_cf.min_data_rate;
    if (s->deadline > now + smtpd_cf.timeout)
        s->deadline = now + smtpd_cf.timeout;
}

bool smtpd_deadline_expired(smtpd_session *s, double now)
{
    /* The STARTTLS handshake has its own limit (smtpd_starttls_timeout),
     * from the moment it starts. */
    if (s->mode == SMTPD_MODE_TLS && s->c->ssl != NULL)
        return now >= s->tls_deadline;
    if (smtpd_deadline_commands(s) != s->deadline_cmds) {
        s->cmd_time = now;
        smtpd_deadline_start(s, now);
    }
    if (!smtpd_cf.per_request_deadline)
        return now - s->last_io >= smtpd_cf.timeout;
    return now >= s->deadline;
}
