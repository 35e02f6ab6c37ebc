"""smtpd: the SMTP dialogue (RFC 5321) with real clients - smtplib, swaks
and a raw socket for the exact bytes: extensions, pipelining (RFC 2920),
BDAT (RFC 3030), RSET, several recipients, and the log lines of the flow in
Postfix's grammar.

Raw is also used by the other test_smtpd_* files."""

import os
import re
import socket
import subprocess
import time

import pytest

from postie_env import wait_until


class Raw:
    """A plain SMTP connection: send exact bytes, read whole replies."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; pending %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode(errors="replace")

    def reply(self):
        """One reply: all its lines joined by newlines ("250-a\\n250 b")."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closes the connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def start(env, helo="client.test", ehlo=True):
    """Connect, read the greeting, say EHLO (or HELO)."""
    r = Raw(env.smtp_port)
    assert r.reply().startswith("220 ")
    rep = r.cmd(("EHLO " if ehlo else "HELO ") + helo)
    assert rep.startswith("250")
    return r


def queued_id(reply):
    m = re.match(r"250 2\.0\.0 Ok: queued as ([0-9A-F]{10,12})$", reply)
    assert m, reply
    return m.group(1)


def queue_files(env):
    """Names of the files in every queue directory."""
    out = []
    for d in ("incoming", "active", "deferred", "hold", "corrupt"):
        try:
            out += os.listdir(env.path("queue", d))
        except OSError:
            pass
    return out


def local_rcpt(env):
    return f"{env.user}@localhost"


def test_ehlo_advertises_the_extensions_and_not_vrfy(postie):
    with Raw(postie.smtp_port) as r:
        assert re.match(r"220 \S+ ESMTP postie$", r.reply())
        rep = r.cmd("EHLO client.test").split("\n")
        keywords = [l[4:] for l in rep[1:]]
        for k in ("PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME",
                  "SMTPUTF8", "CHUNKING"):
            assert k in keywords, rep
        assert "VRFY" not in keywords
        assert r.cmd("VRFY root") == "502 5.5.1 VRFY command is disabled"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"


def test_smtplib_message_is_queued_with_postfix_log_lines(postie):
    user = postie.user
    body = (b"Subject: flow\r\n\r\nline one\r\n.starts with a dot\r\n..two dots\r\n"
            + b"\xc3\xa9t\xc3\xa9 8-bit\r\n" + b"x" * 990 + b"\r\n")
    with postie.smtp() as s:
        s.ehlo("client.test")
        s.mail("alice@example.org")
        s.rcpt(f"{user}@localhost")
        code, text = s.data(body)
        assert code == 250
        qid = re.match(rb"2\.0\.0 Ok: queued as ([0-9A-F]+)$", text).group(1).decode()
    postie.wait_for_log(r"disconnect from")
    log = postie.log_lines()
    want = [
        r"postie/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]$",
        rf"postie/smtpd\[\d+\]: {qid}: client=localhost\[127\.0\.0\.1\]$",
        rf"postie/cleanup\[\d+\]: {qid}: message-id=<\d{{14}}\.{qid}@[^>]+>$",
        r"postie/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] "
        r"ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5$",
    ]
    pos = 0
    for rx in want:
        hits = [i for i, l in enumerate(log) if re.search(rx, l)]
        assert hits and hits[0] >= pos, (rx, log)
        pos = hits[0]
    # The message as stored: Received first, dots unstuffed, 8-bit kept.
    msgs = postie.wait_for_mail(user)
    m = msgs[0]
    assert re.search(rb"Received: from client\.test \(localhost \[127\.0\.0\.1\]\)\n"
                     rb"\tby \S+ \(postie\) with ESMTP id " + qid.encode() +
                     rb"\n\tfor <" + user.encode() + rb"@localhost>; ", m)
    # smtplib dot-stuffs; what arrives is what was given.
    assert b"\nline one\n.starts with a dot\n..two dots\n\xc3\xa9t\xc3\xa9 8-bit\n" in m
    assert b"\n" + b"x" * 990 + b"\n" in m
    assert b"\r" not in m
    assert re.search(rb"\nMessage-Id: <\d{14}\." + qid.encode() + rb"@", m)
    assert b"\nDate: " in m


