"""The smtp client never sends a bare CR (RFC 5321 section 2.3.8; issue
#14 defect 5): content that smtpd received with "\\r.\\r" or "\\r.\\r\\n"
inside is relayed with each bare CR as a line end and the dot after it
stuffed, so a next hop that ends lines at a bare CR cannot be made to end
DATA early and read what follows as commands (SMTP smuggling).  The peer
is a raw socket server that keeps the exact octets it received."""

import re

from mail_peers import RawPeer
from postie_env import wait_until
from test_smtpd_session import Raw


def test_bare_cr_in_content_is_relayed_as_crlf_with_the_dot_stuffed(postie_factory):
    peer = RawPeer()
    try:
        env = postie_factory(conf={"relayhost": f"[127.0.0.1]:{peer.port}"})
        with Raw(env.smtp_port) as r:
            assert r.reply().startswith("220 ")
            assert r.cmd("EHLO client.test").startswith("250")
            assert r.cmd("MAIL FROM:<alice@example.org>").startswith("250")
            assert r.cmd("RCPT TO:<bob@far.example>").startswith("250")
            assert r.cmd("DATA").startswith("354")
            r.send(b"Subject: bare cr\r\n\r\nbefore\r.\rMAIL FROM:<evil@example.org>\r\n"
                   b"middle\r.\r\nRCPT TO:<victim@example.org>\r\nend\r\n")
            assert r.cmd(".").startswith("250 2.0.0 Ok: queued as ")
        env.wait_for_log(r"postie/smtp\[\d+\]: [0-9A-F]+: to=<bob@far\.example>, "
                         r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent", timeout=20)
        wait_until(lambda: peer.data, 5, "the peer got the message")
        assert len(peer.data) == 1
        data = peer.data[0]
        assert re.search(rb"\r(?!\n)", data) is None, data    # no bare CR
        assert re.search(rb"(?<!\r)\n", data) is None, data   # no bare LF
        # Each former bare CR is a line end; the dots are stuffed.
        assert b"\r\nbefore\r\n..\r\nMAIL FROM:<evil@example.org>\r\nmiddle\r\n..\r\n" \
               b"RCPT TO:<victim@example.org>\r\nend\r\n" in data, data
        # One transaction: nothing of the content was read as a command.
        assert not any("evil" in c or "victim" in c for c in peer.commands), peer.commands
        assert sum(c.upper().startswith("MAIL") for c in peer.commands) == 1
    finally:
        peer.stop()
