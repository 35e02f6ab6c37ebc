"""postie queue / mailq on a queue filled by the test itself (issue 3).

The queue files are written here in the format of docs/queue.md, so these
tests need no running system: they check the listing to the character, the
JSON, each postsuper-like change and its log line, and that bad input
(unknown ID, invalid ID, an unprivileged user, a message being delivered)
gets a clear message, the right exit code, and changes nothing.
"""

import json
import os
import pwd
import re
import socket
import subprocess
import time

import pytest

from postie_env import PostieEnv

QUEUES = ["maildrop", "incoming", "active", "deferred", "hold", "corrupt",
          "defer", "public", "private"]

# Sun Nov 23 16:35:08 2025 UTC, and a microsecond part per message.
T0 = 1763915708


def qid(sec, usec):
    return "%07X%05X" % (sec & 0xFFFFFFF, usec)


class Queue:
    """A stopped instance whose queue the test fills by hand."""

    def __init__(self):
        self.env = PostieEnv(start=False)
        self.qdir = self.env.path("queue")
        for q in QUEUES:
            os.makedirs(os.path.join(self.qdir, q), exist_ok=True)
        self.n = 0

    def add(self, queue, sender="alice@example.org", rcpts=("bob@example.org",),
            content="Subject: test\nFrom: alice@example.org\n\nhello\n",
            status=None, reasons=None, arrival=None):
        self.n += 1
        sec = arrival if arrival is not None else T0 + self.n
        usec = self.n
        ident = qid(sec, usec)
        status = status or "-" * len(rcpts)
        head = f"V 1\nT {sec * 1000000 + usec}\nI {ident}\nF {sender}\n"
        head += "A client_name=localhost\n"
        for i, r in enumerate(rcpts):
            head += f"R {status[i]} {i} {r}\n"
        body = content.encode()
        data = head.encode() + b"C %020d\n" % len(body) + body + b"\nE\n"
        path = os.path.join(self.qdir, queue, ident)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o700)
        if reasons:
            with open(os.path.join(self.qdir, "defer", ident), "w") as f:
                for addr, why in reasons:
                    f.write(f"{addr}\t4.0.0\t{why}\n")
        return ident

    def where(self, ident):
        return [q for q in QUEUES if os.path.exists(os.path.join(self.qdir, q, ident))]

    def run(self, *args, input=None, user=None):
        env = dict(os.environ, TZ="UTC", ASAN_OPTIONS="detect_leaks=0")
        cmd = [self.env.bin, "-c", self.env.dir, *args]
        if user:
            if os.geteuid() != 0:
                pytest.skip("needs root to run a command as another user")
            pw = pwd.getpwnam(user)
            cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd]
        return subprocess.run(cmd, input=input, capture_output=True, text=True,
                              timeout=30, env=env)

    def log(self):
        try:
            with open(os.path.join(self.env.dir, "maillog")) as f:
                return f.read()
        except OSError:
            return ""


@pytest.fixture
def queue():
    q = Queue()
    yield q
    q.env.cleanup()


