"""postie config check reports every problem in one run (issue 9).

Before, a bad value (not a number, not a time) stopped the check before
the restriction lists, the users file and the alias files were read: a
typo such as reject_unauth_destinaton only showed after the other problems
were fixed.  postfix check, too, says all it finds at once.
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from postie_env import POSTIE_BIN


@pytest.fixture
def confdir():
    d = tempfile.mkdtemp(prefix="postie-e2e-conf-")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _postie(d, *args):
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    return subprocess.run([POSTIE_BIN, "-c", d, *args], capture_output=True, text=True,
                          timeout=20, env=env)


def test_config_check_lists_bad_values_unknown_names_restriction_typos_and_file_errors(confdir):
    with open(os.path.join(confdir, "postie.conf"), "w") as f:
        f.write("\n".join([
            "myhostname = mx.example.org",                                        # 1
            "smtpd_timeout = soon",                                               # 2
            "smtpd_recipient_limt = 100",                                         # 3
            "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destinaton",  # 4
            "message_size_limit = big",                                           # 5
            "maps_rbl_reject_code = 250",                                         # 6
            "",
        ]))
    with open(os.path.join(confdir, "users"), "w") as f:
        f.write("no colon at all\n")
    with open(os.path.join(confdir, "aliases"), "w") as f:
        f.write("postmaster root\n")
    path = os.path.realpath(os.path.join(confdir, "postie.conf"))
    users = os.path.realpath(os.path.join(confdir, "users"))
    aliases = os.path.realpath(os.path.join(confdir, "aliases"))
    r = _postie(confdir, "config", "check")
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    want = [
        (path, 2, r"smtpd_timeout = soon: not a time value"),
        (path, 3, r"unknown parameter: smtpd_recipient_limt"),
        (path, 4, r'smtpd_recipient_restrictions: unknown smtpd restriction: '
                  r'"reject_unauth_destinaton"'),
        (path, 5, r"message_size_limit = big: not a number"),
        (path, 6, r"maps_rbl_reject_code = 250: want a code from 400 to 599"),
        (aliases, 1, r""),
        (users, 1, r""),
    ]
    for (p, line, rx) in want:
        assert any(re.match(re.escape(f"{p}:{line}: ") + rx, l) for l in lines), (p, line, rx, lines)
    problems = [l for l in lines if re.match(r"/\S+:\d+: ", l)]
    assert lines[-1] == f"postie config check: {len(problems)} problems", lines
    assert len(problems) >= len(want)
    # No duplicate warnings about the unknown name on top of the problem line.
    assert not [l for l in lines if "warning" in l and "smtpd_recipient_limt" in l], lines


def test_config_check_still_exits_zero_and_silent_on_a_good_file(confdir):
    with open(os.path.join(confdir, "postie.conf"), "w") as f:
        f.write("myhostname = mx.example.org\nsmtpd_timeout = 5m\n")
    r = _postie(confdir, "config", "check")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
