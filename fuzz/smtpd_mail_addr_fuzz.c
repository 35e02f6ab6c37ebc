/*
 * smtpd_mail_addr_fuzz - libFuzzer target for the SMTP path parser
 * (RFC 5321 section 4.1.2) and the address helpers smtpd uses on every
 * MAIL and RCPT.  Byte 0 is the flag set; the rest is the text after
 * "MAIL FROM:" / "RCPT TO:".  Checks invariants, not only crashes: an
 * accepted path yields an address no longer than the input, which
 * mail_addr_check accepts again with the same flags.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/mail_addr.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    int flags = data[0] & 15;
    char *text = mem_strndup((const char *)data + 1, size - 1);
    char *addr = NULL;
    const char *end = NULL, *why = NULL;
    int r = mail_addr_parse_path(text, flags, &addr, &end, &why);
    if (r == 0) {
        if (addr == NULL || end < text || end > text + strlen(text) ||
            strlen(addr) > strlen(text))
            abort();
        if (*addr != '\0' && mail_addr_check(addr, flags, &why) != 0)
            abort();
        char *local, *domain;
        mail_addr_split(addr, &local, &domain);
        if (strlen(local) + strlen(domain) > strlen(addr))
            abort();
        (void)mail_addr_is_postmaster(addr);
        (void)mail_addr_is_8bit(addr);
        mem_free(&local);
        mem_free(&domain);
    } else if (addr != NULL || why == NULL) {
        abort();
    }
    mem_free(&addr);
    mem_free(&text);
    return 0;
}
