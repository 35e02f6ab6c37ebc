#!/usr/bin/python3
"""dovecot-clients.py - the client side of make-real-logs.sh's Dovecot run.

Talks LMTP, IMAP and POP3 to a Dovecot on loopback (ports from the
environment: DC_LMTP, DC_IMAP, DC_POP) so that its log holds deliveries,
logins, logouts and failed logins in known numbers (tests/logs/real/README.md).
"""
import imaplib
import os
import poplib
import smtplib
import time

LMTP = int(os.environ["DC_LMTP"])
IMAP = int(os.environ["DC_IMAP"])
POP = int(os.environ["DC_POP"])


def message(subject):
    return ("From: carol@remote.test\r\nTo: alice@example.test\r\n"
            "Subject: %s\r\n\r\nbody\r\n" % subject).encode()


# LMTP: 2 to alice, 1 to bob, 1 to both, 1 to an unknown user (refused).
l = smtplib.LMTP("127.0.0.1", LMTP)
l.sendmail("carol@remote.test", ["alice"], message("lmtp 1"))
l.sendmail("carol@remote.test", ["alice"], message("lmtp 2"))
l.sendmail("dave@remote.test", ["bob"], message("lmtp 3"))
l.sendmail("dave@remote.test", ["alice", "bob"], message("lmtp 4"))
try:
    l.sendmail("carol@remote.test", ["nobody"], message("lmtp 5"))
except smtplib.SMTPException:
    pass
try:
    l.quit()
except smtplib.SMTPException:
    pass

# IMAP: alice logs in, reads, logs out; a wrong password; an unknown user;
# bob over IPv6.
m = imaplib.IMAP4("127.0.0.1", IMAP)
m.login("alice", "alice-secret")
m.select("INBOX")
m.fetch("1:*", "(FLAGS)")
m.logout()
for user, password in (("alice", "wrong"), ("mallory", "guess")):
    m = imaplib.IMAP4("127.0.0.1", IMAP)
    try:
        m.login(user, password)
    except imaplib.IMAP4.error:
        pass
    m.logout()
m = imaplib.IMAP4("::1", IMAP)
m.login("bob", "bob-secret")
m.select("INBOX")
m.logout()

# POP3: bob retrieves and deletes everything; alice fails once.
p = poplib.POP3("127.0.0.1", POP)
p.user("bob")
p.pass_("bob-secret")
count = len(p.list()[1])
for i in range(1, count + 1):
    p.retr(i)
    p.dele(i)
p.quit()
p = poplib.POP3("127.0.0.1", POP)
try:
    p.user("alice")
    p.pass_("nope")
except poplib.error_proto:
    pass
p.quit()
time.sleep(1)
