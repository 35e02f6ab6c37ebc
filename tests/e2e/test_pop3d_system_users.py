"""pop3d and system users (mail_user_source = file, system): the password is
the shadow file's crypt hash (no PAM), the session runs with the user's
uid.  Run as root only (useradd, and the shadow file is root's)."""

import os
import poplib
import subprocess

import pytest

from postie_env import has_service, wait_until

pytestmark = [
    pytest.mark.skipif(not all(has_service(s) for s in ("smtpd", "qmgr", "local", "pop3d")),
                       reason="needs smtpd, qmgr, local and pop3d"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

PASSWORD = "Sys-user-pw-7"


def _set_password(name, password):
    r = subprocess.run(["chpasswd"], input=f"{name}:{password}\n", capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip("chpasswd failed: " + r.stderr)


@pytest.mark.postie_conf(mail_user_source="file, system")
def test_pop3d_system_user_logs_in_with_the_shadow_password_and_runs_as_itself(postie, system_user):
    name = system_user.pw_name
    _set_password(name, PASSWORD)
    with postie.smtp() as s:
        s.sendmail("a@example.org", [f"{name}@localhost"], "Subject: sys\r\n\r\nbody\r\n")
    new = os.path.join(system_user.pw_dir, "Maildir", "new")
    wait_until(lambda: os.path.isdir(new) and os.listdir(new), 15, "the system user's mail")
    p = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    p.user(name)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("not-" + PASSWORD)
    p.user(name)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    mpid = int(postie.wait_for_log(rf"Login: user=<{name}>.* mpid=(\d+)")[-1].group(1))
    with open(f"/proc/{mpid}/status") as st:
        uids = next(l for l in st if l.startswith("Uid:")).split()[1:]
    assert uids == [str(system_user.pw_uid)] * 4
    assert p.stat()[0] == 1
    p.retr(1)
    p.quit()
    # UPDATE ran as the user: the message moved to cur/ with S, still theirs.
    cur = os.path.join(system_user.pw_dir, "Maildir", "cur")
    [n] = os.listdir(cur)
    assert n.endswith(":2,S")
    assert os.stat(os.path.join(cur, n)).st_uid == system_user.pw_uid
    assert PASSWORD not in open(postie.path("maillog")).read()


@pytest.mark.postie_conf(mail_user_source="file, system")
def test_pop3d_system_user_without_a_password_cannot_log_in(postie, system_user):
    # useradd leaves the account locked ("!" in the shadow file).
    p = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    p.user(system_user.pw_name)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Authentication failed"):
        p.pass_("")
    p.quit()


def test_pop3d_system_users_are_not_used_unless_configured(postie, system_user):
    _set_password(system_user.pw_name, PASSWORD)
    p = poplib.POP3("127.0.0.1", postie.pop3_port, timeout=10)
    p.user(system_user.pw_name)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] Authentication failed"):
        p.pass_(PASSWORD)
    p.quit()
