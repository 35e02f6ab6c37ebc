/*
 * local_mbox_fuzz - mboxrd quoting (local_mbox_quote): removing one '>'
 * from every line matching ^>+From  gives back the input (plus a final LF
 * when it lacked one), and no output line starts with "From ".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local/local_mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || memchr(data, '\0', size) != NULL)
        return 0; /* getline handles NULs, the check below uses strings */
    FILE *in = fmemopen((void *)(uintptr_t)data, size, "r");
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    if (local_mbox_quote(in, size, o) != 0)
        abort();
    fclose(o);
    fclose(in);
    /* Undo and compare. */
    char *back = malloc(outlen + 1);
    size_t bl = 0;
    for (size_t i = 0; i < outlen;) {
        size_t e = i;
        while (e < outlen && out[e] != '\n')
            e++;
        size_t gt = 0;
        while (i + gt < e && out[i + gt] == '>')
            gt++;
        if (e - i >= 5 && gt == 0 && memcmp(out + i, "From ", 5) == 0)
            abort();
        size_t skip = gt > 0 && e - i - gt >= 5 &&
                      memcmp(out + i + gt, "From ", 5) == 0;
        size_t n = e - i + (e < outlen) - skip;
        memcpy(back + bl, out + i + skip, n);
        bl += n;
        i = e + 1;
    }
    size_t want = size + (data[size - 1] != '\n');
    if (bl != want || memcmp(back, data, size) != 0)
        abort();
    free(back);
    free(out);
    return 0;
}
