"""smtpd: Postfix's restriction lists at RCPT time - relay control from
mynetworks, a DNSBL listing with the seed's reject line
(../shared/seeds/003_515ca660043e21f8.txt), unknown and non-FQDN
addresses, plain-text access tables, and config check / smtpd start on an
unknown restriction.

DNS answers come from unbound on loopback (mail_peers.LoopbackDNS);
clients that must not be trusted connect from 127.0.0.2 and 127.0.0.3
with mynetworks = 127.0.0.1/32."""

import os
import re
import subprocess
import time

import pytest

from mail_peers import LoopbackDNS, have_unbound
from postie_env import POSTIE_BIN, wait_until
from test_smtpd_peer import FakeDNS, connect_from
from test_smtpd_session import Raw

needs_unbound = pytest.mark.skipif(not have_unbound(), reason="unbound is not installed")

TRUSTED_ONLY_LOCALHOST = {"mynetworks": "127.0.0.1/32"}


@pytest.fixture
def zen():
    """A DNSBL zen.example and a few mail domains under .test."""
    d = LoopbackDNS(
        records=[
            "2.0.0.127.zen.example. IN A 127.0.0.2",
            "3.0.0.127.zen.example. IN A 127.0.0.4",
            "3.0.0.127.zen.example. IN TXT https://zen.example/query/127.0.0.3",
            "good.test. IN MX 10 mx.good.test.",
            "mx.good.test. IN A 127.0.0.1",
            "aonly.test. IN A 127.0.0.1",
            "nullmx.test. IN MX 0 .",
        ],
        zones=["zen.example", "test"]).start()
    yield d
    d.cleanup()


def session(env, source, helo="h"):
    r = connect_from(env.smtp_port, source)
    assert r.reply().startswith("220 ")
    assert r.cmd("EHLO " + helo).startswith("250")
    return r


def test_relay_allowed_from_mynetworks_denied_from_elsewhere(postie_factory):
    env = postie_factory(conf=TRUSTED_ONLY_LOCALHOST)
    with session(env, "127.0.0.1") as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd("RCPT TO:<x@example.com>") == "250 2.1.5 Ok"
    with session(env, "127.0.0.2") as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd("RCPT TO:<x@example.com>") == \
            "554 5.7.1 <x@example.com>: Relay access denied"
        # Local mail is accepted from anyone.
        assert r.cmd(f"RCPT TO:<{env.user}@localhost>") == "250 2.1.5 Ok"
    env.wait_for_log(r"postie/smtpd\[\d+\]: NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: "
                     r"554 5\.7\.1 <x@example\.com>: Relay access denied; "
                     r"from=<a@example\.org> to=<x@example\.com> proto=ESMTP helo=<h>$")


@pytest.mark.postie_conf(mynetworks="127.0.0.1/32", relay_domains="relay.example")
def test_relay_domains_are_accepted_from_anyone(postie):
    with session(postie, "127.0.0.2") as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd("RCPT TO:<x@relay.example>") == "250 2.1.5 Ok"


@needs_unbound
def test_dnsbl_listed_client_is_rejected_with_the_seed_line(postie_factory, zen):
    env = postie_factory(conf={**TRUSTED_ONLY_LOCALHOST, "dns_servers": zen.server,
                               "smtpd_client_restrictions": "reject_rbl_client zen.example"})
    with session(env, "127.0.0.2") as r:
        assert r.cmd("MAIL FROM:<a@b>").startswith("250")
        assert r.cmd("RCPT TO:<c@d>") == (
            "554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using zen.example")
        assert r.cmd("QUIT").startswith("221")
    env.wait_for_log(
        r"postie/smtpd\[\d+\]: NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: "
        r"554 5\.7\.1 Service unavailable; Client host \[127\.0\.0\.2\] blocked using "
        r"zen\.example; from=<a@b> to=<c@d> proto=ESMTP helo=<h>$")
    env.wait_for_log(r"disconnect from unknown\[127\.0\.0\.2\] ehlo=1 mail=1 rcpt=0/1 "
                     r"quit=1 commands=3/4$")


