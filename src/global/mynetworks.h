/*
 * mynetworks - is a client address in a list of networks?  The list is
 * Postfix's mynetworks syntax: "127.0.0.0/8 [::1]/128 192.0.2.7 2001:db8::/32",
 * IPv6 with or without brackets, a bare address meaning one host.
 *
 * An IPv4 client seen through an IPv6 socket (::ffff:192.0.2.7, RFC 4291
 * section 2.5.5.2) matches the IPv4 networks, so a dual-stack listener
 * gives the same answers as an IPv4 one.
 *
 * Does not: look up host names, read files or tables (Postfix's
 * "hash:" and "/file/name" forms are reported as bad entries).
 */
#ifndef POSTIE_GLOBAL_MYNETWORKS_H
#define POSTIE_GLOBAL_MYNETWORKS_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct mynetworks mynetworks;

/* Build from a NULL-terminated list.  Bad entries are skipped; the first
 * one is described in *err_r (a new string) and -1 is returned, but *m_r
 * is set either way so that a bad entry does not open the relay. */
int mynetworks_parse(char *const *list, mynetworks **m_r, char **err_r);
/* From the mynetworks parameter; a bad entry is logged as a warning. */
mynetworks *mynetworks_from_conf(void);
bool mynetworks_match(const mynetworks *m, const struct sockaddr *sa);
/* The same for a printed address ("192.0.2.7", "::1"); false when it does
 * not parse. */
bool mynetworks_match_str(const mynetworks *m, const char *addr);
void mynetworks_free(mynetworks **mp);

#endif
