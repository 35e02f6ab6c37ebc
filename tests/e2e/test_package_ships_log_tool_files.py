"""The package installs postie's fail2ban and logwatch files, and what it
installs works where fail2ban and logwatch look for it: debian/rules runs
debian/install-contrib.sh on contrib/; every fail2ban and logwatch file
of contrib/ must land under /etc with its mode, and the installed
fail2ban tree must parse with the jails off (Debian's rule: the
administrator turns them on) and on with a jail.d/postie.local."""

import os
import shutil
import stat
import subprocess

import pytest

from admin_tools import FAIL2BAN_ETC, have_fail2ban
from postie_env import REPO

CONTRIB = os.path.join(REPO, "contrib")


def shipped():
    out = []
    for top in ("fail2ban", "logwatch"):
        for d, _, fs in os.walk(os.path.join(CONTRIB, top)):
            out += [os.path.relpath(os.path.join(d, f), CONTRIB) for f in fs
                    if not f.endswith(".md")]
    return sorted(out)


@pytest.fixture
def installed(tmp_path):
    dest = tmp_path / "pkg"
    r = subprocess.run(["sh", os.path.join(REPO, "debian/install-contrib.sh"), CONTRIB,
                        str(dest)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return dest


def test_package_installs_every_fail2ban_and_logwatch_file(installed):
    files = shipped()
    for want in ("fail2ban/filter.d/postie.conf", "fail2ban/filter.d/postie-pop3.conf",
                 "fail2ban/jail.d/postie.conf", "logwatch/conf/services/postie.conf",
                 "logwatch/conf/services/postie-pop3.conf", "logwatch/conf/logfiles/postie.conf",
                 "logwatch/scripts/services/postie", "logwatch/scripts/services/postie-pop3"):
        assert want in files
    for rel in files:
        p = installed / "etc" / rel
        assert p.is_file(), rel
        with open(os.path.join(CONTRIB, rel), "rb") as a, open(p, "rb") as b:
            assert a.read() == b.read(), rel
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if rel.startswith("logwatch/scripts/") else 0o644), (rel, oct(mode))


@pytest.mark.skipif(not have_fail2ban(), reason="needs fail2ban")
def test_installed_jails_are_off_until_a_local_file_turns_them_on(installed, tmp_path):
    conf = tmp_path / "fail2ban"
    shutil.copytree(FAIL2BAN_ETC, conf, ignore=shutil.ignore_patterns("jail.d"))
    shutil.copytree(installed / "etc/fail2ban/jail.d", conf / "jail.d")
    for f in os.listdir(installed / "etc/fail2ban/filter.d"):
        shutil.copy(installed / "etc/fail2ban/filter.d" / f, conf / "filter.d" / f)

    def dump():
        r = subprocess.run(["fail2ban-client", "-c", str(conf), "-d"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    assert "'postie" not in dump()
    log = tmp_path / "postie.log"
    log.write_text("")
    (conf / "jail.d" / "postie.local").write_text(
        f"[postie]\nenabled = true\nlogpath = {log}\n"
        f"[postie-pop3]\nenabled = true\nlogpath = {log}\n")
    d = dump()
    assert "['add', 'postie', 'auto']" in d and "['add', 'postie-pop3', 'auto']" in d, d
    assert "postie-sasl" not in d