@needs_unbound
def test_dnsbl_reason_from_txt_and_answer_filter(postie_factory, zen):
    # 127.0.0.3 answers 127.0.0.4 with a TXT reason; the filtered entry
    # wants exactly 127.0.0.2, so only the first list applies to it.
    env = postie_factory(conf={
        **TRUSTED_ONLY_LOCALHOST, "dns_servers": zen.server,
        "smtpd_client_restrictions": "reject_rbl_client zen.example=127.0.0.2"})
    with session(env, "127.0.0.3") as r:
        assert r.cmd("MAIL FROM:<a@b>").startswith("250")
        assert r.cmd(f"RCPT TO:<{env.user}@localhost>") == "250 2.1.5 Ok"
    env.write_conf({"smtpd_client_restrictions": "reject_rbl_client zen.example"})
    env.restart()
    with session(env, "127.0.0.3") as r:
        assert r.cmd("MAIL FROM:<a@b>").startswith("250")
        assert r.cmd(f"RCPT TO:<{env.user}@localhost>") == (
            "554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked using "
            "zen.example; https://zen.example/query/127.0.0.3")


@needs_unbound
def test_dnsbl_lookups_keep_pipelined_replies_in_order(postie_factory, zen):
    env = postie_factory(conf={**TRUSTED_ONLY_LOCALHOST, "dns_servers": zen.server,
                               "smtpd_client_restrictions": "reject_rbl_client zen.example"})
    user = env.user
    with connect_from(env.smtp_port, "127.0.0.4") as r:   # not listed
        assert r.reply().startswith("220 ")
        assert r.cmd("EHLO h").startswith("250")
        r.send(f"MAIL FROM:<a@b>\r\nRCPT TO:<{user}@localhost>\r\nRCPT TO:<no-such-user@localhost>\r\n"
               f"RCPT TO:<x@example.com>\r\nRCPT TO:<{user}@localhost>\r\nRSET\r\nNOOP\r\n")
        got = [r.reply() for _ in range(7)]
    assert got == [
        "250 2.1.0 Ok", "250 2.1.5 Ok",
        "550 5.1.1 <no-such-user@localhost>: Recipient address rejected: User unknown in "
        "local recipient table",
        "554 5.7.1 <x@example.com>: Relay access denied",
        "250 2.1.5 Ok", "250 2.0.0 Ok", "250 2.0.0 Ok"]


def test_silent_dnsbl_blocks_no_other_session(postie_factory):
    dns = FakeDNS(ptr={}, a={}, silent={"5.0.0.127.zen.example"})
    try:
        env = postie_factory(conf={**TRUSTED_ONLY_LOCALHOST, "smtpd_processes": "1",
                                   "dns_servers": f"127.0.0.1:{dns.port}",
                                   "smtpd_client_restrictions": "reject_rbl_client zen.example"})
        slow = session(env, "127.0.0.5")
        t0 = time.monotonic()
        slow.send(f"MAIL FROM:<a@b>\r\nRCPT TO:<{env.user}@localhost>\r\n")
        # The MAIL reply does not wait for the RCPT's DNS answer.
        assert slow.reply() == "250 2.1.0 Ok"
        assert time.monotonic() - t0 < 1.0
        # Meanwhile another client of the same process is served at once.
        with Raw(env.smtp_port) as r:
            assert r.reply().startswith("220 ")
            assert r.cmd("EHLO c").startswith("250")
            assert r.cmd("NOOP").startswith("250")
            assert time.monotonic() - t0 < 1.0
        # The list does not answer: it is not applied (a temporary failure).
        assert slow.reply() == "250 2.1.5 Ok"
        assert 1.5 < time.monotonic() - t0 < 6
        assert ("5.0.0.127.zen.example", 1) in dns.queries
        slow.close()
    finally:
        dns.close()


