"""postie log report on postie's own log: a running instance receives and
delivers known mail, then the report read from the configured maillog_file
(no FILE given) must count it, and give the same totals as pflogsumm told
postie's syslog name."""

import json
import re
import shutil
import subprocess

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def send(postie, rcpts, subject):
    s = postie.smtp()
    s.ehlo("client.example.org")
    s.mail("alice@example.org")
    ok = []
    for r in rcpts:
        code, _ = s.rcpt(r)
        if code == 250:
            ok.append(r)
    if ok:
        code, _ = s.data(f"From: alice@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n".encode())
        assert code == 250
    else:
        s.rset()
    s.quit()
    return ok


def test_report_counts_postie_own_log_from_the_configured_file(postie):
    user = postie.user
    sent = 0
    for i in range(3):
        sent += len(send(postie, [f"{user}@localhost"], f"report {i}"))
    assert sent == 3
    # An unknown local recipient next to a good one.
    send(postie, [f"{user}@localhost", "nobody-here@localhost"], "partly")
    postie.wait_for_mail(count=4, timeout=20)
    postie.wait_for_log(r"postie/qmgr\[\d+\]: [0-9A-F]+: removed$", count=4, timeout=20)

    r = postie.postie("log", "report", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    t = d["totals"]
    assert t["received"] == 4
    assert t["delivered"] == 4
    assert t["bytes_received"] > 0 and t["bytes_delivered"] >= t["bytes_received"]
    rejects = sum(1 for l in postie.log_lines() if re.search(r"postie/smtpd\[\d+\]: \S+: reject: ", l))
    assert t["rejected"] == rejects
    assert d["lines"]["unknown"] == 0
    assert d["smtpd"]["connects"] >= 4

    if shutil.which("pflogsumm"):
        p = subprocess.run(["pflogsumm", "--syslog-name=postie", postie.path("maillog")],
                           capture_output=True, text=True, timeout=60).stdout
        for what, key in (("received", "received"), ("delivered", "delivered"),
                          ("rejected", "rejected"), ("bytes received", "bytes_received"),
                          ("bytes delivered", "bytes_delivered")):
            m = re.search(r"^\s*(\d+)\s+" + re.escape(what), p, re.M)
            assert m and int(m.group(1)) == t[key], (what, p[:600])
