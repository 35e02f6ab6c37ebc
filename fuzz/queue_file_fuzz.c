/*
 * queue_file_fuzz - the queue file reader (global/queue_file) on arbitrary
 * bytes written to a file, as qmgr and the agents meet a damaged file after
 * a crash or a disk error.  Checks what they rely on: the reader either
 * refuses the file (corrupt, with a reason) or returns a message whose
 * content lies inside the file, whose recipients' status bytes are at
 * offsets inside the file and hold a legal status, and whose ID is valid.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "global/queue_file.h"
#include "util/mem.h"

static char fuzz_dir[] = "/tmp/postie-qf-fuzz-XXXXXX";
static char fuzz_path[128];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_path[0] == '\0') {
        if (mkdtemp(fuzz_dir) == NULL)
            abort();
        /* The reader checks the name against the I record. */
        snprintf(fuzz_path, sizeof(fuzz_path), "%s/0123456789AB", fuzz_dir);
    }
    int fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    queue_msg *m = NULL;
    char *err = NULL;
    if (queue_msg_read(fuzz_path, &m, &err) < 0) {
        if (m != NULL || err == NULL)
            abort();
        mem_free(&err);
        return 0;
    }
    if (!queue_id_valid(m->id) || m->sender == NULL)
        abort();
    if ((size_t)m->content_off + m->content_len > size)
        abort();
    for (size_t i = 0; i < m->nrcpt; i++) {
        const queue_rcpt *r = &m->rcpts[i];
        if (r->status_off < 0 || (size_t)r->status_off >= size ||
            data[r->status_off] != (uint8_t)r->status)
            abort();
    }
    queue_msg_pending(m);
    queue_msg_free(&m);
    return 0;
}
