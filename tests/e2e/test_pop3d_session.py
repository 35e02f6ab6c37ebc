"""pop3d end to end: mail sent over SMTP is read back with Python's poplib
(and curl's pop3://) from `postie serve` (RFC 1939, RFC 2449, RFC 5034).

Each test sends its mail through smtpd and local, so the Maildir is the one
postie writes, then talks POP3 to the instance.
"""

import base64
import os
import poplib
import pwd
import re
import shutil
import socket
import subprocess
import time

import pytest

from postie_env import has_service, proc_ppid, all_pids, wait_until

pytestmark = pytest.mark.skipif(not has_service("pop3d"), reason="pop3d not in this build")

PASSWORD = "s3cret-Pa55"


def _send(env, user, body, subject="test"):
    with env.smtp() as s:
        s.sendmail("sender@example.org", [f"{user}@localhost"],
                   f"Subject: {subject}\r\n\r\n{body}")


def _setup(env, user="alice", messages=(), count=None):
    env.add_user(user, PASSWORD)
    for i, body in enumerate(messages):
        _send(env, user, body, subject=f"m{i}")
    if messages:
        env.wait_for_mail(user, count=len(messages))


def _pop(env, user="alice", password=PASSWORD):
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    p.user(user)
    p.pass_(password)
    return p


def _raw(env):
    s = socket.create_connection(("127.0.0.1", env.pop3_port), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    return s, f


def _crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_pop3d_lists_and_retrieves_byte_exact_and_deletes_on_quit(postie):
    body = "first line\r\n.leading dot\r\n..two dots\r\nlast\r\n"
    _setup(postie, messages=[body, "second\r\n"])
    files = postie.maildir_messages("alice")
    assert len(files) == 2
    p = _pop(postie)
    count, size = p.stat()
    assert count == 2
    # RFC 1939 section 11: the exact size, line ends counted as CR LF.
    want = sorted(len(_crlf(f)) for f in files)
    _, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert sorted(sizes) == want and size == sum(want)
    # Byte-exact (poplib undoes the dot-stuffing; the raw test below
    # looks at the wire).
    got = []
    for i in (1, 2):
        resp, lines, octets = p.retr(i)
        assert resp.startswith(b"+OK")
        got.append(b"\r\n".join(lines) + b"\r\n")
    assert sorted(got) == sorted(_crlf(f) for f in files)
    assert p.dele(1).startswith(b"+OK")
    # A deleted message is gone for the rest of the session (section 5).
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    assert p.stat()[0] == 1
    assert p.quit().startswith(b"+OK")
    left = postie.maildir_messages("alice", "new") + postie.maildir_messages("alice", "cur")
    assert len(left) == 1
    # Dovecot's habit: read mail moves to cur/ with the S flag.
    cur = os.listdir(os.path.join(postie.maildir("alice"), "cur"))
    assert len(cur) == 1 and cur[0].endswith(":2,S")
    postie.wait_for_log(r"pop3\(alice\)<\d+><[^>]+>: Disconnected: Logged out "
                        r"top=0/0, retr=2/\d+, del=1/2, size=\d+$")
    postie.wait_for_log(r"pop3-login: Login: user=<alice>, method=PLAIN, "
                        r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, session=<[^>]+>$")


def test_pop3d_dot_stuffs_and_sends_crlf_on_the_wire(postie):
    _setup(postie, messages=[".x\r\n.\r\nend\r\n"])
    raw = _crlf(postie.maildir_messages("alice")[0])
    s, f = _raw(postie)
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\n".encode())
    assert f.readline() == b"+OK\r\n"
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"RETR 1\r\n")
    first = f.readline()
    assert first == f"+OK {len(raw)} octets\r\n".encode()
    wire = b""
    while True:
        line = f.readline()
        assert line.endswith(b"\r\n"), line
        if line == b".\r\n":
            break
        wire += line
    want = b"".join((b"." + l if l.startswith(b".") else l)
                    for l in raw.splitlines(keepends=True))
    assert wire == want
    assert b"\r\n..x\r\n..\r\nend\r\n" in wire
    # TOP 1 0: the header and the empty line only.
    s.sendall(b"TOP 1 0\r\n")
    assert f.readline().startswith(b"+OK")
    top = b""
    while (line := f.readline()) != b".\r\n":
        top += line
    assert top == raw[:raw.index(b"\r\n\r\n") + 4]
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_pop3d_deletes_nothing_when_the_connection_drops(postie):
    _setup(postie, messages=["keep me\r\n"])
    s, f = _raw(postie)
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\nDELE 1\r\n".encode())
    assert f.readline() == b"+OK\r\n"
    assert f.readline().startswith(b"+OK Logged in")
    assert f.readline().startswith(b"+OK Marked")
    # No QUIT: no UPDATE state (RFC 1939 section 6).  The file object
    # holds the socket too: shut it down for real.
    s.shutdown(socket.SHUT_RDWR)
    f.close()
    s.close()
    postie.wait_for_log(r"pop3\(alice\).*Disconnected: Connection closed top=0/0, "
                        r"retr=0/0, del=0/1, size=\d+$")
    assert len(postie.maildir_messages("alice", "new")) == 1
    p = _pop(postie)
    assert p.stat()[0] == 1
    p.quit()


def test_pop3d_uidl_is_stable_across_sessions(postie):
    _setup(postie, messages=["one\r\n", "two\r\n"])
    p = _pop(postie)
    _, first, _ = p.uidl()
    p.retr(1)
    p.quit()  # moves both to cur/, one with S
    p = _pop(postie)
    _, second, _ = p.uidl()
    p.quit()
    assert first == second and len(first) == 2
    ids = [l.split()[1] for l in first]
    assert len(set(ids)) == 2
    for uid in ids:
        assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid)


