"""postie config (postconf -n) and postie config check (postfix check)."""

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


def _write(d, text):
    with open(os.path.join(d, "postie.conf"), "w") as f:
        f.write(text)
    return os.path.realpath(os.path.join(d, "postie.conf"))


def _postie(d, *args):
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    return subprocess.run([POSTIE_BIN, "-c", d, *args], capture_output=True, text=True,
                          timeout=20, env=env)


def test_config_check_reports_file_and_line(confdir):
    path = _write(confdir, "\n".join([
        "# a comment",                              # 1
        "myhostname = mx.example.org",              # 2
        "mydestination = $myhostname, localhost",   # 3
        "message_size_limit = ten",                 # 4
        "smtpd_recipient_limt = 100",               # 5 (a typo)
        "queue_run_delay = 5x",                     # 6
        "this line has no equals sign",             # 7
        "disable_vrfy_command = maybe",             # 8
        "smtpd_listen = 127.0.0.1:2525,",           # 9
        "    [::1]:70000",                          # 10 (continues 9)
        "inet_protocols = ipv5",                    # 11
        "",
    ]))
    r = _postie(confdir, "config", "check")
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    want = [
        (4, r"message_size_limit = ten: not a number"),
        (5, r"unknown parameter: smtpd_recipient_limt"),
        (6, r"queue_run_delay = 5x: not a time value"),
        (7, r"missing '=' after parameter name"),
        (8, r"disable_vrfy_command = maybe: not yes or no"),
        (9, r"smtpd_listen = .*\[::1\]:70000.*port must be a number from 1 to 65535"),
        (11, r"inet_protocols = ipv5: expected all, ipv4 or ipv6"),
    ]
    for (line, rx) in want:
        assert any(re.match(re.escape(f"{path}:{line}: ") + rx, l) for l in lines), (line, rx, lines)
    # One line per problem, in file order, then the count.
    got_lines = [int(m.group(1)) for m in (re.match(re.escape(path) + r":(\d+): ", l) for l in lines) if m]
    assert got_lines == sorted(got_lines) == [w[0] for w in want]
    assert lines[-1] == f"postie config check: {len(want)} problems"
    # Lines 2 and 3 are fine and not mentioned.
    assert not [l for l in lines if l.startswith(f"{path}:2:") or l.startswith(f"{path}:3:")]


def test_config_check_is_silent_and_zero_on_a_good_file(confdir):
    _write(confdir, "myhostname = mx.example.org\nsmtpd_listen = 2525, [::1]:2526, 127.0.0.1:2527\n"
                    "inet_interfaces = loopback-only\nqueue_run_delay = 5m\n"
                    "mail_owner = nobody\n")
    r = _postie(confdir, "config", "check")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_config_check_of_a_made_instance_is_clean(postie):
    r = postie.postie("config", "check")
    assert (r.returncode, r.stderr) == (0, "")
    # Also the commented file serve writes on its own.
    d = os.path.join(postie.tmp, "fresh")
    os.makedirs(d)
    shutil.copy(postie.path("postie.conf"), d)
    r = _postie(d, "config", "check")
    assert r.returncode == 0, r.stderr


def test_config_prints_only_changed_values_like_postconf_n(confdir):
    _write(confdir, "# comment\nmyhostname = mx.example.org\nmydestination = $myhostname, localhost\n"
                    "message_size_limit = 5000\n")
    r = _postie(confdir, "config")
    assert r.returncode == 0
    # Sorted by name, as postconf -n sorts.
    assert r.stdout.splitlines() == [
        "message_size_limit = 5000",
        "mydestination = $myhostname, localhost",
        "myhostname = mx.example.org",
    ]
    # Named values: raw, -x expanded, -d the default.
    assert _postie(confdir, "config", "mydestination").stdout == "mydestination = $myhostname, localhost\n"
    assert _postie(confdir, "config", "-x", "mydestination").stdout == \
        "mydestination = mx.example.org, localhost\n"
    assert _postie(confdir, "config", "-d", "message_size_limit").stdout == \
        "message_size_limit = 10240000\n"
    r = _postie(confdir, "config", "no_such_parameter")
    assert r.returncode != 0 and "unknown parameter: no_such_parameter" in r.stderr
    # "all" lists every parameter, including the untouched ones.
    allv = _postie(confdir, "config", "all").stdout
    assert "queue_directory = queue\n" in allv and "myhostname = mx.example.org\n" in allv


def test_config_check_reports_an_unreadable_or_missing_file(confdir):
    r = _postie(os.path.join(confdir, "nope"), "config", "check")
    assert r.returncode != 0
    assert "postie.conf: cannot read" in r.stderr


def test_config_check_reports_users_and_aliases_with_file_and_line(postie):
    users = postie.path("users")
    with open(users, "a") as f:
        f.write("# a comment\n")
        f.write("bad user:{PLAIN}x\n")
        f.write(f"{postie.user}:{{SHA512-CRYPT}}$6$x$y\n")
    with open(postie.path("aliases"), "a") as f:
        f.write("no colon here\n")
    r = postie.postie("config", "check")
    assert r.returncode == 1
    n_users = len(open(users).read().splitlines())
    n_aliases = len(open(postie.path("aliases")).read().splitlines())
    lines = r.stderr.splitlines()
    assert any(l.startswith(f"{os.path.realpath(users)}:{n_users - 1}: ") for l in lines), lines
    assert any(l.startswith(f"{os.path.realpath(users)}:{n_users}: user {postie.user} is defined again")
               for l in lines), lines
    assert any(l.startswith(f"{os.path.realpath(postie.path('aliases'))}:{n_aliases}: ")
               for l in lines), lines
    assert lines[-1] == "postie config check: 3 problems"
