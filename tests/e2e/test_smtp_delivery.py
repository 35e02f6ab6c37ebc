"""Mail to other servers through the smtp agent (issue 4), on loopback only:
a DNS server on loopback (unbound) gives MX, A, null MX and failures;
the peers are a second postie instance, aiosmtpd, Postfix's smtp-sink, or
a server that says nothing.  postie connects to smtp_tcp_port (Postfix's
parameter) instead of 25, so no test needs a privileged port; MX hosts
live on 127.0.0.2, 127.0.0.3, ... where a test needs several."""

import os
import re
import time

import pytest

from mail_peers import (LoopbackDNS, Peer, SilentPeer, SmtpSink, free_port_on,
                        have_aiosmtpd, have_unbound)
from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not (has_service("smtp") and have_unbound() and have_aiosmtpd()),
    reason="needs the smtp agent, unbound and aiosmtpd")

ZONES = ["two.test.", "peer.test.", "next.test.", "null.test.", "nx.test.",
         "noaddr.test.", "sink.test."]

LINE = (r"postie/smtp\[\d+\]: (?P<id>[0-9A-F]+): to=<{to}>, relay={relay}, "
        r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn={dsn}, status={status} \((?P<text>.*)\)$")


def line_rx(to, relay, dsn, status):
    return LINE.format(to=re.escape(to), relay=relay, dsn=re.escape(dsn), status=status)


@pytest.fixture
def dns():
    records = [
        # a second postie instance, reached through MX
        "two.test. IN MX 10 mx.two.test.",
        "mx.two.test. IN A 127.0.0.1",
        # an aiosmtpd peer
        "peer.test. IN MX 10 mx.peer.test.",
        "mx.peer.test. IN A 127.0.0.1",
        # the first MX is down, the second up
        "next.test. IN MX 10 mx1.next.test.",
        "next.test. IN MX 20 mx2.next.test.",
        "mx1.next.test. IN A 127.0.0.2",
        "mx2.next.test. IN A 127.0.0.3",
        # RFC 7505
        "null.test. IN MX 0 .",
        # an MX whose host has no address record
        "noaddr.test. IN MX 10 mx.noaddr.test.",
        "mx.noaddr.test. IN TXT \\\"no address here\\\"",
        # no MX at all: the domain's own A (implicit MX)
        "sink.test. IN A 127.0.0.4",
    ]
    d = LoopbackDNS(records, ZONES, refuse=["broken.test."]).start()
    yield d
    d.cleanup()


def sender_conf(dns, port, **extra):
    conf = {
        "myhostname": "mail.one.test",
        "mydomain": "one.test",
        "dns_servers": dns.server,
        "smtp_tcp_port": str(port),
        "smtp_helo_timeout": "5s",
        "smtp_connect_timeout": "3s",
    }
    conf.update(extra)
    return conf


def send(env, rcpts, sender="alice@one.test", body="Subject: hi\n\nhello there\n"):
    with env.smtp() as s:
        s.sendmail(sender, rcpts, body)


def test_mail_reaches_another_instance_through_mx(postie_factory, dns):
    """A user of one instance mails a user of another: MX lookup of
    two.test, smtp to the other instance's smtpd, local delivery there;
    both sides log their lines."""
    two = postie_factory(conf={"myhostname": "mx.two.test", "mydomain": "two.test",
                               "mydestination": "two.test, $myhostname, localhost"})
    two.add_user("bob")
    one = postie_factory(conf=sender_conf(dns, two.smtp_port))
    send(one, ["bob@two.test"])
    m = one.wait_for_log(line_rx("bob@two.test", re.escape(f"mx.two.test[127.0.0.1]:{two.smtp_port}"),
                                 "2.0.0", "sent"), timeout=20)[0]
    assert re.match(r"250 2\.0\.0 Ok: queued as [0-9A-F]{10,12}$", m.group("text")), m.group("text")
    remote_id = m.group("text").split()[-1]
    qid = m.group("id")
    one.wait_for_log(rf"{qid}: removed")
    # the other side: received from us, delivered locally
    two.wait_for_log(rf"postie/smtpd\[\d+\]: {remote_id}: client=")
    two.wait_for_log(rf"{remote_id}: to=<bob@two.test>, relay=local, .*status=sent")
    msgs = two.wait_for_mail("bob")
    assert b"hello there" in msgs[0]
    # our EHLO name is in the receiver's Received header
    assert b"mail.one.test" in msgs[0]


def test_several_recipients_one_transaction(postie_factory, dns):
    """Recipients of one message for one destination go in one SMTP
    transaction (one MAIL, several RCPT)."""
    peer = Peer().start()
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port))
        send(one, ["a@peer.test", "b@peer.test", "c@peer.test"])
        one.wait_for_log(r"status=sent", count=3, timeout=20)
        assert len(peer.messages) == 1
        assert sorted(peer.messages[0][1]) == ["a@peer.test", "b@peer.test", "c@peer.test"]
        assert peer.messages[0][0] == "alice@one.test"
    finally:
        peer.stop()


