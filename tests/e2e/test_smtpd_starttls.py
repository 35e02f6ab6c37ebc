"""STARTTLS in smtpd (RFC 3207) with real clients: swaks --tls, smtplib
starttls(), openssl s_client -starttls smtp, and raw sockets for what the
clients never do (pipelining across STARTTLS, garbage instead of a
handshake).  Postfix's replies and log lines (docs/smtpd.md, "TLS")."""

import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from mail_peers import self_signed

TLS_LINE = (r"postie/smtpd\[\d+\]: Anonymous TLS connection established from "
            r"localhost\[127\.0\.0\.1\]: TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)$")


def _cert(cn):
    d = tempfile.mkdtemp(prefix="postie-smtpd-cert-")
    os.chmod(d, 0o755)
    c, k = self_signed(d, cn=cn)
    # smtpd reads its key as mail_owner (docs/smtpd.md): a test key only.
    os.chmod(c, 0o644)
    os.chmod(k, 0o644)
    return d, c, k


@pytest.fixture(scope="module")
def cert():
    d, c, k = _cert("smtpd.tls.test")
    yield c, k
    shutil.rmtree(d, ignore_errors=True)


def _env(postie_factory, cert, **extra):
    conf = {"smtpd_tls_cert_file": cert[0], "smtpd_tls_key_file": cert[1],
            "smtpd_tls_loglevel": "1", "smtpd_tls_received_header": "yes",
            "myhostname": "mx.tls.test"}
    conf.update(extra)
    return postie_factory(conf=conf)


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Raw:
    """A line-level SMTP client on a socket that can become TLS."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed")
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return lines

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def tls(self):
        self.s = _ctx().wrap_socket(self.s, server_hostname="smtpd.tls.test")
        self.f = self.s.makefile("rb")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def test_swaks_tls_delivers_with_the_tls_comment_in_received(postie_factory, cert):
    env = _env(postie_factory, cert)
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(env.smtp_port),
                        "--tls", "--to", f"{env.user}@localhost", "--from", "a@example.org",
                        "--helo", "client.example", "--timeout", "15"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "STARTTLS" in r.stdout and "TLS started" in r.stdout
    msg = env.wait_for_mail()[0].decode()
    received = msg.split("\n\n", 1)[0]
    assert re.search(r"^Received: from client\.example \(localhost \[127\.0\.0\.1\]\)\n"
                     r"\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)\)\n"
                     r"\t\(No client certificate requested\)\n"
                     r"\tby mx\.tls\.test \(postie\) with ESMTPS id [0-9A-F]+", received, re.M), received
    env.wait_for_log(TLS_LINE)
    env.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=2 starttls=1 mail=1 "
                     r"rcpt=1 data=1 quit=1 commands=7$")


def test_smtplib_starttls_then_ehlo_again_without_starttls(postie_factory, cert):
    env = _env(postie_factory, cert)
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as s:
        s.ehlo("c.example")
        assert s.has_extn("starttls")
        code, text = s.starttls(context=_ctx())
        assert (code, text) == (220, b"2.0.0 Ready to start TLS")
        s.ehlo("c.example")
        assert not s.has_extn("starttls")  # RFC 3207 section 4.2
        s.sendmail("a@example.org", [f"{env.user}@localhost"], "Subject: t\r\n\r\nover tls\r\n")
    assert b"over tls" in env.wait_for_mail()[0]


def test_openssl_s_client_starttls_shows_the_certificate(postie_factory, cert):
    env = _env(postie_factory, cert)
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                        f"127.0.0.1:{env.smtp_port}", "-servername", "smtpd.tls.test"],
                       input="QUIT\n", capture_output=True, text=True, timeout=30)
    assert "-----BEGIN CERTIFICATE-----" in r.stdout, r.stdout + r.stderr
    assert re.search(r"subject=.*CN ?= ?smtpd\.tls\.test", r.stdout), r.stdout
    assert re.search(r"(New|Protocol ?), ?TLSv1\.[23]", r.stdout), r.stdout


def test_commands_pipelined_with_starttls_are_not_executed_after_it(postie_factory, cert):
    """CVE-2011-0411: STARTTLS, RSET, MAIL in one write.  The two commands
    came in clear text: after the handshake they must be gone, and the
    session must start over (EHLO needed again, no transaction)."""
    env = _env(postie_factory, cert)
    c = Raw(env.smtp_port)
    try:
        assert c.reply()[0].startswith("220 ")
        assert "250-STARTTLS" in c.cmd("EHLO c.example")
        c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
        assert c.reply() == ["220 2.0.0 Ready to start TLS"]
        c.tls()
        # Had MAIL run, this would be 503 nested MAIL; had RSET, an extra 250.
        assert c.cmd("RCPT TO:<x@localhost>") == ["503 5.5.1 Error: need MAIL command"]
        assert c.cmd("MAIL FROM:<a@example.org>") == ["250 2.1.0 Ok"]
        assert c.cmd("QUIT") == ["221 2.0.0 Bye"]
    finally:
        c.close()
    line = env.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] (.*)$")[0].group(1)
    assert line == "ehlo=1 starttls=1 mail=1 rcpt=0/1 quit=1 commands=4/5", line


def test_clear_text_sent_after_starttls_before_the_handshake_is_dropped(postie_factory, cert):
    """The injection as a man in the middle does it: the command follows
    STARTTLS in the same packet, before any reply."""
    env = _env(postie_factory, cert)
    c = Raw(env.smtp_port)
    try:
        c.reply()
        c.cmd("EHLO c.example")
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<x@localhost>\r\n")
        assert c.reply() == ["220 2.0.0 Ready to start TLS"]
        c.tls()
        ehlo = c.cmd("EHLO c.example")
        assert ehlo[0] == "250-mx.tls.test" and "250-STARTTLS" not in ehlo
        assert c.cmd("DATA") == ["503 5.5.1 Error: need RCPT command"]
    finally:
        c.close()
    assert not any("evil@" in l for l in env.log_lines())


def test_starttls_twice_in_a_transaction_or_with_arguments_is_refused(postie_factory, cert):
    env = _env(postie_factory, cert)
    c = Raw(env.smtp_port)
    try:
        c.reply()
        c.cmd("EHLO c.example")
        assert c.cmd("STARTTLS now") == ["501 5.5.4 Syntax: STARTTLS"]
        assert c.cmd("MAIL FROM:<a@example.org>") == ["250 2.1.0 Ok"]
        assert c.cmd("STARTTLS") == ["503 5.5.1 Error: MAIL transaction in progress"]
        assert c.cmd("RSET") == ["250 2.0.0 Ok"]
        assert c.cmd("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
        c.tls()
        c.cmd("EHLO c.example")
        assert c.cmd("STARTTLS") == ["554 5.5.1 Error: TLS already active"]
        assert c.cmd("NOOP") == ["250 2.0.0 Ok"]
    finally:
        c.close()


def test_encrypt_level_refuses_mail_before_starttls(postie_factory, cert):
    env = _env(postie_factory, cert, smtpd_tls_security_level="encrypt")
    c = Raw(env.smtp_port)
    try:
        c.reply()
        c.cmd("EHLO c.example")
        assert c.cmd("MAIL FROM:<a@example.org>") == [
            "530 5.7.0 Must issue a STARTTLS command first"]
        assert c.cmd("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
        c.tls()
        c.cmd("EHLO c.example")
        assert c.cmd("MAIL FROM:<a@example.org>") == ["250 2.1.0 Ok"]
    finally:
        c.close()


def test_no_certificate_no_starttls(postie_factory):
    env = postie_factory(conf={"smtpd_tls_cert_file": ""})
    c = Raw(env.smtp_port)
    try:
        c.reply()
        assert not any("STARTTLS" in l for l in c.cmd("EHLO c.example"))
        assert c.cmd("STARTTLS") == ["502 5.5.1 Error: command not implemented"]
    finally:
        c.close()


def _junk():
    """What a broken or hostile client sends instead of a ClientHello:
    plain text, a record header that lies about its length, zeros, and
    seeded random records with a TLS handshake header in front."""
    import random
    rnd = random.Random(3207)
    out = [b"GET / HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00",
           b"\x00" * 600]
    for _ in range(12):
        n = rnd.randrange(1, 3000)
        body = bytes(rnd.randrange(256) for _ in range(n))
        out.append(b"\x16\x03\x01" + min(n, 0xffff).to_bytes(2, "big") + body)
    return out


def test_garbage_instead_of_a_handshake_is_logged_as_postfix_does(postie_factory, cert):
    env = _env(postie_factory, cert)
    pids = env.service_pids("smtpd")
    junks = _junk()
    for junk in junks:
        c = Raw(env.smtp_port)
        try:
            c.reply()
            assert c.cmd("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
            c.send(junk)
            c.s.settimeout(10)
            try:
                while c.s.recv(4096):
                    pass
            except OSError:
                pass
        finally:
            c.close()
    env.wait_for_log(r"postie/smtpd\[\d+\]: SSL_accept error from localhost\[127\.0\.0\.1\]: -1$",
                     count=2)
    env.wait_for_log(r"postie/smtpd\[\d+\]: lost connection after STARTTLS from "
                     r"localhost\[127\.0\.0\.1\]$", count=len(junks))
    env.wait_for_log(r"postie/smtpd\[\d+\]: warning: TLS library problem: error:")
    # Nothing crashed: the same processes serve the next client over TLS.
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as s:
        s.starttls(context=_ctx())
        assert s.noop()[0] == 250
    assert env.service_pids("smtpd") == pids


def test_a_silent_handshake_ends_at_smtpd_starttls_timeout(postie_factory, cert):
    env = _env(postie_factory, cert, smtpd_starttls_timeout="2s")
    c = Raw(env.smtp_port)
    try:
        c.reply()
        assert c.cmd("STARTTLS") == ["220 2.0.0 Ready to start TLS"]
        t0 = time.monotonic()
        env.wait_for_log(r"timeout after STARTTLS from localhost\[127\.0\.0\.1\]$", timeout=10)
        assert time.monotonic() - t0 < 8
        c.s.settimeout(5)
        assert c.s.recv(100) == b""  # closed, nothing in clear text
    finally:
        c.close()


def test_reload_takes_a_renewed_certificate_without_dropping_sessions(postie_factory):
    d1, c1, k1 = _cert("old.tls.test")
    d2, c2, k2 = _cert("new.tls.test")
    live = os.path.join(d1, "live.pem")
    livekey = os.path.join(d1, "live.key")
    shutil.copy(c1, live)
    shutil.copy(k1, livekey)
    try:
        env = postie_factory(conf={"smtpd_tls_cert_file": live, "smtpd_tls_key_file": livekey,
                                   "smtpd_processes": "1"})
        old = smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10)
        old.starttls(context=_ctx())
        assert b"old.tls.test" in old.sock.getpeercert(binary_form=True)
        shutil.copy(c2, live + ".new")
        shutil.copy(k2, livekey + ".new")
        os.rename(livekey + ".new", livekey)
        os.rename(live + ".new", live)
        n = len(env.log_lines())
        assert env.postie("reload").returncode == 0
        env.wait_for_log(r"reload", start=n)
        time.sleep(1.5)  # smtpd reloads between two turns of its loop

        def subject():
            with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as s:
                s.starttls(context=_ctx())
                der = s.sock.getpeercert(binary_form=True)
            return b"new.tls.test" in der
        deadline = time.monotonic() + 10
        while not subject():
            assert time.monotonic() < deadline, "the renewed certificate is not used"
            time.sleep(0.5)
        # The session opened before the reload goes on, over TLS.
        assert old.noop()[0] == 250
        old.sendmail("a@example.org", [f"{env.user}@localhost"], "Subject: t\r\n\r\nold\r\n")
        old.quit()
        env.wait_for_mail()
    finally:
        shutil.rmtree(d1, ignore_errors=True)
        shutil.rmtree(d2, ignore_errors=True)


def test_serve_makes_a_certificate_so_starttls_is_on_out_of_the_box(postie_factory):
    env = postie_factory(conf={"smtpd_tls_loglevel": "1"})
    path = env.path("data", "serve-tls.pem")
    assert f"self-signed certificate {path} (made now)" in env.stdout()
    st = os.stat(path)
    assert st.st_mode & 0o077 == 0  # the key is in it
    with open(path, "rb") as f:
        first = f.read()
    assert b"PRIVATE KEY" in first and b"BEGIN CERTIFICATE" in first
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as s:
        s.ehlo("c.example")
        assert s.has_extn("starttls")
        s.starttls(context=_ctx())
        s.ehlo("c.example")
        s.sendmail("a@example.org", [f"{env.user}@localhost"], "Subject: t\r\n\r\nserve tls\r\n")
    env.wait_for_log(TLS_LINE)
    env.wait_for_mail()
    # A restart reuses it.
    env.restart()
    with open(path, "rb") as f:
        assert f.read() == first


def test_serve_makes_no_certificate_when_the_administrator_chose_none(postie_factory):
    env = postie_factory(conf={"smtpd_tls_cert_file": ""})
    assert not os.path.exists(env.path("data", "serve-tls.pem"))
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as s:
        s.ehlo("c.example")
        assert not s.has_extn("starttls")
