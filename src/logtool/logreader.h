/*
 * logreader - stream the lines of a mail log: a file, "-" for stdin, or a
 * gzip file (detected by its magic bytes, read through zlib).
 *
 * Lines come out one at a time from a large read buffer, without a copy and
 * without allocation per line; a line longer than the bounded maximum is cut
 * there (and the rest skipped) and counted as truncated.  Bad lines are
 * counted, never fatal.  For "follow" the reader keeps an incomplete last
 * line until its newline arrives and can re-open the path after rotation.
 *
 * What it does not do: parse (see logline.h) or print.
 */
#ifndef POSTIE_LOGTOOL_LOGREADER_H
#define POSTIE_LOGTOOL_LOGREADER_H

#include <stdbool.h>
#include <stddef.h>

#define LOGREADER_LINE_MAX 16384    /* longer lines are cut here */

typedef struct logreader_stats {
    unsigned long long lines;       /* lines handed out */
    unsigned long long bytes;
    unsigned long long truncated;   /* longer than LOGREADER_LINE_MAX, or cut at EOF */
} logreader_stats;
/* (Binary lines are spotted by the parser: logline.binary.) */

typedef struct logreader logreader;

/*
 * Open path ("-" = stdin).  Returns NULL and a static message in *err_r
 * when the file is missing, is a directory or cannot be read; errno kept.
 */
logreader *logreader_open(const char *path, const char **err_r);
void logreader_close(logreader **rp);

/*
 * Next line: 1 and *line_r, *len_r (valid until the next call; not
 * NUL-terminated, the newline removed), 0 at end of input, -1 on a read
 * error (message in *err_r).  In follow mode 0 means "nothing more yet".
 */
int logreader_next(logreader *r, const char **line_r, size_t *len_r,
                   const char **err_r);

/* Follow mode: keep an incomplete last line, never treat EOF as final. */
void logreader_set_follow(logreader *r, bool on);
/*
 * Follow mode: has the path been rotated (other inode) or truncated?  If so
 * re-open it (after draining the old file) and return 1; 0 if not; -1 if the
 * path is gone for now.
 */
int logreader_check_rotation(logreader *r);
/* Skip to the end of the file (follow starts at the end, like tail -f). */
void logreader_seek_end(logreader *r);

/* Was the line last handed out cut (too long, or no newline at the end)? */
bool logreader_cut(const logreader *r);

const logreader_stats *logreader_stats_get(const logreader *r);
const char *logreader_path(const logreader *r);

#endif
