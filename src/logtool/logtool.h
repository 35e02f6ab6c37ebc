/*
 * logtool - "postie log": trace, explain, report and follow mail logs of
 * postie, Postfix, qmail, DMA, Exim, Sendmail and Dovecot.
 */
#ifndef POSTIE_LOGTOOL_LOGTOOL_H
#define POSTIE_LOGTOOL_LOGTOOL_H

int logtool_main(int argc, char **argv);

#endif
