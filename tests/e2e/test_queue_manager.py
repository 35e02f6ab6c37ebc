"""qmgr's housekeeping: corrupt files set aside, abandoned incoming files
removed, limits on active messages and on concurrent deliveries."""

import os
import re
import time

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def send(env, subject, rcpts=None):
    with env.smtp() as s:
        s.sendmail("alice@example.org", rcpts or [f"{env.user}@localhost"],
                   f"From: alice@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n")


def own_like_queue(env, path):
    st = os.stat(env.path("queue", "incoming"))
    os.chown(path, st.st_uid, st.st_gid)


def test_corrupt_queue_file_is_moved_to_corrupt_with_a_warning(postie):
    qid = "0ABCDEF12345"
    path = postie.path("queue", "incoming", qid)
    with open(path, "w") as f:
        f.write("V 1\nT 1\nI 0ABCDEF12345\nF a@b\nR - 0 x@localhost\nC 00000000000000000099\nshort\n")
    own_like_queue(postie, path)
    os.chmod(path, 0o700)
    at = len(postie.log_lines())
    send(postie, "wake up")  # the trigger makes qmgr scan incoming/ now
    postie.wait_for_log(rf"postie/qmgr\[\d+\]: warning: {qid}: corrupt queue file \(.*\), "
                        r"moved to corrupt/$", start=at)
    assert os.path.exists(postie.path("queue", "corrupt", qid))
    assert not os.path.exists(postie.path("queue", "active", qid))
    postie.wait_for_mail()


def test_abandoned_incoming_file_older_than_an_hour_is_removed(postie):
    qid = "0ABCDEF54321"
    path = postie.path("queue", "incoming", qid)
    with open(path, "w") as f:
        f.write("V 1\nT 1\n")
    own_like_queue(postie, path)
    os.chmod(path, 0o600)
    old = time.time() - 2 * 3600
    os.utime(path, (old, old))
    young = postie.path("queue", "incoming", "0ABCDEF54322")
    with open(young, "w") as f:
        f.write("V 1\n")
    own_like_queue(postie, young)
    os.chmod(young, 0o600)
    at = len(postie.log_lines())
    send(postie, "wake up")
    postie.wait_for_log(rf"warning: {qid}: removed incomplete queue file older than 1 hour$",
                        start=at)
    assert not os.path.exists(path)
    # One being written right now is left alone.
    assert os.path.exists(young)


@pytest.mark.postie_conf(qmgr_message_active_limit="1", default_process_limit="1")
def test_limits_of_one_active_message_and_one_delivery_still_deliver_all(postie):
    postie.add_user("bob")
    [qmgr] = postie.service_pids("qmgr")
    import signal
    os.kill(qmgr, signal.SIGSTOP)  # let them pile up in incoming/
    for i in range(6):
        send(postie, f"limited {i}", [f"{postie.user}@localhost", "bob@localhost"])
    at = len(postie.log_lines())
    os.kill(qmgr, signal.SIGCONT)
    postie.wait_for_mail(count=6, timeout=30)
    postie.wait_for_mail("bob", count=6, timeout=30)
    lines = postie.log_lines()[at:]
    # With one active message at a time, each "removed" precedes the next
    # "queue active".
    events = [("in" if "(queue active)" in l else "out")
              for l in lines if re.search(r"qmgr\[\d+\]: \S+: (from=|removed)", l)]
    assert events == ["in", "out"] * 6, events


@pytest.mark.postie_conf(minimal_backoff_time="300s", maximal_backoff_time="4000s",
                         queue_run_delay="300s")
def test_flush_request_makes_deferred_mail_due_at_once(postie):
    """The F request byte on public/qmgr (postie queue flush, sendmail -q)
    retries deferred mail now, whatever its next-attempt time."""
    import socket
    user = postie.user
    md = postie.maildir(user)
    tmp = os.path.join(md, "tmp")
    st = os.stat(md)
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    open(tmp, "w").close()
    at = len(postie.log_lines())
    send(postie, "flush me")
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<.*status=deferred", start=at)
    qid = m[0].group(1)
    wait_until(lambda: os.path.exists(postie.path("queue", "deferred", qid)), 10, "deferred/")
    assert os.stat(postie.path("queue", "deferred", qid)).st_mtime > time.time() + 200
    os.unlink(tmp)
    os.mkdir(tmp, 0o700)
    os.chown(tmp, st.st_uid, st.st_gid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"F", postie.path("queue", "public", "qmgr"))
    s.close()
    postie.wait_for_log(rf"{qid}: to=<.*status=sent \(delivered to maildir\)$", start=at)
    postie.wait_for_log(rf"{qid}: removed$", start=at)
