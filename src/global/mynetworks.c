/*
 * mynetworks - CIDR matching of client addresses; see mynetworks.h.
 *
 * Entries are kept as (family, 16 address bytes, prefix length); a match
 * compares the first prefix bits.  The list is short (a handful of
 * networks), so a linear scan per connection costs nothing worth a trie.
 */
#include "global/mynetworks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "global/mail_conf.h"
#include "util/conf.h"
#include "util/mem.h"
#include "util/msg.h"

typedef struct mynetworks_net {
    int family;                /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
} mynetworks_net;

struct mynetworks {
    mynetworks_net *v;
    size_t n;
};

/* Parse one entry; 0 or -1. */
static int mynetworks_entry(const char *s, mynetworks_net *net)
{
    char tmp[128];
    if (strlen(s) >= sizeof(tmp))
        return -1;
    snprintf(tmp, sizeof(tmp), "%s", s);
    char *slash = strchr(tmp, '/');
    int prefix = -1;
    if (slash != NULL) {
        *slash = '\0';
        char *end;
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        long v = strtol(slash + 1, &end, 10);
        if (*end != '\0' || v < 0 || v > 128)
            return -1;
        prefix = (int)v;
    }
    char *a = tmp;
    size_t len = strlen(a);
    /* "[::1]" as Postfix writes IPv6 networks in mynetworks. */
    if (len >= 2 && a[0] == '[' && a[len - 1] == ']') {
        a[len - 1] = '\0';
        a++;
    }
    memset(net, 0, sizeof(*net));
    if (inet_pton(AF_INET, a, net->addr) == 1) {
        net->family = AF_INET;
        if (prefix > 32)
            return -1;
        net->prefix = prefix < 0 ? 32 : prefix;
    } else if (inet_pton(AF_INET6, a, net->addr) == 1) {
        net->family = AF_INET6;
        net->prefix = prefix < 0 ? 128 : prefix;
    } else {
        return -1;
    }
    return 0;
}

int mynetworks_parse(char *const *list, mynetworks **m_r, char **err_r)
{
    mynetworks *m = mem_zalloc(sizeof(*m));
    size_t cap = 0;
    int r = 0;
    for (; list && *list; list++) {
        mynetworks_net net;
        if (mynetworks_entry(*list, &net) < 0) {
            if (r == 0 && err_r != NULL) {
                char text[256];
                snprintf(text, sizeof(text), "bad network in mynetworks: \"%.128s\"",
                         *list);
                *err_r = mem_strdup(text);
            }
            r = -1;
            continue;
        }
        if (m->n == cap) {
            cap = cap ? cap * 2 : 8;
            m->v = mem_realloc(m->v, cap * sizeof(*m->v));
        }
        m->v[m->n++] = net;
    }
    *m_r = m;
    return r;
}

mynetworks *mynetworks_from_conf(void)
{
    char **list = var_list("mynetworks");
    mynetworks *m;
    char *err = NULL;
    if (mynetworks_parse(list, &m, &err) < 0) {
        msg_warn("%s (entry ignored)", err);
        mem_free(&err);
    }
    conf_free_list(&list);
    return m;
}

static bool mynetworks_bits_equal(const unsigned char *a, const unsigned char *b,
                                  int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

/* Match raw address bytes of a family. */
static bool mynetworks_match_raw(const mynetworks *m, int family,
                                 const unsigned char *addr)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                               0xff, 0xff};
    unsigned char v4[4];
    bool have_v4 = false;
    if (family == AF_INET) {
        memcpy(v4, addr, 4);
        have_v4 = true;
    } else if (memcmp(addr, v4mapped, 12) == 0) {
        memcpy(v4, addr + 12, 4);
        have_v4 = true;
    }
    for (size_t i = 0; i < m->n; i++) {
        const mynetworks_net *net = &m->v[i];
        if (net->family == AF_INET && have_v4 &&
            mynetworks_bits_equal(net->addr, v4, net->prefix))
            return true;
        if (net->family == AF_INET6 && family == AF_INET6 &&
            mynetworks_bits_equal(net->addr, addr, net->prefix))
            return true;
    }
    return false;
}

bool mynetworks_match(const mynetworks *m, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        return mynetworks_match_raw(m, AF_INET,
                                    (const unsigned char *)&sin->sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 =
            (const struct sockaddr_in6 *)(const void *)sa;
        return mynetworks_match_raw(m, AF_INET6,
                                    (const unsigned char *)&sin6->sin6_addr);
    }
    return false;
}

bool mynetworks_match_str(const mynetworks *m, const char *addr)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, addr, a) == 1)
        return mynetworks_match_raw(m, AF_INET, a);
    if (inet_pton(AF_INET6, addr, a) == 1)
        return mynetworks_match_raw(m, AF_INET6, a);
    return false;
}

void mynetworks_free(mynetworks **mp)
{
    if (*mp == NULL)
        return;
    mem_free(&(*mp)->v);
    mem_free(mp);
}
