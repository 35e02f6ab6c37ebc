"""master: restarts a service that dies, throttles one that keeps dying,
reloads on SIGHUP, stops everything on SIGTERM."""

import os
import re
import signal
import socket
import time

import pytest

from postie_env import has_service, wait_until

MAIL_FLOW = all(has_service(s) for s in ("smtpd", "qmgr", "local"))


def _running_services(env):
    return {s: env.service_pids(s) for s in env.expected_services()}


def test_master_restarts_killed_service(postie):
    services = postie.expected_services()
    if not services:
        pytest.skip("no service in this build yet")
    if MAIL_FLOW:
        postie.send("before")
        postie.wait_for_mail(count=1)
    for name in services:
        old = postie.service_pids(name)
        victim = old[0]
        log_at = len(postie.log_lines())
        os.kill(victim, signal.SIGKILL)
        # Postfix's words: "warning: process /path/postie pid N killed by signal 9".
        m = postie.wait_for_log(
            rf"postie/master\[{postie.master_pid}\]: warning: process (\S+) pid {victim} "
            r"killed by signal 9$", start=log_at)
        assert os.path.basename(m[0].group(1)) == os.path.basename(postie.bin)
        # A new process takes its place at once; the others are untouched.
        wait_until(lambda: len(postie.service_pids(name)) == len(old)
                   and victim not in postie.service_pids(name), 10,
                   f"a new {name} process")
        assert set(old) - {victim} <= set(postie.service_pids(name))
    assert postie.proc.poll() is None
    if MAIL_FLOW:
        # The flow goes on through the new processes.
        postie.send("after")
        postie.wait_for_mail(count=2)


def test_master_logs_exit_status_of_a_failing_service(postie):
    services = postie.expected_services()
    if not services:
        pytest.skip("no service in this build yet")
    name = services[0]
    victim = postie.service_pids(name)[0]
    log_at = len(postie.log_lines())
    # SIGABRT is how a panic ends: the same warning with its number.
    os.kill(victim, signal.SIGABRT)
    postie.wait_for_log(rf"warning: process \S+ pid {victim} killed by signal 6$", start=log_at)
    wait_until(lambda: postie.service_pids(name) and victim not in postie.service_pids(name),
               10, "restart")


@pytest.mark.postie_conf(service_throttle_time="3s")
def test_master_throttles_a_service_that_keeps_dying(postie):
    services = postie.expected_services()
    if not services:
        pytest.skip("no service in this build yet")
    name = "qmgr" if "qmgr" in services else services[0]
    log_at = len(postie.log_lines())
    killed = []
    # Each new process is killed as soon as it appears: quick deaths in a row.
    deadline = time.monotonic() + 20
    while len(killed) < 4 and time.monotonic() < deadline:
        pids = [p for p in postie.service_pids(name) if p not in killed]
        for p in pids:
            os.kill(p, signal.SIGKILL)
            killed.append(p)
        time.sleep(0.02)
    assert len(killed) >= 4
    m = postie.wait_for_log(rf"warning: \S+: service {name}: bad command startup -- throttling "
                            r"for ([\d.]+)s \(ended \d+ times in a row within \d+s of its start\)$",
                            start=log_at)
    assert 0 < float(m[0].group(1)) <= 3
    # It does come back after the wait.
    wait_until(lambda: [p for p in postie.service_pids(name) if p not in killed], 10,
               "the throttled service to start again")
    assert postie.proc.poll() is None


def test_master_reload_on_sighup_signals_services_and_keeps_them(postie):
    before = _running_services(postie)
    log_at = len(postie.log_lines())
    os.kill(postie.master_pid, signal.SIGHUP)
    postie.wait_for_log(rf"postie/master\[{postie.master_pid}\]: reload -- version \S+, "
                        rf"configuration {re.escape(os.path.realpath(postie.dir))}$",
                        start=log_at)
    time.sleep(0.5)
    # Same sockets, same processes: a reload is not a restart.
    assert _running_services(postie) == before
    assert not [l for l in postie.log_lines()[log_at:] if "killed by signal" in l]


def test_master_reload_applies_a_new_smtpd_port(postie):
    if not has_service("smtpd"):
        pytest.skip("smtpd not in this build yet")
    from postie_env import free_port
    old_port, new_port = postie.smtp_port, free_port()
    postie.write_conf({"smtpd_listen": f"127.0.0.1:{new_port}"})
    log_at = len(postie.log_lines())
    os.kill(postie.master_pid, signal.SIGHUP)
    postie.wait_for_log(r"reload -- version", start=log_at)
    postie.smtp_port = new_port

    def banner():
        try:
            with socket.create_connection(("127.0.0.1", new_port), timeout=5) as s:
                s.settimeout(5)
                return s.recv(4).startswith(b"220")
        except OSError:
            return False
    wait_until(banner, 10, "smtpd's greeting on the new port")

    def old_closed():
        try:
            socket.create_connection(("127.0.0.1", old_port), timeout=2).close()
            return False
        except OSError:
            return True
    # The old processes finish their sessions and go; then the port is free.
    wait_until(old_closed, 10, "the old port to close")


