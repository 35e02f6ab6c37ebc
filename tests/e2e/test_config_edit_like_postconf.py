"""Postfix habits for postie.conf (issue 9): postie config -n (postconf -n),
-e 'name = value' (postconf -e), -X name (postconf -X), and listings sorted
by name as postconf sorts them.

-e and -X edit the file in place: comments and every other line stay byte
for byte; the new file replaces the old one by rename (a reader sees one
or the other, never half), with the old file's mode.
"""

import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from postie_env import POSTIE_BIN

TEXT = (
    "# postie.conf of a test\n"
    "myhostname = mx.example.org\n"
    "\n"
    "# the domains we take mail for\n"
    "mydestination = $myhostname,\n"
    "    localhost.example.org,\n"
    "    localhost\n"
    "message_size_limit = 5000\n"
    "relayhost = [old.example.org]:25\n"
)


@pytest.fixture
def confdir():
    d = tempfile.mkdtemp(prefix="postie-e2e-conf-")
    try:
        with open(os.path.join(d, "postie.conf"), "w") as f:
            f.write(TEXT)
        os.chmod(os.path.join(d, "postie.conf"), 0o640)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _postie(d, *args):
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    return subprocess.run([POSTIE_BIN, "-c", d, *args], capture_output=True, text=True,
                          timeout=20, env=env)


def _text(d):
    with open(os.path.join(d, "postie.conf")) as f:
        return f.read()


def test_config_n_prints_the_set_parameters_sorted_like_postconf_n(confdir):
    r = _postie(confdir, "config", "-n")
    assert r.returncode == 0, r.stderr
    want = [
        "message_size_limit = 5000",
        "mydestination = $myhostname, localhost.example.org, localhost",
        "myhostname = mx.example.org",
        "relayhost = [old.example.org]:25",
    ]
    assert r.stdout.splitlines() == want
    assert _postie(confdir, "config").stdout == r.stdout
    # Every listing is sorted by name.
    for args in (["all"], ["-d"]):
        names = [l.split(" = ")[0] for l in _postie(confdir, "config", *args).stdout.splitlines()]
        assert names == sorted(names) and len(names) > 50, args


def test_config_e_replaces_in_place_and_appends_keeping_comments(confdir):
    path = os.path.join(confdir, "postie.conf")
    inode = os.stat(path).st_ino
    r = _postie(confdir, "config", "-e", "mydestination = $myhostname, localhost",
                "relayhost=[new.example.org]:587", "smtpd_timeout = 60s")
    assert r.returncode == 0, r.stderr
    assert _text(confdir) == (
        "# postie.conf of a test\n"
        "myhostname = mx.example.org\n"
        "\n"
        "# the domains we take mail for\n"
        "mydestination = $myhostname, localhost\n"
        "message_size_limit = 5000\n"
        "relayhost = [new.example.org]:587\n"
        "smtpd_timeout = 60s\n"
    )
    st = os.stat(path)
    assert st.st_ino != inode, "not replaced by rename"
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert not [n for n in os.listdir(confdir) if n != "postie.conf"], os.listdir(confdir)
    assert _postie(confdir, "config", "-x", "relayhost").stdout == \
        "relayhost = [new.example.org]:587\n"
    assert _postie(confdir, "config", "check").returncode == 0


def test_config_x_removes_a_parameter_with_its_continuation_lines(confdir):
    r = _postie(confdir, "config", "-X", "mydestination", "relayhost")
    assert r.returncode == 0, r.stderr
    assert _text(confdir) == (
        "# postie.conf of a test\n"
        "myhostname = mx.example.org\n"
        "\n"
        "# the domains we take mail for\n"
        "message_size_limit = 5000\n"
    )
    # Back to the default.
    assert _postie(confdir, "config", "-n").stdout.splitlines() == [
        "message_size_limit = 5000", "myhostname = mx.example.org"]


def test_config_e_refuses_what_is_no_assignment_and_leaves_the_file(confdir):
    for bad in (["-e", "relayhost"], ["-e", "# comment = x"], ["-e", "bad name = 1"],
                ["-X", "relayhost = x"], ["-e"]):
        r = _postie(confdir, "config", *bad)
        assert r.returncode == 64, (bad, r.returncode, r.stderr)
        assert r.stderr
    assert _text(confdir) == TEXT
