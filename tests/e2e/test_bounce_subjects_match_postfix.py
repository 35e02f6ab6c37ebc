"""Notices carry Postfix's Subject lines word for word (issue 9):
"Undelivered Mail Returned to Sender", "Delayed Mail (still being
retried)", "Successful Mail Delivery Report".  Mail filters, helpdesk
rules and people look for these texts.
"""

import email
import email.policy
import os
import shutil

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def send(env, sender, rcpt, subject, rcpt_options=()):
    body = (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
            "\r\nthe body line\r\n")
    with env.smtp() as s:
        s.ehlo("client.test")
        s.sendmail(sender, [rcpt], body, rcpt_options=list(rcpt_options))


def notice_subjects(env, user, count):
    raws = env.wait_for_mail(user, count=count, timeout=30)
    return sorted(email.message_from_bytes(r, policy=email.policy.compat32)["Subject"]
                  for r in raws)


@pytest.mark.postie_conf(delay_warning_time="2s")
def test_failure_delay_and_success_notices_have_postfix_subjects(postie):
    user = postie.user
    at = len(postie.log_lines())
    # A failure: an alias to an unknown local user (smtpd would refuse
    # the unknown user itself at RCPT time).
    with open(postie.path("aliases"), "a") as f:
        f.write("ghost: nosuchuser\n")
    send(postie, f"{user}@localhost", "ghost@localhost", "to nobody")
    postie.wait_for_log(r"bounce\[\d+\]: \S+: sender non-delivery notification: ", start=at)
    # A success report: NOTIFY=SUCCESS (RFC 3461) to ourselves.
    send(postie, f"{user}@localhost", f"{user}@localhost", "tell me",
         rcpt_options=["NOTIFY=SUCCESS"])
    postie.wait_for_log(r"bounce\[\d+\]: \S+: sender delivery status notification: ",
                        start=at)
    # A delay: dave's Maildir cannot take mail (tmp is a file).
    postie.add_user("dave")
    md = postie.maildir("dave")
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    shutil.rmtree(os.path.join(md, "tmp"), ignore_errors=True)
    with open(os.path.join(md, "tmp"), "w") as f:
        f.write("not a directory\n")
    send(postie, f"{user}@localhost", "dave@localhost", "slow one")
    postie.wait_for_log(r"bounce\[\d+\]: \S+: sender delay notification: ", start=at,
                        timeout=20)
    subjects = notice_subjects(postie, user, 4)
    assert "Undelivered Mail Returned to Sender" in subjects, subjects
    assert "Successful Mail Delivery Report" in subjects, subjects
    assert "Delayed Mail (still being retried)" in subjects, subjects
