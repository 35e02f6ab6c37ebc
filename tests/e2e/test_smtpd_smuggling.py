"""smtpd: SMTP smuggling (CVE-2023-51764) - the end of data is CRLF.CRLF
and nothing else, so a message with a bare-LF "end" inside cannot carry a
second message past the server.  smtpd_forbid_bare_newline as Postfix 3.9:
normalize (the default: accept the line, log it) or reject (521, hang up)."""

import pytest

from test_smtpd_session import local_rcpt, queue_files, queued_id, start

SMUGGLED = ("MAIL FROM:<ceo@example.org>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n"
            "Subject: smuggled\r\n\r\nsecond message\r\n")


@pytest.mark.parametrize("fake_end", ["\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r"],
                         ids=["LF.LF", "CRLF.LF", "LF.CRLF", "CR.CRLF", "CRLF.CR"])
def test_fake_end_of_data_does_not_start_a_second_message(postie, fake_end):
    rcpt = local_rcpt(postie)
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{rcpt}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: first\r\n\r\nfirst message" + fake_end +
               SMUGGLED.format(rcpt=rcpt) + ".\r\nQUIT\r\n")
        qid = queued_id(r.reply())
        assert r.reply() == "221 2.0.0 Bye"
    postie.wait_for_log(rf"{qid}: removed")
    postie.wait_for_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 "
                        r"data=1 quit=1 commands=5$")
    log = postie.log_lines()
    assert len([l for l in log if "message-id=" in l]) == 1
    assert len([l for l in log if ": client=" in l]) == 1
    msgs = postie.maildir_messages()
    assert len(msgs) == 1
    # The would-be second message is text inside the first.
    assert b"first message" in msgs[0] and b"second message" in msgs[0]
    assert b"MAIL FROM:<ceo@example.org>" in msgs[0]
    if "\n" in fake_end.replace("\r\n", ""):
        postie.wait_for_log(r"warning: disallowed bare <LF> received from "
                            r"localhost\[127\.0\.0\.1\] after DATA$")


@pytest.mark.postie_conf(smtpd_forbid_bare_newline="reject")
def test_bare_lf_in_reject_mode_hangs_up_without_queueing(postie):
    rcpt = local_rcpt(postie)
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<alice@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{rcpt}>") == "250 2.1.5 Ok"
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: first\r\n\r\nfirst\n.\n" + SMUGGLED.format(rcpt=rcpt) + ".\r\n")
        rep = r.reply()
        assert rep.startswith("521 5.5.2 ") and "bare <LF> received" in rep, rep
        assert r.closed()
    postie.wait_for_log(r"warning: disallowed bare <LF> received from "
                        r"localhost\[127\.0\.0\.1\] after DATA$")
    postie.wait_for_log(r"disconnect from")
    # (cleanup may have logged the message-id of the headers it saw, as
    # Postfix's does; nothing reached the queue.)
    assert not [l for l in postie.log_lines() if "queue active" in l]
    assert queue_files(postie) == []


@pytest.mark.postie_conf(smtpd_forbid_bare_newline="reject")
def test_bare_lf_command_in_reject_mode_is_refused(postie):
    with start(postie) as r:
        r.send("NOOP\n")
        assert r.reply().startswith("521 5.5.2 ")
        assert r.closed()
    postie.wait_for_log(r"warning: disallowed bare <LF> received from "
                        r"localhost\[127\.0\.0\.1\] after EHLO$")


def test_bare_lf_command_is_accepted_in_normalize_mode(postie):
    with start(postie) as r:
        r.send("NOOP\n")
        assert r.reply() == "250 2.0.0 Ok"
    postie.wait_for_log(r"warning: disallowed bare <LF> received from "
                        r"localhost\[127\.0\.0\.1\] after EHLO$")
