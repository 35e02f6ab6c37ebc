"""postie start | status | reload | stop: the daemon, run by a normal user
with the embedded defaults (plus free ports).  When the tests run as root,
the commands run as "nobody", as a normal user would run them."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

from postie_env import POSTIE_BIN, free_port, wait_until, all_pids, proc_ppid, proc_cmdline


class Daemon:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="postie-e2e-daemon-")
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "inst")
        self.port = free_port()
        self.uid = os.getuid()
        self.gid = os.getgid()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.makedirs(self.dir)
        # The normal user must reach the binary: the checkout may sit in a
        # directory only root can enter (/root in CI).
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        os.chmod(bindir, 0o755)
        self.bin = os.path.join(bindir, "postie")
        shutil.copy2(POSTIE_BIN, self.bin)
        os.chmod(self.bin, 0o755)
        with open(os.path.join(self.dir, "postie.conf"), "w") as f:
            f.write(f"smtpd_listen = 127.0.0.1:{self.port}\n"
                    "submission_listen =\npop3d_listen =\nimapd_listen =\n")
        os.chown(self.dir, self.uid, self.gid)
        os.chown(os.path.join(self.dir, "postie.conf"), self.uid, self.gid)

    def _demote(self):
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(self.gid)
            os.setuid(self.uid)

    def run(self, *args, timeout=30):
        env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        return subprocess.run([self.bin, "-c", self.dir, *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=self.tmp,
                              preexec_fn=self._demote)

    def pid(self):
        try:
            with open(os.path.join(self.dir, "data", "master.pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        pid = self.pid()
        if pid and os.path.exists(f"/proc/{pid}"):
            kids = [p for p in all_pids() if proc_ppid(p) == pid]
            for p in [pid] + kids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def daemon():
    d = Daemon()
    try:
        yield d
    finally:
        d.cleanup()


def _uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def test_start_stop_status_reload(daemon):
    r = daemon.run("status")
    assert r.returncode == 1 and "not running" in r.stderr

    r = daemon.run("start")
    assert r.returncode == 0, r.stderr
    assert "the mail system is running" in r.stdout
    # The first start made a user and showed its password once.
    assert re.search(r"made user \S+ with password \S+", r.stdout)
    pid = daemon.pid()
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    # A daemon: its own session, not a child of the command that started it.
    assert os.getsid(pid) != os.getsid(0)
    assert _uid_of(pid) == daemon.uid
    assert re.search(r"postie/master\[%d\]: daemon started -- version \S+, configuration %s$"
                     % (pid, re.escape(os.path.realpath(daemon.dir))), daemon.log(), re.M)

    # The services are forked before start returns; wait until each has
    # become "postie service NAME" (a child between fork and exec is not).
    def services():
        kids = [p for p in all_pids() if proc_ppid(p) == pid]
        ok = kids and all(proc_cmdline(p)[1:2] == ["service"] for p in kids)
        return kids if ok else None
    kids = wait_until(services, 10, "the services to run")
    r = daemon.run("status")
    assert r.returncode == 0, r.stderr
    assert f"master pid {pid}" in r.stdout
    for p in kids:
        assert _uid_of(p) == daemon.uid  # a normal user's services stay that user
        assert str(p) in r.stdout

    r = daemon.run("start")
    assert r.returncode == 1 and "already running" in r.stderr
    assert daemon.pid() == pid

    # A bad value: reload refuses on the terminal, with file and line.
    conf = os.path.join(daemon.dir, "postie.conf")
    good = open(conf).read()
    with open(conf, "a") as f:
        f.write("smtpd_timeout = forever\n")
    r = daemon.run("reload")
    assert r.returncode == 1
    assert re.search(r"postie: \S+postie\.conf:\d+: smtpd_timeout = forever: not a time value",
                     r.stderr), r.stderr
    with open(conf, "w") as f:
        f.write(good)

    r = daemon.run("reload")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: re.search(r"postie/master\[%d\]: reload -- version" % pid,
                                 daemon.log()), 10, "the reload log line")
    assert daemon.run("status").returncode == 0

    r = daemon.run("stop")
    assert r.returncode == 0, r.stderr
    # stop returns when master is gone, so stop; start works in a script.
    assert not os.path.exists(f"/proc/{pid}") or \
        open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert re.search(r"postie/master\[%d\]: terminating on signal 15$" % pid, daemon.log(), re.M)
    for p in kids:
        wait_until(lambda: not os.path.exists(f"/proc/{p}"), 10, f"service {p} to end")
    r = daemon.run("status")
    assert r.returncode == 1 and "not running" in r.stderr
    r = daemon.run("stop")
    assert r.returncode == 1 and "not running" in r.stderr

    # And it starts again on the same instance, without a second user.
    r = daemon.run("start")
    assert r.returncode == 0, r.stderr
    assert "made user" not in r.stdout
    assert daemon.run("stop").returncode == 0


def test_start_fails_loudly_when_the_port_is_taken(daemon):
    import socket
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", daemon.port))
        busy.listen(1)
        r = daemon.run("start")
    from postie_env import has_service
    if not has_service("smtpd"):
        pytest.skip("smtpd not in this build yet: nothing binds the port")
    assert r.returncode == 1
    assert f"bind 127.0.0.1:{daemon.port}: Address already in use" in r.stderr
    assert "did not start" in r.stderr
    assert daemon.run("status").returncode == 1


def test_stale_pid_file_after_kill_9_does_not_block_a_start(daemon):
    r = daemon.run("start")
    assert r.returncode == 0, r.stderr
    pid = daemon.pid()
    kids = [p for p in all_pids() if proc_ppid(p) == pid]
    for p in [pid] + kids:
        os.kill(p, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, "master to die")
    # The pid file is still there, but nobody holds its lock.
    assert os.path.exists(os.path.join(daemon.dir, "data", "master.pid"))
    assert daemon.run("status").returncode == 1
    r = daemon.run("start")
    assert r.returncode == 0, r.stderr
    assert daemon.pid() != pid
    assert daemon.run("stop").returncode == 0


def test_start_without_c_uses_postie_data_in_the_current_directory(daemon):
    if os.path.exists("/etc/postie/postie.conf"):
        pytest.skip("a system instance exists: it is the default")
    # The instance serve would make: ./postie-data, here with a free port.
    inst = os.path.join(daemon.tmp, "postie-data")
    os.rename(daemon.dir, inst)
    daemon.dir = inst
    env = {k: v for k, v in os.environ.items() if k != "MAIL_CONFIG"}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")

    def run(*args):
        return subprocess.run([daemon.bin, *args], capture_output=True, text=True,
                              timeout=30, env=env, cwd=daemon.tmp, preexec_fn=daemon._demote)
    r = run("start")
    assert r.returncode == 0, r.stderr
    assert f"configuration {os.path.realpath(inst)}" in r.stdout
    assert r.stderr == ""
    r = run("status")
    assert r.returncode == 0 and f"configuration {os.path.realpath(inst)}" in r.stdout
    assert run("stop").returncode == 0
    assert run("status").returncode == 1
