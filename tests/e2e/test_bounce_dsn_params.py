"""The DSN SMTP extension (RFC 3461) end to end: smtpd advertises DSN and
checks NOTIFY, ORCPT, RET and ENVID; bounce honours them (NOTIFY=NEVER:
no notice; NOTIFY=SUCCESS: a success notice; ORCPT and ENVID come back in
the report); a 5xx from a remote peer comes back with its Remote-MTA."""

import email
import email.policy
import re

import pytest

from mail_peers import Peer, have_aiosmtpd
from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def add_alias(env, line):
    with open(env.path("aliases"), "a") as f:
        f.write(line + "\n")


def body(subject):
    return f"From: someone\r\nSubject: {subject}\r\n\r\nthe body line\r\n"


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def reports(env, user):
    return [m for m in map(parse, env.maildir_messages(user))
            if m.get_content_type() == "multipart/report"]


def test_ehlo_offers_dsn_and_bad_parameters_get_501(postie):
    with postie.smtp() as s:
        code, text = s.ehlo("client.test")
        assert code == 250 and b"\nDSN" in b"\n" + text
        for mail_opts, want in ((["RET=ALL"], 501), (["ENVID=" + "x" * 101], 501),
                                (["ENVID=a+0Db"], 501), (["RET=HDRS", "RET=FULL"], 501)):
            code, _ = s.docmd("MAIL FROM:<a@localhost> " + " ".join(mail_opts))
            assert code == want, mail_opts
            s.rset()
        code, _ = s.docmd("MAIL FROM:<a@localhost> RET=HDRS ENVID=QQ+2B1")
        assert code == 250
        user = postie.user
        for opts in ("NOTIFY=NEVER,SUCCESS", "NOTIFY=SOMETIMES", "ORCPT=bob@x",
                     "ORCPT=rfc822;bob+0A", "NOTIFY=DELAY NOTIFY=DELAY", "FOO=BAR"):
            code, msg = s.docmd(f"RCPT TO:<{user}@localhost> {opts}")
            assert code in (501, 555), (opts, code, msg)
        code, _ = s.docmd(f"RCPT TO:<{user}@localhost> NOTIFY=success,failure "
                          f"ORCPT=rfc822;{user}+2Bx@localhost")
        assert code == 250
        s.rset()


def test_notify_never_suppresses_the_notice(postie):
    user = postie.user
    add_alias(postie, "ghost: nosuchuser")
    at = len(postie.log_lines())
    with postie.smtp() as s:
        s.ehlo("client.test")
        s.sendmail(f"{user}@localhost", ["ghost@localhost"], body("never"),
                   rcpt_options=["NOTIFY=NEVER"])
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<nosuchuser@.*status=bounced", start=at)
    qid = m[0].group(1)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    assert not [l for l in postie.log_lines()[at:] if "notification" in l]
    assert not postie.maildir_messages(user)


