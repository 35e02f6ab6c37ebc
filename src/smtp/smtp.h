/*
 * smtp - the smtp and lmtp delivery agents ("postie service smtp",
 * "postie service lmtp"): one program, two protocols (RFC 5321, RFC
 * 2033), as Postfix's smtp(8) and lmtp(8).  master starts each; qmgr
 * sends requests on queue/private/smtp and queue/private/lmtp
 * (global/deliver_request.h).  See docs/smtp.md.
 */
#ifndef POSTIE_SMTP_SMTP_H
#define POSTIE_SMTP_SMTP_H

int smtp_service_main(int argc, char **argv);
int lmtp_service_main(int argc, char **argv);

#endif