def test_recipient_limit_splits_a_destination_into_several_transactions(postie_factory, dns):
    """default_destination_recipient_limit (Postfix's) bounds the recipients
    of one delivery request: 5 recipients with a limit of 2 arrive in
    three transactions of 2, 2 and 1, every one delivered once."""
    peer = Peer().start()
    try:
        one = postie_factory(conf=sender_conf(
            dns, peer.port, default_destination_recipient_limit="2"))
        rcpts = [f"r{i}@peer.test" for i in range(5)]
        send(one, rcpts)
        one.wait_for_log(r"status=sent", count=5, timeout=30)
        assert sorted(len(m[1]) for m in peer.messages) == [1, 2, 2]
        assert sorted(r for m in peer.messages for r in m[1]) == rcpts
    finally:
        peer.stop()


def test_dot_stuffing_and_crlf(postie_factory, dns):
    """Lines starting with a dot arrive intact (RFC 5321 4.5.2)."""
    peer = Peer().start()
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port))
        send(one, ["a@peer.test"], body="Subject: dots\n\n.leading dot\n..two\nend\n")
        one.wait_for_log(r"status=sent", timeout=20)
        content = peer.messages[0][2]
        assert b"\r\n.leading dot\r\n..two\r\nend\r\n" in content
    finally:
        peer.stop()


def test_next_mx_when_first_is_down(postie_factory, dns):
    """mx1 (127.0.0.2) refuses connections; mx2 (127.0.0.3) takes the mail.
    The refused connection gets Postfix's line of its own."""
    port = free_port_on("127.0.0.2", "127.0.0.3")
    peer = Peer(host="127.0.0.3", port=port).start()
    try:
        one = postie_factory(conf=sender_conf(dns, port))
        send(one, ["bob@next.test"])
        one.wait_for_log(rf"postie/smtp\[\d+\]: connect to mx1\.next\.test\[127\.0\.0\.2\]:{port}: Connection refused$",
                         timeout=20)
        one.wait_for_log(line_rx("bob@next.test", re.escape(f"mx2.next.test[127.0.0.3]:{port}"),
                                 "2.0.0", "sent"))
        assert len(peer.messages) == 1
    finally:
        peer.stop()


def test_connection_refused_is_deferred(postie_factory, dns):
    port = free_port_on("127.0.0.1")
    one = postie_factory(conf=sender_conf(dns, port))
    send(one, ["bob@peer.test"])
    m = one.wait_for_log(line_rx("bob@peer.test", "none", "4.4.1", "deferred"), timeout=20)[0]
    assert m.group("text") == f"connect to mx.peer.test[127.0.0.1]:{port}: Connection refused"
    # the message waits in deferred/ with the reason for mailq
    wait_until(lambda: os.listdir(one.path("queue", "deferred")), 10, "a deferred file")


def test_4xx_deferred_then_delivered_when_peer_recovers(postie_factory, dns):
    peer = Peer().start()
    peer.rcpt_reply = "450 4.2.0 <bob@peer.test>: mailbox busy"
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port))
        send(one, ["bob@peer.test"])
        m = one.wait_for_log(line_rx("bob@peer.test", re.escape(f"mx.peer.test[127.0.0.1]:{peer.port}"),
                                     "4.2.0", "deferred"), timeout=20)[0]
        assert m.group("text") == (f"host mx.peer.test[127.0.0.1] said: 450 4.2.0 <bob@peer.test>: "
                                   "mailbox busy (in reply to RCPT TO command)")
        peer.rcpt_reply = None
        qid = m.group("id")
        one.wait_for_log(rf"{qid}: to=<bob@peer.test>, relay=.*status=sent", timeout=30)
        one.wait_for_log(rf"{qid}: removed")
        assert len(peer.messages) == 1
    finally:
        peer.stop()