def test_notify_success_sends_a_delivery_report(postie):
    user = postie.user
    at = len(postie.log_lines())
    with postie.smtp() as s:
        s.ehlo("client.test")
        s.sendmail(f"{user}@localhost", [f"{user}@localhost"], body("tell me"),
                   mail_options=["ENVID=ENV+2B42"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;Orig+2B{user}@localhost"])
    m = postie.wait_for_log(
        r"bounce\[\d+\]: (\S+): sender delivery status notification: (\S+)$", start=at)
    newid = m[0].group(2)
    postie.wait_for_log(rf"{newid}: to=<{re.escape(user)}@localhost>.*status=sent", start=at)
    msgs = wait_until(lambda: (lambda r: r if r else None)(reports(postie, user)), 10,
                      "the delivery report")
    dsn = msgs[0]
    assert dsn.get_param("report-type") == "delivery-status"
    status = dsn.get_payload()[1].get_payload()
    assert status[0]["Original-Envelope-Id"] == "ENV+42"
    r = status[1]
    assert r["Action"] == "delivered"
    assert r["Status"] == "2.0.0"
    assert r["Final-Recipient"] == f"rfc822; {user}@localhost"
    assert r["Original-Recipient"] == f"rfc822; Orig+{user}@localhost"
    # The report itself asked for nothing: no report about the report.
    postie.wait_for_log(rf"qmgr\[\d+\]: {newid}: removed$", start=at)
    assert len([l for l in postie.log_lines()[at:] if "notification" in l]) == 1


def test_default_notify_gives_no_success_report(postie):
    user = postie.user
    at = len(postie.log_lines())
    with postie.smtp() as s:
        s.sendmail(f"{user}@localhost", [f"{user}@localhost"], body("quiet"))
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<.*status=sent", start=at)
    postie.wait_for_log(rf"qmgr\[\d+\]: {m[0].group(1)}: removed$", start=at)
    assert not [l for l in postie.log_lines()[at:] if "notification" in l]


@pytest.mark.skipif(not have_aiosmtpd(), reason="needs python3-aiosmtpd")
def test_remote_5xx_comes_back_with_remote_mta(postie_factory):
    peer = Peer().start()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}",
                                   "smtp_helo_timeout": "5s", "smtp_connect_timeout": "3s"})
        if "smtp" not in env.expected_services():
            pytest.skip("no smtp agent in this build")
        user = env.user
        peer.rcpt_reply = lambda a: ("550 5.1.1 <%s>: Recipient address rejected: "
                                     "User unknown" % a) if a.startswith("bob") else None
        at = len(env.log_lines())
        with env.smtp() as s:
            s.sendmail(f"{user}@localhost", ["bob@remote.test", "carol@remote.test"],
                       body("remote"))
        m = env.wait_for_log(r"smtp\[\d+\]: (\S+): to=<bob@remote.test>, .*dsn=5\.1\.1, "
                             r"status=bounced", start=at, timeout=20)
        qid = m[0].group(1)
        env.wait_for_log(rf"bounce\[\d+\]: {qid}: sender non-delivery notification: ",
                         start=at)
        msgs = wait_until(lambda: (lambda r: r if r else None)(reports(env, user)), 15,
                          "the notice")
        status = msgs[0].get_payload()[1].get_payload()
        assert len(status) == 2  # carol was delivered: only bob is reported
        r = status[1]
        assert r["Final-Recipient"] == "rfc822; bob@remote.test"
        assert r["Action"] == "failed"
        assert r["Status"] == "5.1.1"
        assert r["Remote-MTA"] == "dns; 127.0.0.1"
        assert r["Diagnostic-Code"].startswith("smtp; 550 5.1.1 <bob@remote.test>")
        assert [m[1] for m in peer.messages] == [["carol@remote.test"]]
    finally:
        peer.stop()