@pytest.mark.postie_conf(pop3d_auth_attempt_limit="2")
def test_pop3d_wrong_password_is_refused_logged_without_it_and_closes_at_the_limit(postie):
    _setup(postie)
    s, f = _raw(postie)
    bad = "wrong-Guess-42"
    for attempt in (1, 2):
        s.sendall(f"USER alice\r\nPASS {bad}\r\n".encode())
        assert f.readline() == b"+OK\r\n"
        assert f.readline() == b"-ERR [AUTH] Authentication failed.\r\n"
    # The limit is reached: the server closes the connection.
    assert f.readline() == b""
    s.close()
    line = postie.wait_for_log(
        r"pop3-login: Aborted login \(auth failed, 2 attempts in \d+ secs\): "
        r"user=<alice>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, session=<[^>]+>$")
    log = open(postie.path("maillog")).read()
    assert bad not in log and PASSWORD not in log
    # fail2ban's dovecot filter (its failregex, less the daemon prefix).
    f2b = re.compile(r"(?:pop3|imap)-login: (?:Info: )?(?:Aborted login|Disconnected)"
                     r"(?::(?: [^ \(]+)+)? \(auth failed, \d+ attempts( in \d+ secs)?\):"
                     r"(?: user=<[^>]*>,)?(?: method=\S+,)? rip=(\S+?),")
    assert any(f2b.search(l) and f2b.search(l).group(2) == "127.0.0.1"
               for l in postie.log_lines())
    # The right password after a failure still works on a new connection.
    p = _pop(postie)
    p.quit()


def test_pop3d_unknown_user_looks_like_a_wrong_password(postie):
    _setup(postie)
    p = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    assert p.user("nobody-here").startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Authentication failed"):
        p.pass_("x")
    p.quit()
    postie.wait_for_log(r"pop3-login: Disconnected \(auth failed, 1 attempts in \d+ secs\): "
                        r"user=<nobody-here>, method=PLAIN")


