"""Virtual users managed with `postie user add|del|list|passwd`: stored as
crypt hashes, never echoed or logged, and seen by delivery at once."""

import re

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")

SECRET = "Corr3ct-Horse-Battery"


def users_file(env):
    return open(env.path("users")).read()


def test_user_add_list_passwd_del_keep_passwords_out_of_files_and_logs(postie):
    r = postie.postie("user", "add", "Dora", "--password-stdin", input=SECRET + "\n")
    assert r.returncode == 0, r.stderr
    line = [l for l in users_file(postie).splitlines() if l.startswith("dora:")]
    assert len(line) == 1 and re.match(r"dora:\{SHA512-CRYPT\}\$6\$", line[0])
    r = postie.postie("user", "list")
    assert r.returncode == 0 and re.search(r"(?m)^dora\t/\S+/dora$", r.stdout)
    # A mismatched confirmation changes nothing.
    before = users_file(postie)
    r = postie.postie("user", "passwd", "dora", input="one\ntwo\n")
    assert r.returncode != 0 and "do not match" in r.stderr
    assert users_file(postie) == before
    r = postie.postie("user", "passwd", "dora", input="New-" + SECRET + "\n" + "New-" + SECRET + "\n")
    assert r.returncode == 0, r.stderr
    assert users_file(postie) != before
    r = postie.postie("user", "add", "dora", input="x\nx\n")
    assert r.returncode != 0 and "already exists" in r.stderr
    r = postie.postie("user", "del", "dora")
    assert r.returncode == 0
    assert "dora:" not in users_file(postie)
    everything = users_file(postie) + "\n".join(postie.log_lines())
    assert SECRET not in everything


def test_added_user_receives_mail_and_deleted_user_is_refused(postie):
    postie.add_user("erin")
    with postie.smtp() as s:
        s.sendmail("alice@example.org", ["erin@localhost"],
                   "Subject: hi erin\r\n\r\nbody\r\n")
    postie.wait_for_mail("erin")
    assert postie.postie("user", "del", "erin").returncode == 0
    with postie.smtp() as s:
        s.ehlo()
        s.mail("alice@example.org")
        code, text = s.rcpt("erin@localhost")
    assert code == 550 and text.startswith(b"5.1.1")


def test_user_names_are_compared_without_case(postie):
    postie.add_user("Frank")
    with postie.smtp() as s:
        s.sendmail("alice@example.org", ["FRANK@localhost"], "Subject: x\r\n\r\nbody\r\n")
    postie.wait_for_mail("frank")
