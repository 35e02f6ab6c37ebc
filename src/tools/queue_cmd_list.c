/*
 * queue_cmd_list - one pass over the queue directories, and the two output
 * formats of a queue listing: Postfix's mailq text and postqueue -j JSON.
 *
 * Both formats are interfaces: scripts count lines with
 * `mailq | grep -c "^[A-F0-9]"`, and monitoring parses the JSON.  So the
 * column layout is Postfix's to the character for short queue IDs: the ID
 * and its status mark ('*' active, '!' on hold) left-aligned in 11 columns,
 * the size in 7, the arrival time as asctime(3) cut to 20, then the sender;
 * recipients indented by 41 blanks; a deferral reason in parentheses, right-
 * aligned to end at column 78 when short, printed only when it differs from
 * the previous recipient's.  postie's IDs are 12 characters, so like
 * Postfix's long IDs they push the rest of the first line to the right;
 * recipient lines do not move.
 *
 * defer/ID holds the deferral reasons qmgr wrote: one line per deferred
 * recipient, "recipient<TAB>dsn<TAB>reason" (qmgr_message.c); the last
 * line of a recipient counts.
 *
 * Does not: lock anything.  qmgr renames files while we read; a file that
 * vanishes is looked for in the queues after its own, and an ID is listed
 * at most once.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tools/queue_cmd.h"
#include "util/fsutil.h"
#include "util/mem.h"
#include "util/msg.h"

const char *const queue_cmd_queues[] = {
    QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
    NULL,
};

/* Largest defer/ID file read: a few hundred recipients' reasons. */
#define QUEUE_CMD_DEFER_MAX (4 * 1024 * 1024)

char **queue_cmd_list_reasons(const char *queue_dir, const queue_msg *m)
{
    char **r = mem_zalloc((m->nrcpt + 1) * sizeof(*r));
    char *dir = fs_join(queue_dir, QUEUE_DEFER);
    char *path = fs_join(dir, m->id);
    mem_free(&dir);
    size_t len;
    char *text = fs_read_file(path, QUEUE_CMD_DEFER_MAX, &len);
    mem_free(&path);
    if (text == NULL)
        return r;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *tab = strchr(line, '\t');
        if (tab == NULL)
            continue;
        *tab = '\0';
        /* "addr<TAB>dsn<TAB>text" as qmgr writes it; "addr<TAB>text" is
         * read too.  mailq shows the text, as Postfix's does. */
        const char *why = tab + 1;
        const char *tab2 = strchr(why, '\t');
        if (tab2 != NULL)
            why = tab2 + 1;
        /* Later lines are later deferrals: they replace earlier ones. */
        for (size_t i = 0; i < m->nrcpt; i++) {
            if (strcmp(m->rcpts[i].addr, line) == 0) {
                mem_free(&r[i]);
                r[i] = mem_strdup(why);
            }
        }
    }
    mem_free(&text);
    return r;
}

void queue_cmd_list_free_reasons(char ***rp, size_t n)
{
    char **r = *rp;
    if (r == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        mem_free(&r[i]);
    mem_free(rp);
}

static int queue_cmd_list_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the queue files in one directory (IDs only). */
static char **queue_cmd_list_names(const char *dir, size_t *n_r)
{
    DIR *d = opendir(dir);
    *n_r = 0;
    if (d == NULL)
        return NULL;
    size_t n = 0, cap = 16;
    char **v = mem_alloc(cap * sizeof(*v));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!queue_id_valid(de->d_name))
            continue;
        if (n == cap)
            v = mem_realloc(v, (cap *= 2) * sizeof(*v));
        v[n++] = mem_strdup(de->d_name);
    }
    closedir(d);
    /* Queue IDs begin with the arrival time: name order is arrival order. */
    qsort(v, n, sizeof(*v), queue_cmd_list_cmp);
    *n_r = n;
    return v;
}

/* A complete, readable queue file?  Mode 0600 in incoming/ is a file
 * cleanup is still writing; in maildrop/ the writer makes the file readable
 * by others only when it is complete (postdrop.c). */
static bool queue_cmd_list_complete(const char *queue, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return false;
    if (strcmp(queue, QUEUE_INCOMING) == 0)
        return (st->st_mode & 0100) != 0;
    if (strcmp(queue, QUEUE_MAILDROP) == 0)
        return (st->st_mode & S_IROTH) != 0;
    return true;
}

