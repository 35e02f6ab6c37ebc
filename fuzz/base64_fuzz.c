/*
 * base64_fuzz - the base64 decoder (util/base64, RFC 4648 section 4) that
 * reads SMTP AUTH and POP3 AUTH responses from strangers before they log
 * in.  Checks: a decode never writes past its buffer (ASan) and reports
 * at most the room it had; whatever decodes, encodes back to text that
 * decodes to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t room = size;  /* decoded data is never longer than its text */
    unsigned char *out = mem_alloc(room + 1);
    long n = base64_decode((const char *)data, size, out, room);
    if (n > (long)room)
        abort();
    if (n >= 0) {
        size_t elen = ((size_t)n + 2) / 3 * 4 + 1;
        char *enc = mem_alloc(elen);
        long e = base64_encode(out, (size_t)n, enc, elen);
        if (e < 0)
            abort();
        unsigned char *back = mem_alloc((size_t)n + 1);
        long b = base64_decode(enc, (size_t)e, back, (size_t)n + 1);
        if (b != n || memcmp(back, out, (size_t)n) != 0)
            abort();
        mem_free(&back);
        mem_free(&enc);
    }
    mem_free(&out);
    return 0;
}