@needs_unbound
def test_reject_unknown_sender_domain(postie_factory, zen):
    env = postie_factory(conf={"dns_servers": zen.server,
                               "smtpd_sender_restrictions": "reject_unknown_sender_domain"})
    rcpt = f"RCPT TO:<{env.user}@localhost>"
    cases = [
        ("a@good.test", "250 2.1.5 Ok"),
        ("a@aonly.test", "250 2.1.5 Ok"),
        ("a@nowhere.test",
         "450 4.1.8 <a@nowhere.test>: Sender address rejected: Domain not found"),
        ("a@nullmx.test", "556 5.7.27 <a@nullmx.test>: Sender address rejected: "
                          "Domain nullmx.test does not accept mail (nullMX)"),
        ("", "250 2.1.5 Ok"),   # the null sender has no domain to check
    ]
    with session(env, "127.0.0.1") as r:
        for sender, want in cases:
            assert r.cmd(f"MAIL FROM:<{sender}>").startswith("250")
            assert r.cmd(rcpt) == want, sender
            assert r.cmd("RSET").startswith("250")
    env.wait_for_log(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 450 4\.1\.8 "
                     r"<a@nowhere\.test>: Sender address rejected: Domain not found; "
                     r"from=<a@nowhere\.test> to=<[^>]+> proto=ESMTP helo=<h>$")


@pytest.mark.postie_conf(mydestination="localhost, mail.example.test",
                         smtpd_recipient_restrictions="reject_non_fqdn_recipient",
                         smtpd_sender_restrictions="reject_non_fqdn_sender")
def test_reject_non_fqdn_recipient_and_sender(postie):
    user = postie.user
    with session(postie, "127.0.0.1") as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd(f"RCPT TO:<{user}@mail.example.test>") == "250 2.1.5 Ok"
        assert r.cmd(f"RCPT TO:<{user}@localhost>") == (
            f"504 5.5.2 <{user}@localhost>: Recipient address rejected: "
            "need fully-qualified address")
        assert r.cmd("RSET").startswith("250")
        assert r.cmd("MAIL FROM:<a@nodots>").startswith("250")
        assert r.cmd(f"RCPT TO:<{user}@mail.example.test>") == (
            "504 5.5.2 <a@nodots>: Sender address rejected: need fully-qualified address")
    # A queue file exists once the first recipient was accepted: "ID: reject:".
    postie.wait_for_log(rf"[0-9A-F]+: reject: RCPT from localhost\[127\.0\.0\.1\]: 504 5\.5\.2 "
                        rf"<{re.escape(user)}@localhost>: Recipient address rejected: need "
                        r"fully-qualified address; from=<a@example\.org> ")


def test_access_tables(postie_factory):
    env = postie_factory(conf={
        **TRUSTED_ONLY_LOCALHOST,
        "smtpd_client_restrictions": "check_client_access hash:client_access",
        "smtpd_sender_restrictions": "check_sender_access sender_access",
        "smtpd_recipient_restrictions": "check_recipient_access texthash:rcpt_access",
    }, start=False)
    tables = {
        "client_access": "# clients\n127.0.0.2 REJECT\n127.0.0 DUNNO\n",
        "sender_access": "spammer@example.org REJECT No spam please\n"
                         "example.net 550 5.7.0 go away\n"
                         "list+bounces@example.org DEFER\n",
        "rcpt_access": "closed@localhost REJECT\nwelcome@ OK\n",
    }
    for name, text in tables.items():
        with open(env.path(name), "w") as f:
            f.write(text)
    env.start()
    user = env.user
    with session(env, "127.0.0.2") as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd(f"RCPT TO:<{user}@localhost>") == (
            "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: Access denied")
    with session(env, "127.0.0.3") as r:
        for sender, want in [
                ("spammer@example.org",
                 "554 5.7.1 <spammer@example.org>: Sender address rejected: No spam please"),
                ("x@sub.example.net",
                 "550 5.7.0 <x@sub.example.net>: Sender address rejected: go away"),
                ("list+bounces@example.org",
                 "450 4.7.1 <list+bounces@example.org>: Sender address rejected: Access denied"),
                ("friend@example.org", "250 2.1.5 Ok")]:
            assert r.cmd(f"MAIL FROM:<{sender}>").startswith("250")
            assert r.cmd(f"RCPT TO:<{user}@localhost>") == want, sender
            assert r.cmd("RSET").startswith("250")
        assert r.cmd("MAIL FROM:<friend@example.org>").startswith("250")
        assert r.cmd("RCPT TO:<closed@localhost>") == (
            "554 5.7.1 <closed@localhost>: Recipient address rejected: Access denied")
        # OK in the recipient list does not open the relay (relay
        # restrictions come first) ...
        assert r.cmd("RCPT TO:<welcome@example.com>") == \
            "554 5.7.1 <welcome@example.com>: Relay access denied"
    env.wait_for_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.3\]: 550 5\.7\.0 "
                     r"<x@sub\.example\.net>: Sender address rejected: go away; "
                     r"from=<x@sub\.example\.net> to=<[^>]+> proto=ESMTP helo=<h>$")


