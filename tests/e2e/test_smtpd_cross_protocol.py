"""smtpd against clients that do not speak SMTP or do not wait their turn
(issue #14.3/#14.4): an HTTP request sent to the mail port, header-like
lines, a BDAT ... LAST sent ahead without PIPELINING, and talk before the
greeting.  Postfix hangs up on each (smtpd_forbidden_commands,
smtpd_forbid_unauth_pipelining); so must postie, and no message may come
of it."""

import shutil
import socket
import subprocess
import time

import pytest

from test_smtpd_session import Raw, local_rcpt, queue_files, start

GOODBYE = "221 2.7.0 Error: I can break rules, too. Goodbye."
UNSYNC = "554 5.5.0 Error: SMTP protocol synchronization"


def smtp_in_http_body(env):
    """An HTTP POST whose body is a whole SMTP transaction ending in BDAT LAST
    (what a browser or a server-side request forgery can be made to send)."""
    msg = b"Subject: smuggled\r\n\r\nvia http\r\n"
    body = (b"EHLO evil.test\r\nMAIL FROM:<evil@example.org>\r\n"
            b"RCPT TO:<" + local_rcpt(env).encode() + b">\r\n"
            b"BDAT %d LAST\r\n" % len(msg) + msg + b"QUIT\r\n")
    head = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n"
            b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body))
    return head + body


def assert_nothing_queued(env):
    env.wait_for_log(r"disconnect from ")
    time.sleep(0.3)
    assert not [l for l in env.log_lines() if ": client=" in l or "queued as" in l]
    assert queue_files(env) == []
    assert env.maildir_messages() == []


def test_http_post_carrying_smtp_gets_221_and_queues_nothing(postie):
    with Raw(postie.smtp_port) as r:
        assert r.reply().startswith("220 ")
        r.send(smtp_in_http_body(postie))
        assert r.reply() == GOODBYE
        assert r.closed()
    postie.wait_for_log(r"postie/smtpd\[\d+\]: warning: non-SMTP command from "
                        r"localhost\[127\.0\.0\.1\]: POST / HTTP/1\.1$")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] unknown=0/1 commands=0/1$")
    assert_nothing_queued(postie)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_post_to_the_smtp_port_queues_nothing(postie):
    """A real HTTP client: it sends at once, before the greeting, so either
    rule may stop it; neither lets the body through."""
    body = smtp_in_http_body(postie).split(b"\r\n\r\n", 1)[1]
    subprocess.run(["curl", "-s", "-m", "5", "--http0.9", "--data-binary", "@-",
                    f"http://127.0.0.1:{postie.smtp_port}/"], input=body,
                   capture_output=True, timeout=20)
    assert_nothing_queued(postie)
    assert [l for l in postie.log_lines()
            if "non-SMTP command from" in l or "improper command pipelining after CONNECT" in l]


@pytest.mark.parametrize("line", ["GET / HTTP/1.0", "CONNECT 10.0.0.1:25 HTTP/1.1",
                                  "Host: mail.example", "User-Agent: Mozilla/5.0",
                                  "Content-Type: text/html", "<html>", "\x16\x03\x01 tls"])
def test_non_smtp_line_after_ehlo_ends_the_session(postie, line):
    with start(postie) as r:
        assert r.cmd(line) == GOODBYE
        assert r.closed()
    postie.wait_for_log(r"warning: non-SMTP command from localhost\[127\.0\.0\.1\]: ")


def test_an_unknown_word_is_still_only_502(postie):
    with start(postie) as r:
        assert r.cmd("XYZZY") == "502 5.5.2 Error: command not recognized"
        assert r.cmd("NOOP") == "250 2.0.0 Ok"


@pytest.mark.postie_conf(smtpd_forbidden_commands="CONNECT GET POST USER PASS")
def test_forbidden_commands_list_is_configurable(postie):
    with start(postie) as r:
        assert r.cmd("<html>") == "502 5.5.2 Error: command not recognized"
        assert r.cmd("USER bob") == GOODBYE


def test_bdat_last_sent_ahead_without_pipelining_queues_nothing(postie):
    msg = b"Subject: ahead\r\n\r\nsent before the replies\r\n"
    with start(postie, ehlo=False) as r:
        # HELO: no PIPELINING was offered, so each command waits its reply.
        r.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<" + local_rcpt(postie).encode() +
               b">\r\nBDAT %d LAST\r\n" % len(msg) + msg)
        assert r.reply() == "250 2.1.0 Ok"
        assert r.reply() == UNSYNC
        assert r.closed()
    postie.wait_for_log(r"improper command pipelining after MAIL from "
                        r"localhost\[127\.0\.0\.1\]: RCPT TO:<")
    assert_nothing_queued(postie)


