/*
 * logline_test - the parser, one table row per line shape of every format.
 *
 * Each row gives a line and the fields it must yield; a NULL expectation is
 * not checked, "" means "present and empty", and "-" means "absent".
 */
#include "logtool/logline.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/test.h"

typedef struct logline_case {
    const char *line;
    enum logline_format format;
    enum logline_event event;
    const char *queue_id;
    const char *program;
    const char *from;
    const char *to;
    const char *status;         /* logline_status_name */
    const char *dsn;
    const char *client_addr;
    const char *message_id;
    const char *relay;
    const char *new_queue_id;
    const char *status_text;
    long long size;             /* 0: not checked */
    long pid;                   /* 0: not checked */
} logline_case;

/* clang-format off */
static const logline_case logline_cases[] = {
    /* Postfix, seed 000's walkthrough */
    {"Feb 14 15:05:48 host postfix/smtpd[24327]: connect from unknown[2001:db8::c8]",
     LOGF_POSTFIX, LOGE_CONNECT, "-", "smtpd", NULL, NULL, NULL, NULL, "2001:db8::c8", NULL, NULL, NULL, NULL, 0, 24327},
    {"Feb 14 15:05:48 host postfix/smtpd[24327]: B19371EA3E8B: client=unknown[2001:db8::c8]",
     LOGF_POSTFIX, LOGE_CLIENT, "B19371EA3E8B", "smtpd", NULL, NULL, NULL, NULL, "2001:db8::c8", NULL, NULL, NULL, NULL, 0, 0},
    {"Feb 14 15:05:48 host postfix/cleanup[24329]: B19371EA3E8B: message-id=<69908f4c.1e92be2.7865be02@host>",
     LOGF_POSTFIX, LOGE_MESSAGE_ID, "B19371EA3E8B", "cleanup", NULL, NULL, NULL, NULL, NULL, "69908f4c.1e92be2.7865be02@host", NULL, NULL, NULL, 0, 0},
    {"Feb 14 15:05:48 host postfix/qmgr[23509]: B19371EA3E8B: from=<root@host>, size=700, nrcpt=1 (queue active)",
     LOGF_POSTFIX, LOGE_QUEUED, "B19371EA3E8B", "qmgr", "root@host", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 700, 0},
    {"Feb 14 15:05:48 host postfix/smtpd[24327]: disconnect from unknown[2001:db8::c8] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
     LOGF_POSTFIX, LOGE_DISCONNECT, "-", "smtpd", NULL, NULL, NULL, NULL, "2001:db8::c8", NULL, NULL, NULL, NULL, 0, 0},
    {"Feb 14 15:05:48 host postfix/local[24330]: B19371EA3E8B: to=<afnog@mail.pc200.n2.nog-oc.org>, relay=local, delay=0.1, delays=0.08/0.01/0/0, dsn=2.0.0, status=sent (delivered to mailbox)",
     LOGF_POSTFIX, LOGE_DELIVERY, "B19371EA3E8B", "local", NULL, "afnog@mail.pc200.n2.nog-oc.org", "sent", "2.0.0", NULL, NULL, "local", NULL, "delivered to mailbox", 0, 0},
    {"Feb 14 15:05:48 host postfix/qmgr[23509]: B19371EA3E8B: removed",
     LOGF_POSTFIX, LOGE_REMOVED, "B19371EA3E8B", "qmgr", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    /* deferral and reject (seed 003) */
    {"Apr 10 19:05:00 mail postfix/smtp[6010]: F1A2B3C4D5: to=<user@baddomain.xyz>, relay=none, delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mail.baddomain.xyz:25: Connection refused)",
     LOGF_POSTFIX, LOGE_DELIVERY, "F1A2B3C4D5", "smtp", NULL, "user@baddomain.xyz", "deferred", "4.4.1", NULL, NULL, "none", NULL, "connect to mail.baddomain.xyz:25: Connection refused", 0, 0},
    {"Apr 10 19:10:00 mail postfix/smtpd[6020]: NOQUEUE: reject: RCPT from unknown[91.200.12.5]: 554 5.7.1 Service unavailable; Client host [91.200.12.5] blocked using zen.spamhaus.org; from=<spam@example.net> to=<user@ourdomain.com> proto=ESMTP helo=<x>",
     LOGF_POSTFIX, LOGE_REJECT, "-", "smtpd", "spam@example.net", "user@ourdomain.com", NULL, "5.7.1", "91.200.12.5", NULL, NULL, NULL, NULL, 0, 0},
    /* Postfix 3.11 tls= field, long queue ID, multiple instance syslog name */
    {"Sep 30 23:05:38 amnesiac postfix-out/smtp[793146]: 4cbdb56t4MzPjfw: to=<list@example.org>, relay=list.example.de[45.90.5.195]:25, delay=5.4, delays=0.08/0.01/3.5/1.9, tls=dane, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4cbdb56t4MzPjfx)",
     LOGF_POSTFIX, LOGE_DELIVERY, "4cbdb56t4MzPjfw", "smtp", NULL, "list@example.org", "sent", "2.0.0", NULL, NULL, "list.example.de[45.90.5.195]:25", NULL, NULL, 0, 0},
    /* RFC 3339 stamp and submission instance */
    {"2024-03-01T10:00:00.123456+01:00 mail postfix/submission/smtpd[77]: 3AB1C2D3E4: client=laptop[192.0.2.7], sasl_method=PLAIN, sasl_username=alice",
     LOGF_POSTFIX, LOGE_CLIENT, "3AB1C2D3E4", "smtpd", NULL, NULL, NULL, NULL, "192.0.2.7", NULL, NULL, NULL, NULL, 0, 77},
    /* RFC 5424 */
    {"<22>1 2024-03-01T10:00:00.5Z mail postfix/qmgr 900 - - 3AB1C2D3E4: removed",
     LOGF_POSTFIX, LOGE_REMOVED, "3AB1C2D3E4", "qmgr", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 900},
    /* bounce notification, expired */
    {"Mar  1 10:00:02 mail postfix/bounce[120]: 3AB1C2D3E4: sender non-delivery notification: 5BC2D3E4F5",
     LOGF_POSTFIX, LOGE_BOUNCE, "3AB1C2D3E4", "bounce", NULL, NULL, NULL, NULL, NULL, NULL, NULL, "5BC2D3E4F5", NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/qmgr[90]: 3AB1C2D3E4: from=<a@example.com>, status=expired, returned to sender",
     LOGF_POSTFIX, LOGE_EXPIRED, "3AB1C2D3E4", "qmgr", "a@example.com", NULL, "expired", NULL, NULL, NULL, NULL, NULL, "returned to sender", 0, 0},
    /* 3.9+: queue ID and NOQUEUE on lost-connection lines */
    {"Mar  1 10:00:02 mail postfix/smtpd[5]: 3AB1C2D3E4: lost connection after DATA (0 bytes) from unknown[192.0.2.9]",
     LOGF_POSTFIX, LOGE_LOST, "3AB1C2D3E4", "smtpd", NULL, NULL, NULL, NULL, "192.0.2.9", NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/smtpd[5]: NOQUEUE: lost connection after RCPT from unknown[192.0.2.9]",
     LOGF_POSTFIX, LOGE_LOST, "-", "smtpd", NULL, NULL, NULL, NULL, "192.0.2.9", NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/smtpd[5]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
     LOGF_POSTFIX, LOGE_SASL_FAIL, "-", "smtpd", NULL, NULL, NULL, NULL, "192.0.2.9", NULL, NULL, NULL, NULL, 0, 0},
    /* the queue ID after the severity: smtpd's size-limit warning */
    {"Mar  1 10:00:02 mail postfix/smtpd[5]: warning: 3AB1C2D3E4: queue file size limit exceeded",
     LOGF_POSTFIX, LOGE_WARNING, "3AB1C2D3E4", "smtpd", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postie/smtpd[5]: warning: NOQUEUE: queue file size limit exceeded",
     LOGF_POSTIE, LOGE_WARNING, "-", "smtpd", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postie/smtpd[5]: warning: non-SMTP command from x[192.0.2.9]: POST / HTTP/1.1",
     LOGF_POSTIE, LOGE_WARNING, "-", "smtpd", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/pickup[8]: 3AB1C2D3E4: uid=1000 from=<bob>",
     LOGF_POSTFIX, LOGE_PICKUP, "3AB1C2D3E4", "pickup", "bob", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/postsuper[8]: 3AB1C2D3E4: placed on hold",
     LOGF_POSTFIX, LOGE_HOLD, "3AB1C2D3E4", "postsuper", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/smtp[9]: 3AB1C2D3E4: host mx.example.org[198.51.100.2] said: 450 4.2.0 mailbox busy (in reply to RCPT TO command)",
     LOGF_POSTFIX, LOGE_HOST_SAID, "3AB1C2D3E4", "smtp", NULL, NULL, NULL, "4.2.0", NULL, NULL, "mx.example.org[198.51.100.2]", NULL, "mailbox busy (in reply to RCPT TO command)", 0, 0},
    {"Mar  1 10:00:02 mail postfix/cleanup[9]: 3AB1C2D3E4: reject: header Subject: win from unknown[192.0.2.9]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>: 5.7.1 no spam",
     LOGF_POSTFIX, LOGE_REJECT, "3AB1C2D3E4", "cleanup", "a@b", "c@d", NULL, "5.7.1", "192.0.2.9", NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/postscreen[9]: PASS NEW [192.0.2.9]:4711",
     LOGF_POSTFIX, LOGE_POSTSCREEN, "-", "postscreen", NULL, NULL, NULL, NULL, "192.0.2.9", NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/postscreen[9]: NOQUEUE: reject: RCPT from [192.0.2.9]:4711: 550 5.7.1 Service unavailable; client [192.0.2.9] blocked using zen.example; from=<a@b>, to=<c@d>, proto=ESMTP, helo=<x>",
     LOGF_POSTFIX, LOGE_REJECT, "-", "postscreen", "a@b", "c@d", NULL, "5.7.1", "192.0.2.9", NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/anvil[9]: statistics: max connection rate 1/60s for (smtp:192.0.2.9) at Mar  1 09:59:00",
     LOGF_POSTFIX, LOGE_ANVIL, "-", "anvil", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:02 mail postfix/master[1]: fatal: bind 0.0.0.0 port 25: Address already in use",
     LOGF_POSTFIX, LOGE_FATAL, "-", "master", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    /* postie's own lines */
    {"Mar  1 10:00:02 box postie/smtpd[4242]: 0A1B2C3D4E5F: client=localhost[127.0.0.1]",
     LOGF_POSTIE, LOGE_CLIENT, "0A1B2C3D4E5F", "smtpd", NULL, NULL, NULL, NULL, "127.0.0.1", NULL, NULL, NULL, NULL, 0, 4242},
    /* qmail: tai64nlocal, multilog, splogger */
    {"2023-07-26 14:28:27.917076500 info msg 574692321: bytes 16593 from <outlook_553EE1FF76D81E16@outlook.com> qp 5228 uid 108",
     LOGF_QMAIL, LOGE_QUEUED, "574692321", NULL, "outlook_553EE1FF76D81E16@outlook.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 16593, 0},
    {"2023-07-26 14:28:27.920988500 starting delivery 373: msg 574692321 to local myspareparts.com-maurice.niccoli@myspareparts.com",
     LOGF_QMAIL, LOGE_DELIVERY_START, "574692321", NULL, NULL, "myspareparts.com-maurice.niccoli@myspareparts.com", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"@4000000064c12a5c00e4a0ec delivery 374: success: vdelivermail:_valiases_processed/did_0+0+1/",
     LOGF_QMAIL, LOGE_DELIVERY, "-", NULL, NULL, NULL, "sent", NULL, NULL, NULL, NULL, NULL, "vdelivermail:_valiases_processed/did_0+0+1/", 0, 0},
    {"@4000000064c12a5c00e4a0ec delivery 375: failure: 192.0.2.1_failed_after_I_sent_the_message./Remote_host_said:_554_5.7.1_rejected/",
     LOGF_QMAIL, LOGE_DELIVERY, "-", NULL, NULL, NULL, "bounced", "5.7.1", NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Jul 26 14:28:28 host qmail: 1690381708.046819 end msg 574692321",
     LOGF_QMAIL, LOGE_REMOVED, "574692321", "qmail", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"2023-07-26 14:28:28.014983500 status: local 1/10 remote 0/255",
     LOGF_QMAIL, LOGE_QMAIL_STATUS, "-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    /* DMA (seed 000) */
    {"Feb 14 15:05:48 host dma[1e92be2.3ccbf7647000][24326]: <afnog@mail.pc200.n2.nog-oc.org> trying delivery",
     LOGF_DMA, LOGE_DELIVERY_START, "1e92be2.3ccbf7647000", "dma", NULL, "afnog@mail.pc200.n2.nog-oc.org", NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 24326},
    {"Feb 14 15:05:48 host dma[1e92be2.3ccbf7647000][24326]: trying remote delivery to mail.pc200.n2.nog-oc.org [2001:db8::c8] pref 0",
     LOGF_DMA, LOGE_OTHER, "1e92be2.3ccbf7647000", "dma", NULL, NULL, NULL, NULL, NULL, NULL, "mail.pc200.n2.nog-oc.org [2001:db8::c8]", NULL, NULL, 0, 0},
    {"Feb 14 15:05:48 host dma[1e92be2.3ccbf7647000][24326]: <afnog@mail.pc200.n2.nog-oc.org> delivery successful",
     LOGF_DMA, LOGE_DELIVERY, "1e92be2.3ccbf7647000", "dma", NULL, "afnog@mail.pc200.n2.nog-oc.org", "sent", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Feb 14 15:05:47 host dma[1e92be2.3ccbf7647000][24326]: new mail from user=root uid=0 envelope_from=<root@host>",
     LOGF_DMA, LOGE_QUEUED, "1e92be2.3ccbf7647000", "dma", "root@host", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    /* Exim */
    {"2010-07-16 14:19:04 1OZjsa-00020M-G0 <= thomas@example.de H=cl-2403.example.net [2001:db8:900:962::2] P=esmtpsa S=9780 id=1279282739.2627.5.camel@kaya",
     LOGF_EXIM, LOGE_QUEUED, "1OZjsa-00020M-G0", "exim", "thomas@example.de", NULL, NULL, NULL, "2001:db8:900:962::2", "1279282739.2627.5.camel@kaya", NULL, NULL, NULL, 9780, 0},
    {"2010-07-16 14:19:04 1OZjsa-00020M-G0 => foobar@example.com R=dnslookup T=remote_smtp H=mail.example.com [195.35.72.80]",
     LOGF_EXIM, LOGE_DELIVERY, "1OZjsa-00020M-G0", "exim", NULL, "foobar@example.com", "sent", NULL, NULL, NULL, "mail.example.com [195.35.72.80]", NULL, NULL, 0, 0},
    {"2010-07-16 14:19:04 1OZjsa-00020M-G0 ** nobody@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.5]: SMTP error from remote mail server after RCPT TO:<nobody@example.com>: 550 5.1.1 user unknown",
     LOGF_EXIM, LOGE_DELIVERY, "1OZjsa-00020M-G0", "exim", NULL, "nobody@example.com", "bounced", "5.1.1", NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"2010-07-16 14:19:04 1OZjsa-00020M-G0 Completed",
     LOGF_EXIM, LOGE_REMOVED, "1OZjsa-00020M-G0", "exim", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"2010-07-16 14:19:13 1OZjsk-00020j-0s <= <> R=1OZjsa-00020M-G0 U=Debian-exim P=local S=1304",
     LOGF_EXIM, LOGE_QUEUED, "1OZjsk-00020j-0s", "exim", "", NULL, NULL, NULL, NULL, NULL, NULL, "1OZjsa-00020M-G0", NULL, 1304, 0},
    {"2024-01-02 03:04:05 H=(helo.example) [192.0.2.4] F=<a@b.example> rejected RCPT <c@d.example>: relay not permitted",
     LOGF_EXIM, LOGE_REJECT, "-", "exim", "a@b.example", "c@d.example", NULL, NULL, "192.0.2.4", NULL, NULL, NULL, NULL, 0, 0},
    /* Sendmail */
    {"Jul 25 14:32:10 mail sendmail[1234]: r4LM0nKq012345: from=<a@example.com>, size=1234, class=0, nrcpts=1, msgid=<m1@example.com>, proto=ESMTP, daemon=MTA, relay=host.example.com [192.0.2.1]",
     LOGF_SENDMAIL, LOGE_QUEUED, "r4LM0nKq012345", "sendmail", "a@example.com", NULL, NULL, NULL, "192.0.2.1", "m1@example.com", NULL, NULL, NULL, 1234, 0},
    {"Jul 25 14:32:11 mail sm-mta[1235]: r4LM0nKq012345: to=<b@example.org>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120, relay=mx.example.org. [198.51.100.2], dsn=2.0.0, stat=Sent (OK id=1)",
     LOGF_SENDMAIL, LOGE_DELIVERY, "r4LM0nKq012345", "sm-mta", NULL, "b@example.org", "sent", "2.0.0", NULL, NULL, "mx.example.org. [198.51.100.2]", NULL, "OK id=1", 0, 0},
    {"Jul 25 14:32:11 mail sendmail[1235]: r4LM0nKq012345: to=<c@example.org>, delay=00:00:01, mailer=esmtp, pri=120, relay=mx.example.org., dsn=5.1.1, stat=User unknown",
     LOGF_SENDMAIL, LOGE_DELIVERY, "r4LM0nKq012345", "sendmail", NULL, "c@example.org", "bounced", "5.1.1", NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Jul 25 14:32:11 mail sendmail[1235]: r4LM0nKq012345: r4LM0nKr012346: DSN: User unknown",
     LOGF_SENDMAIL, LOGE_BOUNCE, "r4LM0nKq012345", "sendmail", NULL, NULL, NULL, NULL, NULL, NULL, NULL, "r4LM0nKr012346", NULL, 0, 0},
    /* Dovecot: syslog and its own file */
    {"Mar  1 10:00:03 mail dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=321, TLS, session=<abc>",
     LOGF_DOVECOT, LOGE_LOGIN, "-", "imap-login", NULL, NULL, NULL, NULL, "192.0.2.7", NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:03 mail dovecot: lmtp(alice)<321><sess>: msgid=<m1@example.com>: saved mail to INBOX",
     LOGF_DOVECOT, LOGE_DELIVERY, "-", "lmtp", NULL, "alice", "sent", NULL, NULL, "m1@example.com", NULL, NULL, NULL, 0, 321},
    {"Mar  1 10:00:04 imap(alice)<321><sess>: Info: Disconnected: Logged out in=100 out=200",
     LOGF_DOVECOT, LOGE_LOGOUT, "-", "imap", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 321},
    {"Mar  1 10:00:04 mail dovecot: lda(bob): msgid=<m2@example.com>: save failed to INBOX: Quota exceeded (mailbox for user is full)",
     LOGF_DOVECOT, LOGE_DELIVERY, "-", "lda", NULL, "bob", "bounced", "5.2.2", NULL, "m2@example.com", NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:04 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<eve>, method=PLAIN, rip=192.0.2.66, lip=192.0.2.1, session=<x>",
     LOGF_DOVECOT, LOGE_LOGIN_FAIL, "-", "imap-login", NULL, NULL, NULL, NULL, "192.0.2.66", NULL, NULL, NULL, NULL, 0, 0},
    {"Nov 23 16:50:48 lmtp(alice)<21232><IE63IOhuBGvwUgAAg+zDdQ:T2>: Info: msgid=unspecified: saved mail to INBOX",
     LOGF_DOVECOT, LOGE_DELIVERY, "-", "lmtp", NULL, "alice", "sent", NULL, NULL, "unspecified", NULL, NULL, NULL, 0, 21232},
    {"Nov 23 16:50:50 imap-login: Info: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, secured, session=<RPtUZfRg9Od/AAAB>",
     LOGF_DOVECOT, LOGE_LOGIN_FAIL, "-", "imap-login", NULL, NULL, NULL, NULL, "127.0.0.1", NULL, NULL, NULL, NULL, 0, 0},
    {"Nov 23 16:50:48 imap-login: Info: Disconnected: Connection closed (disconnected before auth was ready, waited 0 secs): user=<>, rip=127.0.0.1, lip=127.0.0.1, secured, session=<keJTZfRg3Od/AAAB>",
     LOGF_DOVECOT, LOGE_LOST, "-", "imap-login", NULL, NULL, NULL, NULL, "127.0.0.1", NULL, NULL, NULL, NULL, 0, 0},
    /* postie's pop3d: Dovecot's grammar after postie's prefix (issue 13) */
    {"Dec  7 13:20:13 vm postie/pop3d[29886]: pop3-login: Login: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, mpid=29885, session=<InMe91rrkJqpZUbF>",
     LOGF_POSTIE, LOGE_LOGIN, "-", "pop3d", NULL, NULL, NULL, NULL, "127.0.0.1", NULL, NULL, NULL, NULL, 0, 29886},
    {"Dec  7 13:20:13 vm postie/pop3d[29885]: pop3(alice)<29885><InMe91rrkJqpZUbF>: Disconnected: Logged out top=0/0, retr=1/318, del=1/2, size=653",
     LOGF_POSTIE, LOGE_LOGOUT, "-", "pop3d", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 29885},
    {"Dec  7 13:20:14 vm postie/pop3d[29901]: pop3-login: Disconnected (auth failed, 1 attempts in 1 secs): user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1, session=<YOlnTa5jMifQXLz8>",
     LOGF_POSTIE, LOGE_LOGIN_FAIL, "-", "pop3d", NULL, NULL, NULL, NULL, "127.0.0.1", NULL, NULL, NULL, NULL, 0, 29901},
    {"Dec  7 13:20:17 vm postie/pop3d[30102]: pop3-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=127.0.0.1, lip=127.0.0.1, session=<DxGnIXEweP9zDmpu>",
     LOGF_POSTIE, LOGE_LOST, "-", "pop3d", NULL, NULL, NULL, NULL, "127.0.0.1", NULL, NULL, NULL, NULL, 0, 0},
    {"Dec  7 13:20:17 vm postie/pop3d[30103]: error: pop3(alice)<30103><gAl7Ff1BBYq48Ml8>: Couldn't open INBOX: open /x/Maildir: Permission denied",
     LOGF_POSTIE, LOGE_ERROR, "-", "pop3d", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 30103},
    {"Dec  7 13:20:17 vm postie/pop3d[30103]: warning: pop3d_connection_limit (100) reached: connection refused",
     LOGF_POSTIE, LOGE_WARNING, "-", "pop3d", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 30103},
    /* a '/' in the session ID is not a syslog name separator */
    {"Nov 23 16:50:48 imap(alice)<21239><9KtUZfRg6Od/AAAB>: Info: Disconnected: Logged out in=57 out=946",
     LOGF_DOVECOT, LOGE_LOGOUT, "-", "imap", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 21239},
    /* Dovecot's master, not Postfix's: its lines carry a level */
    {"Nov 23 16:50:48 master: Info: Dovecot v2.3.19.1 (9b53102964) starting up for imap, pop3, lmtp",
     LOGF_DOVECOT, LOGE_OTHER, "-", "master", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    /* junk */
    {"this is not a log line", LOGF_UNKNOWN, LOGE_UNKNOWN, "-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:04 mail kernel: [1.0] eth0 up", LOGF_OTHER, LOGE_OTHER, "-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1 10:00:04 mail postfix/local[9]: 3AB1C2D3E4: to=<a@b>, relay=loc", LOGF_POSTFIX, LOGE_DELIVERY, "3AB1C2D3E4", NULL, NULL, "a@b", "", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"", LOGF_UNKNOWN, LOGE_UNKNOWN, "-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
    {"Mar  1", LOGF_UNKNOWN, LOGE_UNKNOWN, "-", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0},
};
/* clang-format on */

static char logline_test_tmp[4096];

/* The field as a C string, "-" when absent. */
static const char *logline_test_str(logstr s)
{
    if (s.p == NULL)
        return "-";
    size_t n = s.n < sizeof(logline_test_tmp) - 1 ? s.n : sizeof(logline_test_tmp) - 1;
    memcpy(logline_test_tmp, s.p, n);
    logline_test_tmp[n] = '\0';
    return logline_test_tmp;
}

#define CHECK_FIELD(field, want)                                              \
    do {                                                                      \
        if ((want) != NULL) {                                                 \
            TEST_EQ_STR(logline_test_str(ll.field), (want));                  \
        }                                                                     \
    } while (0)

static void test_logline_table(void)
{
    logline_ctx ctx;
    for (size_t i = 0; i < sizeof(logline_cases) / sizeof(logline_cases[0]); i++) {
        const logline_case *c = &logline_cases[i];
        logline ll;
        logline_ctx_init(&ctx);
        logline_parse(&ctx, c->line, strlen(c->line), &ll);
        int before = test_failures;
        TEST_EQ_STR(logline_format_name(ll.format), logline_format_name(c->format));
        TEST_EQ_STR(logline_event_name(ll.event), logline_event_name(c->event));
        CHECK_FIELD(queue_id, c->queue_id);
        CHECK_FIELD(program, c->program);
        CHECK_FIELD(from, c->from);
        CHECK_FIELD(to, c->to);
        if (c->status != NULL)
            TEST_EQ_STR(logline_status_name(ll.status), c->status);
        CHECK_FIELD(dsn, c->dsn);
        CHECK_FIELD(client_addr, c->client_addr);
        CHECK_FIELD(message_id, c->message_id);
        CHECK_FIELD(relay, c->relay);
        CHECK_FIELD(new_queue_id, c->new_queue_id);
        CHECK_FIELD(status_text, c->status_text);
        if (c->size != 0)
            TEST_EQ_INT(ll.size, c->size);
        if (c->pid != 0)
            TEST_EQ_INT(ll.pid, c->pid);
        if (test_failures != before)
            fprintf(stderr, "  in line %zu: %s\n", i, c->line);
    }
}

static void test_logline_times(void)
{
    logline_ctx ctx;
    logline ll;
    logline_ctx_init(&ctx);
    ctx.year = 2024;
    ctx.ref_month = -1;
    ctx.utcoff = 0;
    const char *l1 = "Mar  1 10:00:02 mail postfix/qmgr[90]: 3AB1C2D3E4: removed";
    logline_parse(&ctx, l1, strlen(l1), &ll);
    TEST_EQ_INT(ll.time, 1709287202);
    TEST_EQ_INT(ll.stamp_kind, LOGT_TRADITIONAL);
    const char *l2 = "2024-03-01T10:00:02.250000+01:00 mail postfix/qmgr[90]: 3AB1C2D3E4: removed";
    logline_parse(&ctx, l2, strlen(l2), &ll);
    TEST_EQ_INT(ll.time, 1709287202 - 3600);
    TEST_EQ_INT(ll.usec, 250000);
    /* 2023-07-26 14:28:27 UTC as multilog writes it */
    const char *l3 = "@4000000064c12d2536a8b5ac end msg 1";
    logline_parse(&ctx, l3, strlen(l3), &ll);
    TEST_EQ_INT(ll.time, 1690381595);
    TEST_EQ_INT(ll.event, LOGE_REMOVED);
    /* December then January: the year moves on. */
    const char *d = "Dec 31 23:59:59 m postfix/qmgr[1]: 3AB1C2D3E4: removed";
    const char *j = "Jan  1 00:00:01 m postfix/qmgr[1]: 3AB1C2D3E4: removed";
    logline_parse(&ctx, d, strlen(d), &ll);
    logline_parse(&ctx, j, strlen(j), &ll);
    TEST_EQ_INT(ctx.year, 2025);
    TEST_EQ_INT(ll.time, 1735689601);
}

/* A log written up to January that starts in December: the first lines are
 * of the year before. */
static void test_logline_year_reference(void)
{
    logline_ctx ctx;
    logline ll;
    logline_ctx_init(&ctx);
    ctx.year = 2025;
    ctx.ref_month = 0;
    ctx.utcoff = 0;
    const char *d = "Dec 31 23:59:59 m postfix/qmgr[1]: 3AB1C2D3E4: removed";
    const char *j = "Jan  1 00:00:01 m postfix/qmgr[1]: 3AB1C2D3E4: removed";
    logline_parse(&ctx, d, strlen(d), &ll);
    TEST_EQ_INT(ll.time, 1735689599);
    logline_parse(&ctx, j, strlen(j), &ll);
    TEST_EQ_INT(ll.time, 1735689601);
}

static void test_logline_fields(void)
{
    logline_ctx ctx;
    logline ll;
    logline_ctx_init(&ctx);
    const char *l = "Feb 14 15:05:48 host postfix/local[24330]: B19371EA3E8B: to=<a@b>, orig_to=<c@d>, relay=local, delay=0.1, delays=0.08/0.01/0/0.5, dsn=2.0.0, status=sent (delivered to mailbox)";
    logline_parse(&ctx, l, strlen(l), &ll);
    TEST_TRUE(ll.delay > 0.099 && ll.delay < 0.101);
    TEST_TRUE(ll.delays[0] > 0.079 && ll.delays[0] < 0.081);
    TEST_TRUE(ll.delays[3] > 0.49 && ll.delays[3] < 0.51);
    TEST_EQ_STR(logline_test_str(ll.orig_to), "c@d");
    const char *dc = "Feb 14 15:05:48 host postfix/smtpd[1]: disconnect from x[192.0.2.1] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4";
    logline_parse(&ctx, dc, strlen(dc), &ll);
    TEST_EQ_INT(ll.commands, 4);
    TEST_EQ_INT(ll.commands_bad, 1);
    const char *bin = "Feb 14 15:05:48 host postfix\x01/smtpd[1]: x";
    logline_parse(&ctx, bin, strlen(bin), &ll);
    TEST_TRUE(ll.binary);
    TEST_EQ_INT(ll.event, LOGE_UNKNOWN);
    const char *cut = "Feb 14 15:05:48 host postfix/qmgr[1]: B19371EA3E8B: from=<a@b";
    logline_parse(&ctx, cut, strlen(cut), &ll);
    TEST_TRUE(ll.truncated);
    TEST_TRUE(logline_is_queue_id("B19371EA3E8B", 12));
    TEST_TRUE(logline_is_queue_id("4cbdb56t4MzPjfw", 15));
    TEST_TRUE(!logline_is_queue_id("Deleted", 7));
    TEST_TRUE(!logline_is_queue_id("warning", 7));
    logstr why;
    const char *big = "Feb 14 15:05:48 host postfix/smtpd[1]: warning: B19371EA3E8B: queue file size limit exceeded";
    logline_parse(&ctx, big, strlen(big), &ll);
    TEST_TRUE(logline_is_size_limit(&ll, &why));
    TEST_EQ_STR(logline_test_str(why), "queue file size limit exceeded");
    const char *other = "Feb 14 15:05:48 host postfix/smtpd[1]: warning: B19371EA3E8B: write queue file: No space left on device";
    logline_parse(&ctx, other, strlen(other), &ll);
    TEST_TRUE(!logline_is_size_limit(&ll, &why));
    TEST_EQ_STR(logline_test_str(ll.queue_id), "B19371EA3E8B");
}

int main(void)
{
    TEST_RUN(test_logline_table);
    TEST_RUN(test_logline_times);
    TEST_RUN(test_logline_year_reference);
    TEST_RUN(test_logline_fields);
    return test_done();
}
