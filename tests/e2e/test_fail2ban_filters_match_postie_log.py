"""fail2ban's filters shipped in contrib/fail2ban/filter.d match postie's
real log lines: a running instance refuses relaying and an unknown user,
and pop3d refuses wrong passwords; fail2ban-regex with the shipped
postie and postie-pop3 filters (on top of the stock postfix and dovecot
filters) must find exactly those events, with the client's address, and
nothing of the normal traffic around them."""

import os
import re

import pytest

from admin_tools import (OUTSIDE, fail2ban_confdir, fail2ban_regex, have_fail2ban,
                         pop3_bad_login, smtp_reject, smtp_send, POP3From)
from postie_env import has_service

pytestmark = [
    pytest.mark.skipif(not have_fail2ban(), reason="needs fail2ban"),
    pytest.mark.skipif(not all(has_service(s) for s in ("smtpd", "local", "pop3d")),
                       reason="needs smtpd, local and pop3d"),
]

PASSWORD = "good-password"


def normal_traffic(env):
    """Mail accepted and delivered, a good POP3 login, a POP3 client that
    never tried a password: none of it is a failure."""
    smtp_send(env, "127.0.0.4", "alice@localhost")
    env.wait_for_mail("alice")
    p = POP3From("127.0.0.4", env.pop3_port)
    p.user("alice")
    p.pass_(PASSWORD)
    p.stat()
    p.quit()
    p = POP3From("127.0.0.4", env.pop3_port)
    p.quit()


@pytest.mark.postie_conf(**OUTSIDE)
def test_shipped_filters_match_exactly_the_refusals_in_postie_log(postie, tmp_path):
    postie.add_user("alice", PASSWORD)
    normal_traffic(postie)
    # Two relay attempts from 127.0.0.2, three unknown users from 127.0.0.3.
    for i in range(2):
        assert smtp_reject(postie, "127.0.0.2", f"victim{i}@remote.example.net") == 554
    for i in range(3):
        assert smtp_reject(postie, "127.0.0.3", f"nobody{i}@localhost") == 550
    # Two failed POP3 logins from 127.0.0.5.
    for _ in range(2):
        pop3_bad_login(postie, "127.0.0.5", "alice")
    normal_traffic(postie)
    postie.wait_for_log(r"pop3-login: Disconnected \(auth failed", count=2)
    postie.wait_for_log(r"pop3-login: Disconnected \(no auth attempts", count=2)
    postie.wait_for_log(r"pop3-login: Login: user=<alice>", count=2)

    log = postie.path("maillog")
    lines = postie.log_lines()
    relay = [l for l in lines if "Relay access denied" in l]
    unknown = [l for l in lines if "User unknown in local recipient table" in l]
    popfail = [l for l in lines if re.search(r"pop3-login: Disconnected \(auth failed", l)]
    assert len(relay) == 2 and len(unknown) == 3 and len(popfail) == 2, "\n".join(lines)

    conf = fail2ban_confdir(tmp_path)
    smtp_matched = fail2ban_regex(conf, log, "postie")
    assert sorted(smtp_matched) == sorted(relay + unknown)
    assert sorted(fail2ban_regex(conf, log, "postie", out="ip")) == \
        ["127.0.0.2"] * 2 + ["127.0.0.3"] * 3

    pop_matched = fail2ban_regex(conf, log, "postie-pop3")
    assert pop_matched == popfail
    assert fail2ban_regex(conf, log, "postie-pop3", out="ip") == ["127.0.0.5"] * 2

    # The filter files are used by path too (fail2ban-regex LOG FILE).
    assert len(fail2ban_regex(conf, log, os.path.join(conf, "filter.d", "postie.conf"))) == 5


def test_sasl_filter_mode_matches_postfix_sasl_failure_lines(tmp_path):
    """postie's smtpd AUTH will write Postfix's SASL failure line; the
    postie filter in mode auth (jail postie-sasl) must match it, the default
    mode must not ban on a success line."""
    log = tmp_path / "maillog"
    log.write_text(
        "Dec  7 10:00:01 vm postie/smtpd[101]: warning: unknown[192.0.2.7]: "
        "SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=bob\n"
        "Dec  7 10:00:02 vm postie/submission/smtpd[102]: warning: host.example[192.0.2.8]: "
        "SASL PLAIN authentication failed: authentication failure\n"
        "Dec  7 10:00:03 vm postie/smtpd[103]: 0123456789AB: client=host.example[192.0.2.9], "
        "sasl_method=PLAIN, sasl_username=bob\n")
    conf = fail2ban_confdir(tmp_path)
    assert fail2ban_regex(conf, str(log), "postie[mode=auth]", out="ip") == \
        ["192.0.2.7", "192.0.2.8"]
    assert fail2ban_regex(conf, str(log), "postie", out="ip") == []
