"""logwatch reports postie's log with the service files shipped in
contrib/logwatch: the stock Postfix script (service "postie") counts the
mail accepted and delivered and the refusals by kind, the stock Dovecot
script (service "postie-pop3") the POP3 logins and failed logins, and
neither leaves a line of the log unrecognized."""

import re

import pytest

from admin_tools import (OUTSIDE, POP3From, have_logwatch, pop3_bad_login, run_logwatch,
                         smtp_reject, smtp_send)
from postie_env import has_service

pytestmark = [
    pytest.mark.skipif(not have_logwatch(), reason="needs logwatch"),
    pytest.mark.skipif(not all(has_service(s) for s in ("smtpd", "local", "pop3d")),
                       reason="needs smtpd, local and pop3d"),
]


def count(report, label):
    """The number logwatch prints before label (first such line)."""
    m = re.search(r"^\s*(\d+)\s+" + re.escape(label) + r"\b", report, re.M)
    assert m, f"no '{label}' in the report:\n{report}"
    return int(m.group(1))


@pytest.mark.postie_conf(**OUTSIDE)
def test_logwatch_reports_deliveries_refusals_and_pop3_logins(postie, tmp_path):
    postie.add_user("alice", "good-password")
    for i in range(2):
        smtp_send(postie, "127.0.0.4", "alice@localhost", subject=f"m{i}")
    postie.wait_for_mail("alice", count=2)
    for i in range(3):
        assert smtp_reject(postie, "127.0.0.2", f"victim{i}@remote.example.net") == 554
    assert smtp_reject(postie, "127.0.0.3", "nobody@localhost") == 550
    for _ in range(2):
        pop3_bad_login(postie, "127.0.0.5", "alice")
    p = POP3From("127.0.0.4", postie.pop3_port)
    p.user("alice")
    p.pass_("good-password")
    p.quit()
    postie.wait_for_log(r"qmgr\[\d+\]: [0-9A-F]+: removed$", count=2)
    postie.wait_for_log(r"pop3\(alice\).*Disconnected: Logged out")

    smtp = run_logwatch(tmp_path / "smtp", postie.path("maillog"), ["postie"])
    assert "postie (SMTP) Begin" in smtp
    assert count(smtp, "Accepted") == 2
    assert count(smtp, "Delivered") == 2
    assert count(smtp, "5xx Reject relay denied") == 3
    assert count(smtp, "5xx Reject unknown user") == 1
    assert count(smtp, "Rejected") == 4
    assert "127.0.0.2" in smtp and "127.0.0.3" in smtp
    # Every postie line was understood: no "Unrecognized" section, and no
    # pop3d line went to the Postfix script.
    assert "nrecognized" not in smtp, smtp
    assert "pop3-login" not in smtp

    pop = run_logwatch(tmp_path / "pop3", postie.path("maillog"), ["postie-pop3"])
    assert "postie (POP3) Begin" in pop
    assert count(pop, "auth failed, 1 attempts") == 2
    assert re.search(r"alice", pop), pop
    assert "Unmatched" not in pop, pop
