"""Queue commands on a running system (issue 3): mail deferred by the real
qmgr shows in mailq with its reason, and hold, release, requeue, delete and
flush do what they say while other mail keeps flowing.

Mail for other domains goes to relayhost [127.0.0.1]:9, where nothing
listens, so it is deferred whatever the smtp client's state.
"""

import json
import os
import pwd
import re
import subprocess
import time

import pytest

from postie_env import wait_until

REMOTE = "someone@example.net"
CONF = {"relayhost": "[127.0.0.1]:9"}


def run(env, *args, input=None):
    e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", TZ="UTC")
    return subprocess.run([env.bin, "-c", env.dir, *args], input=input, capture_output=True,
                          text=True, timeout=30, env=e)


def submit_remote(env, subject="stuck"):
    r = run(env, "sendmail", REMOTE, input=f"Subject: {subject}\n\nbody\n")
    assert r.returncode == 0, r.stderr
    m = env.wait_for_log(r"pickup\[\d+\]: ([0-9A-F]{12}): uid=")
    qid = m[-1].group(1)
    env.wait_for_log(qid + r": to=<%s>.*status=deferred \((.+)\)$" % re.escape(REMOTE), timeout=20)
    return qid


def where(env, qid):
    return [q for q in ("incoming", "active", "deferred", "hold")
            if os.path.exists(env.path("queue", q, qid))]


def retry_while_active(env, *args):
    """A change is refused (75) while qmgr has the message in active/:
    as the message says, try again in a moment."""
    def attempt():
        r = run(env, *args)
        return r if r.returncode != 75 else None
    return wait_until(attempt, 20, f"postie {' '.join(args)} outside the active queue", 0.2)


def send_local(env, subject):
    with env.smtp() as s:
        s.sendmail("flow@example.org", [f"{env.user}@localhost"],
                   f"Subject: {subject}\n\nstill flowing\n")


@pytest.mark.postie_conf(**CONF)
def test_mailq_shows_a_real_deferral_with_its_reason(postie):
    qid = submit_remote(postie)
    out = run(postie, "mailq").stdout
    assert out.startswith("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n")
    assert re.search(r"^%s[ *] +\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d  %s@" % (qid, pwd.getpwuid(os.geteuid()).pw_name), out, re.M), out
    assert re.search(r"^ *\(.+\)\n {41}%s$" % re.escape(REMOTE), out, re.M), out
    assert re.search(r"^-- \d+ Kbytes in 1 Request\.$", out, re.M)
    objs = [json.loads(l) for l in run(postie, "queue", "list", "--json").stdout.splitlines()]
    assert objs[0]["queue_id"] == qid and objs[0]["queue_name"] in ("deferred", "active")
    assert objs[0]["recipients"][0]["address"] == REMOTE
    assert objs[0]["recipients"][0]["delay_reason"]


@pytest.mark.postie_conf(**CONF)
def test_hold_release_delete_while_mail_flows(postie):
    qid = submit_remote(postie)
    r = retry_while_active(postie, "queue", "hold", qid)
    assert r.returncode == 0, r.stderr
    assert where(postie, qid) == ["hold"]
    assert f"{qid}!" in run(postie, "mailq").stdout
    postie.wait_for_log(r"postie/postsuper\[\d+\]: %s: placed on hold$" % qid)

    # Held mail is not tried; other mail is delivered meanwhile.
    n = len([l for l in postie.log_lines() if qid in l and "status=deferred" in l])
    send_local(postie, "during hold")
    postie.wait_for_mail()
    time.sleep(2)  # several retry periods (minimal_backoff_time = 1s)
    assert len([l for l in postie.log_lines() if qid in l and "status=deferred" in l]) == n
    assert where(postie, qid) == ["hold"]

    r = run(postie, "queue", "release", qid)
    assert r.returncode == 0, r.stderr
    postie.wait_for_log(r"postsuper\[\d+\]: %s: released from hold$" % qid)
    postie.wait_for_log(qid + r": to=<.*status=deferred", count=n + 1, timeout=20)

    r = retry_while_active(postie, "queue", "delete", qid)
    assert r.returncode == 0, r.stderr
    postie.wait_for_log(r"postsuper\[\d+\]: %s: removed$" % qid)
    postie.wait_for_log(r"postsuper\[\d+\]: Deleted: 1 message$")
    assert where(postie, qid) == []
    assert not os.path.exists(postie.path("queue", "defer", qid))
    send_local(postie, "after delete")
    postie.wait_for_mail(count=2)
    # qmgr removes the queue file just after the delivery is in the Maildir.
    wait_until(lambda: run(postie, "mailq").stdout == "Mail queue is empty\n", 10,
               "an empty queue")
    bad = [l for l in postie.log_lines() if re.search(r"(panic|fatal):", l)]
    assert bad == []