def test_empty_queue_says_so(queue):
    r = queue.run("queue", "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Mail queue is empty\n"
    r = queue.run("mailq")
    assert r.stdout == "Mail queue is empty\n"


def test_mailq_shows_active_deferred_held_in_postfix_format(queue):
    a = queue.add("active", sender="root@example.org", rcpts=("sre@example.net",),
                  content="x" * 2000)
    d = queue.add("deferred", rcpts=("oncall@example.net", "ops@example.net"),
                  reasons=[("oncall@example.net",
                            "connect to mx1.example.net[203.0.113.25]:25: Connection timed out")],
                  content="y" * 1000)
    h = queue.add("hold", sender="", rcpts=("a@example.com",), content="z" * 100)
    queue.add("active", rcpts=("done@example.com",), status="D")  # nothing left: no recipient lines
    r = queue.run("queue", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"
    pad = " " * 41
    reason = "connect to mx1.example.net[203.0.113.25]:25: Connection timed out"
    want = [
        "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------",
        f"{a}*    2000 Sun Nov 23 16:35:09  root@example.org",
        f"{pad}sre@example.net",
        "",
    ]
    got = r.stdout.split("\n\n")
    assert got[0].split("\n") == want[:3]
    assert f"{d}    1000 Sun Nov 23 16:35:10  alice@example.org" in r.stdout
    assert " " * (76 - len(reason)) + f"({reason})\n{pad}oncall@example.net\n" in r.stdout
    # The second recipient has no reason of its own.
    assert " " * 58 + f"(reason unavailable)\n{pad}ops@example.net\n" in r.stdout
    assert f"{h}!     100 Sun Nov 23 16:35:11  MAILER-DAEMON\n{pad}a@example.com\n" in r.stdout
    assert r.stdout.endswith("\n-- 3 Kbytes in 4 Requests.\n")
    # The habit of the troubleshooting guide: count the queue with grep.
    assert len([l for l in lines if re.match(r"^[A-F0-9]", l)]) == 4


def test_mailq_json_is_one_object_per_message(queue):
    d = queue.add("deferred", rcpts=("x@example.net",), reasons=[("x@example.net", "4.4.1 timeout")])
    h = queue.add("hold", rcpts=("y@example.net", "z@example.net"), status="D-")
    r = queue.run("queue", "list", "--json")
    assert r.returncode == 0, r.stderr
    objs = [json.loads(l) for l in r.stdout.splitlines()]
    assert [o["queue_id"] for o in objs] == [d, h]
    assert objs[0]["queue_name"] == "deferred"
    assert objs[0]["arrival_time"] == T0 + 1
    assert objs[0]["recipients"] == [{"address": "x@example.net", "delay_reason": "4.4.1 timeout"}]
    assert objs[1]["queue_name"] == "hold"
    assert objs[1]["recipients"] == [{"address": "z@example.net"}]
    assert set(objs[0]) >= {"queue_name", "queue_id", "arrival_time", "message_size",
                            "sender", "recipients"}


def test_delete_one_logs_as_postsuper(queue):
    d = queue.add("deferred", reasons=[("bob@example.org", "later")])
    keep = queue.add("deferred")
    r = queue.run("queue", "delete", d)
    assert r.returncode == 0, r.stderr
    assert queue.where(d) == []
    assert queue.where(keep) == ["deferred"]
    log = queue.log()
    assert re.search(r" postie/postsuper\[\d+\]: %s: removed$" % d, log, re.M), log
    assert re.search(r" postie/postsuper\[\d+\]: Deleted: 1 message$", log, re.M), log


def test_delete_all_deferred_only_touches_deferred(queue):
    d1 = queue.add("deferred")
    d2 = queue.add("deferred")
    h = queue.add("hold")
    i = queue.add("incoming")
    r = queue.run("queue", "delete", "ALL", "deferred")
    assert r.returncode == 0, r.stderr
    assert queue.where(d1) == [] and queue.where(d2) == []
    assert queue.where(h) == ["hold"] and queue.where(i) == ["incoming"]
    assert "Deleted: 2 messages" in queue.log()


def test_delete_ids_from_stdin(queue):
    a = queue.add("deferred")
    b = queue.add("hold")
    r = queue.run("queue", "delete", "-", input=f"{a}\n{b}\n")
    assert r.returncode == 0, r.stderr
    assert queue.where(a) == [] and queue.where(b) == []
    assert "Deleted: 2 messages" in queue.log()


def test_hold_and_release(queue):
    d = queue.add("deferred")
    r = queue.run("queue", "hold", d)
    assert r.returncode == 0, r.stderr
    assert queue.where(d) == ["hold"]
    assert re.search(r"postsuper\[\d+\]: %s: placed on hold$" % d, queue.log(), re.M)
    assert "Placed on hold: 1 message" in queue.log()
    listing = queue.run("mailq").stdout
    assert f"{d}!" in listing
    before = time.time()
    r = queue.run("queue", "release", d)
    assert r.returncode == 0, r.stderr
    assert queue.where(d) == ["deferred"]
    # Released mail is due at once: its mtime (next attempt) is now.
    assert os.stat(os.path.join(queue.qdir, "deferred", d)).st_mtime >= before - 1
    assert re.search(r"postsuper\[\d+\]: %s: released from hold$" % d, queue.log(), re.M)
    assert "Released from hold: 1 message" in queue.log()


def test_requeue_moves_to_incoming(queue):
    d = queue.add("deferred", reasons=[("bob@example.org", "old reason")])
    r = queue.run("queue", "requeue", "ALL")
    assert r.returncode == 0, r.stderr
    assert queue.where(d) == ["incoming"]
    assert not os.path.exists(os.path.join(queue.qdir, "defer", d))
    assert re.search(r"postsuper\[\d+\]: %s: requeued$" % d, queue.log(), re.M)
    assert "Requeued: 1 message" in queue.log()


def test_unknown_id_changes_nothing(queue):
    d = queue.add("deferred")
    r = queue.run("queue", "delete", "0123456789AB")
    assert r.returncode == 66
    assert "0123456789AB: no such message in the queue" in r.stderr
    assert queue.where(d) == ["deferred"]
    r = queue.run("queue", "delete", "not-an-id")
    assert r.returncode == 65
    assert "invalid queue ID: not-an-id" in r.stderr
    assert queue.where(d) == ["deferred"]
    r = queue.run("queue", "frobnicate")
    assert r.returncode == 64


def test_message_being_delivered_is_left_alone(queue):
    a = queue.add("active")
    r = queue.run("queue", "delete", a)
    assert r.returncode == 75
    assert "being delivered" in r.stderr
    assert queue.where(a) == ["active"]
    r = queue.run("queue", "hold", "ALL")
    assert r.returncode == 0
    assert queue.where(a) == ["active"]
    assert "1 message in the active queue left alone" in r.stderr


def test_unprivileged_user_cannot_change_the_queue(queue):
    d = queue.add("deferred")
    r = queue.run("queue", "delete", d, user="nobody")
    assert r.returncode == 77, r.stderr
    assert "permission denied" in r.stderr
    assert queue.where(d) == ["deferred"]


def test_show_prints_envelope_content_and_recipient_state(queue):
    d = queue.add("deferred", rcpts=("a@example.net", "b@example.net"), status="D-",
                  reasons=[("b@example.net", "host said: 451 try later")],
                  content="Subject: hi\nFrom: alice@example.org\n\nbody line\n")
    r = queue.run("queue", "show", d)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith(f"*** ENVELOPE RECORDS deferred/{d} ***\n")
    assert "sender: alice@example.org\n" in out
    assert "done_recipient: a@example.net\n" in out
    assert "recipient: b@example.net\n" in out
    assert f"*** MESSAGE CONTENTS deferred/{d} ***\nSubject: hi\n" in out
    assert "\nbody line\n" in out
    assert "b@example.net: deferred (host said: 451 try later)" in out
    assert "a@example.net: delivered" in out
    assert out.endswith(f"*** MESSAGE FILE END deferred/{d} ***\n")
    body = queue.run("queue", "show", "-b", d).stdout
    assert "Subject: hi" not in body and "body line" in body
    r = queue.run("queue", "show", "0123456789AB")
    assert r.returncode == 66


def test_shape_counts_recipient_domains_by_age(queue):
    now = int(time.time())
    queue.add("deferred", rcpts=("a@example.net", "b@example.net"), arrival=now)
    queue.add("deferred", rcpts=("c@example.org",), arrival=now - 3 * 3600)
    r = queue.run("queue", "shape", "deferred")
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0]: l.split()[1:] for l in r.stdout.splitlines()[1:]}
    head = r.stdout.splitlines()[0].split()
    assert head == ["T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"]
    assert rows["TOTAL"][0] == "3"
    assert rows["example.net"][:2] == ["2", "2"]
    assert rows["example.org"][0] == "1" and rows["example.org"][7] == "1"


