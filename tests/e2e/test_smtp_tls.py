"""STARTTLS in the smtp client (RFC 3207): opportunistic with a peer's
self-signed certificate (smtp_tls_security_level = may), refusal when TLS
is required and missing (encrypt), refusal of an unverifiable certificate
(verify), and acceptance of one signed by a trusted CA file (verify).
Loopback only, unbound for the MX."""

import os
import re
import shutil
import tempfile

import pytest

from mail_peers import LoopbackDNS, Peer, have_aiosmtpd, have_unbound, self_signed
from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not (has_service("smtp") and have_unbound() and have_aiosmtpd()),
    reason="needs the smtp agent, unbound and aiosmtpd")


@pytest.fixture
def dns():
    d = LoopbackDNS(["tls.test. IN MX 10 mx.tls.test.", "mx.tls.test. IN A 127.0.0.1"],
                    ["tls.test."]).start()
    yield d
    d.cleanup()


@pytest.fixture
def cert():
    # Readable by mail_owner (the smtp agent drops to it under root).
    d = tempfile.mkdtemp(prefix="postie-cert-")
    os.chmod(d, 0o755)
    c, k = self_signed(d, cn="mx.tls.test")
    os.chmod(c, 0o644)
    yield c, k
    shutil.rmtree(d, ignore_errors=True)


def conf(dns, port, **extra):
    c = {"myhostname": "mail.one.test", "mydomain": "one.test", "dns_servers": dns.server,
         "smtp_tcp_port": str(port), "smtp_tls_loglevel": "1"}
    c.update(extra)
    return c


def send(env, rcpt="bob@tls.test"):
    with env.smtp() as s:
        s.sendmail("alice@one.test", [rcpt], "Subject: tls\n\nsecret\n")


def test_may_uses_starttls_with_self_signed_peer(postie_factory, dns, cert):
    peer = Peer(tls_cert=cert).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        send(one)
        one.wait_for_log(rf"postie/smtp\[\d+\]: Untrusted TLS connection established to "
                         rf"mx\.tls\.test\[127\.0\.0\.1\]:{peer.port}: TLSv1\.[23] with cipher \S+ "
                         r"\(\d+/\d+ bits\)$", timeout=20)
        one.wait_for_log(r"to=<bob@tls\.test>, relay=mx\.tls\.test\[127\.0\.0\.1\]:\d+, .*dsn=2\.0\.0, status=sent")
        assert len(peer.messages) == 1
    finally:
        peer.stop()


def test_may_without_tls_peer_sends_in_clear(postie_factory, dns):
    peer = Peer().start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        send(one)
        one.wait_for_log(r"to=<bob@tls\.test>, .*status=sent", timeout=20)
        assert not any("TLS connection established" in l for l in one.log_lines())
    finally:
        peer.stop()


def test_encrypt_refuses_peer_without_starttls(postie_factory, dns):
    peer = Peer().start()
    try:
        one = postie_factory(conf=conf(dns, peer.port, smtp_tls_security_level="encrypt"))
        send(one)
        m = one.wait_for_log(r"to=<bob@tls\.test>, relay=(\S+), .*dsn=4\.7\.4, status=deferred \((.*)\)$",
                             timeout=20)[0]
        assert m.group(2) == "TLS is required, but was not offered by host mx.tls.test[127.0.0.1]"
        assert peer.messages == []
    finally:
        peer.stop()


def test_encrypt_with_tls_peer_sends(postie_factory, dns, cert):
    peer = Peer(tls_cert=cert).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port, smtp_tls_security_level="encrypt"))
        send(one)
        one.wait_for_log(r"to=<bob@tls\.test>, .*status=sent", timeout=20)
    finally:
        peer.stop()


def test_verify_refuses_untrusted_certificate(postie_factory, dns, cert):
    peer = Peer(tls_cert=cert).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port, smtp_tls_security_level="verify"))
        send(one)
        m = one.wait_for_log(r"to=<bob@tls\.test>, .*dsn=4\.7\.5, status=deferred \((.*)\)$",
                             timeout=20)[0]
        assert m.group(1) == "Server certificate not verified"
        assert peer.messages == []
    finally:
        peer.stop()


def test_verify_accepts_certificate_from_trusted_file(postie_factory, dns, cert):
    """The peer's own certificate as smtp_tls_CAfile: chain and name check."""
    peer = Peer(tls_cert=cert).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port, smtp_tls_security_level="verify",
                                       smtp_tls_CAfile=cert[0]))
        send(one)
        one.wait_for_log(r"Verified TLS connection established to mx\.tls\.test", timeout=20)
        one.wait_for_log(r"to=<bob@tls\.test>, .*status=sent")
    finally:
        peer.stop()


def test_may_falls_back_to_clear_text_after_failed_handshake(postie_factory, dns, cert):
    """may: the handshake fails (the server wants a client certificate);
    a new connection without TLS delivers, and the line says why."""
    peer = Peer(tls_cert=cert, tls_break=True).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port))
        send(one)
        one.wait_for_log(r"postie/smtp\[\d+\]: [0-9A-F]+: Cannot start TLS: handshake failure; "
                         r"trying again without TLS$", timeout=20)
        one.wait_for_log(r"postie/smtp\[\d+\]: warning: TLS library problem: ")
        one.wait_for_log(r"to=<bob@tls\.test>, .*status=sent")
        assert len(peer.messages) == 1
    finally:
        peer.stop()


def test_encrypt_failed_handshake_deferred(postie_factory, dns, cert):
    peer = Peer(tls_cert=cert, tls_break=True).start()
    try:
        one = postie_factory(conf=conf(dns, peer.port, smtp_tls_security_level="encrypt"))
        send(one)
        m = one.wait_for_log(r"to=<bob@tls\.test>, .*dsn=4\.7\.5, status=deferred \((.*)\)$", timeout=20)[0]
        assert m.group(1) == "Cannot start TLS: handshake failure"
        assert peer.messages == []
    finally:
        peer.stop()
