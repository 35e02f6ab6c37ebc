"""smtpd refuses command lines that string functions would read otherwise
than the client meant (issue #14.4): a NUL inside a command (never
truncated at it), and malformed UTF-8 in an SMTPUTF8 address (RFC 6531
section 3.3, RFC 3629): latin-1 octets, overlong forms, surrogates, code
points past U+10FFFF.  Postfix's replies: 500 5.5.2 Error: bad syntax,
500 5.5.2 Error: bad UTF-8 syntax."""

import pytest

from test_smtpd_session import local_rcpt, start


def test_nul_in_rcpt_is_refused_not_truncated(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        r.send(b"RCPT TO:<" + local_rcpt(postie).encode() + b">\x00<x@far.example>\r\n")
        assert r.reply() == "500 5.5.2 Error: bad syntax"
        # Nothing of it was taken as a recipient.
        assert r.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    postie.wait_for_log(r"postie/smtpd\[\d+\]: warning: disallowed <NUL> received from "
                        r"localhost\[127\.0\.0\.1\] after MAIL$")
    assert not [l for l in postie.log_lines() if ": client=" in l]


def test_nul_anywhere_in_a_command_is_refused(postie):
    with start(postie) as r:
        r.send(b"NOOP\x00\r\n")
        assert r.reply() == "500 5.5.2 Error: bad syntax"
        r.send(b"MAIL FROM:<a@example.org\x00>\r\n")
        assert r.reply() == "500 5.5.2 Error: bad syntax"


MALFORMED = {
    "latin-1": b"j\xf6rg@example.org",
    "overlong slash": b"a\xc0\xafb@example.org",
    "overlong 3-byte": b"a\xe0\x80\xafb@example.org",
    "surrogate": b"a\xed\xa0\x80b@example.org",
    "past U+10FFFF": b"a\xf4\x90\x80\x80b@example.org",
    "truncated": b"a\xe2\x82@example.org",
    "stray continuation": b"a\x80b@example.org",
}


@pytest.mark.parametrize("addr", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_utf8_sender_is_refused(postie, addr):
    with start(postie) as r:
        r.send(b"MAIL FROM:<" + addr + b"> SMTPUTF8\r\n")
        assert r.reply() == "500 5.5.2 Error: bad UTF-8 syntax"
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    postie.wait_for_log(r"warning: malformed UTF-8 received from localhost\[127\.0\.0\.1\] "
                        r"after EHLO$")


def test_malformed_utf8_recipient_is_refused(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org> SMTPUTF8") == "250 2.1.0 Ok"
        r.send(b"RCPT TO:<j\xf6rg@localhost>\r\n")
        assert r.reply() == "500 5.5.2 Error: bad UTF-8 syntax"
    postie.wait_for_log(r"warning: malformed UTF-8 received from localhost\[127\.0\.0\.1\] "
                        r"after MAIL$")


def test_wellformed_utf8_address_is_still_accepted(postie):
    with start(postie) as r:
        r.send("MAIL FROM:<jörg@exämple.org> SMTPUTF8\r\n".encode())
        assert r.reply() == "250 2.1.0 Ok"
        r.send("RCPT TO:<" + local_rcpt(postie) + ">\r\n")
        assert r.reply() == "250 2.1.5 Ok"
