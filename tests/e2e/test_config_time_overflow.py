"""A time value too large for its unit is bad configuration, refused by
`postie config check` and at start, never wrapped around (issue 14, item 9:
a signed overflow in conf_parse_time found by fuzzing)."""

import os
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


def _check(d, line):
    with open(os.path.join(d, "postie.conf"), "w") as f:
        f.write(line + "\n")
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    return subprocess.run([POSTIE_BIN, "-c", d, "config", "check"], capture_output=True,
                          text=True, timeout=20, env=env)


# 213503982334602 * 86400 is 2^64 + 61184: the old code accepted it as 17 hours.
@pytest.mark.parametrize("value", ["99999999999999999999d", "213503982334602d",
                                   "106751991167301d", "9223372036854775807w",
                                   "2147483648s"])
def test_huge_time_value_is_refused_as_bad_config(confdir, value):
    r = _check(confdir, f"maximal_queue_lifetime = {value}")
    assert r.returncode != 0, r.stdout + r.stderr
    assert f"maximal_queue_lifetime = {value}: not a time value" in r.stderr
    assert "runtime error" not in r.stderr


def test_largest_time_value_is_accepted(confdir):
    r = _check(confdir, "maximal_queue_lifetime = 24855d")
    assert r.returncode == 0, r.stderr
