"""pflogsumm reads postie's log when told its syslog name
(--syslog-name=postie, docs/admin-log-tools.md), and then agrees with
`postie log report` on the same log: mail received and delivered, and
refusals from outside clients (relay denied, unknown user).  The same
lines under Postfix's name ("postfix/smtpd") are a Postfix log: postie
log report must give the same totals for it as for postie's own, and
stock pflogsumm (no option) the same as well."""

import json
import re
import shutil
import subprocess

import pytest

from admin_tools import OUTSIDE, smtp_reject, smtp_send
from postie_env import has_service

pytestmark = [
    pytest.mark.skipif(shutil.which("pflogsumm") is None, reason="needs pflogsumm"),
    pytest.mark.skipif(not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
                       reason="needs smtpd, qmgr and local"),
]

FIELDS = (("received", "received"), ("delivered", "delivered"), ("rejected", "rejected"),
          ("bytes received", "bytes_received"), ("bytes delivered", "bytes_delivered"))


def pflogsumm(log, *opts):
    r = subprocess.run(["pflogsumm", *opts, log], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = {}
    for what, key in FIELDS:
        m = re.search(r"^\s*(\d+)\s+" + re.escape(what) + r"(?: \(\d+%\))?\s*$", r.stdout, re.M)
        assert m, (what, r.stdout[:800])
        out[key] = int(m.group(1))
    return out


def report(postie, log):
    r = postie.postie("log", "report", "--json", log)
    assert r.returncode == 0, r.stderr
    t = json.loads(r.stdout)["totals"]
    return {key: t[key] for _, key in FIELDS}


@pytest.mark.postie_conf(**OUTSIDE)
def test_pflogsumm_with_postie_syslog_name_agrees_with_log_report(postie, tmp_path):
    user = postie.user
    for i in range(3):
        smtp_send(postie, "127.0.0.4", f"{user}@localhost", subject=f"m{i}")
    for i in range(2):
        assert smtp_reject(postie, "127.0.0.2", f"victim{i}@remote.example.net") == 554
    assert smtp_reject(postie, "127.0.0.3", "nobody@localhost") == 550
    postie.wait_for_mail(count=3)
    postie.wait_for_log(r"qmgr\[\d+\]: [0-9A-F]+: removed$", count=3)

    log = postie.path("maillog")
    ours = report(postie, log)
    assert (ours["received"], ours["delivered"], ours["rejected"]) == (3, 3, 3)
    assert ours["bytes_received"] > 0
    assert pflogsumm(log, "--syslog-name=postie") == ours

    # The same log as Postfix writes it.
    pf = tmp_path / "mail.log"
    with open(log) as f:
        pf.write_text(re.sub(r"^(\S+ +\d+ \S+ \S+) postie/", r"\1 postfix/", f.read(), flags=re.M))
    assert report(postie, str(pf)) == ours
    assert pflogsumm(str(pf)) == ours
