"""Dead destinations (Postfix's throttling, issue 4): when the smtp agent
finds that no host of a next hop takes a connection (or the DNS fails for
now), it says so to qmgr ("dead=" reply line, docs/architecture.md), and
qmgr defers the other mail for that destination itself, without a new
connection attempt, as "delivery temporarily suspended: REASON".  A flush
(or a success, or the end of the suspension) revives the destination.

All on loopback: unbound serves the zones, the MX port is a closed
loopback port until an aiosmtpd peer comes up on it.  The back-off times
are long so that only the flush retries."""

import os
import re

import pytest

from mail_peers import LoopbackDNS, Peer, free_port_on, have_aiosmtpd, have_unbound
from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not (has_service("smtp") and have_unbound() and have_aiosmtpd()),
    reason="needs the smtp agent, unbound and aiosmtpd")

DELAYS = r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+"


@pytest.fixture
def dns():
    records = [
        "peer.test. IN MX 10 mx.peer.test.",
        "mx.peer.test. IN A 127.0.0.1",
        "other.test. IN MX 10 mx.other.test.",
        "mx.other.test. IN A 127.0.0.1",
    ]
    d = LoopbackDNS(records, ["peer.test.", "other.test."], refuse=["broken.test."]).start()
    yield d
    d.cleanup()


def sender_conf(dns, port, **extra):
    conf = {
        "myhostname": "mail.one.test",
        "mydomain": "one.test",
        "dns_servers": dns.server,
        "smtp_tcp_port": str(port),
        "smtp_helo_timeout": "5s",
        "smtp_connect_timeout": "3s",
        # Only the flush retries: no back-off or queue run ends during a
        # test, so the suspension is what the test sees.
        "queue_run_delay": "300s",
        "minimal_backoff_time": "300s",
        "maximal_backoff_time": "600s",
    }
    conf.update(extra)
    return conf


def send(env, rcpt, subject):
    with env.smtp() as s:
        s.sendmail("alice@one.test", [rcpt], f"Subject: {subject}\n\nhello\n")


def smtp_refused_rx(rcpt, port):
    return (rf"postie/smtp\[\d+\]: (?P<id>[0-9A-F]+): to=<{re.escape(rcpt)}>, relay=none, "
            rf"{DELAYS}, dsn=4\.4\.1, status=deferred "
            rf"\(connect to mx\.peer\.test\[127\.0\.0\.1\]:{port}: Connection refused\)$")


def suspended_rx(rcpt, reason):
    return (rf"postie/qmgr\[\d+\]: (?P<id>[0-9A-F]+): to=<{re.escape(rcpt)}>, relay=none, "
            rf"delay=[\d.]+, delays=[\d.]+/[\d.]+/0/0, dsn=4\.4\.\d, status=deferred "
            rf"\(delivery temporarily suspended: {reason}\)$")


def count(env, rx):
    return sum(1 for line in env.log_lines() if re.search(rx, line))


def test_dead_destination_is_suspended_then_flush_delivers_all(postie_factory, dns):
    """The first message finds the MX refusing connections; the next three
    are deferred by qmgr with Postfix's "delivery temporarily suspended"
    line and no connection attempt; once the peer is up, a flush delivers
    all four."""
    port = free_port_on("127.0.0.1")
    one = postie_factory(conf=sender_conf(dns, port))
    send(one, "bob@peer.test", "first")
    first = one.wait_for_log(smtp_refused_rx("bob@peer.test", port), timeout=20)[0]
    wait_until(lambda: len(os.listdir(one.path("queue", "deferred"))) == 1, 10, "first deferred")

    reason = re.escape(f"connect to mx.peer.test[127.0.0.1]:{port}: Connection refused")
    for i in range(3):
        send(one, "bob@peer.test", f"next {i}")
    lines = one.wait_for_log(suspended_rx("bob@peer.test", reason), count=3, timeout=20)
    ids = {m.group("id") for m in lines}
    assert len(ids) == 3 and first.group("id") not in ids
    wait_until(lambda: len(os.listdir(one.path("queue", "deferred"))) == 4, 10, "four deferred")
    # The agent tried once: one refused connection in the whole log, no
    # other smtp delivery line.
    assert count(one, r"postie/smtp\[\d+\]: .*connect to mx\.peer\.test") == 1
    assert count(one, r"postie/smtp\[\d+\]: [0-9A-F]+: to=<") == 1
    # mailq shows the suspension as the reason
    q = one.postie("queue", "list").stdout
    assert "delivery temporarily suspended" in q, q

    peer = Peer(port=port).start()
    try:
        one.postie("queue", "flush", check=True)
        one.wait_for_log(r"postie/smtp\[\d+\]: [0-9A-F]+: to=<bob@peer\.test>, "
                         rf"relay=mx\.peer\.test\[127\.0\.0\.1\]:{port}, .*status=sent",
                         count=4, timeout=30)
        wait_until(lambda: len(peer.messages) == 4, 10, "four messages at the peer")
        wait_until(lambda: not os.listdir(one.path("queue", "deferred")), 10, "empty queue")
        subjects = sorted(re.search(rb"Subject: (.*?)\r?\n", m[2]).group(1) for m in peer.messages)
        assert subjects == [b"first", b"next 0", b"next 1", b"next 2"]
    finally:
        peer.stop()


def test_suspension_is_per_destination(postie_factory, dns):
    """Another next hop is not held back by a dead one, even on the same
    host: other.test is delivered while peer.test stays suspended."""
    port = free_port_on("127.0.0.1")
    one = postie_factory(conf=sender_conf(dns, port))
    send(one, "bob@peer.test", "first")
    one.wait_for_log(smtp_refused_rx("bob@peer.test", port), timeout=20)
    peer = Peer(port=port).start()
    try:
        # peer.test is still dead for qmgr (no flush, no expiry) ...
        send(one, "carol@peer.test", "held")
        one.wait_for_log(suspended_rx("carol@peer.test", r"connect to .*"), timeout=20)
        # ... other.test, the same host, is a destination of its own
        send(one, "dave@other.test", "through")
        one.wait_for_log(r"to=<dave@other\.test>, relay=mx\.other\.test.*status=sent", timeout=20)
        assert [m[1] for m in peer.messages] == [["dave@other.test"]]
    finally:
        peer.stop()


def test_dns_temporary_failure_suspends(postie_factory, dns):
    """A DNS server that fails for the domain (SERVFAIL/REFUSED) makes the
    destination dead too; the next message is suspended with that reason."""
    port = free_port_on("127.0.0.1")
    one = postie_factory(conf=sender_conf(dns, port))
    send(one, "bob@broken.test", "first")
    m = one.wait_for_log(r"postie/smtp\[\d+\]: [0-9A-F]+: to=<bob@broken\.test>, relay=none, "
                         rf"{DELAYS}, dsn=4\.\d\.\d, status=deferred \((?P<text>.*)\)$",
                         timeout=30)[0]
    send(one, "carol@broken.test", "second")
    one.wait_for_log(suspended_rx("carol@broken.test", re.escape(m.group("text"))), timeout=20)
    assert count(one, r"postie/smtp\[\d+\]: [0-9A-F]+: to=<") == 1
