"""postie doctor runs the troubleshooting guide's quick diagnostic workflow
(seeds/004) against a real instance and says what it found: a healthy
instance passes every check, and each broken thing shows up in the step
where the guide would find it, with its reason and the next command."""

import json
import os
import re
import shutil
import signal
import time

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")

# localhost is in every /etc/hosts: the myhostname check needs no DNS.
BASE = {"myhostname": "localhost"}


def doctor(env, *args, timeout=60):
    r = env.postie("doctor", "--json", *args, timeout=timeout)
    assert r.returncode in (0, 1, 2), f"doctor exit {r.returncode}: {r.stderr}"
    report = json.loads(r.stdout)
    assert report["exit"] == r.returncode
    return r.returncode, {c["name"]: c for c in report["checks"]}, report


def send(env, rcpt, subject="doctor"):
    with env.smtp() as s:
        s.sendmail("alice@example.org", [rcpt],
                   f"From: alice@example.org\r\nSubject: {subject}\r\n\r\nbody\r\n")


def test_doctor_healthy_instance_all_ok_exit_0(postie_factory):
    env = postie_factory(conf=BASE)
    rc, checks, report = doctor(env)
    bad = {n: (c["status"], c["finding"]) for n, c in checks.items() if c["status"] != "ok"}
    assert rc == 0 and not bad, bad
    # Every step of the guide's workflow is there, in its order.
    assert [c["step"] for c in report["checks"]] == sorted(c["step"] for c in report["checks"])
    assert {c["step"] for c in report["checks"]} == {1, 2, 3, 4, 5, 6, 7}
    assert "master runs" in checks["master"]["finding"]
    assert "smtpd" in checks["master"]["finding"] and "qmgr" in checks["master"]["finding"]
    assert any(f"127.0.0.1:{env.smtp_port}" in d and '"220 ' in d
               for d in checks["smtpd"]["details"])
    assert "no deferred mail" in checks["destinations"]["finding"]
    # The text form says the same for a human, and exits the same way.
    r = env.postie("doctor")
    assert r.returncode == 0, r.stdout
    assert "1. Check service status" in r.stdout
    assert "7. Test authentication" in r.stdout
    assert "OK: nothing wrong found" in r.stdout


def test_doctor_stopped_instance_fails_service_with_start_advice(postie_factory):
    env = postie_factory(conf=BASE)
    env.stop()
    rc, checks, _ = doctor(env, "--timeout", "2")
    assert rc == 2
    m = checks["master"]
    assert m["status"] == "fail"
    assert "master is not running" in m["finding"]
    assert f"postie -c {env.dir} start" in m["next"]
    # Nothing answers either, and the advice points back to step 1.
    s = checks["smtpd"]
    assert s["status"] == "fail" and "Connection refused" in s["finding"]
    assert "start" in s["next"]


def test_doctor_reports_deferred_mail_to_a_refusing_destination(postie_factory):
    # relayhost: a loopback port where nothing listens (connection refused).
    env = postie_factory(conf=dict(BASE, relayhost="[127.0.0.1]:9"))
    send(env, "bob@example.net")
    m = env.wait_for_log(r"postie/smtp\[\d+\]: (\S+): to=<bob@example\.net>, .*"
                         r"status=deferred \((.*)\)$", timeout=20)
    qid, reason = m[0].group(1), m[0].group(2)
    assert "Connection refused" in reason
    wait_until(lambda: os.path.exists(env.path("queue", "defer", qid)) and
               os.path.exists(env.path("queue", "deferred", qid)), 10, "deferred/ID, defer/ID")
    rc, checks, _ = doctor(env)
    assert rc == 1, {n: c["finding"] for n, c in checks.items() if c["status"] != "ok"}
    d = checks["deferred"]
    assert d["status"] == "warn"
    assert "1 deferred message" in d["finding"] and "Connection refused" in d["finding"]
    assert f"log trace {qid}" in d["next"] and "queue flush" in d["next"]
    lg = checks["deliveries"]
    assert lg["status"] == "warn"
    assert "deferral" in lg["finding"] and "Connection refused" in lg["finding"]
    # The log tool's explanation of the reason comes with the group.
    assert any(x.strip().startswith("likely cause:") for x in lg["details"]), lg["details"]
    assert any(f"postie -c {env.dir} log trace {qid}" in x for x in lg["details"])
    # DNS: the relay host is what deferred mail depends on.
    assert checks["destinations"]["status"] == "ok"
    assert any("relayhost [127.0.0.1]:9" in x for x in checks["destinations"]["details"])


