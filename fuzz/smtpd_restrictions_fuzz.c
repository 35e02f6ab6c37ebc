/*
 * smtpd_restrictions_fuzz - the restriction-list parser
 * (smtpd/smtpd_check_parse: smtpd_client_restrictions and the others,
 * Postfix's syntax: names, "reject_rbl_client zone=127.0.0.N", tables).
 * Tables are named, not read.  Checks: parse returns 0 or -1 with a
 * reason, every restriction it keeps names a known operation, and a -1
 * always leaves the good part usable (smtpd_check_int.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtpd_check_int.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = mem_alloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    smtpd_check_rlist l = {0};
    char *err = NULL;
    int rc = smtpd_check_parse_list(text, &l, &err);
    if ((rc != 0 && rc != -1) || (rc == -1) != (err != NULL))
        abort();
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].op == NULL)
            abort();
    smtpd_check_parse_closed(&l, &l);
    mem_free(&err);
    smtpd_check_parse_free(&l);
    mem_free(&text);
    return 0;
}