def test_pipelined_group_gets_its_replies_in_order(postie):
    postie.add_user("carol")
    with start(postie) as r:
        r.send(f"MAIL FROM:<a@example.org>\r\nRCPT TO:<{local_rcpt(postie)}>\r\n"
               "RCPT TO:<no-such-user@localhost>\r\nRCPT TO:<carol@localhost>\r\nDATA\r\n")
        assert r.reply() == "250 2.1.0 Ok"
        assert r.reply() == "250 2.1.5 Ok"
        assert r.reply().startswith("550 5.1.1 <no-such-user@localhost>")
        assert r.reply() == "250 2.1.5 Ok"
        assert r.reply().startswith("354 ")
        r.send("Subject: pipelined\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        qid = queued_id(r.reply())
        assert r.reply() == "221 2.0.0 Bye"
    postie.wait_for_log(r"disconnect from .* ehlo=1 mail=1 rcpt=2/3 data=1 quit=1 "
                        r"commands=6/7$")
    assert not [l for l in postie.log_lines() if "improper command pipelining" in l]
    postie.wait_for_log(rf"{qid}: from=<a@example\.org>, size=\d+, nrcpt=2 ")
    postie.wait_for_mail(postie.user)
    postie.wait_for_mail("carol")


@pytest.mark.postie_conf(smtpd_forbid_unauth_pipelining="no")
def test_pipelining_without_ehlo_is_logged_as_postfix_does(postie):
    with start(postie, ehlo=False) as r:
        r.send(f"MAIL FROM:<a@example.org>\r\nRCPT TO:<{local_rcpt(postie)}>\r\n")
        assert r.reply() == "250 2.1.0 Ok"
        assert r.reply() == "250 2.1.5 Ok"
    postie.wait_for_log(r"improper command pipelining after MAIL from "
                        r"localhost\[127\.0\.0\.1\]: RCPT TO:<")


@pytest.mark.postie_conf(smtpd_forbid_unauth_pipelining="no")
def test_content_sent_with_data_before_354_is_refused(postie):
    with start(postie) as r:
        r.send(f"MAIL FROM:<a@example.org>\r\nRCPT TO:<{local_rcpt(postie)}>\r\n"
               "DATA\r\nSubject: too early\r\n\r\n.\r\n")
        assert r.reply() == "250 2.1.0 Ok"
        assert r.reply() == "250 2.1.5 Ok"
        assert r.reply() == "503 5.5.0 Error: improper use of SMTP command pipelining"
    postie.wait_for_log(r"reject: DATA from localhost\[127\.0\.0\.1\]: 503 5\.5\.0 ")


def test_bdat_chunks_make_one_message(postie):
    part1 = b"Subject: chunked\r\n\r\nfirst part\r\n.not stuffed\r\n"
    part2 = b"second part\r\nno final line end"
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        r.send(b"BDAT %d\r\n" % len(part1) + part1)
        assert r.reply() == f"250 2.0.0 Ok: {len(part1)} bytes"
        r.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        qid = queued_id(r.reply())
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_log(r"disconnect from .* ehlo=1 mail=1 rcpt=1 bdat=2 quit=1 commands=6$")
    m = postie.wait_for_mail()[0]
    assert b"\nfirst part\n.not stuffed\nsecond part\nno final line end\n" in m
    assert qid.encode() in m


def test_bdat_chunk_is_skipped_when_refused(postie):
    evil = b"RCPT TO:<x@example.com>\r\n"
    with start(postie) as r:
        r.send(b"BDAT %d LAST\r\n" % len(evil) + evil)
        assert r.reply() == "503 5.5.1 Error: need RCPT command"
        # The chunk's octets were not taken for a command.
        assert r.cmd("NOOP") == "250 2.0.0 Ok"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_log(r"disconnect from .* ehlo=1 bdat=0/1 noop=1 quit=1 commands=3/4$")


def test_rset_mid_transaction_drops_it_and_its_queue_file(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        first = postie.wait_for_log(r"([0-9A-F]+): client=")[0].group(1)
        assert r.cmd("RSET") == "250 2.0.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == \
            "503 5.5.1 Error: need MAIL command"
        assert r.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
        assert r.cmd("MAIL FROM:<b@example.org>") == "250 2.1.0 Ok"
        assert r.cmd("MAIL FROM:<b@example.org>") == "503 5.5.1 Error: nested MAIL command"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        second = queued_id(r.cmd("Subject: second\r\n\r\nbody\r\n."))
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    assert first != second
    postie.wait_for_log(rf"{second}: removed")
    log = "\n".join(postie.log_lines())
    assert f"{first}: message-id" not in log
    assert "from=<a@example.org>" not in log
    assert len(postie.maildir_messages()) == 1
    assert first not in queue_files(postie)


def test_several_recipients_get_one_queue_file(postie):
    postie.add_user("carol")
    postie.add_user("dave")
    with postie.smtp() as s:
        refused = s.sendmail("alice@example.org",
                             [f"{postie.user}@localhost", "carol@localhost",
                              "dave@localhost", "postmaster@localhost"],
                             b"Subject: many\r\n\r\nfor all\r\n")
        assert refused == {}
    m = postie.wait_for_log(r"([0-9A-F]+): from=<alice@example\.org>, size=\d+, nrcpt=4 ")
    assert len(postie.wait_for_log(r"client=", count=1)) == 1
    for u in (postie.user, "carol", "dave"):
        msg = postie.wait_for_mail(u)[0]
        # More than one recipient: no "for <...>" in Received (Bcc privacy).
        assert b"\tfor <" not in msg
        assert m[0].group(1).encode() in msg


def test_postmaster_and_null_sender_are_accepted(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<>") == "250 2.1.0 Ok"
        assert r.cmd("RCPT TO:<Postmaster>") == "250 2.1.5 Ok"
        assert r.cmd("RCPT TO:<postmaster@localhost>") == "250 2.1.5 Ok"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"


def test_command_errors_have_enhanced_codes(postie):
    with start(postie) as r:
        assert r.cmd("HELP").startswith("214 2.0.0 ")
        assert r.cmd("FOO bar") == "502 5.5.2 Error: command not recognized"
        assert r.cmd("MAIL TO:<a@b.example>") == "501 5.5.4 Syntax: MAIL FROM:<address>"
        assert r.cmd("MAIL FROM:<a b@c>") == "501 5.1.7 Bad sender address syntax"
        assert r.cmd("MAIL FROM:<a@b.example> FOO=1") == "555 5.5.4 Unsupported option: FOO=1"
        assert r.cmd("MAIL FROM:<a@b.example>") == "250 2.1.0 Ok"
        assert r.cmd("RCPT TO:<nodomain>") == "501 5.1.3 Bad recipient address syntax"
        assert r.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
        assert r.cmd("EHLO") == "501 5.5.4 Syntax: EHLO hostname"
        assert r.cmd("NOOP") == "250 2.0.0 Ok"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1/2 mail=1/4 "
                        r"rcpt=0/1 data=0/1 noop=1 help=1 quit=1 unknown=0/1 commands=5/12$")


def test_smtputf8_address_needs_the_parameter(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<j\u00f6rg@example.org>") == \
            "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
        assert r.cmd("MAIL FROM:<j\u00f6rg@example.org> SMTPUTF8") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        queued_id(r.cmd("Subject: \u00fcber\r\n\r\ngr\u00fc\u00dfe\r\n."))
    m = postie.wait_for_mail()[0]
    assert "gr\u00fc\u00dfe".encode() in m
    assert b"with UTF8SMTP id" in m


def test_swaks_delivers_with_and_without_pipelining(postie):
    for extra in ([], ["--pipeline"]):
        out = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(postie.smtp_port),
             "--from", "alice@example.org", "--to", local_rcpt(postie),
             "--helo", "swaks.test", "--body", "hello from swaks\n.\n..\nend",
             "--header", "Subject: swaks", *extra],
            capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stdout + out.stderr
        assert re.search(r"<-\s+250 2\.0\.0 Ok: queued as [0-9A-F]+", out.stdout), out.stdout
    msgs = postie.wait_for_mail(count=2)
    for m in msgs:
        assert b"Received: from swaks.test (localhost [127.0.0.1])" in m
        assert b"\nhello from swaks\n.\n..\nend\n" in m


def test_lost_connection_is_logged_with_the_last_command(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    postie.wait_for_log(r"lost connection after MAIL from localhost\[127\.0\.0\.1\]$")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 commands=2$")
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: cut\r\n\r\n12345")
        time.sleep(0.3)
    postie.wait_for_log(r"lost connection after DATA \(21 bytes\) from "
                        r"localhost\[127\.0\.0\.1\]$")
    postie.wait_for_log(r"disconnect from .* data=0/1 commands=3/4$")
    # The half-received message left nothing in the queue.
    assert queue_files(postie) == []


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_client_is_logged_and_trusted_by_mynetworks(postie_factory):
    from postie_env import free_port
    port = free_port()
    env = postie_factory(conf={"smtpd_listen": f"[::1]:{port}"})
    sock = socket.create_connection(("::1", port), timeout=10)
    r = Raw.__new__(Raw)
    r.sock, r.buf = sock, b""
    with r:
        assert r.reply().startswith("220 ")
        assert r.cmd("EHLO v6.test").startswith("250")
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        # [::1]/128 is in the default mynetworks: relaying is allowed
        # (and dropped again: this test is about smtpd, not delivery).
        assert r.cmd("RCPT TO:<x@example.com>") == "250 2.1.5 Ok"
        assert r.cmd("RSET") == "250 2.0.0 Ok"
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(env)}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        queued_id(r.cmd("Subject: v6\r\n\r\nover IPv6\r\n."))
    env.wait_for_log(r"connect from \S+\[::1\]$")
    m = env.wait_for_mail()[0]
    assert re.search(rb"Received: from v6\.test \(\S+ \[IPv6:::1\]\)", m)
