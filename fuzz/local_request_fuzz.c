/*
 * local_request_fuzz - the qmgr <-> agent protocol parsers (what local's
 * child reads first): a request that parses formats back and parses to the
 * same recipients; reply lines parse or are refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/deliver_request.h"
#include "util/buf.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    deliver_request *r = NULL;
    const char *why = NULL;
    if (deliver_request_parse((const char *)data, size, &r, &why) == 0) {
        buf *b = buf_new(DELIVER_REQUEST_MAX * 4);
        if (deliver_request_format(b, r) == 0) {
            deliver_request *r2 = NULL;
            if (deliver_request_parse(b->data, b->len, &r2, &why) != 0)
                abort();
            if (r2->nrcpt != r->nrcpt || strcmp(r2->sender, r->sender) != 0)
                abort();
            for (size_t i = 0; i < r->nrcpt; i++)
                if (strcmp(r->rcpts[i].addr, r2->rcpts[i].addr) != 0 ||
                    r->rcpts[i].index != r2->rcpts[i].index)
                    abort();
            deliver_request_free(&r2);
        }
        buf_free(&b);
        deliver_request_free(&r);
    }
    char *line = mem_strndup((const char *)data, size);
    int idx;
    char dsn[16];
    const char *text;
    if (deliver_reply_parse(line, &idx, dsn, &text) == 0 &&
        !deliver_dsn_valid(dsn))
        abort();
    mem_free(&line);
    return 0;
}