/* IDs already listed, kept sorted: a lookup is a binary search and an
 * insertion one memmove, so a queue of 20000 messages costs milliseconds. */
typedef struct queue_cmd_seen {
    char **ids;
    size_t n, cap;
} queue_cmd_seen;

/* Index of id, or where it would go (*found_r tells which). */
static size_t queue_cmd_seen_find(const queue_cmd_seen *s, const char *id, bool *found_r)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->ids[mid], id);
        if (c == 0) {
            *found_r = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found_r = false;
    return lo;
}

static bool queue_cmd_seen_has(const queue_cmd_seen *s, const char *id)
{
    bool found;
    queue_cmd_seen_find(s, id, &found);
    return found;
}

static void queue_cmd_seen_add(queue_cmd_seen *s, const char *id)
{
    bool found;
    size_t at = queue_cmd_seen_find(s, id, &found);
    if (found)
        return;
    if (s->n == s->cap)
        s->ids = mem_realloc(s->ids, (s->cap = s->cap ? 2 * s->cap : 64) * sizeof(*s->ids));
    memmove(s->ids + at + 1, s->ids + at, (s->n - at) * sizeof(*s->ids));
    s->ids[at] = mem_strdup(id);
    s->n++;
}

/* Read one message as found in queue qi; follow it to later queues when
 * qmgr moved it meanwhile.  1 visited, 0 skipped, 2 stop requested. */
static int queue_cmd_list_one(const char *queue_dir, const char *const *queues,
                              size_t qi, const char *id, queue_cmd_seen *seen,
                              queue_cmd_visit_fn fn, void *ctx)
{
    for (size_t q = qi; queues[q] != NULL; q++) {
        char *dir = fs_join(queue_dir, queues[q]);
        char *path = fs_join(dir, id);
        mem_free(&dir);
        struct stat st;
        if (lstat(path, &st) < 0) {
            mem_free(&path);
            if (errno == ENOENT) /* moved on: look in the later queues */
                continue;
            return 0;
        }
        if (!queue_cmd_list_complete(queues[q], &st)) {
            mem_free(&path);
            return 0;
        }
        queue_msg *m = NULL;
        char *err = NULL;
        int r = queue_msg_read(path, &m, &err);
        mem_free(&path);
        if (r < 0) {
            int saved = errno;
            if (saved == ENOENT) {
                mem_free(&err);
                continue;
            }
            /* Unreadable or corrupt: say so, as Postfix's showq does
             * (EPERM: queue_file_open has said it). */
            if (saved != EPERM)
                msg_warn("%s", err);
            mem_free(&err);
            return 0;
        }
        queue_cmd_entry e = {.queue = queues[q], .msg = m};
        snprintf(e.id, sizeof(e.id), "%s", id);
        e.reasons = queue_cmd_list_reasons(queue_dir, m);
        queue_cmd_seen_add(seen, id);
        int stop = fn(&e, ctx);
        queue_cmd_list_free_reasons(&e.reasons, m->nrcpt);
        queue_msg_free(&m);
        return stop ? 2 : 1;
    }
    return 0;
}

int queue_cmd_list_walk(const char *queue_dir, const char *const *queues,
                        queue_cmd_visit_fn fn, void *ctx)
{
    if (queues == NULL)
        queues = queue_cmd_queues;
    struct stat st;
    if (stat(queue_dir, &st) < 0)
        return -1;
    queue_cmd_seen seen = {0};
    int count = 0;
    bool stop = false;
    for (size_t qi = 0; queues[qi] != NULL && !stop; qi++) {
        char *dir = fs_join(queue_dir, queues[qi]);
        size_t n;
        char **names = queue_cmd_list_names(dir, &n);
        if (names == NULL && errno != ENOENT)
            msg_warn("open %s: %m", dir);
        mem_free(&dir);
        for (size_t i = 0; i < n; i++) {
            if (!stop && !queue_cmd_seen_has(&seen, names[i])) {
                int r = queue_cmd_list_one(queue_dir, queues, qi, names[i],
                                           &seen, fn, ctx);
                if (r >= 1)
                    count++;
                if (r == 2)
                    stop = true;
            }
            mem_free(&names[i]);
        }
        mem_free(&names);
    }
    for (size_t i = 0; i < seen.n; i++)
        mem_free(&seen.ids[i]);
    mem_free(&seen.ids);
    return count;
}

