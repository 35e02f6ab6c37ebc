"""The queue is the database: after kill -9 of everything, of qmgr or of
local, every accepted message is delivered, once; a normal restart
delivers nothing twice (docs/queue.md)."""

import collections
import os
import re
import signal
import time

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def subjects(env, user=None):
    out = []
    for data in env.maildir_messages(user):
        m = re.search(rb"\nSubject: ([^\n]*)\n", data)
        out.append(m.group(1).decode() if m else None)
    return out


def settle(env, seconds=3):
    """Leave time for a duplicate to show up, if there were one: several
    queue runs at queue_run_delay = 1s."""
    time.sleep(seconds)


def test_kill_9_of_everything_right_after_250_delivers_once(postie):
    qid = postie.send("killed at once")
    postie.kill_all(signal.SIGKILL)
    postie.start()
    postie.wait_for_mail(count=1)
    settle(postie)
    assert subjects(postie) == ["killed at once"]
    assert not any(os.listdir(postie.path("queue", d)) for d in ("incoming", "active", "deferred"))
    assert any(f"{qid}: removed" in l for l in postie.log_lines())


def test_kill_9_of_everything_with_the_message_still_queued_delivers_once(postie):
    # qmgr frozen: the accepted message cannot have moved on when all die.
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGSTOP)
    qid = postie.send("queued when killed")
    assert os.path.exists(postie.path("queue", "incoming", qid))
    postie.kill_all(signal.SIGKILL)
    postie.start()
    postie.wait_for_mail(count=1)
    settle(postie)
    assert subjects(postie) == ["queued when killed"]


def test_kill_9_of_qmgr_mid_flow_master_restarts_it_and_flow_goes_on(postie):
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGSTOP)
    postie.send("qmgr died")
    os.kill(qmgr, signal.SIGKILL)
    wait_until(lambda: postie.service_pids("qmgr") and qmgr not in postie.service_pids("qmgr"),
               15, "a new qmgr")
    postie.wait_for_mail(count=1, timeout=20)
    postie.send("after qmgr restart")
    postie.wait_for_mail(count=2, timeout=20)
    settle(postie, 2)
    assert sorted(subjects(postie)) == ["after qmgr restart", "qmgr died"]


def test_kill_9_of_local_mid_delivery_defers_and_the_new_local_delivers(postie):
    [local] = postie.service_pids("local")
    wait_until(lambda: os.path.exists(postie.path("queue", "private", "local")), 10,
               "local's socket")
    # A frozen agent takes the connection (the kernel queues it) but never
    # answers; then it dies.
    os.kill(local, signal.SIGSTOP)
    at = len(postie.log_lines())
    qid = postie.send("local died")
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: from=", start=at)
    time.sleep(0.3)
    os.kill(local, signal.SIGKILL)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: to=<.*relay=none, .*dsn=4\.3\.0, "
                        r"status=deferred \(lost connection with delivery agent local\)$",
                        start=at)
    wait_until(lambda: postie.service_pids("local") and local not in postie.service_pids("local"),
               15, "a new local")
    postie.wait_for_mail(count=1, timeout=20)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    settle(postie, 2)
    assert subjects(postie) == ["local died"]


def test_normal_restart_delivers_nothing_twice(postie):
    at = len(postie.log_lines())
    sent = [f"restart {i}" for i in range(15)]
    for s in sent:
        postie.send(s)
    postie.restart()
    postie.wait_for_mail(count=len(sent), timeout=30)
    settle(postie)
    assert sorted(subjects(postie)) == sorted(sent)
    # One delivery line per message: nothing was delivered twice.
    per_qid = collections.Counter(
        m.group(1) for m in (re.search(r"local\[\d+\]: (\S+): to=<.*status=sent", l)
                             for l in postie.log_lines()[at:]) if m)
    assert len(per_qid) == len(sent) and set(per_qid.values()) == {1}


def test_crash_between_maildir_write_and_mark_does_not_duplicate(postie):
    """The recipient was delivered but its mark was lost (as if qmgr died
    just before the pwrite): the repeat finds the same Maildir name in new/
    and counts it as done (docs/queue.md, "Deliveries and idempotence")."""
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGSTOP)
    qid = postie.send("mark lost")
    # The queue file as accepted: its recipient is still '-'.
    data = open(postie.path("queue", "incoming", qid), "rb").read()
    postie.kill_all(signal.SIGKILL)
    at = len(postie.log_lines())
    postie.start()
    postie.wait_for_log(rf"{qid}: removed$", start=at)
    [name] = os.listdir(os.path.join(postie.maildir(), "new"))
    assert f".{qid}_0_" in name
    # Put the unmarked file back in active/, as the crash would leave it;
    # and a mail reader has meanwhile moved the first copy to cur/.
    postie.kill_all(signal.SIGKILL)
    new_dir = os.path.join(postie.maildir(), "new")
    cur_dir = os.path.join(postie.maildir(), "cur")
    os.rename(os.path.join(new_dir, name), os.path.join(cur_dir, name + ":2,S"))
    replay = postie.path("queue", "active", qid)
    with open(replay, "wb") as f:
        f.write(data)
    os.chmod(replay, 0o700)
    st = os.stat(postie.path("queue", "active"))
    os.chown(replay, st.st_uid, st.st_gid)
    at = len(postie.log_lines())
    postie.start()
    postie.wait_for_log(rf"{qid}: to=<.*status=sent \(delivered to maildir\)$", start=at)
    postie.wait_for_log(rf"{qid}: removed$", start=at, timeout=20)
    settle(postie, 2)
    assert os.listdir(new_dir) == []
    assert os.listdir(cur_dir) == [name + ":2,S"]
