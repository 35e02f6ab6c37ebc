"""postie's log tools understand postie's own pop3d lines (issue 13): a real
instance is read with poplib (a good login with RETR and DELE, a wrong
password, an unknown user, a client that leaves without a login, one that
drops the connection), and then `log explain`, `log trace USER`, `log
report` and `doctor` must see those lines for what they are: pop3d writes
Dovecot's grammar after postie's prefix, which the tools only knew under a
`dovecot:` prefix before.  A burst of failed logins from one address (a
password-guessing run) must make doctor's "logins" check warn with the fix.
"""

import json
import poplib
import re
import threading

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local", "pop3d")),
    reason="needs smtpd, qmgr, local and pop3d")

PASSWORD = "Right-pa55word"
POP3 = r"postie/pop3d\[\d+\]: "


def _send(env, user, subject):
    with env.smtp() as s:
        s.sendmail("bob@example.org", [f"{user}@localhost"],
                   f"From: bob@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n")


def _fail(env, user, tries):
    """tries wrong passwords on one connection (the limiter closes it at
    pop3d_auth_attempt_limit)."""
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=15)
    for _ in range(tries):
        try:
            p.user(user)
            p.pass_("wrong-" + user)
        except (poplib.error_proto, OSError, EOFError):
            pass
    try:
        p.quit()
    except (poplib.error_proto, OSError, EOFError):
        pass


def _real_sessions(env):
    env.add_user("alice", PASSWORD)
    _send(env, "alice", "one")
    _send(env, "alice", "two")
    env.wait_for_mail("alice", count=2)
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    p.user("alice")
    p.pass_(PASSWORD)
    p.retr(1)
    p.dele(1)
    p.quit()
    _fail(env, "alice", 1)
    _fail(env, "nosuchuser", 1)
    poplib.POP3("127.0.0.1", env.pop3_port, timeout=10).quit()
    p = poplib.POP3("127.0.0.1", env.pop3_port, timeout=10)
    p.user("alice")
    p.pass_(PASSWORD)
    p.retr(1)
    p.sock.close()
    p.file.close()
    env.wait_for_log(POP3 + r"pop3\(alice\).*Disconnected: Logged out", timeout=15)
    env.wait_for_log(POP3 + r"pop3\(alice\).*Disconnected: Connection closed", timeout=15)
    env.wait_for_log(POP3 + r"pop3-login: Disconnected \(no auth attempts", timeout=15)
    env.wait_for_log(POP3 + r"pop3-login: .*auth failed.*user=<nosuchuser>", timeout=15)


def _pop3_lines(env):
    return [l for l in env.log_lines() if re.search(POP3, l)]


def test_explain_trace_and_report_read_postie_pop3d_lines(postie):
    _real_sessions(postie)
    lines = _pop3_lines(postie)
    logins = sum(1 for l in lines if "pop3-login: Login: " in l)
    failed = sum(1 for l in lines if "(auth failed," in l)
    assert logins == 2 and failed == 2, lines

    # explain: every pop3d line gets a specific step, none is "other".
    r = postie.postie("log", "explain", postie.path("maillog"))
    assert r.returncode == 0, r.stderr
    blocks = r.stdout.split("\n\n")
    pop = [b for b in blocks if re.search(POP3, b)]
    assert len(pop) == len(lines)
    for b in pop:
        head = b.splitlines()[1]
        assert "postie pop3d" in head and not head.endswith(": other"), b
    assert any("mailbox login failed" in b and "user=nosuchuser" in b for b in pop)
    assert any("mailbox session ended" in b and "retr=1/" in b for b in pop)

    # trace USER: the sessions of alice, login joined to its session's end.
    r = postie.postie("log", "trace", "alice", postie.path("maillog"))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.count("logged in, session ended") >= 2, out
    assert "login failed" in out
    assert re.search(r"mailbox login: user alice from 127\.0\.0\.1\n.*mailbox session ended: "
                     r"Logged out \(top=0/0, retr=1/\d+, del=1/2", out), out
    assert "nosuchuser" not in out
    r = postie.postie("log", "trace", "nosuchuser", postie.path("maillog"))
    assert "login failed" in r.stdout and "alice" not in r.stdout

    # report: the logins and failed logins by user and by address.
    r = postie.postie("log", "report", "--json", postie.path("maillog"))
    assert r.returncode == 0, r.stderr
    mb = json.loads(r.stdout)["mailbox"]
    assert mb["logins"] == logins and mb["login_failures"] == failed, mb
    flat = json.dumps(mb)
    assert "nosuchuser" in flat and "127.0.0.1" in flat


def test_doctor_names_a_password_guessing_run_with_the_fix(postie):
    postie.add_user("alice", PASSWORD)
    # A healthy instance with one mistyped password: no warning.
    _fail(postie, "alice", 1)
    postie.wait_for_log(POP3 + r"pop3-login: .*auth failed", timeout=15)
    r = postie.postie("doctor", "--json", timeout=60)
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["logins"]["status"] == "ok", checks["logins"]
    # A guessing run: 4 connections of 3 wrong passwords each, in parallel.
    ts = [threading.Thread(target=_fail, args=(postie, u, 3))
          for u in ("alice", "admin", "test", "root")]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    postie.wait_for_log(POP3 + r"pop3-login: .*auth failed", timeout=20, count=5)
    n = sum(int(m.group(1)) for l in _pop3_lines(postie)
            for m in [re.search(r"auth failed, (\d+) attempts", l)] if m)
    assert n >= 10
    r = postie.postie("doctor", "--json", timeout=60)
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    c = checks["logins"]
    assert c["status"] == "warn", c
    assert "password-guessing" in c["finding"] and "127.0.0.1" in c["finding"]
    assert "fail2ban" in c["next"] and "pop3d_auth_attempt_limit" in c["next"]
    assert any("as user admin" in d for d in c["details"]), c["details"]