def test_master_sigterm_stops_services_and_exits_cleanly(postie):
    pids = postie.service_pids()
    log_at = len(postie.log_lines())
    assert postie.stop() == 0
    for p in pids:
        assert not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z"
    lines = postie.log_lines()[log_at:]
    assert any(re.search(r"postie/master\[\d+\]: terminating on signal 15$", l) for l in lines)
    # The services were asked to go: no warning about their ends.
    assert not [l for l in lines if "warning: process" in l]


def test_master_reload_adds_an_address_on_a_port_it_already_has(postie):
    if not has_service("smtpd"):
        pytest.skip("smtpd not in this build yet")
    port = postie.smtp_port
    # 127.0.0.2 is loopback too on Linux; the old 127.0.0.1 socket is kept
    # (taken over), not bound a second time, which would fail while the
    # old smtpd processes still hold it.
    postie.write_conf({"smtpd_listen": f"127.0.0.1:{port}, 127.0.0.2:{port}"})
    log_at = len(postie.log_lines())
    os.kill(postie.master_pid, signal.SIGHUP)
    postie.wait_for_log(r"reload -- version", start=log_at)

    def greets(addr):
        try:
            with socket.create_connection((addr, port), timeout=5) as s:
                s.settimeout(5)
                return s.recv(4).startswith(b"220")
        except OSError:
            return False
    wait_until(lambda: greets("127.0.0.2") and greets("127.0.0.1"), 10,
               "smtpd on both addresses")
    assert not [l for l in postie.log_lines()[log_at:] if "warning" in l]


def test_master_reload_follows_a_new_log_file(postie):
    postie.write_conf({"maillog_file": "maillog.new"})
    os.kill(postie.master_pid, signal.SIGHUP)
    new = postie.path("maillog.new")
    # master's own reload line already goes to the new file.
    wait_until(lambda: os.path.exists(new) and "reload -- version" in open(new).read(), 10,
               "master's reload line in the new log file")
    assert "reload -- version" not in "\n".join(postie.log_lines())


def test_services_end_with_a_killed_master_and_a_new_start_works(postie):
    kids = postie.service_pids()
    assert kids or not postie.expected_services()
    os.kill(postie.master_pid, signal.SIGKILL)
    postie.proc.wait(timeout=10)
    # No orphan keeps the sockets or the queue: they follow master.
    wait_until(lambda: not [p for p in kids if os.path.exists(f"/proc/{p}")
                            and open(f"/proc/{p}/stat").read().split()[2] != "Z"],
               10, "the services to end after master")
    # The pid file is stale now; a new master takes the same ports.
    postie.start()
    assert postie.proc.poll() is None
    for name in postie.expected_services():
        assert postie.service_pids(name)


def test_master_refuses_a_reload_with_a_bad_value_and_keeps_running(postie):
    # A service still starting (slow under the sanitizers) would read the
    # bad file itself and die: that is not what this test is about.
    postie.wait_services_configured()
    before = _running_services(postie)
    postie.write_conf({"queue_run_delay": "later"})
    log_at = len(postie.log_lines())
    os.kill(postie.master_pid, signal.SIGHUP)
    m = postie.wait_for_log(r"postie/master\[\d+\]: warning: reload refused: 1 bad value in ",
                            start=log_at)
    assert m
    assert postie.wait_for_log(r"warning: \S+postie\.conf, line \d+: queue_run_delay = later: "
                               r"not a time value", start=log_at)
    time.sleep(0.5)
    assert _running_services(postie) == before
    assert not [l for l in postie.log_lines()[log_at:] if "reload -- version" in l]


def test_master_hands_smtpd_many_sockets(postie_factory):
    """Enough sockets to cover every descriptor master itself holds: each
    smtpd still starts and answers on each address."""
    if not has_service("smtpd"):
        pytest.skip("smtpd not in this build yet")
    from postie_env import free_port
    ports = [free_port() for _ in range(8)]
    env = postie_factory(conf={"smtpd_listen": ", ".join(f"127.0.0.1:{p}" for p in ports)},
                         start=False)
    env.smtp_port = ports[0]
    env.start()
    time.sleep(0.5)
    assert not [l for l in env.log_lines() if "warning: process" in l]
    for p in ports:
        with socket.create_connection(("127.0.0.1", p), timeout=10) as s:
            s.settimeout(10)
            assert s.recv(4).startswith(b"220")