def test_5xx_bounced_at_once(postie_factory, dns):
    """A 550 to RCPT fails the recipient at once; the other is delivered."""
    peer = Peer().start()
    peer.rcpt_reply = lambda a: "550 5.1.1 <%s>: Recipient address rejected: User unknown" % a \
        if a.startswith("nobody") else None
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port))
        send(one, ["nobody@peer.test", "bob@peer.test"])
        m = one.wait_for_log(line_rx("nobody@peer.test", re.escape(f"mx.peer.test[127.0.0.1]:{peer.port}"),
                                     "5.1.1", "bounced"), timeout=20)[0]
        assert m.group("text") == (f"host mx.peer.test[127.0.0.1] said: 550 5.1.1 <nobody@peer.test>: "
                                   "Recipient address rejected: User unknown (in reply to RCPT TO command)")
        one.wait_for_log(r"to=<bob@peer\.test>, .*status=sent")
        one.wait_for_log(rf"{m.group('id')}: removed")
        assert peer.messages[0][1] == ["bob@peer.test"]
    finally:
        peer.stop()


def test_5xx_to_end_of_data(postie_factory, dns):
    peer = Peer().start()
    peer.data_reply = "554 5.7.1 Message rejected as spam"
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port))
        send(one, ["bob@peer.test"])
        m = one.wait_for_log(line_rx("bob@peer.test", ".*", "5.7.1", "bounced"), timeout=20)[0]
        assert m.group("text").endswith("(in reply to end of DATA command)")
    finally:
        peer.stop()


@pytest.mark.timeout_s(60)
def test_silent_peer_times_out(postie_factory, dns):
    peer = SilentPeer()
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port, smtp_helo_timeout="2s"))
        send(one, ["bob@peer.test"])
        m = one.wait_for_log(line_rx("bob@peer.test", ".*", "4.4.2", "deferred"), timeout=30)[0]
        assert m.group("text") == ("conversation with mx.peer.test[127.0.0.1] timed out while "
                                   "receiving the initial server greeting")
    finally:
        peer.stop()


def test_greeting_4xx_deferred(postie_factory, dns):
    sink = SmtpSink(extra=["-r", "CONNECT"]).start()
    try:
        one = postie_factory(conf=sender_conf(dns, sink.port))
        send(one, ["bob@peer.test"])
        m = one.wait_for_log(line_rx("bob@peer.test", ".*", "4.3.0", "deferred"), timeout=20)[0]
        assert m.group("text") == ("host mx.peer.test[127.0.0.1] refused to talk to me: "
                                   "450 4.3.0 Error: command failed")
    finally:
        sink.stop()


def test_smtp_sink_pipelining(postie_factory, dns):
    """smtp-sink offers PIPELINING: MAIL, RCPTs and DATA go in one write."""
    sink = SmtpSink().start()
    try:
        one = postie_factory(conf=sender_conf(dns, sink.port))
        send(one, ["a@peer.test", "b@peer.test"])
        one.wait_for_log(line_rx("a@peer.test", re.escape(f"mx.peer.test[127.0.0.1]:{sink.port}"),
                                 "2.0.0", "sent"), timeout=20)
        one.wait_for_log(r"to=<b@peer\.test>, .*status=sent")
        wait_until(lambda: sink.messages(), 5, "smtp-sink's dump")
    finally:
        sink.stop()


def test_implicit_mx(postie_factory, dns):
    """No MX record: the domain's own address (RFC 5321 section 5.1)."""
    port = free_port_on("127.0.0.4")
    peer = Peer(host="127.0.0.4", port=port).start()
    try:
        one = postie_factory(conf=sender_conf(dns, port))
        send(one, ["bob@sink.test"])
        one.wait_for_log(line_rx("bob@sink.test", re.escape(f"sink.test[127.0.0.4]:{port}"),
                                 "2.0.0", "sent"), timeout=20)
    finally:
        peer.stop()


@pytest.mark.parametrize("rcpt, dsn, status, text", [
    ("bob@null.test", "5.1.10", "bounced", "Domain null.test does not accept mail (nullMX)"),
    ("bob@nx.test", "5.4.4", "bounced",
     "Host or domain name not found. Name service error for name=nx.test type=MX: Host not found"),
    ("bob@broken.test", "4.4.3", "deferred",
     "Host or domain name not found. Name service error for name=broken.test type=MX: "
     "Host not found, try again"),
    ("bob@noaddr.test", "5.4.4", "bounced",
     "Host or domain name not found. Name service error for name=mx.noaddr.test type=AAAA: "
     "Host found but no data record of requested type"),
])
def test_dns_failures(postie_factory, dns, rcpt, dsn, status, text):
    one = postie_factory(conf=sender_conf(dns, 25))
    send(one, [rcpt])
    m = one.wait_for_log(line_rx(rcpt, "none", dsn, status), timeout=20)[0]
    assert m.group("text") == text