@pytest.mark.postie_conf(**CONF)
def test_requeue_gives_the_message_to_qmgr_again(postie):
    qid = submit_remote(postie)
    r = retry_while_active(postie, "queue", "requeue", qid)
    assert r.returncode == 0, r.stderr
    postie.wait_for_log(r"postsuper\[\d+\]: %s: requeued$" % qid)
    # qmgr takes it from incoming/ as new: another "(queue active)" line.
    postie.wait_for_log(qid + r": from=<.*\(queue active\)", count=2, timeout=20)


@pytest.mark.postie_conf(**CONF)
def test_delete_all_deferred_by_an_unprivileged_user_is_refused(postie):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a command as another user")
    qid = submit_remote(postie)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        postie.bin, "-c", postie.dir, "queue", "delete", "ALL", "deferred"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 77, r.stderr
    assert "permission denied" in r.stderr
    assert where(postie, qid) != []


@pytest.mark.postie_conf(relayhost="[127.0.0.1]:9", queue_run_delay="300s",
                         minimal_backoff_time="300s", maximal_backoff_time="600s")
def test_flush_retries_deferred_mail_now(postie):
    qid = submit_remote(postie)
    n = len([l for l in postie.log_lines() if qid in l and "status=deferred" in l])
    r = run(postie, "queue", "flush")
    assert r.returncode == 0, r.stderr
    # Soon, not at the next periodic scan (qmgr's first one comes 10 s
    # after its start, so a longer wait would pass without a flush).
    postie.wait_for_log(qid + r": to=<.*status=deferred", count=n + 1, timeout=4)


def test_hold_and_release_all_under_load_lose_and_duplicate_nothing(postie):
    """Messages arrive while the administrator holds and releases ALL in a
    loop: every message is delivered exactly once in the end."""
    import threading
    total = 30
    errors = []

    def sender():
        try:
            with postie.smtp() as s:
                for i in range(total):
                    s.sendmail("load@example.org", [f"{postie.user}@localhost"],
                               f"Subject: load {i}\nX-Seq: {i}\n\nbody {i}\n")
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)
    t = threading.Thread(target=sender)
    t.start()
    held = 0
    while t.is_alive() or held < 3:
        r = run(postie, "queue", "hold", "ALL")
        assert r.returncode == 0, r.stderr
        r = run(postie, "queue", "release", "ALL")
        assert r.returncode == 0, r.stderr
        held += 1
    t.join()
    assert errors == []
    run(postie, "queue", "release", "ALL")
    mails = postie.wait_for_mail(count=total, timeout=60)
    seqs = sorted(int(re.search(rb"X-Seq: (\d+)", m).group(1)) for m in mails)
    assert seqs == list(range(total))
    wait_until(lambda: run(postie, "mailq").stdout == "Mail queue is empty\n", 20, "empty queue")
    bad = [l for l in postie.log_lines() if re.search(r"(panic|fatal):", l)]
    assert bad == []


@pytest.mark.postie_conf(**CONF)
def test_unprivileged_user_lists_the_queue_through_showq(postie):
    """A user who cannot read the queue still gets mailq, from pickup's
    showq service, through the setgid helper that may enter public/."""
    import grp
    import shutil
    if os.geteuid() != 0:
        pytest.skip("needs root to make a setgid helper")
    with open(postie.bin, "rb") as f:
        if b"AddressSanitizer" in f.read():
            pytest.skip("sanitizer builds cannot run setgid")
    qid = submit_remote(postie)
    gid = grp.getgrnam("postdrop").gr_gid
    bindir = os.path.join(postie.tmp, "bin")
    os.makedirs(bindir)
    os.chmod(bindir, 0o755)
    shutil.copy(postie.bin, os.path.join(bindir, "postie"))
    helper = os.path.join(bindir, "postdrop")
    shutil.copy(postie.bin, helper)
    os.chown(helper, 0, gid)
    os.chmod(helper, 0o2755)
    os.symlink("postie", os.path.join(bindir, "mailq"))
    public = postie.path("queue", "public")
    os.chown(public, os.stat(public).st_uid, gid)
    os.chmod(public, 0o710)
    os.chmod(postie.dir, 0o755)
    os.chmod(os.path.join(postie.dir, "postie.conf"), 0o644)
    env = dict(os.environ, MAIL_CONFIG=postie.dir, TZ="UTC")
    cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    r = subprocess.run(cmd + [os.path.join(bindir, "mailq")], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-Queue ID-  --Size--")
    assert qid in r.stdout and REMOTE in r.stdout
    r = subprocess.run(cmd + [os.path.join(bindir, "mailq"), "-j"], capture_output=True,
                       text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["queue_id"] == qid
    # The same listing as root sees.
    direct = run(postie, "mailq").stdout
    assert re.sub(r"[ *]( +\d+ )", r" \1", direct) == re.sub(r"[ *]( +\d+ )", r" \1", r.stdout) \
        or qid in direct
