"""Aliases (alias_maps, aliases(5)): to several users, to itself and
others, to another domain (forwarded as a new message), loops, and
`postie newaliases` / `newaliases`."""

import os
import re
import subprocess

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def add_aliases(env, text):
    with open(env.path("aliases"), "a") as f:
        f.write(text)


def send(env, rcpts, subject="alias"):
    with env.smtp() as s:
        s.sendmail("alice@example.org", rcpts,
                   f"From: alice@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n")


def test_alias_to_several_users_delivers_one_copy_each(postie):
    user = postie.user
    postie.add_user("bob")
    add_aliases(postie, "team: bob,\n      " + user + ", bob\n")
    at = len(postie.log_lines())
    send(postie, ["team@localhost"])
    postie.wait_for_mail(user)
    postie.wait_for_mail("bob")
    m = postie.wait_for_log(r"qmgr\[\d+\]: (\S+): removed$", start=at)
    qid = m[0].group(1)
    lines = [l for l in postie.log_lines()[at:] if f"local" in l and f"{qid}: to=" in l]
    assert len(lines) == 2, lines
    for u in ("bob", user):
        assert any(re.search(rf"{qid}: to=<{re.escape(u)}@[^>]+>, orig_to=<team@localhost>, "
                             r"relay=local, .*dsn=2\.0\.0, status=sent \(delivered to maildir\)$",
                             l) for l in lines), lines
    assert len(postie.maildir_messages("bob")) == 1
    assert len(postie.maildir_messages(user)) == 1


def test_alias_that_names_itself_delivers_to_the_user_and_the_others(postie):
    user = postie.user
    postie.add_user("archive")
    add_aliases(postie, f"{user}: {user}, archive\n")
    send(postie, [f"{user}@localhost"])
    postie.wait_for_mail(user)
    postie.wait_for_mail("archive")
    assert len(postie.maildir_messages(user)) == 1


def test_alias_loop_is_bounced_with_5_4_6(postie):
    add_aliases(postie, "ping: pong\npong: ping\n")
    at = len(postie.log_lines())
    send(postie, ["ping@localhost"])
    m = postie.wait_for_log(r"local\[\d+\]: (\S+): to=<ping@[^>]+>, orig_to=<ping@localhost>, "
                            r".*dsn=5\.4\.6, status=bounced \(mail forwarding loop in aliases\)$",
                            start=at)
    postie.wait_for_log(rf"qmgr\[\d+\]: {m[0].group(1)}: removed$", start=at)


def test_alias_to_another_domain_is_forwarded_as_a_new_message(postie):
    add_aliases(postie, "outside: friend@example.net\n")
    at = len(postie.log_lines())
    send(postie, ["outside@localhost"])
    m = postie.wait_for_log(
        r"postie/local\[\d+\]: (\S+): to=<friend@example\.net>, orig_to=<outside@localhost>, "
        r"relay=local, .*dsn=2\.0\.0, status=sent \(forwarded as ([0-9A-F]+)\)$", start=at)
    qid, new = m[0].group(1), m[0].group(2)
    postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at)
    # The copy is a message of its own, from the same sender, on its way
    # to the other domain.
    postie.wait_for_log(rf"qmgr\[\d+\]: {new}: from=<alice@example\.org>, size=\d+, "
                        r"nrcpt=1 \(queue active\)$", start=at)
    # (Its delivery to example.net is the smtp agent's business.)


def test_alias_edit_takes_effect_without_newaliases_or_restart(postie):
    user = postie.user
    at = len(postie.log_lines())
    with postie.smtp() as s:
        s.ehlo()
        s.mail("alice@example.org")
        assert s.rcpt("later@localhost")[0] == 550
    add_aliases(postie, f"later: {user}\n")
    send(postie, ["later@localhost"])
    postie.wait_for_mail(user)
    postie.wait_for_log(r"orig_to=<later@localhost>, .*status=sent", start=at)


def test_newaliases_reports_each_problem_with_file_and_line(postie):
    r = postie.postie("newaliases")
    assert r.returncode == 0, r.stderr
    add_aliases(postie, "good: x\nno colon here\nempty:\n")
    r = postie.postie("newaliases")
    assert r.returncode == 1
    path = postie.path("aliases")
    n = len(open(path).read().splitlines())
    assert f"{path}:{n - 1}: missing ':' after the alias name" in r.stderr
    assert f"{path}:{n}: alias has no value" in r.stderr


def test_newaliases_answers_to_its_own_name(postie, tmp_path):
    link = tmp_path / "newaliases"
    link.symlink_to(postie.bin)
    env = dict(os.environ, MAIL_CONFIG=postie.dir)
    r = subprocess.run([str(link)], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    add_aliases(postie, "broken line\n")
    r = subprocess.run([str(link)], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1 and "missing ':'" in r.stderr
