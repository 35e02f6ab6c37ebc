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


class DeadAgent:
    """A stand-in on queue/private/smtp (as in test_queue_agent_protocol):
    counts requests and answers each recipient with a connect failure,
    after the line prefix (e.g. a "dead=" line, or nothing as an agent
    that does not know it)."""

    def __init__(self, path, prefix):
        import socket
        import threading
        self.prefix = prefix
        self.requests = []
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        import socket
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            with c:
                data = b""
                while not data.endswith(b"\n\n"):
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                rcpts = [line.split(" ", 1)[0][5:] for line in data.decode().split("\n")
                         if line.startswith("rcpt=")]
                self.requests.append(rcpts)
                out = self.prefix + "".join(
                    f"{i} 4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection timed out\n"
                    for i in rcpts)
                c.sendall(out.encode())

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def relay_two(env, agent, reach):
    """Two messages to example.net, the second after the first's deferral
    (the stand-in logs nothing: the agent's request and deferred/ tell);
    reach: how many requests the agent gets in all."""
    send(env, "a@example.net", "one")
    wait_until(lambda: len(agent.requests) == 1 and
               len(os.listdir(env.path("queue", "deferred"))) == 1, 20, "first deferred")
    send(env, "b@example.net", "two")
    wait_until(lambda: len(agent.requests) == reach and
               len(os.listdir(env.path("queue", "deferred"))) == 2, 20, "second deferred")


@pytest.mark.parametrize("prefix, suspended", [
    ("", False),                                                    # an agent without it
    ("dead=4.4.2 connect to mx.example.net[192.0.2.1]:25: Connection timed out\n", True),
])
def test_agent_dead_line_suspends_the_next_hop(postie_factory, dns, prefix, suspended):
    """Seen from qmgr: the "dead=" line before the results suspends the
    destination (the next message never reaches the agent, its DSN is the
    line's); replies without it keep working as before."""
    one = postie_factory(conf=sender_conf(dns, free_port_on("127.0.0.1")))
    path = one.path("queue", "private", "smtp")
    wait_until(lambda: os.path.exists(path), 15, "the smtp service's socket")
    agent = DeadAgent(path, prefix)
    try:
        relay_two(one, agent, 1 if suspended else 2)
        if suspended:
            assert agent.requests == [["0"]]
            one.wait_for_log(suspended_rx("b@example.net", re.escape(
                "connect to mx.example.net[192.0.2.1]:25: Connection timed out")).replace(
                    r"dsn=4\.4\.\d", r"dsn=4\.4\.2"))
        else:
            assert agent.requests == [["0"], ["0"]]
            assert count(one, "temporarily suspended") == 0
    finally:
        agent.close()


def test_agent_dead_line_with_permanent_dsn_is_malformed(postie_factory, dns):
    """Only a temporary failure may suspend a destination: "dead=5..." is
    a protocol error, the recipient is deferred, nothing is suspended."""
    one = postie_factory(conf=sender_conf(dns, free_port_on("127.0.0.1")))
    path = one.path("queue", "private", "smtp")
    wait_until(lambda: os.path.exists(path), 15, "the smtp service's socket")
    agent = DeadAgent(path, "dead=5.1.2 bad destination\n")
    try:
        relay_two(one, agent, 2)
        assert agent.requests == [["0"], ["0"]]
        one.wait_for_log(r"warning: [0-9A-F]+: malformed reply from delivery agent smtp", count=2)
        assert count(one, "temporarily suspended") == 0
    finally:
        agent.close()
