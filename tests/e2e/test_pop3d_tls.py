"""pop3d with TLS: STLS (RFC 2595 section 4) with a self-signed certificate,
poplib and raw sockets against `postie serve`.  The login process keeps the
TLS session after the login and relays for the session (docs/pop3d.md)."""

import os
import poplib
import shutil
import socket
import ssl
import tempfile

import pytest

from mail_peers import self_signed
from postie_env import all_pids, has_service, proc_ppid, wait_until

pytestmark = pytest.mark.skipif(not has_service("pop3d"), reason="pop3d not in this build")

PASSWORD = "tls-Pa55word"


@pytest.fixture(scope="module")
def cert():
    d = tempfile.mkdtemp(prefix="postie-pop3-cert-")
    os.chmod(d, 0o755)
    c, k = self_signed(d, cn="pop.tls.test")
    os.chmod(c, 0o644)
    yield c, k
    shutil.rmtree(d, ignore_errors=True)


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _start(postie_factory, cert, **extra):
    conf = {"pop3d_tls_cert_file": cert[0], "pop3d_tls_key_file": cert[1]}
    conf.update(extra)
    env = postie_factory(conf=conf)
    env.add_user("alice", PASSWORD)
    return env


def _send(env, body="tls body\r\n.dot\r\n"):
    with env.smtp() as s:
        s.sendmail("s@example.org", ["alice@localhost"], "Subject: t\r\n\r\n" + body)


def _crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_pop3d_stls_login_and_byte_exact_retrieval(postie_factory, cert):
    env = _start(postie_factory, cert)
    _send(env)
    env.wait_for_mail("alice")
    want = _crlf(env.maildir_messages("alice")[0])
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    assert "STLS" in p.capa()
    p.stls(context=_ctx())
    assert "STLS" not in p.capa()  # RFC 2595: not offered twice
    p.user("alice")
    p.pass_(PASSWORD)
    _, lines, _ = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == want
    p.dele(1)
    assert p.quit().startswith(b"+OK")
    assert env.maildir_messages("alice") == []
    env.wait_for_log(r"pop3-login: Login: user=<alice>, method=PLAIN, rip=127\.0\.0\.1, "
                     r"lip=127\.0\.0\.1, mpid=\d+, TLS, session=<[^>]+>$")
    env.wait_for_log(r"pop3\(alice\).*Disconnected: Logged out top=0/0, retr=1/\d+, del=1/1")
    # The relay and the session are gone with the connection.
    svc = env.service_pids("pop3d")[0]
    wait_until(lambda: not [q for q in all_pids() if proc_ppid(q) == svc], 10,
               "the connection's processes to end")


def test_pop3d_stls_drops_input_sent_before_the_handshake(postie_factory, cert):
    env = _start(postie_factory, cert)
    raw = socket.create_connection(("127.0.0.1", env.pop3_port), timeout=10)
    f = raw.makefile("rb")
    assert f.readline().startswith(b"+OK")
    # A command pipelined after STLS in clear text must not run as if it
    # came through TLS (the STARTTLS injection class of bugs).
    raw.sendall(b"STLS\r\nCAPA\r\n")
    assert f.readline() == b"+OK Begin TLS negotiation now.\r\n"
    s = _ctx().wrap_socket(raw, server_hostname="pop.tls.test")
    tf = s.makefile("rb")
    s.sendall(b"NOOP\r\n")
    assert tf.readline() == b"-ERR Unknown command in AUTHORIZATION state.\r\n"
    # Pipelined commands after the login go to the session through the relay.
    _send(env, "x\r\n")
    env.wait_for_mail("alice")
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\n".encode() + b"NOOP\r\n" * 1000
              + b"STAT\r\nQUIT\r\n")
    assert tf.readline() == b"+OK\r\n"
    assert tf.readline().startswith(b"+OK Logged in")
    for _ in range(1000):
        assert tf.readline() == b"+OK\r\n"
    assert tf.readline().startswith(b"+OK 1 ")
    assert tf.readline().startswith(b"+OK Logging out")
    s.close()


def test_pop3d_tls_auth_only_refuses_passwords_in_clear_text(postie_factory, cert):
    env = _start(postie_factory, cert, pop3d_tls_auth_only="yes")
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Plaintext authentication disallowed"):
        p.user("alice")
    p.stls(context=_ctx())
    assert "USER" in p.capa()
    p.user("alice")
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()
    log = open(env.path("maillog")).read()
    assert PASSWORD not in log


def test_pop3d_dropped_tls_connection_deletes_nothing(postie_factory, cert):
    env = _start(postie_factory, cert)
    _send(env, "keep\r\n")
    env.wait_for_mail("alice")
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    p.stls(context=_ctx())
    p.user("alice")
    p.pass_(PASSWORD)
    p.dele(1)
    p.sock.shutdown(socket.SHUT_RDWR)
    p.close()
    env.wait_for_log(r"pop3\(alice\).*Disconnected: Connection closed top=0/0, retr=0/0, del=0/1")
    assert len(env.maildir_messages("alice")) == 1


def test_pop3d_bad_certificate_turns_stls_off_with_an_error(postie_factory, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    env = postie_factory(conf={"pop3d_tls_cert_file": str(bogus)})
    env.wait_for_log(r"error: cannot load the POP3 certificate .*: STLS is off")
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    assert "STLS" not in p.capa()
    p.quit()


def test_pop3s_implicit_tls_on_its_own_listener(postie_factory, cert):
    from postie_env import free_port
    port = free_port()
    env = _start(postie_factory, cert, pop3s_listen=f"127.0.0.1:{port}")
    assert "pop3s" in env.expected_services()
    _send(env, "over pop3s\r\n")
    env.wait_for_mail("alice")
    want = _crlf(env.maildir_messages("alice")[0])
    p = poplib.POP3_SSL("127.0.0.1", port, timeout=10, context=_ctx())
    assert "STLS" not in p.capa()
    p.user("alice")
    p.pass_(PASSWORD)
    _, lines, _ = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == want
    p.quit()
    env.wait_for_log(r"pop3-login: Login: user=<alice>, method=PLAIN, .*, TLS, session=<")
    # A client that speaks clear text to the TLS port gets nowhere.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"USER alice\r\n")
        try:
            assert not s.recv(100).startswith(b"+OK")
        except ConnectionResetError:
            pass  # the server closed on the failed handshake
    env.wait_for_log(r"pop3-login: Disconnected \(no auth attempts in \d+ secs\): user=<>, "
                     r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, TLS handshaking: SSL_accept\(\) failed: ")
