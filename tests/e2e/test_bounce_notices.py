"""bounce: delivery status notifications (RFC 3464) reach the sender's
mailbox as multipart/report that Python's email package parses; mail from
<> that fails goes to postmaster once and never loops; expiry returns the
message; NOTIFY (RFC 3461) is honoured; one delay notice per message."""

import email
import email.policy
import re
import smtplib

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def add_alias(env, line):
    with open(env.path("aliases"), "a") as f:
        f.write(line + "\n")


def send(env, sender, rcpts, subject="hello", mail_options=(), rcpt_options=()):
    body = (f"From: {sender or 'nobody'}\r\nTo: {', '.join(rcpts)}\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}@test>\r\n"
            "\r\nthe body line\r\n")
    with env.smtp() as s:
        s.ehlo("client.test")
        s.sendmail(sender, rcpts, body, mail_options=list(mail_options),
                   rcpt_options=list(rcpt_options))


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def report_parts(msg):
    """(text part, per-message fields, [per-recipient fields], returned part)
    of a multipart/report; checks the structure on the way."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    blocks = parts[1].get_payload()
    return parts[0], blocks[0], blocks[1:], parts[2]


def notices(env, user, count=1, timeout=20):
    return [parse(m) for m in env.wait_for_mail(user, count=count, timeout=timeout)]


def test_unknown_local_user_bounces_to_the_local_sender(postie):
    user = postie.user
    add_alias(postie, "ghost: nosuchuser")
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost", ["ghost@localhost"], "unknown user")
    m = postie.wait_for_log(r"postie/local\[\d+\]: (\S+): to=<nosuchuser@.*dsn=5\.1\.1, "
                            r"status=bounced", start=at)
    qid = m[0].group(1)
    b = postie.wait_for_log(
        rf"postie/bounce\[\d+\]: {qid}: sender non-delivery notification: ([0-9A-F]+)$",
        start=at)
    newid = b[0].group(1)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    postie.wait_for_log(rf"cleanup\[\d+\]: {newid}: message-id=<", start=at)
    postie.wait_for_log(rf"qmgr\[\d+\]: {newid}: from=<>, size=\d+, nrcpt=1 \(queue active\)",
                        start=at)
    (dsn,) = notices(postie, user)
    assert dsn["From"].startswith("MAILER-DAEMON@")
    assert dsn["To"] == f"<{user}@localhost>"
    assert dsn["Auto-Submitted"] == "auto-replied"
    assert dsn["Return-Path"] in (None, "<>")
    text, per_msg, per_rcpt, returned = report_parts(dsn)
    assert "could not be delivered" in text.get_payload()
    assert "<ghost@localhost>: unknown user" in text.get_payload()
    assert per_msg["Reporting-MTA"].startswith("dns; ")
    assert per_msg["X-Postie-Queue-ID"] == qid
    assert per_msg["Arrival-Date"]
    assert len(per_rcpt) == 1
    r = per_rcpt[0]
    assert r["Final-Recipient"] == "rfc822; ghost@localhost"
    assert r["Action"] == "failed"
    assert r["Status"] == "5.1.1"
    assert r["Diagnostic-Code"].startswith("X-Postie; unknown user")
    assert r["Remote-MTA"] is None
    # Headers only by default (RET absent).
    assert returned.get_content_type() == "text/rfc822-headers"
    hdrs = returned.get_payload()
    assert "Subject: unknown user" in hdrs and "the body line" not in hdrs
    # No loop: the notice itself was delivered, nothing bounced.
    postie.wait_for_log(rf"{newid}: to=<{re.escape(user)}@localhost>, .*status=sent", start=at)
    postie.wait_for_log(rf"qmgr\[\d+\]: {newid}: removed$", start=at)
    # The log tracer follows the original to its notice.
    import json
    r = postie.postie("log", "trace", "--json", qid, postie.path("maillog"))
    assert r.returncode == 0, r.stderr
    msgs = json.loads(r.stdout)["messages"]
    assert [m["queue_id"] for m in msgs] == [qid, newid]
    assert msgs[1]["parent"] == qid and msgs[1]["link"] == "bounce"
    assert msgs[1]["from"] == ""


def test_one_notice_lists_every_failed_recipient(postie):
    user = postie.user
    add_alias(postie, "ghost1: nosuchuser1")
    add_alias(postie, "ghost2: nosuchuser2")
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost", ["ghost1@localhost", f"{user}@localhost",
                                       "ghost2@localhost"], "two failures")
    m = postie.wait_for_log(r"bounce\[\d+\]: (\S+): sender non-delivery notification: ",
                            start=at)
    qid = m[0].group(1)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    msgs = notices(postie, user, count=2)
    dsns = [x for x in msgs if x.get_content_type() == "multipart/report"]
    assert len(dsns) == 1
    _, _, per_rcpt, _ = report_parts(dsns[0])
    assert [r["Final-Recipient"] for r in per_rcpt] == [
        "rfc822; ghost1@localhost", "rfc822; ghost2@localhost"]
    assert all(r["Status"] == "5.1.1" for r in per_rcpt)
    assert len([l for l in postie.log_lines()[at:] if "non-delivery notification" in l]) == 1


def test_bounce_to_missing_sender_goes_to_postmaster_once(postie):
    """The notice to a sender that does not exist fails (sender <>): a
    postmaster notice follows; no notice about that one."""
    user = postie.user
    add_alias(postie, "ghost: nosuchuser")
    add_alias(postie, f"postmaster: {user}")
    at = len(postie.log_lines())
    send(postie, "nobody-here@localhost", ["ghost@localhost"], "double bounce")
    m = postie.wait_for_log(r"bounce\[\d+\]: (\S+): sender non-delivery notification: (\S+)$",
                            start=at)
    first = m[0].group(2)
    m2 = postie.wait_for_log(
        rf"bounce\[\d+\]: {first}: postmaster non-delivery notification: (\S+)$", start=at)
    second = m2[0].group(1)
    postie.wait_for_log(rf"{second}: to=<.*orig_to=<postmaster>.*status=sent", start=at)
    (dsn,) = notices(postie, user)
    assert re.fullmatch(r"<postmaster@[^>]+>", dsn["To"])
    _, per_msg, per_rcpt, returned = report_parts(dsn)
    assert per_msg["X-Postie-Sender"] == "rfc822; "
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; nobody-here@localhost"
    assert per_rcpt[0]["Status"] == "5.1.1"
    assert "Subject: Undelivered Mail Returned to Sender" in returned.get_payload()


def test_failed_postmaster_notice_is_dropped_without_a_loop(postie):
    add_alias(postie, "ghost: nosuchuser")
    add_alias(postie, "postmaster: nosuchadmin")
    at = len(postie.log_lines())
    send(postie, "nobody-here@localhost", ["ghost@localhost"], "no loop")
    m = postie.wait_for_log(r"bounce\[\d+\]: \S+: postmaster non-delivery notification: (\S+)$",
                            start=at, timeout=20)
    second = m[0].group(1)
    postie.wait_for_log(
        rf"bounce\[\d+\]: {second}: undeliverable postmaster notification discarded$",
        start=at)
    postie.wait_for_log(rf"qmgr\[\d+\]: {second}: removed$", start=at)
    wait_until(lambda: not postie.postie("queue", "list").stdout.strip()
               or "empty" in postie.postie("queue", "list").stdout.lower(), 10, "empty queue")
    lines = postie.log_lines()[at:]
    assert len([l for l in lines if "non-delivery notification" in l]) == 2


@pytest.mark.postie_conf(maximal_queue_lifetime="3s", bounce_queue_lifetime="3s")
def test_expired_message_is_returned_to_the_sender(postie):
    import os
    import shutil
    user = postie.user
    postie.add_user("carol")
    md = postie.maildir("carol")
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    shutil.rmtree(os.path.join(md, "tmp"), ignore_errors=True)
    with open(os.path.join(md, "tmp"), "w") as f:
        f.write("not a directory\n")
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost", ["carol@localhost"], "expire me",
         mail_options=["RET=FULL"])
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<carol@.*status=deferred", start=at)
    qid = m[0].group(1)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: from=<{re.escape(user)}@localhost>, "
                        r"status=expired, returned to sender$", start=at, timeout=20)
    postie.wait_for_log(rf"bounce\[\d+\]: {qid}: sender non-delivery notification: ", start=at)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    (dsn,) = notices(postie, user)
    _, _, per_rcpt, returned = report_parts(dsn)
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; carol@localhost"
    assert per_rcpt[0]["Action"] == "failed"
    assert per_rcpt[0]["Status"].startswith("4.")
    assert "Not a directory" in per_rcpt[0]["Diagnostic-Code"]
    # RET=FULL: the whole message comes back.
    assert returned.get_content_type() == "message/rfc822"
    assert "the body line" in returned.get_payload()[0].get_payload()


@pytest.mark.postie_conf(delay_warning_time="2s")
def test_delay_notice_is_sent_once(postie):
    import os
    import shutil
    user = postie.user
    postie.add_user("dave")
    md = postie.maildir("dave")
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    shutil.rmtree(os.path.join(md, "tmp"), ignore_errors=True)
    with open(os.path.join(md, "tmp"), "w") as f:
        f.write("not a directory\n")
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost", ["dave@localhost"], "slow one")
    m = postie.wait_for_log(r"bounce\[\d+\]: (\S+): sender delay notification: (\S+)$",
                            start=at, timeout=20)
    qid = m[0].group(1)
    (dsn,) = notices(postie, user)
    assert dsn.get_content_type() == "multipart/report"
    _, _, per_rcpt, returned = report_parts(dsn)
    assert per_rcpt[0]["Action"] == "delayed"
    assert per_rcpt[0]["Status"] == "4.2.0"
    assert per_rcpt[0]["Will-Retry-Until"]
    assert returned.get_content_type() == "text/rfc822-headers"
    # Retried twice more: still one notice.
    postie.wait_for_log(rf"local\[\d+\]: {qid}: to=<dave@.*status=deferred", start=at,
                        count=4, timeout=30)
    assert len([l for l in postie.log_lines()[at:] if "delay notification" in l]) == 1


def test_notice_survives_a_crash_between_mark_and_notice(postie):
    """A recipient marked B whose notice was never sent (qmgr killed in
    between): the bounce log is found at the next start, the notice goes
    out, then the message is removed (docs/queue.md, "Bounces")."""
    import os
    import shutil
    user = postie.user
    postie.add_user("erin")
    md = postie.maildir("erin")
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    shutil.rmtree(os.path.join(md, "tmp"), ignore_errors=True)
    with open(os.path.join(md, "tmp"), "w") as f:
        f.write("not a directory\n")
    at = len(postie.log_lines())
    send(postie, f"{user}@localhost", ["erin@localhost"], "crash")
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<erin@.*status=deferred", start=at)
    qid = m[0].group(1)
    path = postie.path("queue", "deferred", qid)
    wait_until(lambda: os.path.exists(path), 10, "the deferred file")
    postie.stop()
    # The state a crash after step 3 leaves: record written, mark made.
    data = open(path, "rb").read()
    assert b"\nR - 0 erin@localhost" in data
    with open(path, "r+b") as f:
        f.seek(data.index(b"\nR - 0 ") + 3)
        f.write(b"B")
    os.makedirs(postie.path("queue", "bounce"), exist_ok=True)
    with open(postie.path("queue", "bounce", qid), "w") as f:
        f.write("0\tfailed\t5.2.0\tcannot deliver: test crash\n")
    at = len(postie.log_lines())
    postie.start()
    postie.wait_for_log(rf"bounce\[\d+\]: {qid}: sender non-delivery notification: ", start=at,
                        timeout=20)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    assert not os.path.exists(postie.path("queue", "bounce", qid))
    (dsn,) = notices(postie, user)
    _, _, per_rcpt, _ = report_parts(dsn)
    assert per_rcpt[0]["Status"] == "5.2.0"
    assert per_rcpt[0]["Diagnostic-Code"] == "X-Postie; cannot deliver: test crash"
    # erin was never tried again.
    assert not [l for l in postie.log_lines()[at:] if "to=<erin@" in l]


def test_sendmail_to_unknown_local_user_bounces(postie):
    """The core flow's local failure (sendmail, pickup, local 5.1.1) now
    comes back to the sender as a notice."""
    user = postie.user
    at = len(postie.log_lines())
    r = postie.postie("sendmail", "-f", f"{user}@localhost", "nosuchuser@localhost",
                      input="Subject: via sendmail\n\nhello\n")
    assert r.returncode == 0, r.stderr
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<nosuchuser@localhost>, .*dsn=5\.1\.1, "
                            r"status=bounced", start=at, timeout=20)
    qid = m[0].group(1)
    postie.wait_for_log(rf"bounce\[\d+\]: {qid}: sender non-delivery notification: ", start=at)
    (dsn,) = notices(postie, user)
    _, per_msg, per_rcpt, returned = report_parts(dsn)
    assert per_msg["X-Postie-Sender"] == f"rfc822; {user}@localhost"
    assert per_rcpt[0]["Final-Recipient"] == "rfc822; nosuchuser@localhost"
    assert per_rcpt[0]["Status"] == "5.1.1"
    assert "Subject: via sendmail" in returned.get_payload()
