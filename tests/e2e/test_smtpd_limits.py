"""smtpd: every limit and every reject, each with its reply code and its
log line in Postfix's grammar (docs/logging.md): relay denied, unknown user,
message size, recipients, line lengths, idle and total time, errors,
connections per client and in all, junk after QUIT."""

import re
import time

import pytest

from test_smtpd_session import Raw, local_rcpt, queue_files, start

FOREIGN_CLIENT = {"mynetworks": "192.0.2.0/24"}  # 127.0.0.1 is not trusted


@pytest.mark.postie_conf(**FOREIGN_CLIENT)
def test_relay_to_a_foreign_domain_from_outside_mynetworks_is_denied(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd("RCPT TO:<x@example.com>") == \
            "554 5.7.1 <x@example.com>: Relay access denied"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_log(
        r"postie/smtpd\[\d+\]: NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: "
        r"554 5\.7\.1 <x@example\.com>: Relay access denied; from=<alice@example\.org> "
        r"to=<x@example\.com> proto=ESMTP helo=<client\.test>$")
    postie.wait_for_log(r"disconnect from .* ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4$")


def test_relay_from_mynetworks_is_allowed(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd("RCPT TO:<x@example.com>") == "250 2.1.5 Ok"


@pytest.mark.postie_conf(**FOREIGN_CLIENT)
def test_unknown_local_user_gets_550_5_1_1(postie):
    with start(postie, ehlo=False) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd("RCPT TO:<no-such-user@localhost>") == (
            "550 5.1.1 <no-such-user@localhost>: Recipient address rejected: "
            "User unknown in local recipient table")
        # A local user and postmaster are fine from anywhere.
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("RCPT TO:<postmaster@localhost>") == "250 2.1.5 Ok"
        # Once the queue file exists, reject lines carry its ID.
        assert r.cmd("RCPT TO:<ghost@localhost>").startswith("550 5.1.1 ")
    postie.wait_for_log(
        r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 550 5\.1\.1 "
        r"<no-such-user@localhost>: Recipient address rejected: User unknown in local "
        r"recipient table; from=<alice@example\.org> to=<no-such-user@localhost> "
        r"proto=SMTP helo=<client\.test>$")
    qid = postie.wait_for_log(r"([0-9A-F]+): client=localhost")[0].group(1)
    postie.wait_for_log(rf"{qid}: reject: RCPT from localhost\[127\.0\.0\.1\]: 550 5\.1\.1 "
                        r"<ghost@localhost>: .* to=<ghost@localhost> proto=SMTP")


@pytest.mark.postie_conf(message_size_limit="1000")
def test_message_size_limit_is_enforced_at_mail_and_at_end_of_data(postie):
    with start(postie) as r:
        assert "250-SIZE 1000" in r.cmd("EHLO again.test")
        assert r.cmd("MAIL FROM:<alice@example.org> SIZE=2000") == \
            "552 5.3.4 Message size exceeds fixed limit"
        assert r.cmd("MAIL FROM:<alice@example.org> SIZE=500") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        r.send(("Subject: big\r\n\r\n" + ("y" * 70 + "\r\n") * 30 + ".\r\n"))
        assert r.reply() == "552 5.3.4 Error: message file too big"
        assert r.cmd("NOOP") == "250 2.0.0 Ok"
    postie.wait_for_log(r"NOQUEUE: reject: MAIL from localhost\[127\.0\.0\.1\]: 552 5\.3\.4 "
                        r"Message size exceeds fixed limit; from=<alice@example\.org> "
                        r"proto=ESMTP helo=<again\.test>$")
    # Postfix's line for it (no reject line: test_smtpd_size_log.py).
    postie.wait_for_log(r"postie/smtpd\[\d+\]: warning: [0-9A-F]+: queue file size limit "
                        r"exceeded$")
    postie.wait_for_log(r"disconnect from")
    assert queue_files(postie) == []


@pytest.mark.postie_conf(smtpd_recipient_limit="2")
def test_recipient_limit_gets_452_4_5_3(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd("RCPT TO:<a@example.com>") == "250 2.1.5 Ok"
        assert r.cmd("RCPT TO:<b@example.com>") == "250 2.1.5 Ok"
        assert r.cmd("RCPT TO:<c@example.com>") == "452 4.5.3 Error: too many recipients"
    postie.wait_for_log(r"[0-9A-F]+: reject: RCPT from localhost\[127\.0\.0\.1\]: 452 4\.5\.3 "
                        r"Error: too many recipients; from=<alice@example\.org> "
                        r"to=<c@example\.com> proto=ESMTP helo=<client\.test>$")


def test_command_line_over_512_octets_gets_500_5_5_2(postie):
    with start(postie) as r:
        # 510 octets + CRLF = 512 is the longest legal command line.
        assert r.cmd("NOOP " + "x" * 505) == "250 2.0.0 Ok"
        assert r.cmd("NOOP " + "x" * 506) == "500 5.5.2 Error: line too long"
        assert r.cmd("NOOP " + "x" * 100000) == "500 5.5.2 Error: line too long"
        assert r.cmd("NOOP") == "250 2.0.0 Ok"
    postie.wait_for_log(r"warning: command line too long from localhost\[127\.0\.0\.1\] "
                        r"after NOOP$")


def test_text_line_over_1000_octets_is_refused(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: long\r\n\r\n" + "z" * 999 + "\r\n.\r\n")
        assert r.reply() == "500 5.5.2 Error: message line too long"
    postie.wait_for_log(r"reject: END-OF-MESSAGE from localhost\[127\.0\.0\.1\]: 500 5\.5\.2 "
                        r"Error: message line too long; ")
    postie.wait_for_log(r"disconnect from")
    assert queue_files(postie) == []


@pytest.mark.postie_conf(smtpd_timeout="2s")
def test_idle_client_gets_421_4_4_2_and_timeout_line(postie):
    with start(postie) as r:
        t0 = time.monotonic()
        rep = r.reply()
        assert re.match(r"421 4\.4\.2 \S+ Error: timeout exceeded$", rep), rep
        assert 1.5 < time.monotonic() - t0 < 6
        assert r.closed()
    postie.wait_for_log(r"postie/smtpd\[\d+\]: timeout after EHLO from "
                        r"localhost\[127\.0\.0\.1\]$")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 commands=1$")


@pytest.mark.postie_conf(smtpd_timeout="2s")
def test_timeout_in_data_says_how_many_bytes_came(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: slow\r\n")
        assert r.reply().startswith("421 4.4.2 ")
    postie.wait_for_log(r"timeout after DATA \(15 bytes\) from localhost\[127\.0\.0\.1\]$")
    postie.wait_for_log(r"disconnect from")
    assert queue_files(postie) == []


@pytest.mark.postie_conf(smtpd_timeout="10s", smtpd_total_timeout="3s")
def test_busy_session_ends_at_the_total_timeout(postie):
    with start(postie) as r:
        t0 = time.monotonic()
        while True:
            rep = r.cmd("NOOP")
            if not rep.startswith("250"):
                break
            assert time.monotonic() - t0 < 8, "no total timeout"
            time.sleep(0.5)
        assert rep.startswith("421 4.4.2 ")
    postie.wait_for_log(r"timeout after NOOP from localhost\[127\.0\.0\.1\]$")


@pytest.mark.postie_conf(smtpd_hard_error_limit="3")
def test_too_many_errors_get_421_4_7_0(postie):
    with start(postie) as r:
        assert r.cmd("BOGUS1").startswith("502 ")
        assert r.cmd("BOGUS2").startswith("502 ")
        r.send("BOGUS3\r\n")
        assert r.reply().startswith("502 ")
        assert re.match(r"421 4\.7\.0 \S+ Error: too many errors$", r.reply())
        assert r.closed()
    postie.wait_for_log(r"too many errors after UNKNOWN from localhost\[127\.0\.0\.1\]$")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 unknown=0/3 "
                        r"commands=1/4$")


@pytest.mark.postie_conf(smtpd_client_connection_count_limit="2", **FOREIGN_CLIENT)
def test_client_connection_count_limit_counts_across_processes(postie):
    held = [Raw(postie.smtp_port) for _ in range(2)]
    try:
        for h in held:
            assert h.reply().startswith("220 ")
        with Raw(postie.smtp_port) as r:
            assert re.match(r"421 4\.7\.0 \S+ Error: too many connections from 127\.0\.0\.1$",
                            r.reply())
            assert r.closed()
        postie.wait_for_log(r"warning: Connection concurrency limit exceeded: 3 from "
                            r"localhost\[127\.0\.0\.1\] for service smtp$")
    finally:
        for h in held:
            h.close()
    # A slot is freed at disconnect.
    postie.wait_for_log(r"disconnect from", count=3)
    with Raw(postie.smtp_port) as r:
        assert r.reply().startswith("220 ")


@pytest.mark.postie_conf(smtpd_client_connection_count_limit="1")
def test_mynetworks_clients_are_exempt_from_the_per_client_limit(postie):
    held = [Raw(postie.smtp_port) for _ in range(3)]
    try:
        for h in held:
            assert h.reply().startswith("220 ")
    finally:
        for h in held:
            h.close()


@pytest.mark.postie_conf(smtpd_connection_limit="2")
def test_connection_limit_in_all_gets_421(postie):
    held = [Raw(postie.smtp_port) for _ in range(2)]
    try:
        for h in held:
            assert h.reply().startswith("220 ")
        with Raw(postie.smtp_port) as r:
            assert re.match(r"421 4\.7\.0 \S+ Error: too many connections$", r.reply())
        postie.wait_for_log(r"warning: Connection limit exceeded: 3 connections for "
                            r"service smtpd, refusing localhost\[127\.0\.0\.1\]$")
    finally:
        for h in held:
            h.close()


def test_junk_after_quit_is_logged_and_ignored(postie):
    with start(postie) as r:
        r.send("QUIT\r\nMAIL FROM:<a@example.org>\r\n")
        assert r.reply() == "221 2.0.0 Bye"
        assert r.closed()
    postie.wait_for_log(r"improper command pipelining after QUIT from "
                        r"localhost\[127\.0\.0\.1\]: MAIL FROM:<a@example\.org>")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 quit=1 commands=2$")


@pytest.mark.postie_conf(smtpd_soft_error_limit="2", smtpd_error_sleep_time="1s")
def test_errors_past_the_soft_limit_are_answered_slowly(postie):
    with start(postie) as r:
        t0 = time.monotonic()
        assert r.cmd("BOGUS").startswith("502 ")
        assert time.monotonic() - t0 < 0.5
        t1 = time.monotonic()
        assert r.cmd("BOGUS").startswith("502 ")
        assert r.cmd("BOGUS").startswith("502 ")
        assert time.monotonic() - t1 >= 1.8
        # Good commands are not delayed.
        t2 = time.monotonic()
        assert r.cmd("NOOP") == "250 2.0.0 Ok"
        assert time.monotonic() - t2 < 0.5


@pytest.mark.postie_conf(smtpd_junk_command_limit="3", smtpd_hard_error_limit="2")
def test_junk_commands_past_their_limit_count_as_errors(postie):
    with start(postie) as r:
        for _ in range(4):
            assert r.cmd("NOOP") == "250 2.0.0 Ok"
        r.send("NOOP\r\n")
        assert r.reply() == "250 2.0.0 Ok"
        assert re.match(r"421 4\.7\.0 \S+ Error: too many errors$", r.reply())
    postie.wait_for_log(r"too many errors after NOOP from localhost\[127\.0\.0\.1\]$")


def test_lost_connection_in_bdat_says_how_many_bytes_came(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        r.send("BDAT 100 LAST\r\n0123456789")
        time.sleep(0.3)
    postie.wait_for_log(r"lost connection after BDAT \(10 bytes\) from "
                        r"localhost\[127\.0\.0\.1\]$")
    postie.wait_for_log(r"disconnect from .* bdat=0/1 commands=3/4$")
    assert queue_files(postie) == []
