"""The smtp client's use of ESMTP extensions and address families:
SMTPUTF8 only when the envelope needs it (RFC 6531), BODY=8BITMIME for
8-bit content (RFC 6152), SIZE (RFC 1870) both ways, an MX reachable only
over IPv6, and /etc/hosts before the DNS.  Loopback only."""

import re
import socket

import pytest

from mail_peers import LoopbackDNS, Peer, have_aiosmtpd, have_unbound
from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not (has_service("smtp") and have_unbound() and have_aiosmtpd()),
    reason="needs the smtp agent, unbound and aiosmtpd")


@pytest.fixture
def dns():
    d = LoopbackDNS(["peer.test. IN MX 10 mx.peer.test.", "mx.peer.test. IN A 127.0.0.1",
                     "v6.test. IN MX 10 mx.v6.test.", "mx.v6.test. IN AAAA ::1"],
                    ["peer.test.", "v6.test."]).start()
    yield d
    d.cleanup()


def conf(dns, port, **extra):
    c = {"myhostname": "mail.one.test", "mydomain": "one.test", "dns_servers": dns.server,
         "smtp_tcp_port": str(port)}
    c.update(extra)
    return c


def test_smtputf8_when_the_envelope_needs_it(postie_factory, dns):
    peer = Peer(smtputf8=True).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        with one.smtp() as s:
            s.sendmail("jösé@one.test", ["bob@peer.test"], "Subject: utf8\n\nhi\n".encode(),
                       mail_options=["SMTPUTF8"])
            s.sendmail("alice@one.test", ["carol@peer.test"], "Subject: ascii\n\nhi\n")
        one.wait_for_log(r"to=<bob@peer\.test>, .*status=sent", timeout=20)
        one.wait_for_log(r"to=<carol@peer\.test>, .*status=sent", timeout=20)
        by_rcpt = {m[1][0]: m for m in peer.messages}
        assert by_rcpt["bob@peer.test"][0] == "jösé@one.test"
        assert "SMTPUTF8" in by_rcpt["bob@peer.test"][3]
        assert "SMTPUTF8" not in by_rcpt["carol@peer.test"][3]
    finally:
        peer.stop()


def test_smtputf8_missing_at_peer_bounces(postie_factory, dns):
    peer = Peer(smtputf8=False).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        with one.smtp() as s:
            s.sendmail("jösé@one.test", ["bob@peer.test"], "Subject: utf8\n\nhi\n".encode(),
                       mail_options=["SMTPUTF8"])
        m = one.wait_for_log(r"to=<bob@peer\.test>, .*dsn=5\.6\.7, status=bounced \((.*)\)$", timeout=20)[0]
        assert m.group(1) == "SMTPUTF8 is required, but was not offered by host mx.peer.test[127.0.0.1]"
    finally:
        peer.stop()


def test_8bit_body_declared(postie_factory, dns):
    peer = Peer().start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        with one.smtp() as s:
            s.sendmail("alice@one.test", ["bob@peer.test"],
                       "Subject: 8bit\nContent-Type: text/plain; charset=utf-8\n\ngrüße\n".encode(),
                       mail_options=["BODY=8BITMIME"])
        one.wait_for_log(r"to=<bob@peer\.test>, .*status=sent", timeout=20)
        assert "BODY=8BITMIME" in peer.messages[0][3]
        assert "grüße".encode() in peer.messages[0][2]
    finally:
        peer.stop()


def test_size_announced_and_over_limit_bounced(postie_factory, dns):
    peer = Peer(data_size_limit=2000).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        with one.smtp() as s:
            s.sendmail("alice@one.test", ["small@peer.test"], "Subject: small\n\nhi\n")
            s.sendmail("alice@one.test", ["big@peer.test"], "Subject: big\n\n" + "x" * 70 + "\n" * 1
                       + ("y" * 70 + "\n") * 60)
        one.wait_for_log(r"to=<small@peer\.test>, .*status=sent", timeout=20)
        assert any(o.startswith("SIZE=") for o in peer.messages[0][3])
        m = one.wait_for_log(r"to=<big@peer\.test>, .*dsn=5\.3\.4, status=bounced \((.*)\)$")[0]
        assert re.fullmatch(r"message size \d+ exceeds size limit 2000 of server mx\.peer\.test\[127\.0\.0\.1\]",
                            m.group(1)), m.group(1)
    finally:
        peer.stop()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no ::1 here")
def test_mx_over_ipv6(postie_factory, dns):
    peer = Peer(host="::1").start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        with one.smtp() as s:
            s.sendmail("alice@one.test", ["bob@v6.test"], "Subject: v6\n\nhi\n")
        one.wait_for_log(rf"to=<bob@v6\.test>, relay=mx\.v6\.test\[::1\]:{peer.port}, .*status=sent",
                         timeout=20)
    finally:
        peer.stop()


def hosts_file_name():
    """A name /etc/hosts maps to 127.0.0.1 (other than localhost), if any."""
    try:
        with open("/etc/hosts") as f:
            for line in f:
                fields = line.split("#")[0].split()
                if len(fields) >= 2 and fields[0] == "127.0.0.1":
                    for n in fields[1:]:
                        if n != "localhost" and not n.endswith(".test"):
                            return n
    except OSError:
        pass
    return None


@pytest.mark.skipif(hosts_file_name() is None, reason="no such name in /etc/hosts")
def test_hosts_file_before_dns(postie_factory, dns):
    """The loopback DNS knows nothing of this name (NXDOMAIN); /etc/hosts does."""
    name = hosts_file_name()
    peer = Peer().start()
    try:
        one = postie_factory(conf=conf(dns, 25, relayhost=f"[{name}]:{peer.port}"))
        with one.smtp() as s:
            s.sendmail("alice@one.test", ["bob@elsewhere.example"], "Subject: hosts\n\nhi\n")
        one.wait_for_log(rf"to=<bob@elsewhere\.example>, relay={re.escape(name)}\[127\.0\.0\.1\]:{peer.port}, "
                         r".*status=sent", timeout=20)
    finally:
        peer.stop()


def test_config_check_names_bad_smtp_values(postie_factory):
    env = postie_factory(conf={"smtp_tls_security_level": "maybe", "dns_servers": "ns.example:53",
                               "local_transport": "smtp:elsewhere"}, start=False)
    r = env.postie("config", "check")
    assert r.returncode == 1
    for name in ("smtp_tls_security_level = maybe", "dns_servers = ns.example:53",
                 "local_transport = smtp:elsewhere"):
        assert re.search(rf"postie\.conf:\d+: {re.escape(name)}: expected", r.stderr), r.stderr