/* ---- mailq text ---- */

/* The sender as mailq shows it: the null sender is MAILER-DAEMON. */
static const char *queue_cmd_list_sender(const queue_msg *m)
{
    return m->sender[0] ? m->sender : "MAILER-DAEMON";
}

void queue_cmd_list_text(queue_cmd_fmt *f, const queue_cmd_entry *e)
{
    const queue_msg *m = e->msg;
    if (f->count == 0)
        fprintf(f->out, "%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--",
                "----Arrival Time----", "-Sender/Recipient-------");
    else
        fputc('\n', f->out);
    char idst[QUEUE_ID_SIZE + 1];
    /* The mark only when there is one: Postfix's showq_compat appends
     * nothing for other queues, so a 12-character ID is followed by one
     * blank, not by a blank mark and a blank. */
    const char *mark = strcmp(e->queue, QUEUE_ACTIVE) == 0 ? "*"
                     : strcmp(e->queue, QUEUE_HOLD) == 0   ? "!"
                                                           : "";
    snprintf(idst, sizeof(idst), "%s%s", e->id, mark);
    time_t t = (time_t)(m->arrival_usec / 1000000);
    struct tm tm;
    char when[64];
    /* asctime's layout ("Mon Nov 23 16:35:08 2026"), cut to 20 columns. */
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm);
    fprintf(f->out, "%-11s %7zu %20.20s %s\n", idst, m->content_len, when,
            queue_cmd_list_sender(m));
    const char *prev = "";
    for (size_t i = 0; i < m->nrcpt; i++) {
        if (m->rcpts[i].status != QUEUE_RCPT_TODO)
            continue;
        const char *why = e->reasons && e->reasons[i] ? e->reasons[i] : "";
        /* A reason line only when it changes; "reason unavailable" when a
         * recipient without one follows one with a reason. */
        if (strcmp(prev, why) != 0) {
            const char *show = *why ? why : "reason unavailable";
            int pad = 76 - (int)strlen(show);
            fprintf(f->out, "%*s(%s)\n", pad > 0 ? pad : 0, "", show);
            prev = why;
        }
        fprintf(f->out, "%41s%s\n", "", m->rcpts[i].addr);
    }
    f->count++;
    f->bytes += m->content_len;
}

void queue_cmd_list_text_end(queue_cmd_fmt *f)
{
    if (f->count == 0)
        fprintf(f->out, "Mail queue is empty\n");
    else
        fprintf(f->out, "\n-- %llu Kbytes in %lu Request%s.\n", f->bytes / 1024,
                f->count, f->count == 1 ? "" : "s");
}

/* ---- postqueue -j ---- */

void queue_cmd_list_json_quote(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\b':
            fputs("\\b", out);
            break;
        case '\f':
            fputs("\\f", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\u%04X", *p);
            else
                fputc(*p, out);
        }
    }
}

void queue_cmd_list_json(queue_cmd_fmt *f, const queue_cmd_entry *e)
{
    const queue_msg *m = e->msg;
    FILE *out = f->out;
    /* One object per line, Postfix's field names and order. */
    fprintf(out, "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", ", e->queue, e->id);
    fprintf(out, "\"arrival_time\": %lld, \"message_size\": %zu, ",
            m->arrival_usec / 1000000, m->content_len);
    fputs("\"forced_expire\": false, \"sender\": \"", out);
    queue_cmd_list_json_quote(out, m->sender);
    fputs("\", \"recipients\": [", out);
    int n = 0;
    for (size_t i = 0; i < m->nrcpt; i++) {
        if (m->rcpts[i].status != QUEUE_RCPT_TODO)
            continue;
        fputs(n++ ? ", {\"address\": \"" : "{\"address\": \"", out);
        queue_cmd_list_json_quote(out, m->rcpts[i].addr);
        fputc('"', out);
        if (e->reasons && e->reasons[i] && *e->reasons[i]) {
            fputs(", \"delay_reason\": \"", out);
            queue_cmd_list_json_quote(out, e->reasons[i]);
            fputc('"', out);
        }
        fputc('}', out);
    }
    fputs("]}\n", out);
    f->count++;
    f->bytes += m->content_len;
}
