"""postie doctor judges the mbox spool as local now does (issue 14): a
world-writable mail_spool_directory fails (anyone could make another
user's mailbox or hold its lock), a mailbox that is not a regular file
with one link fails (every delivery to it is deferred), and a healthy mbox
instance passes."""

import json
import os
import stat

import pytest

from postie_env import has_service

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")

MBOX = {"myhostname": "localhost", "home_mailbox": ""}


def doctor(env):
    r = env.postie("doctor", "--json", timeout=60)
    assert r.returncode in (0, 1, 2), f"doctor exit {r.returncode}: {r.stderr}"
    return r.returncode, {c["name"]: c for c in json.loads(r.stdout)["checks"]}


def test_doctor_mbox_instance_is_healthy(postie_factory):
    env = postie_factory(conf=MBOX)
    rc, checks = doctor(env)
    mb = checks["mailboxes"]
    assert mb["status"] == "ok", mb


def test_doctor_fails_a_world_writable_spool(postie_factory):
    env = postie_factory(conf=MBOX)
    spool = env.path("spool")
    os.chmod(spool, 0o1777)
    rc, checks = doctor(env)
    mb = checks["mailboxes"]
    assert rc == 2 and mb["status"] == "fail", mb
    assert f"mail_spool_directory {os.path.realpath(spool)} is writable by every user" \
        in mb["finding"] or f"mail_spool_directory {spool} is writable by every user" \
        in mb["finding"], mb
    assert "chmod" in mb["next"]


def test_doctor_fails_a_fifo_as_mailbox(postie_factory):
    env = postie_factory(conf=MBOX)
    box = env.path("spool", env.user)
    os.mkfifo(box, 0o600)
    rc, checks = doctor(env)
    mb = checks["mailboxes"]
    assert rc == 2 and mb["status"] == "fail", mb
    assert "is not a regular file with one link" in mb["finding"], mb
    assert stat.S_ISFIFO(os.lstat(box).st_mode)