def test_doctor_reports_an_unwritable_mailbox(postie_factory):
    env = postie_factory(conf=BASE)
    user = env.user
    md = env.maildir(user)
    for sub in ("cur", "new"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    tmp = os.path.join(md, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with open(tmp, "w") as f:   # tmp/ a plain file: delivery fails for anyone
        f.write("not a directory\n")
    send(env, f"{user}@localhost")
    m = env.wait_for_log(r"postie/local\[\d+\]: (\S+): to=<.*status=deferred \((.*)\)$",
                         timeout=20)
    qid = m[0].group(1)
    wait_until(lambda: os.path.exists(env.path("queue", "deferred", qid)), 10, "deferred/ID")
    rc, checks, _ = doctor(env)
    assert rc == 2
    assert checks["deferred"]["status"] == "warn"
    assert "Not a directory" in checks["deferred"]["finding"]
    assert "Not a directory" in checks["deliveries"]["finding"]
    mb = checks["mailboxes"]
    assert mb["status"] == "fail"
    assert tmp in mb["finding"] and "not a directory" in mb["finding"]
    # A local domain needs no DNS: said so, not looked up.
    assert checks["destinations"]["status"] == "ok"


def test_doctor_config_typo_fails_with_file_and_line(postie_factory):
    env = postie_factory(conf=BASE)
    # An edit after the start (not reloaded yet): a misspelt name.
    with open(env.path("postie.conf"), "a") as f:
        f.write("mydestinaton = example.org\n")
    line = len(open(env.path("postie.conf")).read().splitlines())
    rc, checks, _ = doctor(env)
    assert rc == 2
    c = checks["config"]
    assert c["status"] == "fail"
    where = f"{env.path('postie.conf')}:{line}:"
    assert where in c["finding"] and "mydestinaton" in c["finding"]
    assert "config check" in c["next"]


def test_doctor_listener_that_does_not_answer_fails_connectivity(postie_factory):
    env = postie_factory(conf=BASE)
    pids = env.service_pids("smtpd")
    assert pids
    # Hung smtpd processes: the kernel still accepts, nobody greets.
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        rc, checks, _ = doctor(env, "--timeout", "1")
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)
    assert rc == 2
    s = checks["smtpd"]
    assert s["status"] == "fail"
    assert f"127.0.0.1:{env.smtp_port}" in s["finding"]
    assert "no greeting within 1s" in s["finding"]
    assert "hung or overloaded" in s["next"]


def test_doctor_open_relay_fails(postie_factory):
    env = postie_factory(conf=dict(BASE, mynetworks="127.0.0.0/8, 0.0.0.0/0"))
    rc, checks, _ = doctor(env)
    assert rc == 2
    r = checks["relay"]
    assert r["status"] == "fail" and "0.0.0.0/0" in r["finding"]
    assert "open relay" in r["finding"]
    assert "postie.conf:" in r["next"]


def test_doctor_names_the_service_that_died(postie_factory):
    env = postie_factory(conf=BASE)
    # A death long after the start, as in life: the log's one-second
    # stamps then tell the restarted qmgr from the first processes.
    time.sleep(3)
    victim = env.service_pids("qmgr")[0]
    os.kill(victim, signal.SIGKILL)
    env.wait_for_log(rf"master\[\d+\]: warning: process .* pid {victim} killed by signal 9")
    wait_until(lambda: env.service_pids("qmgr"), 10, "qmgr restarted")
    rc, checks, _ = doctor(env)
    r = checks["restarts"]
    assert r["status"] == "warn"
    assert f"qmgr pid {victim} killed by signal 9" in r["finding"]
    assert rc == 1


def test_doctor_usage_errors(postie_factory):
    env = postie_factory(conf=BASE, start=False)
    r = env.postie("doctor", "--since", "soon")
    assert r.returncode == 64 and "--since" in r.stderr
    r = env.postie("doctor", "--bogus")
    assert r.returncode == 64 and "usage" in r.stderr


def test_doctor_tells_a_crashed_master_from_a_stopped_one(postie_factory):
    env = postie_factory(conf=BASE)
    env.kill_all(signal.SIGKILL)   # kill -9: no clean exit, the pid file stays
    assert os.path.exists(env.path("data", "master.pid"))
    rc, checks, _ = doctor(env, "--timeout", "1")
    assert rc == 2
    m = checks["master"]
    assert m["status"] == "fail"
    assert "left from a master that died" in m["finding"]
    assert any("nobody holds its lock" in d for d in m["details"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the mailbox base away")
def test_doctor_finds_a_mailbox_delivery_cannot_make(postie_factory):
    env = postie_factory(conf=BASE)
    env.add_user("bob")
    base = env.path("mail")
    os.chown(base, 0, 0)   # root's now: mail_owner cannot make bob's Maildir
    os.chmod(base, 0o755)
    rc, checks, _ = doctor(env)
    assert rc == 2
    mb = checks["mailboxes"]
    assert mb["status"] == "fail"
    assert "bob:" in mb["finding"] and "cannot make it" in mb["finding"]
    assert f"{base} is not writable" in mb["finding"]
    assert mb["next"].startswith("chown ")
