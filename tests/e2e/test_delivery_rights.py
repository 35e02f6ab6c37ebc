"""Local delivery writes as the mailbox's owner: a system user's uid for
system users, mail_owner for virtual users (DESIGN.md, "local delivery
writes as the mailbox's owner").  Run as root only."""

import os
import pwd

import pytest

from postie_env import MAIL_OWNER, has_service, wait_until

pytestmark = [
    pytest.mark.skipif(not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
                       reason="needs smtpd, qmgr and local"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def send(env, rcpt):
    with env.smtp() as s:
        s.sendmail("alice@example.org", [rcpt], "Subject: rights\r\n\r\nbody\r\n")


def test_virtual_user_maildir_belongs_to_mail_owner(postie):
    send(postie, f"{postie.user}@localhost")
    postie.wait_for_mail()
    new = os.path.join(postie.maildir(), "new")
    owner = pwd.getpwnam(MAIL_OWNER).pw_uid
    for n in os.listdir(new):
        st = os.stat(os.path.join(new, n))
        assert st.st_uid == owner and (st.st_mode & 0o777) == 0o600


@pytest.mark.postie_conf(mail_user_source="file, system")
def test_system_user_maildir_is_written_with_the_users_uid(postie, system_user):
    send(postie, f"{system_user.pw_name}@localhost")
    new = os.path.join(system_user.pw_dir, "Maildir", "new")
    wait_until(lambda: os.path.isdir(new) and os.listdir(new), 15, "the system user's mail")
    for d in ("Maildir", "Maildir/new", "Maildir/tmp", "Maildir/cur"):
        assert os.stat(os.path.join(system_user.pw_dir, d)).st_uid == system_user.pw_uid
    [n] = os.listdir(new)
    st = os.stat(os.path.join(new, n))
    assert (st.st_uid, st.st_gid) == (system_user.pw_uid, system_user.pw_gid)


@pytest.mark.postie_conf(mail_user_source="file, system", home_mailbox="")
def test_system_user_mbox_is_created_for_the_user(postie, system_user):
    at = len(postie.log_lines())
    send(postie, f"{system_user.pw_name}@localhost")
    postie.wait_for_log(r"status=sent \(delivered to mailbox\)$", start=at)
    st = os.stat(postie.path("spool", system_user.pw_name))
    assert (st.st_uid, st.st_gid) == (system_user.pw_uid, system_user.pw_gid)
    assert (st.st_mode & 0o777) == 0o600


@pytest.mark.postie_conf(mail_user_source="file, system")
def test_system_users_forward_file_replaces_the_mailbox(postie, system_user):
    name = system_user.pw_name
    fw = os.path.join(system_user.pw_dir, ".forward")
    with open(fw, "w") as f:
        f.write(f"# keep a copy, and give one to the first user\n\\{name}, {postie.user}\n")
    os.chown(fw, system_user.pw_uid, system_user.pw_gid)
    os.chmod(fw, 0o644)
    at = len(postie.log_lines())
    send(postie, f"{name}@localhost")
    new = os.path.join(system_user.pw_dir, "Maildir", "new")
    wait_until(lambda: os.path.isdir(new) and os.listdir(new), 15, "the user's own copy")
    postie.wait_for_mail()
    postie.wait_for_log(rf"to=<{postie.user}@[^>]+>, orig_to=<{name}@localhost>, relay=local, "
                        r".*status=sent \(delivered to maildir\)$", start=at)


@pytest.mark.postie_conf(mail_user_source="file, system")
def test_forward_file_writable_by_others_is_ignored(postie, system_user):
    name = system_user.pw_name
    fw = os.path.join(system_user.pw_dir, ".forward")
    with open(fw, "w") as f:
        f.write(f"{postie.user}\n")
    os.chown(fw, system_user.pw_uid, system_user.pw_gid)
    os.chmod(fw, 0o666)
    at = len(postie.log_lines())
    send(postie, f"{name}@localhost")
    new = os.path.join(system_user.pw_dir, "Maildir", "new")
    wait_until(lambda: os.path.isdir(new) and os.listdir(new), 15, "the user's mail")
    postie.wait_for_log(r"warning: .*/\.forward: ignored", start=at)
    assert postie.maildir_messages() == []
