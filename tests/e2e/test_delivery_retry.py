"""Temporary failures defer with a 4.x.x code and are retried with back-off
until they succeed or the message expires; permanent ones are logged
status=bounced with their 5.x.x code."""

import os
import re
import shutil
import time

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def send(env, rcpt, subject="retry"):
    with env.smtp() as s:
        s.sendmail("alice@example.org", [rcpt],
                   f"From: alice@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n")


def break_maildir(env, user):
    """Make the Maildir's tmp/ a plain file: every delivery fails with
    ENOTDIR whoever runs it (root or not)."""
    md = env.maildir(user)
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    tmp = os.path.join(md, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with open(tmp, "w") as f:
        f.write("not a directory\n")
    return tmp


def repair_maildir(env, tmp):
    os.unlink(tmp)
    os.mkdir(tmp, 0o700)
    st = os.stat(os.path.dirname(tmp) + "/new")
    os.chown(tmp, st.st_uid, st.st_gid)


def test_unwritable_maildir_defers_then_retry_delivers_once(postie):
    user = postie.user
    # The serve instance made the user's Maildir; copy its owner.
    postie.wait_for_log("daemon started")
    tmp = break_maildir(postie, user)
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost")
    m = postie.wait_for_log(
        rf"postie/local\[\d+\]: (\S+): to=<{re.escape(user)}@localhost>, relay=local, "
        r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=4\.2\.0, "
        r"status=deferred \(create maildir file .*: Not a directory\)$", start=at)
    qid = m[0].group(1)
    # qmgr moved it to deferred/ with the next attempt as mtime, and kept
    # the reason for mailq.
    wait_until(lambda: os.path.exists(postie.path("queue", "deferred", qid)), 10,
               "the file in deferred/")
    reason = open(postie.path("queue", "defer", qid)).read()
    assert f"{user}@localhost\t4.2.0\t" in reason
    # Still failing: retried with back-off (minimal_backoff_time = 1s).
    postie.wait_for_log(rf"{qid}: to=<.*status=deferred", start=at, count=2, timeout=15)
    repair_maildir(postie, tmp)
    postie.wait_for_log(rf"{qid}: to=<{re.escape(user)}@localhost>, .*dsn=2\.0\.0, "
                        r"status=sent \(delivered to maildir\)$", start=at, timeout=15)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    assert len(postie.maildir_messages(user)) == 1
    lines = postie.log_lines()[at:]
    # Each attempt brought it back to the active queue with a from= line.
    actives = [l for l in lines if f"{qid}: from=<alice@example.org>" in l]
    assert len(actives) >= 3
    assert not os.path.exists(postie.path("queue", "defer", qid))
    assert not os.path.exists(postie.path("queue", "deferred", qid))


@pytest.mark.postie_conf(maximal_queue_lifetime="3s", bounce_queue_lifetime="3s")
def test_message_older_than_maximal_queue_lifetime_expires(postie):
    user = postie.user
    break_maildir(postie, user)
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost", "expire")
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<.*status=deferred", start=at)
    qid = m[0].group(1)
    postie.wait_for_log(
        rf"postie/qmgr\[\d+\]: {qid}: from=<alice@example\.org>, status=expired, "
        r"returned to sender$", start=at, timeout=20)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    for d in ("active", "deferred", "incoming", "defer"):
        assert not os.path.exists(postie.path("queue", d, qid))


def test_alias_to_unknown_user_is_bounced_with_5_1_1(postie):
    with open(postie.path("aliases"), "a") as f:
        f.write("ghost: nosuchuser\n")
    at = len(postie.log_lines())
    send(postie, "ghost@localhost", "bounce")
    m = postie.wait_for_log(
        r"postie/local\[\d+\]: (\S+): to=<nosuchuser@[^>]+>, orig_to=<ghost@localhost>, "
        r"relay=local, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=5\.1\.1, "
        r"status=bounced \(unknown user: \"nosuchuser\"\)$", start=at)
    qid = m[0].group(1)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    assert not os.path.exists(postie.path("queue", "deferred", qid))


def test_agent_back_within_seconds_gets_the_mail_without_a_deferral(postie):
    """An agent that is not there yet (starting, restarting) is waited for
    quietly for a few seconds: no deferral, no back-off."""
    user = postie.user
    sock = postie.path("queue", "private", "local")
    wait_until(lambda: os.path.exists(sock), 10, "local's socket")
    os.rename(sock, sock + ".away")
    at = len(postie.log_lines())
    try:
        send(postie, f"{user}@localhost", "agent late")
        postie.wait_for_log(r"qmgr\[\d+\]: \S+: from=", start=at)
        time.sleep(1.5)
    finally:
        os.rename(sock + ".away", sock)
    postie.wait_for_mail(user)
    assert not [l for l in postie.log_lines()[at:] if "status=deferred" in l]


@pytest.mark.timeout_s(60)
def test_missing_local_agent_defers_after_a_grace_and_the_message_waits(postie):
    """qmgr cannot reach the agent for longer: it logs the deferral itself
    (relay=none) and keeps the message for a retry."""
    user = postie.user
    sock = postie.path("queue", "private", "local")
    wait_until(lambda: os.path.exists(sock), 10, "local's socket")
    os.rename(sock, sock + ".away")
    at = len(postie.log_lines())
    try:
        send(postie, f"{user}@localhost", "no agent")
        m = postie.wait_for_log(
            r"postie/qmgr\[\d+\]: (\S+): to=<.*>, relay=none, .*dsn=4\.3\.0, "
            r"status=deferred \(delivery temporarily suspended: connect to transport "
            r"private/local: .*\)$", start=at, timeout=25)
        qid = m[0].group(1)
    finally:
        os.rename(sock + ".away", sock)
    postie.wait_for_log(rf"local\[\d+\]: {qid}: to=<.*status=sent", start=at, timeout=15)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    assert len(postie.maildir_messages(user)) == 1