def test_command_sent_with_a_bdat_chunk_without_pipelining_queues_nothing(postie):
    """RFC 3030 section 4.2: without PIPELINING, the next command waits for
    the reply to the chunk; sent with it, the message is not committed."""
    msg = b"Subject: ahead\r\n\r\nchunk\r\n"
    with start(postie, ehlo=False) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        r.send(b"BDAT %d LAST\r\n" % len(msg) + msg + b"MAIL FROM:<b@example.org>\r\n")
        assert r.reply() == UNSYNC
        assert r.closed()
    postie.wait_for_log(r"improper command pipelining after BDAT from "
                        r"localhost\[127\.0\.0\.1\]: MAIL FROM:<b@example\.org>$")
    postie.wait_for_log(r"disconnect from ")
    time.sleep(0.3)
    assert not [l for l in postie.log_lines() if "queued as" in l or ": from=<" in l]
    assert postie.maildir_messages() == []


def test_commands_pipelined_after_ehlo_get_554(postie):
    with Raw(postie.smtp_port) as r:
        assert r.reply().startswith("220 ")
        r.send(f"EHLO c.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<{local_rcpt(postie)}>\r\n")
        assert r.reply().endswith("250 CHUNKING")
        assert r.reply() == UNSYNC
        assert r.closed()
    postie.wait_for_log(r"improper command pipelining after EHLO from "
                        r"localhost\[127\.0\.0\.1\]: MAIL FROM:<a@example\.org>$")


def test_pipelined_bdat_chunks_after_ehlo_are_served(postie):
    """RFC 3030 section 4.2: with PIPELINING offered, BDAT may be pipelined."""
    part = b"Subject: chunks\r\n\r\npipelined\r\n"
    with start(postie) as r:
        r.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<" + local_rcpt(postie).encode() +
               b">\r\nBDAT %d\r\n" % len(part) + part + b"BDAT 0 LAST\r\n")
        assert r.reply() == "250 2.1.0 Ok"
        assert r.reply() == "250 2.1.5 Ok"
        assert r.reply() == f"250 2.0.0 Ok: {len(part)} bytes"
        assert r.reply().startswith("250 2.0.0 Ok: queued as ")
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_mail()
    assert not [l for l in postie.log_lines() if "improper command pipelining" in l]


# ---- talk before the greeting (#14.4) ----

# mynetworks without loopback: the test client is an outsider, whom
# smtpd_greet_pause makes wait.
PAUSED = {"smtpd_greet_pause": "2s", "mynetworks": "192.0.2.0/24"}


@pytest.mark.postie_conf(**PAUSED)
def test_client_talking_before_the_greeting_gets_554_and_no_banner(postie):
    with socket.create_connection(("127.0.0.1", postie.smtp_port), timeout=10) as s:
        s.sendall(b"EHLO early.test\r\n")
        got = b""
        s.settimeout(10)
        while not got.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        assert got == (UNSYNC + "\r\n").encode()
        assert s.recv(4096) == b""  # and closed
    postie.wait_for_log(r"improper command pipelining after CONNECT from "
                        r"localhost\[127\.0\.0\.1\]: EHLO early\.test$")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] commands=0/0$")


@pytest.mark.postie_conf(**PAUSED)
def test_client_that_waits_for_the_greeting_is_served_after_the_pause(postie):
    import smtplib
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", postie.smtp_port, timeout=15) as s:
        waited = time.monotonic() - t0
        s.sendmail("a@example.org", [local_rcpt(postie)], "Subject: patient\r\n\r\nhi\r\n")
    assert 1.5 <= waited < 5, waited
    postie.wait_for_mail()
    assert not [l for l in postie.log_lines() if "improper command pipelining" in l]


@pytest.mark.postie_conf(smtpd_greet_pause="5s")
def test_mynetworks_client_is_greeted_at_once(postie):
    t0 = time.monotonic()
    with Raw(postie.smtp_port) as r:
        assert r.reply().startswith("220 ")
    assert time.monotonic() - t0 < 2


@pytest.mark.postie_conf(smtpd_forbid_unauth_pipelining="no", **PAUSED)
def test_early_talk_is_only_logged_when_not_forbidden(postie):
    with Raw(postie.smtp_port) as r:
        r.send("HELO early.test\r\n")
        assert r.reply().startswith("220 ")
        assert r.reply().startswith("250 ")
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_log(r"improper command pipelining after CONNECT from "
                        r"localhost\[127\.0\.0\.1\]: HELO early\.test$")
