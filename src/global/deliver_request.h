/*
 * deliver_request - the protocol between qmgr and a delivery agent (local
 * now; smtp and lmtp later) on a unix stream socket queue/private/AGENT.
 * One request per connection.  Text lines ending in LF:
 *
 *   request:                          reply, one line per rcpt, in order:
 *     id=3F2A91C07B12                   INDEX SP DSN SP TEXT LF
 *     sender=alice@example.org          e.g. "0 2.0.0 delivered to maildir"
 *     nexthop=example.org
 *     arrival=1763913600123456          (microseconds since the epoch)
 *     active=1763913600200000
 *     handoff=1763913600210000
 *     retry=1                           (optional: an earlier attempt may
 *                                        have delivered some of it)
 *     rcpt=0 bob@example.org            (index in the queue file, address)
 *     orcpt=0 rfc822;bob@example.org    (optional, RFC 3461 ORCPT)
 *     (empty line)
 *
 * The agent finds the queue file itself from the ID (active/ID under its
 * queue_directory) and checks each index and address against it, so a
 * request names no path.  DSN class 2 means sent, 4 deferred, 5 bounced.
 * A reply line missing (agent died, timeout) means deferred for qmgr.
 * Before its result lines an agent may send one line "release": the work
 * that the destination's concurrency limit is about is done and the rest
 * only waits for the disk (local: a Maildir file written to tmp/, not yet
 * fsynced and linked).  qmgr then frees the destination's slot but keeps
 * the recipients in flight, unmarked, until their result lines: a result
 * still means "durable", so the crash guarantees do not change.
 * Also before its result lines an agent may send one line
 * "dead=DSN SP TEXT": the destination (transport and next hop) could not
 * be reached at all (no host accepted a connection, or the DNS failed for
 * now), so qmgr defers the other recipients queued for it for a while
 * without asking the agent ("delivery temporarily suspended: TEXT").
 * An agent that never sends it is still a valid agent.
 * Right before the result line of a recipient an agent may send one line
 * "dsn_passed=INDEX": the result is a success at a next hop that offered
 * DSN and was given this recipient's NOTIFY (smtp, lmtp), so by RFC 3461
 * section 5.2 the success notice the sender may have asked for is that
 * hop's to send, and qmgr records none ("relayed" is only for a hop that
 * could not take the duty).  Without the line, nothing changes.
 * Values hold no control characters; unknown names are ignored, so either
 * side may grow.  The agent logs the delivery lines itself (Postfix's
 * rule: the program that did the work logs it).
 *
 * Does not: any I/O; callers move the bytes.
 */
#ifndef POSTIE_GLOBAL_DELIVER_REQUEST_H
#define POSTIE_GLOBAL_DELIVER_REQUEST_H

#include <stddef.h>

#include "global/queue_file.h"
#include "util/buf.h"

#define DELIVER_REQUEST_MAX 65536
#define DELIVER_REPLY_MAX 4096
/* The optional line before the results (see above), without its LF. */
#define DELIVER_REPLY_RELEASE "release"
/* The optional "destination is dead" line's name (see above). */
#define DELIVER_REPLY_DEAD "dead="
/* The optional "DSN duty passed on" line's name (see above). */
#define DELIVER_REPLY_DSN_PASSED "dsn_passed="

typedef struct deliver_rcpt {
    int index;
    char *addr;
    char *orcpt;     /* NULL when absent */
} deliver_rcpt;

typedef struct deliver_request {
    char id[QUEUE_ID_SIZE];
    char *sender;    /* "" for the null sender */
    char *nexthop;   /* "" when none */
    long long arrival, active, handoff;
    int retry;       /* not the first attempt (from deferred/ or a crash) */
    deliver_rcpt *rcpts;
    size_t nrcpt;
} deliver_request;

/* Append the wire form (with the final empty line). 0, or -1 when a value
 * holds a control character or the request is too long. */
int deliver_request_format(buf *out, const deliver_request *r);
/* Parse text up to and including the empty line.  0, or -1 with *err_r (a
 * static text). */
int deliver_request_parse(const char *text, size_t len,
                          deliver_request **r_r, const char **err_r);
void deliver_request_free(deliver_request **rp);
/* Add a recipient to a request being built. */
void deliver_request_add_rcpt(deliver_request *r, int index, const char *addr,
                              const char *orcpt);

/* Append one reply line; control characters in text become '?'. */
void deliver_reply_format(buf *out, int index, const char *dsn,
                          const char *text);
/* Parse one reply line (without its LF): 0, or -1.  dsn_r holds at least
 * 16 bytes; *text_r points into line. */
int deliver_reply_parse(const char *line, int *index_r, char *dsn_r,
                        const char **text_r);
/* Append the "dead=DSN TEXT" line; control characters in text become '?'. */
void deliver_dead_format(buf *out, const char *dsn, const char *text);
/* Is line (without its LF) a "dead=" line?  1 with dsn_r (16 bytes) and
 * *text_r (into line) set; 0 when it is another line; -1 when it is a
 * malformed dead line (a bad or non-4 DSN: only a temporary failure may
 * suspend a destination). */
int deliver_dead_parse(const char *line, char *dsn_r, const char **text_r);
/* Append the "dsn_passed=INDEX" line. */
void deliver_dsn_passed_format(buf *out, int index);
/* Is line (without its LF) a "dsn_passed=" line?  1 with *index_r set; 0
 * when it is another line; -1 when it is a malformed one. */
int deliver_dsn_passed_parse(const char *line, int *index_r);
/* "sent", "deferred" or "bounced" for a DSN code. */
const char *deliver_dsn_status(const char *dsn);
/* Is this a well-formed X.Y.Z status code (RFC 3463)? */
int deliver_dsn_valid(const char *dsn);

#endif
