"""smtpd: how a client gets its name in the log - the hosts file first, then
PTR confirmed by A (Postfix's rule), asked without blocking the other
sessions, with a time limit, else "unknown".  A small DNS server on
loopback (dns_servers) answers; clients connect from 127.0.0.2 and
127.0.0.3, which the hosts file does not name."""

import socket
import struct
import threading
import time

import pytest

from test_smtpd_session import Raw


class FakeDNS:
    """UDP DNS server on 127.0.0.1: PTR and A answers from two dicts; a
    name in `silent` gets no answer at all (a resolver that drops)."""

    def __init__(self, ptr, a, silent=()):
        self.ptr, self.a, self.silent = ptr, a, set(silent)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def qname(msg):
        labels, off = [], 12
        while msg[off]:
            n = msg[off]
            labels.append(msg[off + 1:off + 1 + n].decode())
            off += 1 + n
        qtype = struct.unpack("!H", msg[off + 1:off + 3])[0]
        return ".".join(labels), qtype, off + 5

    @staticmethod
    def encode(name):
        return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"

    def serve(self):
        while self.running:
            try:
                msg, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            name, qtype, qend = self.qname(msg)
            self.queries.append((name, qtype))
            if name in self.silent:
                continue
            answers = []
            if qtype == 12 and name in self.ptr:
                rdata = self.encode(self.ptr[name])
                answers.append(struct.pack("!HHHIH", 0xC00C, 12, 1, 60, len(rdata)) + rdata)
            if qtype == 1 and name in self.a:
                rdata = socket.inet_aton(self.a[name])
                answers.append(struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + rdata)
            rcode = 0 if answers else 3
            head = msg[:2] + struct.pack("!BBHHHH", 0x81, 0x80 | rcode, 1, len(answers), 0, 0)
            self.sock.sendto(head + msg[12:qend] + b"".join(answers), peer)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def dns():
    d = FakeDNS(
        ptr={"2.0.0.127.in-addr.arpa": "mx.client.test",
             "3.0.0.127.in-addr.arpa": "liar.client.test",
             "4.0.0.127.in-addr.arpa": "slow.client.test"},
        a={"mx.client.test": "127.0.0.2", "liar.client.test": "127.0.0.99"},
        silent={"slow.client.test"})
    yield d
    d.close()


def connect_from(port, source):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                    source_address=(source, 0))
    r = Raw.__new__(Raw)
    r.sock, r.buf = sock, b""
    return r


def test_client_named_by_confirmed_ptr(postie_factory, dns):
    env = postie_factory(conf={"dns_servers": f"127.0.0.1:{dns.port}"})
    with connect_from(env.smtp_port, "127.0.0.2") as r:
        assert r.reply().startswith("220 ")
        assert r.cmd("QUIT").startswith("221")
    env.wait_for_log(r"postie/smtpd\[\d+\]: connect from mx\.client\.test\[127\.0\.0\.2\]$")
    env.wait_for_log(r"disconnect from mx\.client\.test\[127\.0\.0\.2\] quit=1 commands=1$")
    assert ("2.0.0.127.in-addr.arpa", 12) in dns.queries
    assert ("mx.client.test", 1) in dns.queries


def test_ptr_that_does_not_resolve_back_is_not_used(postie_factory, dns):
    env = postie_factory(conf={"dns_servers": f"127.0.0.1:{dns.port}"})
    with connect_from(env.smtp_port, "127.0.0.3") as r:
        assert r.reply().startswith("220 ")
    env.wait_for_log(r"warning: hostname liar\.client\.test does not resolve to "
                     r"address 127\.0\.0\.3$")
    env.wait_for_log(r"connect from unknown\[127\.0\.0\.3\]$")


def test_silent_name_server_costs_one_time_limit_and_blocks_no_one(postie_factory, dns):
    env = postie_factory(conf={"dns_servers": f"127.0.0.1:{dns.port}",
                               "smtpd_processes": "1"})
    t0 = time.monotonic()
    slow = connect_from(env.smtp_port, "127.0.0.4")
    # Meanwhile another client is served at once by the same process.
    with Raw(env.smtp_port) as r:
        assert r.reply().startswith("220 ")
        assert r.cmd("NOOP").startswith("250")
        assert time.monotonic() - t0 < 1.0
    with slow:
        assert slow.reply().startswith("220 ")
        assert 1.5 < time.monotonic() - t0 < 6
    env.wait_for_log(r"connect from unknown\[127\.0\.0\.4\]$")


def test_hosts_file_name_needs_no_dns(postie_factory, dns):
    env = postie_factory(conf={"dns_servers": f"127.0.0.1:{dns.port}"})
    with Raw(env.smtp_port) as r:
        assert r.reply().startswith("220 ")
    env.wait_for_log(r"connect from localhost\[127\.0\.0\.1\]$")
    assert not [q for q in dns.queries if q[0] == "1.0.0.127.in-addr.arpa"]


def test_peername_lookup_off_means_hosts_file_only(postie_factory, dns):
    env = postie_factory(conf={"dns_servers": f"127.0.0.1:{dns.port}",
                               "smtpd_peername_lookup": "no"})
    with connect_from(env.smtp_port, "127.0.0.2") as r:
        assert r.reply().startswith("220 ")
    env.wait_for_log(r"connect from unknown\[127\.0\.0\.2\]$")
    assert dns.queries == []
