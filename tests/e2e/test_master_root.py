"""master run by root: binds a privileged port itself, then runs every
service but local as mail_owner (DESIGN.md: nothing that parses network
input runs as root).  Skipped when the tests do not run as root."""

import os
import pwd
import socket

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _privileged_free_port():
    """A port below 1024 that is free on 127.0.0.1 (25 may be Postfix's)."""
    for port in range(700, 1000):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    pytest.skip("no free port below 1024")


def _ids(pid):
    uid = gid = None
    groups = []
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                uid = [int(x) for x in line.split()[1:]]
            elif line.startswith("Gid:"):
                gid = [int(x) for x in line.split()[1:]]
            elif line.startswith("Groups:"):
                groups = [int(x) for x in line.split()[1:]]
    return uid, gid, groups


def test_root_master_binds_privileged_port_and_drops_privileges(postie_factory):
    if not has_service("smtpd"):
        pytest.skip("smtpd not in this build yet")
    port = _privileged_free_port()
    env = postie_factory(conf={"smtpd_listen": f"127.0.0.1:{port}"}, start=False)
    env.smtp_port = port
    env.start()
    owner = pwd.getpwnam("postie")
    # master keeps root: it must be able to bind again on reload.
    assert _ids(env.master_pid)[0] == [0, 0, 0, 0]
    for name in env.expected_services():
        for pid in env.service_pids(name):
            uid, gid, groups = _ids(pid)
            if name in ("local", "pop3d", "pop3s"):
                # local switches to each mailbox's owner per delivery;
                # pop3d per session (its login processes drop at once).
                assert uid[1] == 0
            else:
                # real, effective, saved and file-system ids: no way back.
                assert uid == [owner.pw_uid] * 4, (name, uid)
                assert gid == [owner.pw_gid] * 4, (name, gid)
                assert 0 not in groups, (name, groups)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.settimeout(10)
        assert s.recv(512).startswith(b"220 ")
    # The files the services write belong to mail_owner; the log too.
    assert os.stat(env.path("maillog")).st_uid == owner.pw_uid
    assert os.stat(env.path("queue", "incoming")).st_uid == owner.pw_uid
    st = os.stat(env.path("users"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, owner.pw_gid, 0o640)
    # And the first message goes all the way through.
    if all(has_service(s) for s in ("qmgr", "local")):
        with env.smtp() as s:
            s.sendmail("a@example.org", [f"{env.user}@localhost"], "Subject: root\r\n\r\nhi\r\n")
        env.wait_for_mail(count=1)
        wait_until(lambda: env.maildir_messages(), 10, "the message")


def test_root_master_runs_services_from_a_binary_mail_owner_cannot_reach(postie_factory):
    """A checkout in /root (mode 0700) must still work: master hands the
    services the binary it runs itself, not a path they cannot follow."""
    import shutil
    env = postie_factory(start=False)
    private = os.path.join(env.tmp, "private")
    os.makedirs(private, mode=0o700)
    shutil.copy2(env.bin, os.path.join(private, "postie"))
    env.bin = os.path.join(private, "postie")
    env.start()
    services = env.expected_services()
    assert services
    for name in services:
        assert env.service_pids(name)
    # And none of them keeps dying.
    import time
    time.sleep(1)
    assert not [l for l in env.log_lines() if "warning: process" in l]


def test_root_master_start_does_not_follow_links_planted_in_the_queue(postie_factory):
    """The queue belongs to mail_owner; a root master that repairs owners at
    start must not be led by a symbolic link to hand out root's files."""
    env = postie_factory()
    victim_dir = os.path.join(env.tmp, "rootdir")
    os.makedirs(victim_dir)
    victim = os.path.join(victim_dir, "secret")
    with open(victim, "w") as f:
        f.write("root's\n")
    os.chmod(victim_dir, 0o700)
    env.stop()
    # What a compromised service could do: links in its own tree.
    os.symlink(victim_dir, env.path("queue", "hold", "evil-dir"))
    os.symlink(victim, env.path("queue", "deferred", "evil-file"))
    env.start()
    assert os.stat(victim_dir).st_uid == 0
    assert os.stat(victim).st_uid == 0
    # The links themselves may change owner; their targets never.
    assert os.lstat(env.path("queue", "hold", "evil-dir")).st_uid == pwd.getpwnam("postie").pw_uid
