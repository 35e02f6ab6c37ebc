"""A message over message_size_limit is logged as Postfix logs it (issue
#9): smtpd's "warning: QUEUEID: queue file size limit exceeded" when the
limit is passed, the 552 5.3.4 reply, and no reject line (Postfix writes
none, and pflogsumm/logwatch parse a reject line as a policy rejection).
pflogsumm, run as the docs say (--syslog-name), counts it as a warning and
not as a rejection."""

import re
import shutil
import smtplib
import subprocess

import pytest

from test_smtpd_session import local_rcpt, queue_files, start

WARNING = r"postie/smtpd\[\d+\]: warning: ([0-9A-F]{10,12}): queue file size limit exceeded$"


def send_big(env):
    """smtplib, without the SIZE parameter (which MAIL would refuse first)."""
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=10) as s:
        s.ehlo()
        s.esmtp_features.pop("size", None)
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("a@example.org", [local_rcpt(env)],
                       "Subject: big\r\n\r\n" + ("y" * 70 + "\r\n") * 30)
    return e.value


def assert_postfix_lines(env):
    m = env.wait_for_log(WARNING)[0]
    qid = m.group(1)
    # The ID is the one of the transaction's client= line.
    assert [l for l in env.log_lines() if re.search(rf": {qid}: client=localhost\[", l)]
    assert not [l for l in env.log_lines() if "reject: END-OF-MESSAGE" in l]
    env.wait_for_log(r"disconnect from ")
    assert queue_files(env) == []
    return qid


@pytest.mark.postie_conf(message_size_limit="1000")
def test_too_big_data_is_logged_as_postfix_does(postie):
    e = send_big(postie)
    assert e.smtp_code == 552
    assert e.smtp_error == b"5.3.4 Error: message file too big"
    qid = assert_postfix_lines(postie)
    # The tracer reads it as the end of that message.
    out = postie.postie("log", "trace", qid).stdout
    assert re.search(r"^\s+result: rejected$", out, re.M), out
    # Once per message, however far past the limit it goes.
    assert len([l for l in postie.log_lines() if "queue file size limit" in l]) == 1


@pytest.mark.postie_conf(message_size_limit="1000")
def test_too_big_bdat_is_logged_as_postfix_does(postie):
    with start(postie) as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
        assert r.cmd(f"RCPT TO:<{local_rcpt(postie)}>") == "250 2.1.5 Ok"
        chunk = b"Subject: big\r\n\r\n" + b"z" * 2000 + b"\r\n"
        r.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        assert r.reply() == "552 5.3.4 Error: message file too big"
        assert r.cmd("QUIT") == "221 2.0.0 Bye"
    assert_postfix_lines(postie)


@pytest.mark.skipif(shutil.which("pflogsumm") is None, reason="pflogsumm not installed")
@pytest.mark.postie_conf(message_size_limit="1000")
def test_pflogsumm_counts_it_as_a_warning_not_a_rejection(postie):
    send_big(postie)
    assert_postfix_lines(postie)
    out = subprocess.run(["pflogsumm", "--syslog-name=postie", "--smtpd-warning-detail", "10",
                          postie.path("maillog")], capture_output=True, text=True,
                         timeout=60).stdout
    assert re.search(r"^\s+0\s+rejected\b", out, re.M), out
    warnings = out.split("Warnings", 1)[1]
    assert re.search(r"smtpd \(top 10\) \(total: 1\)\n\s+1\s+[0-9A-F]+: queue file size "
                     r"limit exceeded\n", warnings), out