class DsnPeer:
    """A one-thread SMTP server on loopback that offers DSN (aiosmtpd does
    not) and records every command line it gets."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import socket
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            c.settimeout(10)
            f = c.makefile("rwb")
            try:
                f.write(b"220 dsn.peer.test ESMTP\r\n")
                f.flush()
                in_data = False
                for raw in f:
                    line = raw.decode("ascii", "replace").rstrip("\r\n")
                    if in_data:
                        if line == ".":
                            in_data = False
                            f.write(b"250 2.0.0 Ok: queued\r\n")
                            f.flush()
                        continue
                    self.lines.append(line)
                    verb = line[:4].upper()
                    if verb == "EHLO":
                        f.write(b"250-dsn.peer.test\r\n250-DSN\r\n250 8BITMIME\r\n")
                    elif verb == "DATA":
                        in_data = True
                        f.write(b"354 go ahead\r\n")
                    elif verb == "QUIT":
                        f.write(b"221 2.0.0 Bye\r\n")
                        f.flush()
                        break
                    else:
                        f.write(b"250 2.0.0 Ok\r\n")
                    f.flush()
            except OSError:
                pass
            finally:
                c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def test_smtp_client_passes_dsn_parameters_on(postie_factory):
    peer = DsnPeer()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}",
                                   "smtp_helo_timeout": "5s", "smtp_connect_timeout": "3s"})
        if "smtp" not in env.expected_services():
            pytest.skip("no smtp agent in this build")
        user = env.user
        at = len(env.log_lines())
        with env.smtp() as s:
            s.ehlo("client.test")
            s.sendmail(f"{user}@localhost", ["bob@remote.test", "carol@remote.test"],
                       body("pass on"), mail_options=["RET=HDRS", "ENVID=E+2B1"],
                       rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;Bob+2B@x.test"])
        env.wait_for_log(r"smtp\[\d+\]: \S+: to=<carol@remote.test>, .*status=sent", start=at,
                         timeout=20)
        wait_until(lambda: any(l.startswith("QUIT") for l in peer.lines) or
                   len([l for l in peer.lines if l.startswith("RCPT")]) == 2, 10, "the RCPTs")
        mail = [l for l in peer.lines if l.startswith("MAIL FROM:")][0]
        assert " RET=HDRS" in mail and " ENVID=E+2B1" in mail, mail
        rcpts = [l for l in peer.lines if l.startswith("RCPT TO:")]
        assert len(rcpts) == 2
        for r in rcpts:
            assert " NOTIFY=FAILURE,DELAY" in r and " ORCPT=rfc822;Bob+2B@x.test" in r, r
    finally:
        peer.stop()


def test_success_report_for_a_forwarding_alias_says_expanded(postie_factory):
    peer = DsnPeer()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}",
                                   "smtp_helo_timeout": "5s", "smtp_connect_timeout": "3s"})
        if "smtp" not in env.expected_services():
            pytest.skip("no smtp agent in this build")
        add_alias(env, "fwd: elsewhere@remote.test")
        user = env.user
        at = len(env.log_lines())
        with env.smtp() as s:
            s.ehlo("client.test")
            s.sendmail(f"{user}@localhost", ["fwd@localhost"], body("fan out"),
                       rcpt_options=["NOTIFY=SUCCESS"])
        m = env.wait_for_log(r"local\[\d+\]: (\S+): to=<.*status=sent \(forwarded as", start=at)
        qid = m[0].group(1)
        env.wait_for_log(rf"bounce\[\d+\]: {qid}: sender delivery status notification: ",
                         start=at)
        msgs = wait_until(lambda: (lambda r: r if r else None)(reports(env, user)), 15,
                          "the report")
        r = msgs[0].get_payload()[1].get_payload()[1]
        assert r["Action"] == "expanded"
        assert r["Status"] == "2.0.0"
    finally:
        peer.stop()


def test_success_at_a_dsn_peer_is_left_to_the_peer(postie_factory):
    """RFC 3461 section 5.2: a peer that offers DSN and gets the NOTIFY
    owes the success notice; postie sends no "relayed" one of its own."""
    peer = DsnPeer()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}",
                                   "smtp_helo_timeout": "5s", "smtp_connect_timeout": "3s"})
        if "smtp" not in env.expected_services():
            pytest.skip("no smtp agent in this build")
        user = env.user
        at = len(env.log_lines())
        with env.smtp() as s:
            s.ehlo("client.test")
            s.sendmail(f"{user}@localhost", ["bob@remote.test"], body("peer tells"),
                       rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
        m = env.wait_for_log(r"smtp\[\d+\]: (\S+): to=<bob@remote.test>, .*status=sent",
                             start=at, timeout=20)
        qid = m[0].group(1)
        env.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
        rcpts = [l for l in peer.lines if l.startswith("RCPT TO:")]
        assert rcpts and " NOTIFY=SUCCESS,FAILURE" in rcpts[0], rcpts
        assert not [l for l in env.log_lines()[at:] if "notification" in l]
        assert not reports(env, user)
    finally:
        peer.stop()


@pytest.mark.skipif(not have_aiosmtpd(), reason="needs python3-aiosmtpd")
def test_success_at_a_peer_without_dsn_says_relayed(postie_factory):
    """The peer cannot take the NOTIFY (no DSN in its EHLO): postie reports
    the success itself, as "relayed" (RFC 3464 section 2.3.3)."""
    peer = Peer().start()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}",
                                   "smtp_helo_timeout": "5s", "smtp_connect_timeout": "3s"})
        if "smtp" not in env.expected_services():
            pytest.skip("no smtp agent in this build")
        user = env.user
        at = len(env.log_lines())
        with env.smtp() as s:
            s.ehlo("client.test")
            s.sendmail(f"{user}@localhost", ["bob@remote.test"], body("we tell"),
                       rcpt_options=["NOTIFY=SUCCESS"])
        m = env.wait_for_log(r"smtp\[\d+\]: (\S+): to=<bob@remote.test>, .*status=sent",
                             start=at, timeout=20)
        qid = m[0].group(1)
        env.wait_for_log(rf"bounce\[\d+\]: {qid}: sender delivery status notification: ",
                         start=at)
        msgs = wait_until(lambda: (lambda r: r if r else None)(reports(env, user)), 15,
                          "the report")
        r = msgs[0].get_payload()[1].get_payload()[1]
        assert r["Action"] == "relayed"
        assert r["Final-Recipient"] == "rfc822; bob@remote.test"
    finally:
        peer.stop()


def test_forwarded_copy_keeps_the_dsn_parameters(postie_factory):
    """An alias member in another domain gets a copy that keeps ENVID and
    RET, the alias's NOTIFY without SUCCESS (postie said "expanded"; SUCCESS
    alone becomes NEVER) and the alias's ORCPT, or the alias itself as
    ORCPT when the sender gave none (RFC 3461 section 6.2.7)."""
    peer = DsnPeer()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}",
                                   "smtp_helo_timeout": "5s", "smtp_connect_timeout": "3s"})
        if "smtp" not in env.expected_services():
            pytest.skip("no smtp agent in this build")
        add_alias(env, "fwd: elsewhere@remote.test")
        user = env.user
        for subject, mail_opts, rcpt_opts, want_mail, want_rcpt in (
                ("with all", ["RET=HDRS", "ENVID=E+2B7"],
                 ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Orig+2B@x.test"],
                 [" RET=HDRS", " ENVID=E+2B7"],
                 [" NOTIFY=FAILURE ", " ORCPT=rfc822;Orig+2B@x.test"]),
                ("success only", [], ["NOTIFY=SUCCESS"], [],
                 [" NOTIFY=NEVER ", " ORCPT=rfc822;fwd@localhost"])):
            at = len(env.log_lines())
            before = len(peer.lines)
            with env.smtp() as s:
                s.ehlo("client.test")
                s.sendmail(f"{user}@localhost", ["fwd@localhost"], body(subject),
                           mail_options=mail_opts, rcpt_options=rcpt_opts)
            m = env.wait_for_log(r"local\[\d+\]: (\S+): to=<elsewhere@remote.test>.*"
                                 r"status=sent \(forwarded as (\S+)\)", start=at)
            qid, newid = m[0].group(1), m[0].group(2)
            env.wait_for_log(rf"bounce\[\d+\]: {qid}: sender delivery status "
                             r"notification: ", start=at)
            env.wait_for_log(rf"smtp\[\d+\]: {newid}: to=<elsewhere@remote.test>, "
                             r".*status=sent", start=at, timeout=20)
            env.wait_for_log(rf"qmgr\[\d+\]: {newid}: removed$", start=at)
            lines = peer.lines[before:]
            mail = [l for l in lines if l.startswith("MAIL FROM:")][0]
            rcpt = [l for l in lines if l.startswith("RCPT TO:")][0] + " "
            for w in want_mail:
                assert w in mail, (subject, mail)
            if not want_mail:
                assert " RET=" not in mail and " ENVID=" not in mail, mail
            assert rcpt.startswith("RCPT TO:<elsewhere@remote.test>"), rcpt
            for w in want_rcpt:
                assert w in rcpt, (subject, rcpt)
            # The peer took the NOTIFY: one notice in all, the "expanded" one.
            assert len([l for l in env.log_lines()[at:] if "notification" in l]) == 1
    finally:
        peer.stop()
