/*
 * sendmail_hdr - the little RFC 5322 that "sendmail -t" needs: walk the
 * header section of a message, and take the addresses out of an address
 * list (To, Cc, Bcc).
 *
 * Does not: decode encoded words (RFC 2047), check address syntax, or
 * understand obsolete route syntax beyond skipping it.
 */
#ifndef POSTIE_TOOLS_SENDMAIL_HDR_H
#define POSTIE_TOOLS_SENDMAIL_HDR_H

#include <stddef.h>

/* One header field: name (no colon), its unfolded value, and where the
 * whole field (with continuation lines and the final LF) lies in the
 * content.  Return non-zero to stop. */
typedef int (*sendmail_hdr_fn)(const char *name, const char *value,
                               size_t off, size_t len, void *ctx);

/* Walk the header section of content (LF line ends): it ends at the first
 * empty line, at a line that is not a header field, or at the end.
 * Returns the offset where the body starts (after the empty line, if any). */
size_t sendmail_hdr_walk(const char *content, size_t len, sendmail_hdr_fn fn,
                         void *ctx);

/* The addresses of an RFC 5322 address list (section 3.4): display names,
 * comments and group names dropped, angle brackets removed.  Returns a
 * NULL-terminated vector of new strings (free with conf_free_list). */
char **sendmail_hdr_addresses(const char *value);

#endif
