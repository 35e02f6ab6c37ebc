"""smtpd_per_request_deadline and smtpd_min_data_rate (Postfix 3.7's names,
issue #14 defect 6): smtpd_timeout limits a whole command line, not the
time between two bytes, and DATA content must keep a minimum rate; a
client that trickles a byte at a time is closed at the deadline instead of
at smtpd_total_timeout."""

import re
import time

import pytest

from test_smtpd_session import Raw, local_rcpt, start


def trickle_until_closed(r, data, every, limit):
    """Send data one byte every `every` seconds; the time until the
    server's 421, or None when it never came within limit seconds."""
    t0 = time.monotonic()
    r.sock.settimeout(every)
    for b in data:
        if time.monotonic() - t0 > limit:
            return None
        try:
            r.sock.sendall(bytes([b]))
        except OSError:
            break
        try:
            got = r.sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        r.buf += got
        if b"421 " in r.buf or not got:
            break
    return time.monotonic() - t0


@pytest.mark.postie_conf(smtpd_timeout="3s")
def test_command_trickled_a_byte_a_second_ends_at_smtpd_timeout(postie):
    with start(postie) as r:
        took = trickle_until_closed(r, b"MAIL FROM:<someone-slow@example.org>\r\n"
                                       b"RCPT TO:<someone@example.org>\r\n", 1.0, 12)
        assert took is not None and took < 6, took
        assert re.search(rb"421 4\.4\.2 \S+ Error: timeout exceeded", r.buf), r.buf
    postie.wait_for_log(r"postie/smtpd\[\d+\]: timeout after EHLO from "
                        r"localhost\[127\.0\.0\.1\]$")


@pytest.mark.postie_conf(smtpd_timeout="3s", smtpd_min_data_rate="500")
def test_data_below_smtpd_min_data_rate_ends_at_the_deadline(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>").startswith("250")
        assert r.cmd("DATA").startswith("354")
        took = trickle_until_closed(r, b"Subject: slow\r\n\r\n" + b"x" * 200, 0.5, 12)
        assert took is not None and took < 6, took
    postie.wait_for_log(r"timeout after DATA \(\d+ bytes\) from localhost\[127\.0\.0\.1\]$")


@pytest.mark.postie_conf(smtpd_timeout="2s", smtpd_min_data_rate="500")
def test_data_at_a_fair_rate_may_take_longer_than_smtpd_timeout(postie):
    # 4 KB every 0.5 s (8 KB/s) for 5 s: each piece buys 8 s, capped at 2 s.
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>").startswith("250")
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>").startswith("250")
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: steady\r\n\r\n")
        for _ in range(10):
            r.send(("y" * 78 + "\r\n") * 51)
            time.sleep(0.5)
        assert r.cmd(".").startswith("250 2.0.0 Ok: queued as ")


@pytest.mark.postie_conf(smtpd_timeout="3s", smtpd_per_request_deadline="no")
def test_without_per_request_deadline_every_byte_restarts_smtpd_timeout(postie):
    with start(postie) as r:
        took = trickle_until_closed(r, b"NOOP " + b"x" * 100, 1.0, 7)
        assert took is None, "closed although each byte came within smtpd_timeout"