def test_flush_makes_deferred_due_and_wakes_qmgr(queue):
    d = queue.add("deferred")
    e = queue.add("deferred")
    h = queue.add("hold")
    later = time.time() + 3600
    for i in (d, e):
        p = os.path.join(queue.qdir, "deferred", i)
        os.utime(p, (later, later))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(os.path.join(queue.qdir, "public", "qmgr"))
    sock.settimeout(5)
    try:
        r = queue.run("queue", "flush")
        assert r.returncode == 0, r.stderr
        assert sock.recv(16) == b"F"
        # Due now: handed to qmgr through incoming/, which it takes at once.
        assert queue.where(d) == ["incoming"] and queue.where(e) == ["incoming"]
        assert queue.where(h) == ["hold"]
        f = queue.add("deferred")
        r = queue.run("queue", "deliver", f)
        assert r.returncode == 0, r.stderr
        assert sock.recv(16) == b"D"
        assert queue.where(f) == ["incoming"]
        r = queue.run("queue", "deliver", h)
        assert r.returncode == 69 and "on hold" in r.stderr
        r = queue.run("queue", "deliver", "0123456789AB")
        assert r.returncode == 66
    finally:
        sock.close()


def test_queue_admin_group_members_may_change_the_queue(queue):
    import grp
    if os.geteuid() != 0:
        pytest.skip("needs root to give the queue to a group and run as another user")
    queue.env.write_conf({"queue_admin_group": "nogroup"})
    gid = grp.getgrnam("nogroup").gr_gid
    d = queue.add("deferred")
    # The install gives the group write access to the queue directories.
    for sub in ("deferred", "hold", "defer"):
        p = os.path.join(queue.qdir, sub)
        os.chown(p, 0, gid)
        os.chmod(p, 0o770)
    os.chmod(os.path.join(queue.qdir), 0o755)
    os.chmod(queue.env.dir, 0o755)
    os.chmod(os.path.join(queue.env.dir, "postie.conf"), 0o644)
    r = queue.run("queue", "hold", d, user="nobody")  # nobody's group is nogroup
    assert r.returncode == 0, r.stderr
    assert queue.where(d) == ["hold"]
    # Not a member: refused, whatever the directories allow.
    queue.env.write_conf({"queue_admin_group": "postdrop"})
    os.chmod(os.path.join(queue.env.dir, "postie.conf"), 0o644)
    r = queue.run("queue", "release", d, user="nobody")
    assert r.returncode == 77
    assert queue.where(d) == ["hold"]


def test_maildrop_messages_can_only_be_deleted(queue):
    m = queue.add("maildrop")
    os.chmod(os.path.join(queue.qdir, "maildrop", m), 0o404)
    assert f"{m} " in queue.run("mailq").stdout
    r = queue.run("queue", "hold", m, "maildrop")
    assert r.returncode == 64 and queue.where(m) == ["maildrop"]
    r = queue.run("queue", "delete", m)  # not in the default queues
    assert r.returncode == 66 and queue.where(m) == ["maildrop"]
    r = queue.run("queue", "delete", m, "maildrop")
    assert r.returncode == 0, r.stderr
    assert queue.where(m) == []