def test_pop3d_overlong_line_gets_an_error_and_the_session_goes_on(postie):
    _setup(postie, messages=["x\r\n"])
    s, f = _raw(postie)
    # RFC 2449 section 4: 255 octets with CRLF.
    s.sendall(b"USER " + b"a" * 400 + b"\r\n")
    assert f.readline() == b"-ERR Input line too long.\r\n"
    s.sendall(b"USER alice\r\nPASS " + PASSWORD.encode() + b"\r\n")
    assert f.readline() == b"+OK\r\n"
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"NOOP " + b"x" * 300 + b"\r\nSTAT\r\n")
    assert f.readline() == b"-ERR Input line too long.\r\n"
    assert f.readline().startswith(b"+OK 1 ")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_pop3d_auth_plain_and_capa(postie):
    _setup(postie, messages=["x\r\n"])
    p = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    caps = p.capa()
    assert "UIDL" in caps and "TOP" in caps and "USER" in caps
    assert caps.get("SASL") == ["PLAIN"]
    token = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    assert p._shortcmd(f"AUTH PLAIN {token}").startswith(b"+OK Logged in")
    assert p.stat()[0] == 1
    p.quit()
    # The continuation form (RFC 5034 section 4).
    s, f = _raw(postie)
    s.sendall(b"AUTH PLAIN\r\n")
    assert f.readline() == b"+ \r\n"
    s.sendall(token.encode() + b"\r\n")
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()


def test_pop3d_two_sessions_on_one_mailbox(postie):
    _setup(postie, messages=["one\r\n"])
    first = _pop(postie)
    assert first.stat()[0] == 1
    # RFC 1939 section 8: the maildrop is locked; RFC 2449 [IN-USE].
    second = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    second.user("alice")
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_(PASSWORD)
    second.close()
    # Mail that arrives during a session waits for the next one.
    _send(postie, "alice", "two\r\n")
    postie.wait_for_mail("alice", count=2)
    assert first.stat()[0] == 1
    first.dele(1)
    first.quit()
    again = _pop(postie)
    assert again.stat()[0] == 1
    _, lines, _ = again.retr(1)
    assert lines[-1] == b"two"
    again.quit()


@pytest.mark.postie_conf(pop3d_timeout="2s")
def test_pop3d_idle_session_times_out_without_update(postie):
    _setup(postie, messages=["x\r\n"])
    s, f = _raw(postie)
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\nDELE 1\r\n".encode())
    for _ in range(3):
        assert f.readline().startswith(b"+OK")
    assert f.readline() == b"-ERR Disconnected for inactivity.\r\n"
    assert f.readline() == b""
    s.close()
    postie.wait_for_log(r"pop3\(alice\).*Disconnected: Inactivity top=0/0, retr=0/0, del=0/1")
    assert len(postie.maildir_messages("alice")) == 1
    s, f = _raw(postie)
    assert f.readline() == b"-ERR Disconnected for inactivity.\r\n"
    s.close()
    postie.wait_for_log(r"pop3-login: Disconnected: Inactivity \(no auth attempts in \d+ secs\): "
                        r"user=<>, rip=127\.0\.0\.1")


