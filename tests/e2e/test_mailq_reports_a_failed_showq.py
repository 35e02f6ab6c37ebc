"""mailq for a user who cannot read the queue never reads a failure as an
empty queue (issue 9).

Such a user gets the listing from pickup's showq service, whose child runs
the postie binary again as mail_owner.  When that fails (the binary cannot
be run, the lister cannot read the queue, the service is not there or not
open to the user), mailq must say why, as Postfix's postqueue does
("Queue report unavailable - ..."), and exit non-zero; before, it printed
nothing and exited 0 with mail in the queue.

"Another user" is, as root, nobody (with public/ opened to it so that no
setgid helper is needed); as a normal user, the same user with deferred/
closed (mode 000), which sends mailq to showq just the same.
"""

import os
import re
import shutil
import stat
import subprocess

import pytest

from postie_env import PostieEnv

REMOTE = "someone@example.net"
CONF = {"relayhost": "[127.0.0.1]:9"}
ROOT = os.geteuid() == 0


def run(env, *args, input=None, as_other=False):
    e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", TZ="UTC", MAIL_CONFIG=env.dir)
    cmd = [env.client_bin if hasattr(env, "client_bin") else env.bin, *args]
    if as_other and ROOT:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + cmd
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=30, env=e)


def submit_deferred(env):
    r = run(env, "sendmail", REMOTE, input="Subject: stuck\n\nbody\n")
    assert r.returncode == 0, r.stderr
    qid = env.wait_for_log(r"pickup\[\d+\]: ([0-9A-F]{12}): uid=")[-1].group(1)
    env.wait_for_log(qid + r": to=<%s>.*status=deferred" % re.escape(REMOTE), timeout=20)
    return qid


class OtherUser:
    """Make mailq go through showq: as root, nobody may enter public/ but
    not read the queue; as a user, deferred/ is closed to ourselves."""

    def __init__(self, env):
        self.env = env
        self.public = env.path("queue", "public")
        self.deferred = env.path("queue", "deferred")

    def __enter__(self):
        self.public_mode = stat.S_IMODE(os.stat(self.public).st_mode)
        self.deferred_mode = stat.S_IMODE(os.stat(self.deferred).st_mode)
        if ROOT:
            os.chmod(self.public, 0o711)
            os.chmod(self.env.path("postie.conf"), 0o644)
        else:
            os.chmod(self.deferred, 0)
        return self

    def __exit__(self, *exc):
        os.chmod(self.public, self.public_mode)
        os.chmod(self.deferred, self.deferred_mode)


def instance_from_copy(postie_factory):
    """An instance whose services run a copy of the binary that the test
    may then make unexecutable; the client commands run the real one."""
    env = postie_factory(conf=dict(CONF), start=False)
    bindir = os.path.join(env.tmp, "bin")
    os.makedirs(bindir)
    os.chmod(bindir, 0o755)
    copy = os.path.join(bindir, "postie")
    shutil.copy(env.bin, copy)
    os.chmod(copy, 0o755)
    env.client_bin = env.bin
    env.bin = copy
    env.start()
    return env, copy


def assert_failed_loudly(r, *words):
    assert r.returncode != 0, (r.returncode, r.stdout, r.stderr)
    assert "Queue report unavailable" in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    # Nothing that reads as a queue listing, above all not an empty one.
    assert "Mail queue is empty" not in r.stdout, r.stdout


def test_mailq_fails_loudly_when_showq_cannot_run_the_lister(postie_factory):
    env, copy = instance_from_copy(postie_factory)
    submit_deferred(env)
    # The services keep running; the showq child's exec now fails (by
    # path and by /proc/self/exe alike: the mode is the inode's).
    os.chmod(copy, 0)
    try:
        with OtherUser(env):
            for args in (["mailq"], ["mailq", "-j"]):
                r = run(env, *args, as_other=True)
                assert_failed_loudly(r, "showq service", "cannot run", "Permission denied")
                assert r.stdout == "", r.stdout
    finally:
        os.chmod(copy, 0o755)
    env.wait_for_log(r"postie/pickup\[\d+\]: warning: showq: cannot run %s: Permission denied"
                     % re.escape(copy))


def test_mailq_fails_loudly_when_the_lister_cannot_read_the_queue(postie_factory):
    env = postie_factory(conf=dict(CONF))
    submit_deferred(env)
    deferred = env.path("queue", "deferred")
    with OtherUser(env):
        mode = stat.S_IMODE(os.stat(deferred).st_mode)
        os.chmod(deferred, 0)  # closed to mail_owner too
        try:
            r = run(env, "mailq", as_other=True)
        finally:
            os.chmod(deferred, mode)
    assert_failed_loudly(r, "cannot read the queue", "Permission denied")


def test_mailq_says_the_mail_system_is_down_when_showq_is_not_running(postie_factory):
    env = postie_factory(conf=dict(CONF))
    submit_deferred(env)
    env.stop()
    with OtherUser(env):
        r = run(env, "mailq", as_other=True)
    assert_failed_loudly(r, "mail system is down", "Connect to the postie showq service")
    assert r.returncode == 69, r.returncode  # EX_UNAVAILABLE, as postqueue


def test_mailq_names_missing_permission_not_a_stopped_system(postie_factory):
    """The system runs, but public/ is closed to this user and there is no
    setgid helper: the reason is the permission, not "is postie running?"."""
    if not ROOT:
        pytest.skip("needs root to be another user")
    env = postie_factory(conf=dict(CONF))
    submit_deferred(env)
    os.chmod(env.path("postie.conf"), 0o644)
    r = run(env, "mailq", as_other=True)
    assert_failed_loudly(r, "Permission denied", "showq")
    assert "running" not in r.stderr and "down" not in r.stderr, r.stderr
    assert r.returncode == 77, r.returncode  # EX_NOPERM


def test_mailq_through_showq_works_when_the_binary_path_is_closed_to_mail_owner(postie_factory):
    """A build under a mode-700 home: mail_owner cannot reach the binary by
    its path, but the showq child still runs it (/proc/self/exe)."""
    if not ROOT:
        pytest.skip("needs root: the services must run as another user")
    env = postie_factory(conf=dict(CONF), start=False)
    home = os.path.join(env.tmp, "home700")
    os.makedirs(home)
    os.chmod(home, 0o700)
    copy = os.path.join(home, "postie")
    shutil.copy(env.bin, copy)
    env.client_bin = env.bin
    env.bin = copy
    env.start()
    qid = submit_deferred(env)
    with OtherUser(env):
        r = run(env, "mailq", as_other=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-Queue ID-  --Size--"), r.stdout
    assert qid in r.stdout and REMOTE in r.stdout
