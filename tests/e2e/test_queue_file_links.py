"""A queue file must be a regular file with one link, owned by the queue's
owner, opened once without following links (issue 14, item 2).  The queue
directories belong to mail_owner, the user smtpd runs as: a compromised
smtpd could plant deferred/ID -> /root/secret, or a hard link to a file it
cannot read, for qmgr and root's local to deliver to it.  Such a file is
warned about and left alone: not delivered, not removed, not retried in a
loop.  These run as any user (as root the planted target is root's)."""

import os
import time
import uuid

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def _queue_file(qid, rcpt, content):
    """A well-formed queue file (docs/queue.md, "Queue file format")."""
    head = (f"V 1\nT {int(time.time() * 1e6)}\nI {qid}\nF mallory@example.org\n"
            f"R - 0 {rcpt}\nC {len(content):020d}\n").encode()
    return head + content + b"\nE\n"


def _plant(postie, kind, tmp_path):
    """A secret file outside the queue, and deferred/ID made a symlink or a
    hard link to it (or, as root, a copy that belongs to root); returns (qid,
    secret path, marker)."""
    marker = "TOP-SECRET-" + uuid.uuid4().hex
    qid = uuid.uuid4().hex[:12].upper()
    # Beside the instance (the same file system, for the hard link); the
    # top directory lets mail_owner in when we are root, as the old code
    # needed to read it.
    secret = os.path.join(postie.tmp, "secret")
    with open(secret, "wb") as f:
        f.write(_queue_file(qid, f"{postie.user}@localhost",
                            f"Subject: stolen\n\n{marker}\n".encode()))
    os.chmod(secret, 0o644)
    # deferred/: the mtime is the next attempt; this one is due.
    os.utime(secret, (time.time() - 60, time.time() - 60))
    planted = postie.path("queue", "deferred", qid)
    if kind == "symlink":
        os.symlink(secret, planted)
    elif kind == "hardlink":
        os.link(secret, planted)
    else:
        # A plain file of another user (root's, in mail_owner's queue).
        with open(planted, "wb") as f:
            f.write(open(secret, "rb").read())
        os.chmod(planted, 0o644)
        os.utime(planted, (time.time() - 60, time.time() - 60))
    return qid, secret, marker


def _delivered(postie):
    return b"".join(postie.maildir_messages())


@pytest.mark.parametrize("kind,why", [
    ("symlink", "is a symbolic link"),
    ("hardlink", "file has 2 links"),
    pytest.param("foreign", r"not owned by the queue owner \(uid \d+\)",
                 marks=pytest.mark.skipif(os.geteuid() != 0,
                                          reason="needs root (another owner)")),
])
def test_unsafe_queue_file_is_never_delivered(postie, tmp_path, kind, why):
    at = len(postie.log_lines())
    qid, secret, marker = _plant(postie, kind, tmp_path)
    before = open(secret, "rb").read()
    # The deferred scan (every queue_run_delay = 1s) finds it.
    postie.wait_for_log(rf"warning: \S*/{qid}: uid \d+: {why}$", start=at, timeout=15)
    # The queue still works: a real message is delivered after it.
    with postie.smtp() as s:
        s.sendmail("alice@example.org", [f"{postie.user}@localhost"],
                   "Subject: real\r\n\r\nreal mail\r\n")
    postie.wait_for_mail()
    time.sleep(1.5)  # a further scan, to see it is not retried in a loop
    assert marker.encode() not in _delivered(postie)
    lines = postie.log_lines()[at:]
    assert not any(f"{qid}: to=<" in l or f"{qid}: removed" in l for l in lines), lines
    warned = [l for l in lines if f"/{qid}: uid " in l]
    assert len(warned) == 1, warned   # once: not retried in a loop
    # Left alone: the link is still in the queue, the target untouched.
    left = [d for d in ("active", "deferred") if os.path.lexists(postie.path("queue", d, qid))]
    assert left, "the planted file was removed"
    assert open(secret, "rb").read() == before