@pytest.mark.postie_conf(home_mailbox="")
def test_pop3d_mbox_user_gets_a_clear_error(postie):
    _setup(postie)
    p = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    p.user("alice")
    with pytest.raises(poplib.error_proto, match=r"Maildir mailboxes only"):
        p.pass_(PASSWORD)
    p.close()
    postie.wait_for_log(r"pop3\(alice\)<\d+><[^>]+>: mailbox is mbox .*pop3d serves Maildir only")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_pop3d_login_runs_unprivileged_and_session_as_mailbox_owner(postie):
    _setup(postie, messages=["x\r\n"])
    svc = postie.service_pids("pop3d")[0]
    s, f = _raw(postie)

    def procs():
        kids = [p for p in all_pids() if proc_ppid(p) == svc]
        return [(k, g) for k in kids for g in all_pids() if proc_ppid(g) == k] or None
    (_, login), = wait_until(procs, 10, "the login process")
    nobody = pwd.getpwnam("nobody").pw_uid
    owner = pwd.getpwnam("postie").pw_uid

    def uids(pid):
        with open(f"/proc/{pid}/status") as st:
            return next(l for l in st if l.startswith("Uid:")).split()[1:]
    # real, effective, saved, file system: no way back to root.
    assert uids(login) == [str(nobody)] * 4
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\n".encode())
    f.readline()
    assert f.readline().startswith(b"+OK Logged in")
    mpid = int(postie.wait_for_log(r"Login: user=<alice>.* mpid=(\d+)")[-1].group(1))
    assert uids(mpid) == [str(owner)] * 4
    s.sendall(b"QUIT\r\n")
    s.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_pop3d_curl_lists_and_retrieves(postie):
    _setup(postie, messages=["via curl\r\n"])
    want = _crlf(postie.maildir_messages("alice")[0])
    url = f"pop3://127.0.0.1:{postie.pop3_port}/"
    r = subprocess.run(["curl", "-s", "-u", f"alice:{PASSWORD}", url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.match(rb"^1 \d+\r\n$", r.stdout)
    r = subprocess.run(["curl", "-s", "-u", f"alice:{PASSWORD}", url + "1"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == want


@pytest.mark.postie_conf(pop3d_connection_limit="1")
def test_pop3d_connection_limit_refuses_the_next_client(postie):
    _setup(postie)
    s, f = _raw(postie)
    t = socket.create_connection(("127.0.0.1", postie.pop3_port), timeout=10)
    assert t.makefile("rb").readline() == b"-ERR [SYS/TEMP] Too many connections, try again later.\r\n"
    t.close()
    postie.wait_for_log(r"warning: pop3d_connection_limit \(1\) reached: connection refused")
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()
    f.close()
    # Once the first is gone, a new client is served.
    wait_until(lambda: _greets(postie), 10, "a greeting after the first client left")


def _greets(env):
    with socket.create_connection(("127.0.0.1", env.pop3_port), timeout=10) as s:
        return s.makefile("rb").readline().startswith(b"+OK")


def test_pop3d_session_ends_after_too_many_invalid_commands(postie):
    _setup(postie)
    s, f = _raw(postie)
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\n".encode())
    f.readline()
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"BOGUS\r\n" * 20)
    for _ in range(20):
        assert f.readline() == b"-ERR Unknown command.\r\n"
    assert f.readline() == b""
    s.close()
    postie.wait_for_log(r"pop3\(alice\).*Disconnected: Too many invalid commands top=0/0")


def test_pop3d_long_pipeline_after_login_reaches_the_session_whole(postie):
    _setup(postie, messages=["x\r\n"])
    s, f = _raw(postie)
    # More pipelined input after PASS than one packet of the old size.
    cmds = b"NOOP\r\n" * 400 + b"STAT\r\nQUIT\r\n"
    s.sendall(f"USER alice\r\nPASS {PASSWORD}\r\n".encode() + cmds)
    assert f.readline() == b"+OK\r\n"
    assert f.readline().startswith(b"+OK Logged in")
    for _ in range(400):
        assert f.readline() == b"+OK\r\n"
    assert f.readline().startswith(b"+OK 1 ")
    assert f.readline().startswith(b"+OK Logging out")
    s.close()


@pytest.mark.postie_conf(pop3d_client_connection_limit="2")
def test_pop3d_client_connection_limit_counts_per_address(postie):
    _setup(postie)
    held = [_raw(postie) for _ in range(2)]
    t = socket.create_connection(("127.0.0.1", postie.pop3_port), timeout=10)
    assert t.makefile("rb").readline() == (
        b"-ERR [SYS/TEMP] Too many connections from your address, try again later.\r\n")
    t.close()
    postie.wait_for_log(r"warning: pop3d_client_connection_limit \(2\) reached for "
                        r"127\.0\.0\.1: connection refused")
    for s, f in held:
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        f.close()
    wait_until(lambda: _greets(postie), 10, "a greeting once the others left")
