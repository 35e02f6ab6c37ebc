/*
 * smtp_body - the stored message content as it goes on the wire after
 * DATA: LF line ends (docs/queue.md) become CRLF, a line starting with "."
 * gets one more (RFC 5321 section 4.5.2, transparency), and the end is
 * "CRLF.CRLF" (section 4.1.1.4), with a line end added to a last line
 * that lacks one.  A CR in the content (a bare CR that the server took
 * as content) is sent as a line end, merged with an LF that follows it:
 * section 2.3.8 allows CR and LF on the wire only as CRLF, and a next
 * hop that ends lines at a bare CR would otherwise end DATA at "\r.\r".
 *
 * Streaming: the content is fed in pieces of any size; the state carries
 * "at the start of a line" across pieces.
 *
 * Does not: 8BITMIME conversion (8-bit content goes as it is).
 */
#ifndef POSTIE_SMTP_SMTP_BODY_H
#define POSTIE_SMTP_SMTP_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

typedef struct smtp_body {
    bool bol;        /* the next byte starts a line */
    bool empty;      /* nothing fed yet */
    bool cr;         /* the last octet fed was a CR, not yet sent */
} smtp_body;

void smtp_body_init(smtp_body *b);
/* Append the wire form of in[0..n) to out: at most 2n + 2 bytes. */
int smtp_body_encode(smtp_body *b, const char *in, size_t n, buf *out);
/* Append the end of data (with a line end first when needed). */
int smtp_body_end(smtp_body *b, buf *out);

#endif
