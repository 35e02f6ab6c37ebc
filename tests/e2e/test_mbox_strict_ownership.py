"""mbox delivery into mail_spool_directory takes over nothing and waits for
no stranger (issue 14, items 1 and 9):

- a mailbox file that exists must be a regular file with one link, owned
  by the recipient; another user's file, even empty, is never given to the
  recipient (Postfix: "destination ... is not owned by recipient"), the
  delivery is deferred;
- a FIFO in its place is refused at once instead of blocking local until
  the delivery timeout;
- a .lock that is not a regular file, or belongs to another user, is not
  honoured for long, even when it is kept fresh;
- the spool directory that postie makes is not world-writable (2775
  root:mail as Debian's /var/mail when run as root).

The delivery timeout is set to 30 s: every deferral asserted here must come
within a few seconds of the message, far sooner."""

import grp
import os
import stat
import threading
import time

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (another owner)")

MBOX = {"home_mailbox": "", "local_delivery_timeout": "30s"}
NOBODY = 65534
QUICK = 8  # seconds: a deferral must come this soon, not at the timeout


def _send(env, rcpt, body="mbox test"):
    with env.smtp() as s:
        s.sendmail("alice@example.org", [rcpt], f"Subject: mbox\r\n\r\n{body}\r\n")


def _deferred(env, rcpt, reason, at, t0):
    [m] = env.wait_for_log(rf"to=<{rcpt}>, relay=local, .*dsn=4\.2\.0, "
                           rf"status=deferred \((.*)\)$", start=at, timeout=QUICK)
    assert reason in m.group(1), m.group(0)
    assert time.monotonic() - t0 < QUICK
    return m


@needs_root
@pytest.mark.postie_conf(mail_user_source="file, system", **MBOX)
def test_precreated_mbox_of_another_user_is_not_adopted(postie, system_user):
    name = system_user.pw_name
    box = postie.path("spool", name)
    # mallory (here: nobody) made alice's mailbox before her first mail.
    with open(box, "w"):
        pass
    os.chown(box, NOBODY, NOBODY)
    os.chmod(box, 0o666)
    at, t0 = len(postie.log_lines()), time.monotonic()
    _send(postie, f"{name}@localhost", "for alice only")
    _deferred(postie, f"{name}@localhost",
              f"destination {os.path.realpath(box)} is not owned by recipient", at, t0)
    st = os.lstat(box)
    assert (st.st_uid, st.st_size) == (NOBODY, 0)   # not taken over, nothing written
    # Once the administrator moves it away, the retry creates her own.
    os.unlink(box)
    postie.postie("queue", "flush")
    postie.wait_for_log(rf"to=<{name}@localhost>, .*status=sent \(delivered to mailbox\)$",
                        start=at, timeout=15)
    st = os.lstat(box)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (system_user.pw_uid, 0o600)
    assert b"for alice only" in open(box, "rb").read()


@pytest.mark.postie_conf(**MBOX)
def test_fifo_as_mbox_is_deferred_at_once(postie):
    box = postie.path("spool", postie.user)
    os.mkfifo(box, 0o666)
    at, t0 = len(postie.log_lines()), time.monotonic()
    _send(postie, f"{postie.user}@localhost")
    _deferred(postie, f"{postie.user}@localhost",
              f"destination {os.path.realpath(box)} is not a regular file", at, t0)
    assert stat.S_ISFIFO(os.lstat(box).st_mode)


def _keep_fresh(path, stop):
    while not stop.is_set():
        try:
            os.utime(path, follow_symlinks=False)
        except OSError:
            pass
        stop.wait(0.3)


@needs_root
@pytest.mark.postie_conf(mail_user_source="file, system", **MBOX)
def test_refreshed_foreign_lock_does_not_stall_delivery(postie, system_user):
    name = system_user.pw_name
    lock = postie.path("spool", name + ".lock")
    with open(lock, "w"):
        pass
    os.chown(lock, NOBODY, NOBODY)
    stop = threading.Event()
    t = threading.Thread(target=_keep_fresh, args=(lock, stop), daemon=True)
    t.start()
    try:
        at, t0 = len(postie.log_lines()), time.monotonic()
        _send(postie, f"{name}@localhost")
        _deferred(postie, f"{name}@localhost",
                  f"dotlock {os.path.realpath(lock)} is owned by uid {NOBODY}, "
                  "not by the recipient", at, t0)
    finally:
        stop.set()
        t.join(5)
    assert os.lstat(lock).st_uid == NOBODY   # a stranger's file is not removed


@pytest.mark.postie_conf(**MBOX)
def test_lock_that_is_not_a_file_does_not_stall_delivery(postie):
    lock = postie.path("spool", postie.user + ".lock")
    os.mkdir(lock)
    at, t0 = len(postie.log_lines()), time.monotonic()
    _send(postie, f"{postie.user}@localhost")
    _deferred(postie, f"{postie.user}@localhost",
              f"dotlock {os.path.realpath(lock)} is not a regular file", at, t0)
    # Gone, the next try delivers.
    os.rmdir(lock)
    postie.postie("queue", "flush")
    postie.wait_for_log(rf"to=<{postie.user}@localhost>, .*status=sent \(delivered to "
                        r"mailbox\)$", start=at, timeout=15)


@pytest.mark.postie_conf(**MBOX)
def test_spool_directory_is_not_world_writable(postie):
    at = len(postie.log_lines())
    _send(postie, f"{postie.user}@localhost")
    postie.wait_for_log(r"status=sent \(delivered to mailbox\)$", start=at)
    st = os.stat(postie.path("spool"))
    assert not st.st_mode & stat.S_IWOTH, oct(st.st_mode)
    if os.geteuid() == 0:
        try:
            mail = grp.getgrnam("mail").gr_gid
        except KeyError:
            assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o755)
        else:
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, mail, 0o2775)
    else:
        assert stat.S_IMODE(st.st_mode) == 0o700