def test_unknown_restriction_is_a_config_problem_and_fatal_for_smtpd(postie_factory):
    env = postie_factory(conf={"smtpd_recipient_restrictions":
                               "permit_mynetworks, reject_bogus_thing"}, start=False)
    path = os.path.realpath(env.path("postie.conf"))
    with open(path) as f:
        line = next(i for i, l in enumerate(f, 1) if l.startswith("smtpd_recipient_restrictions"))
    r = env.postie("config", "check")
    assert r.returncode == 1
    assert (f'{path}:{line}: smtpd_recipient_restrictions: unknown smtpd restriction: '
            f'"reject_bogus_thing"') in r.stderr.splitlines(), r.stderr
    # smtpd itself refuses to start with it.
    p = subprocess.run([POSTIE_BIN, "-c", env.dir, "service", "smtpd"], capture_output=True,
                       text=True, timeout=20,
                       env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})
    assert p.returncode != 0
    logged = "\n".join(env.log_lines()) + p.stderr
    assert re.search(r'postie/smtpd\[\d+\]: fatal: unknown smtpd restriction: '
                     r'"reject_bogus_thing"', logged), logged


def test_lists_without_relay_control_are_refused(postie_factory):
    env = postie_factory(conf={"smtpd_relay_restrictions": "permit_mynetworks"}, start=False)
    r = env.postie("config", "check")
    assert r.returncode == 1
    assert "that would be an open relay" in r.stderr


def test_reload_rereads_tables_and_keeps_lists_on_a_typo(postie_factory):
    # One smtpd process: two could merge the two reloads into one.
    env = postie_factory(conf={**TRUSTED_ONLY_LOCALHOST, "smtpd_processes": "1",
                               "smtpd_client_restrictions": "check_client_access client_access"},
                         start=False)
    table = env.path("client_access")
    with open(table, "w") as f:
        f.write("127.0.0.2 REJECT\n")
    env.start()

    def rcpt_reply():
        with session(env, "127.0.0.2") as r:
            assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
            return r.cmd(f"RCPT TO:<{env.user}@localhost>")
    assert rcpt_reply().startswith("554 5.7.1 <unknown[127.0.0.2]>: Client host rejected")
    with open(table, "w") as f:
        f.write("127.0.0.2 OK\n")
    assert env.postie("reload").returncode == 0
    wait_until(lambda: rcpt_reply() == "250 2.1.5 Ok", 10, "the new table")
    # A typo in a list: smtpd warns and keeps serving with what it had.
    env.write_conf({"smtpd_client_restrictions": "check_client_access client_access, rejekt"})
    assert env.postie("reload").returncode == 0
    env.wait_for_log(r'postie/smtpd\[\d+\]: warning: unknown smtpd restriction: "rejekt": '
                     r'keeping the previous smtpd restrictions$')
    assert rcpt_reply() == "250 2.1.5 Ok"
