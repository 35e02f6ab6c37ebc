/*
 * smtpd_dns_fuzz - libFuzzer target for the DNS response reader smtpd uses
 * to name clients and for its restrictions (RFC 1035 section 4, name
 * compression 4.1.4; MX and TXT records).  A name
 * server's answer is network input like any other.  Byte 0 picks the
 * question type; the rest is the response.  Invariant: a stored PTR or MX
 * name or TXT text is a NUL-terminated string shorter than
 * SMTPD_DNS_NAME_MAX, and a TXT text holds no control character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtpd_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static const int types[] = {SMTPD_DNS_T_A, SMTPD_DNS_T_PTR, SMTPD_DNS_T_AAAA,
                                SMTPD_DNS_T_MX, SMTPD_DNS_T_TXT};
    int qtype = types[data[0] % 5];
    const unsigned char *p = data + 1;
    size_t n = size - 1;
    uint16_t id = (uint16_t)((p[0] << 8) | p[1]);
    smtpd_dns_rr rr[4];
    int k = smtpd_dns_answers(p, n, id, qtype, rr, 4);
    if (k > 4)
        abort();
    for (int i = 0; i < k; i++) {
        if (memchr(rr[i].name, '\0', sizeof(rr[i].name)) == NULL)
            abort();
        for (const char *c = rr[i].name; qtype == SMTPD_DNS_T_TXT && *c; c++)
            if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
                abort();
    }
    return 0;
}
