"""After a refused reload, a service that master starts again runs on the
configuration master accepted, not on the file as it is now: master hands
each service the text it checked (src/master/master_conf.h).  Without it
the restarted service reads the bad value, dies and is restarted in a
throttled loop: one bad edit and one crash take a service down."""

import os
import re
import signal
import socket
import time

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def _refuse_a_reload(env):
    env.wait_services_configured()
    env.write_conf({"queue_run_delay": "later"})
    at = len(env.log_lines())
    os.kill(env.master_pid, signal.SIGHUP)
    env.wait_for_log(r"postie/master\[\d+\]: warning: reload refused: 1 bad value in ", start=at)
    return at


def test_qmgr_killed_after_a_refused_reload_comes_back_and_delivers(postie):
    at = _refuse_a_reload(postie)
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGKILL)
    wait_until(lambda: postie.service_pids("qmgr") and qmgr not in postie.service_pids("qmgr"),
               15, "a new qmgr")
    [new] = postie.service_pids("qmgr")
    postie.wait_services_configured()
    postie.send("after the refused reload")
    postie.wait_for_mail(count=1, timeout=20)
    time.sleep(0.5)
    assert postie.service_pids("qmgr") == [new]
    died = [l for l in postie.log_lines()[at:]
            if re.search(r"postie/qmgr\[\d+\]: fatal:|warning: process \S+ pid \d+ exit", l)
            and f"pid {qmgr} " not in l]
    assert died == []


def test_an_accepted_reload_after_a_refused_one_reaches_new_services(postie):
    """The snapshot follows each accepted reload: a service started after
    it runs with the new value, not the first one."""
    _refuse_a_reload(postie)
    postie.write_conf({"queue_run_delay": "2s", "smtpd_banner": "$myhostname snapshot-two"})
    at = len(postie.log_lines())
    os.kill(postie.master_pid, signal.SIGHUP)
    postie.wait_for_log(r"postie/master\[\d+\]: reload -- version ", start=at)
    # Every smtpd ends; the ones master starts next take the snapshot.
    for pid in postie.service_pids("smtpd"):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: postie.service_pids("smtpd"), 15, "new smtpd processes")
    postie.wait_services_configured()
    with socket.create_connection(("127.0.0.1", postie.smtp_port), timeout=10) as c:
        c.settimeout(10)
        greeting = c.recv(512)
    assert greeting.startswith(b"220 ") and b"snapshot-two" in greeting, greeting
