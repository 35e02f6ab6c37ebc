"""Connection slots under a slowloris flood (issue #14, defect 6): 1,000
slow connections from 25 loopback addresses (127.0.1.1 .. 127.0.1.25) fill
every smtpd slot (smtpd_connection_limit = 500) and every pop3d slot
(pop3d_connection_limit = 100); a real client from 127.0.0.1 must still get
its greeting and finish a transaction within a second, because the
quietest connection of the busiest address gives way (global/conn_slots.c).

The whole 127/8 is loopback on Linux, so the flood needs no set-up; each
test raises its own RLIMIT_NOFILE for the 1,000 sockets, and closes them."""

import contextlib
import poplib
import resource
import selectors
import smtplib
import socket
import time

import pytest

FLOOD = 1000
SOURCES = 25


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        want = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        pytest.skip(f"RLIMIT_NOFILE {soft} < {need}")


class Flood:
    """FLOOD non-blocking connections from SOURCES addresses that read what
    the server says and send it a byte now and then, never a whole line."""

    def __init__(self, port, trickle):
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.trickle = trickle
        self.greeted = 0
        self.refused = 0
        for i in range(FLOOD):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((f"127.0.1.{i % SOURCES + 1}", 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            self.socks.append(s)
            self.sel.register(s, selectors.EVENT_READ, [b"", False])

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            for key, _ in self.sel.select(min(left, 0.2)):
                s, st = key.fileobj, key.data
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.sel.unregister(s)
                    continue
                st[0] += data
                if not st[1] and b"\n" in st[0]:
                    st[1] = True
                    if st[0].startswith(self.trickle[0]):
                        self.greeted += 1
                        with contextlib.suppress(OSError):
                            s.send(self.trickle[1])  # a command never finished
                    else:
                        self.refused += 1

    def close(self):
        for s in self.socks:
            s.close()
        self.sel.close()


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


@pytest.mark.timeout_s(60)
@pytest.mark.postie_conf(mynetworks="127.0.0.1/32", smtpd_peername_lookup="no")
def test_smtp_client_is_served_within_a_second_during_a_slowloris_flood(postie):
    raise_nofile(FLOOD + 256)
    t_start = time.monotonic()
    flood = Flood(postie.smtp_port, (b"220 ", b"EH"))
    try:
        flood.pump(6)
        # Every slot is taken by the flood (some refused, some evicted).
        assert flood.greeted >= 500, (flood.greeted, flood.refused)

        def transaction():
            with smtplib.SMTP("127.0.0.1", postie.smtp_port, timeout=1) as c:
                c.ehlo("real.client.test")
                c.sendmail("someone@example.org", [f"{postie.user}@localhost"],
                           b"Subject: during the flood\r\n\r\nhello\r\n")
        took = timed(transaction)
        print(f"smtp: flood greeted {flood.greeted}, refused {flood.refused}; "
              f"real client's transaction took {took:.3f}s")
        assert took < 1.0, took
        flood.pump(1.5)
        postie.wait_for_log(r"postie/smtpd\[\d+\]: connection slots full "
                            r"\(smtpd_connection_limit 500\): evicting an idle connection "
                            r"of an address with \d+ connections \(smtpd pid \d+\) for "
                            r"localhost\[127\.0\.0\.1\]$")
        # 127.0.1.1 is the machine's own name in a Debian /etc/hosts; the
        # other flood addresses have none ("unknown").
        postie.wait_for_log(r"postie/smtpd\[\d+\]: evicted idle connection after CONNECT "
                            r"from [^\s\[]+\[127\.0\.1\.\d+\]: connection slots needed for "
                            r"new clients$")
    finally:
        flood.close()
    assert time.monotonic() - t_start < 30


@pytest.mark.timeout_s(60)
def test_pop3_client_is_served_within_a_second_during_a_slowloris_flood(postie):
    raise_nofile(FLOOD + 256)
    postie.add_user("alice", "flood-Pa55")
    t_start = time.monotonic()
    flood = Flood(postie.pop3_port, (b"+OK", b"US"))
    try:
        flood.pump(8)
        assert flood.greeted >= 100, (flood.greeted, flood.refused)

        def session():
            c = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=1)
            c.user("alice")
            c.pass_("flood-Pa55")
            c.stat()
            c.quit()
        took = timed(session)
        print(f"pop3: flood greeted {flood.greeted}, refused {flood.refused}; "
              f"real client's session took {took:.3f}s")
        assert took < 1.0, took
        postie.wait_for_log(r"postie/pop3d\[\d+\]: pop3-login: Disconnected: Connection "
                            r"queue full \(no auth attempts in \d+ secs\): user=<>, "
                            r"rip=127\.0\.1\.\d+, lip=127\.0\.0\.1")
    finally:
        flood.close()
    assert time.monotonic() - t_start < 30
