"""fail2ban's jails shipped in contrib/fail2ban/jail.d ban a client of
postie after maxretry failures, and not before: a real fail2ban-server,
run with a private configuration, socket, pid file and database in a
temporary directory and the dummy action (no firewall is touched), reads
a running instance's log.  The shipped jail file is used as is; a
jail.d/postie.local turns the jails on and points them at the test log,
as docs/admin-log-tools.md tells an administrator to do."""

import os
import re
import signal
import subprocess
import time

import pytest

from admin_tools import (OUTSIDE, fail2ban_confdir, fail2ban_regex, have_fail2ban,
                         pop3_bad_login, smtp_reject)
from postie_env import has_service, wait_until

pytestmark = [
    pytest.mark.skipif(not have_fail2ban(), reason="needs fail2ban"),
    pytest.mark.skipif(not all(has_service(s) for s in ("smtpd", "pop3d")),
                       reason="needs smtpd and pop3d"),
]

MAXRETRY = 3


class Fail2ban:
    """fail2ban-server on a private configuration directory."""

    def __init__(self, tmp, log):
        self.tmp = str(tmp)
        self.conf = fail2ban_confdir(tmp)
        self.sock = os.path.join(self.tmp, "f2b.sock")
        self.pidfile = os.path.join(self.tmp, "f2b.pid")
        self.dummy = os.path.join(self.tmp, "dummy-actions")
        with open(os.path.join(self.conf, "fail2ban.local"), "w") as f:
            f.write("[Definition]\n"
                    f"logtarget = {self.tmp}/fail2ban.log\n"
                    f"socket = {self.sock}\n"
                    f"pidfile = {self.pidfile}\n"
                    "dbfile = :memory:\n")
        with open(os.path.join(self.conf, "jail.d", "postie.local"), "w") as f:
            f.write("[DEFAULT]\n"
                    "ignoreself = false\n"  # loopback clients are ours
                    "ignoreip =\n"
                    f"action = dummy[target=\"{self.dummy}\"]\n"
                    f"maxretry = {MAXRETRY}\n"
                    "findtime = 1h\n"
                    "bantime = 1h\n"
                    "backend = polling\n"
                    "[postie]\nenabled = true\n"
                    f"logpath = {log}\n"
                    "[postie-pop3]\nenabled = true\n"
                    f"logpath = {log}\n")

    def client(self, *args, timeout=30):
        return subprocess.run(["fail2ban-client", "-c", self.conf, "-s", self.sock,
                               "-p", self.pidfile, *args],
                              capture_output=True, text=True, timeout=timeout)

    def start(self):
        r = self.client("-x", "start", timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr + self.server_log()
        wait_until(lambda: self.client("ping").returncode == 0, 20, "fail2ban-server")

    def status(self, jail):
        r = self.client("status", jail)
        assert r.returncode == 0, r.stdout + r.stderr
        total = int(re.search(r"Total failed:\s*(\d+)", r.stdout).group(1))
        banned = re.search(r"Banned IP list:\s*(.*)$", r.stdout, re.M).group(1).split()
        return total, banned

    def server_log(self):
        try:
            with open(os.path.join(self.tmp, "fail2ban.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        """Always leaves no server running."""
        try:
            self.client("stop", timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_status(f2b, jail, total, timeout=30):
    """Wait until the jail has counted total failures; its status then."""
    return wait_until(lambda: (lambda s: s if s[0] >= total else None)(f2b.status(jail)),
                      timeout, f"{jail}: {total} failures counted")


@pytest.fixture
def fail2ban(postie, tmp_path):
    f2b = Fail2ban(tmp_path, postie.path("maillog"))
    try:
        f2b.start()
        yield f2b
    finally:
        f2b.stop()


@pytest.mark.postie_conf(**OUTSIDE)
def test_postie_jail_bans_a_client_after_maxretry_smtp_refusals(postie, fail2ban):
    # One failure short of the limit from 127.0.0.3, then the limit from
    # 127.0.0.2 (relay attempts and unknown users mixed).
    for i in range(MAXRETRY - 1):
        assert smtp_reject(postie, "127.0.0.3", f"victim{i}@remote.example.net") == 554
    for i in range(MAXRETRY):
        rcpt = f"victim{i}@remote.example.net" if i % 2 else f"nobody{i}@localhost"
        assert smtp_reject(postie, "127.0.0.2", rcpt) in (550, 554)

    total, banned = wait_status(fail2ban, "postie", 2 * MAXRETRY - 1)
    wait_until(lambda: "127.0.0.2" in fail2ban.status("postie")[1], 30,
               "127.0.0.2 banned")
    total, banned = fail2ban.status("postie")
    assert banned == ["127.0.0.2"], fail2ban.server_log()
    assert total == 2 * MAXRETRY - 1
    # fail2ban-regex counts the same failures in the same log.
    ips = fail2ban_regex(fail2ban.conf, postie.path("maillog"), "postie", out="ip")
    assert sorted(ips) == ["127.0.0.2"] * MAXRETRY + ["127.0.0.3"] * (MAXRETRY - 1)
    # The ban went through the action (dummy: a "+ADDR" line).
    with open(fail2ban.dummy) as f:
        assert "+127.0.0.2" in f.read().split()
    # The POP3 jail saw none of it.
    assert fail2ban.status("postie-pop3") == (0, [])


@pytest.mark.postie_conf(**OUTSIDE)
def test_postie_pop3_jail_bans_a_client_after_maxretry_failed_logins(postie, fail2ban):
    postie.add_user("alice", "good-password")
    for _ in range(MAXRETRY - 1):
        pop3_bad_login(postie, "127.0.0.3", "alice")
    for _ in range(MAXRETRY):
        pop3_bad_login(postie, "127.0.0.2", "alice")

    wait_status(fail2ban, "postie-pop3", 2 * MAXRETRY - 1)
    wait_until(lambda: "127.0.0.2" in fail2ban.status("postie-pop3")[1], 30,
               "127.0.0.2 banned")
    total, banned = fail2ban.status("postie-pop3")
    assert banned == ["127.0.0.2"], fail2ban.server_log()
    assert total == 2 * MAXRETRY - 1
    ips = fail2ban_regex(fail2ban.conf, postie.path("maillog"), "postie-pop3", out="ip")
    assert sorted(ips) == ["127.0.0.2"] * MAXRETRY + ["127.0.0.3"] * (MAXRETRY - 1)
    assert fail2ban.status("postie") == (0, [])