def test_relayhost_bracketed_skips_mx(postie_factory, dns):
    """relayhost = [host]:port: no MX lookup, that host and port for all."""
    peer = Peer().start()
    try:
        one = postie_factory(conf=sender_conf(dns, 25, relayhost=f"[127.0.0.1]:{peer.port}"))
        send(one, ["bob@nx.test"])  # would bounce through the DNS
        one.wait_for_log(line_rx("bob@nx.test", re.escape(f"127.0.0.1[127.0.0.1]:{peer.port}"),
                                 "2.0.0", "sent"), timeout=20)
    finally:
        peer.stop()


def test_relayhost_host_port_uses_mx(postie_factory, dns):
    """relayhost = host:port: the MX of host, at that port."""
    port = free_port_on("127.0.0.2", "127.0.0.3")
    peer = Peer(host="127.0.0.3", port=port).start()
    try:
        one = postie_factory(conf=sender_conf(dns, 25, relayhost=f"next.test:{port}"))
        send(one, ["bob@elsewhere.example"])
        one.wait_for_log(line_rx("bob@elsewhere.example", re.escape(f"mx2.next.test[127.0.0.3]:{port}"),
                                 "2.0.0", "sent"), timeout=20)
    finally:
        peer.stop()


def test_connection_reused_for_next_message(postie_factory, dns):
    """A second message to the same destination soon after the first goes
    over the same SMTP connection (one EHLO at the peer), and the idle
    connection is closed with QUIT after smtp_connection_cache_time_limit."""
    peer = Peer().start()
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port, smtp_connection_cache_time_limit="5s"))
        send(one, ["a@peer.test"])
        one.wait_for_log(r"to=<a@peer\.test>, .*status=sent", timeout=20)
        send(one, ["b@peer.test"], body="Subject: second\n\nagain\n")
        m = one.wait_for_log(r"postie/smtp\[(\d+)\]: [0-9A-F]+: to=<b@peer\.test>, .*status=sent", timeout=20)[0]
        first = one.wait_for_log(r"postie/smtp\[(\d+)\]: [0-9A-F]+: to=<a@peer\.test>")[0]
        assert m.group(1) == first.group(1)  # the same process, the same session
        assert len(peer.messages) == 2
        assert peer.sessions == 1
    finally:
        peer.stop()


def test_idle_connection_closed_after_time_limit(postie_factory, dns):
    peer = Peer().start()
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port, smtp_connection_cache_time_limit="1s"))
        send(one, ["a@peer.test"])
        one.wait_for_log(r"to=<a@peer\.test>, .*status=sent", timeout=20)
        # the child that held the connection ends
        wait_until(lambda: len(one.group_pids()) == len(one.service_pids()) + 1, 10,
                   "the idle smtp child to quit")
        time.sleep(0.5)
        send(one, ["b@peer.test"])
        one.wait_for_log(r"to=<b@peer\.test>, .*status=sent", timeout=20)
        assert peer.sessions == 2
    finally:
        peer.stop()


@pytest.mark.parametrize("command, stage", [
    ("RCPT", "sending RCPT TO"),
    (".", "sending end of data -- message may be sent more than once"),
])
def test_lost_connection_deferred(postie_factory, dns, command, stage):
    """smtp-sink -q hangs up after a command: deferred with Postfix's text
    for the stage (after the end of data the server may have the message)."""
    sink = SmtpSink(extra=["-q", command]).start()
    try:
        one = postie_factory(conf=sender_conf(dns, sink.port))
        send(one, ["bob@peer.test"])
        m = one.wait_for_log(line_rx("bob@peer.test", ".*", "4.4.2", "deferred"), timeout=20)[0]
        assert m.group("text") == f"lost connection with mx.peer.test[127.0.0.1] while {stage}"
    finally:
        sink.stop()


def test_helo_when_ehlo_refused(postie_factory, dns):
    """RFC 5321 section 3.2: a server that refuses EHLO gets HELO, and the
    mail goes without extensions."""
    peer = Peer().start()
    peer.ehlo_reply = "502 5.5.2 Error: command not recognized"
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port))
        send(one, ["bob@peer.test"])
        one.wait_for_log(r"to=<bob@peer\.test>, .*status=sent", timeout=20)
        assert peer.helo_count == 1
        assert not any(o.startswith("SIZE=") for o in peer.messages[0][3])
    finally:
        peer.stop()


def test_4xx_rcpt_tried_at_next_mx(postie_factory, dns):
    """mx1 greylists (450 to RCPT); the recipient is tried at mx2 in the
    same attempt and delivered there."""
    port = free_port_on("127.0.0.2", "127.0.0.3")
    mx1 = Peer(host="127.0.0.2", port=port).start()
    mx1.rcpt_reply = "450 4.2.0 Greylisted, try again later"
    mx2 = Peer(host="127.0.0.3", port=port).start()
    try:
        one = postie_factory(conf=sender_conf(dns, port))
        send(one, ["bob@next.test"])
        one.wait_for_log(line_rx("bob@next.test", re.escape(f"mx2.next.test[127.0.0.3]:{port}"),
                                 "2.0.0", "sent"), timeout=20)
        assert mx1.messages == [] and len(mx2.messages) == 1
        assert not any("status=deferred" in l for l in one.log_lines())
    finally:
        mx1.stop()
        mx2.stop()


def test_kept_connection_closed_by_server_not_used(postie_factory, dns):
    """The server times the idle connection out (421 and close) before the
    next message: that connection is dropped, a new one takes the mail,
    nothing is deferred."""
    peer = Peer(timeout=1).start()
    try:
        one = postie_factory(conf=sender_conf(dns, peer.port, smtp_connection_cache_time_limit="10s"))
        send(one, ["a@peer.test"])
        one.wait_for_log(r"to=<a@peer\.test>, .*status=sent", timeout=20)
        time.sleep(2.5)
        send(one, ["b@peer.test"])
        one.wait_for_log(r"to=<b@peer\.test>, .*status=sent", timeout=20)
        assert peer.sessions == 2
        assert not any("status=deferred" in l for l in one.log_lines())
    finally:
        peer.stop()


@pytest.mark.parametrize("session_limit", ["1", "2"])
def test_mx_session_limit(postie_factory, dns, session_limit):
    """mx1 greets with 4xx.  With smtp_mx_session_limit = 2 (Postfix's
    default) mx2 gets the mail; with 1 the delivery stops at mx1."""
    port = free_port_on("127.0.0.2", "127.0.0.3")
    mx1 = SmtpSink(host="127.0.0.2", port=port, extra=["-r", "CONNECT"]).start()
    mx2 = Peer(host="127.0.0.3", port=port).start()
    try:
        one = postie_factory(conf=sender_conf(dns, port, smtp_mx_session_limit=session_limit))
        send(one, ["bob@next.test"])
        if session_limit == "2":
            one.wait_for_log(rf"postie/smtp\[\d+\]: [0-9A-F]+: host mx1\.next\.test\[127\.0\.0\.2\] "
                             r"refused to talk to me: 450 ", timeout=20)
            one.wait_for_log(line_rx("bob@next.test", re.escape(f"mx2.next.test[127.0.0.3]:{port}"),
                                     "2.0.0", "sent"))
        else:
            m = one.wait_for_log(line_rx("bob@next.test", re.escape(f"mx1.next.test[127.0.0.2]:{port}"),
                                         "4.3.0", "deferred"), timeout=20)[0]
            assert m.group("text").startswith("host mx1.next.test[127.0.0.2] refused to talk to me: 450")
            assert mx2.sessions == 0
    finally:
        mx1.stop()
        mx2.stop()


@pytest.mark.timeout_s(60)
def test_hung_destination_does_not_stall_others(postie_factory, dns):
    """One destination's server hangs (greeting never comes); mail for
    another destination is delivered meanwhile (a process per delivery)."""
    port = free_port_on("127.0.0.1", "127.0.0.4")
    hung = SilentPeer(host="127.0.0.1", port=port)
    good = Peer(host="127.0.0.4", port=port).start()
    try:
        one = postie_factory(conf=sender_conf(dns, port, smtp_helo_timeout="30s"))
        send(one, ["bob@peer.test"])
        wait_until(lambda: hung.conns, 10, "the hung server to be connected")
        t0 = time.monotonic()
        send(one, ["carol@sink.test"])
        one.wait_for_log(r"to=<carol@sink\.test>, .*status=sent", timeout=10)
        assert time.monotonic() - t0 < 10
        assert not any("to=<bob@peer.test>" in l for l in one.log_lines())  # still waiting
    finally:
        hung.stop()
        good.stop()
