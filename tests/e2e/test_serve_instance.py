"""postie serve: a first start makes the whole instance and says where
everything is; later starts keep what is there."""

import os
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

from postie_env import PostieEnv, has_service, wait_until


def _serve(env, timeout=20):
    """Run serve on env.dir until 'daemon started' or its exit."""
    proc = subprocess.Popen([env.bin, "serve", "--dir", env.dir],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})
    return proc


def test_serve_creates_instance_and_prints_services():
    env = PostieEnv(start=False, write_conf=False)
    try:
        assert not os.path.exists(env.dir)
        # First start on a directory that does not exist, with the embedded
        # defaults.  Port 2525 may be taken on a busy machine: the instance
        # is made before the sockets are bound either way.
        proc = _serve(env)
        try:
            wait_until(lambda: proc.poll() is not None or
                       any("daemon started" in l for l in env.log_lines()), 20,
                       "first serve to start or fail")
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # it had exited: port 2525 was taken
            out, err = proc.communicate(timeout=20)

        conf = open(env.path("postie.conf")).read()
        # Commented, Postfix-style: every value worth changing, none set.
        for name in ("myhostname", "mydestination", "mynetworks", "inet_interfaces",
                     "smtpd_listen", "home_mailbox", "message_size_limit",
                     "queue_directory", "maillog_file"):
            assert re.search(rf"^# {name} = ", conf, re.M), name
        assert not [l for l in conf.splitlines() if l and not l.startswith("#")]
        for d in ("incoming", "active", "deferred", "hold", "corrupt", "maildrop"):
            assert os.path.isdir(env.path("queue", d)), d
        users = open(env.path("users")).read().splitlines()
        assert len(users) == 1
        name, hashed = users[0].split(":")[:2]
        assert hashed.startswith("{SHA512-CRYPT}$6$")
        assert os.path.isdir(os.path.join(env.maildir(name), "new"))
        assert os.path.isfile(env.path("aliases"))

        # A second start with ports of our own: an administrator's edit.
        with open(env.path("postie.conf"), "a") as f:
            f.write(f"smtpd_listen = 127.0.0.1:{env.smtp_port}\n")
            f.write("queue_run_delay = 1s\n")
        env.conf = {"smtpd_listen": f"127.0.0.1:{env.smtp_port}"}
        env.start()
        out = env.stdout()
        assert f"postie serve: instance {os.path.realpath(env.dir)}" in out
        assert "log     " + os.path.realpath(env.path("maillog")) in out
        # The password is shown once, at the first start, never again.
        assert "password" not in out
        # It did not make a second user or overwrite the edited file.
        assert open(env.path("users")).read().splitlines() == users
        assert f"smtpd_listen = 127.0.0.1:{env.smtp_port}" in open(env.path("postie.conf")).read()
        if "smtpd" in env.expected_services():
            assert re.search(rf"^  smtpd   SMTP on 127\.0\.0\.1:{env.smtp_port}$", out, re.M)
            assert f"swaks --server 127.0.0.1 --port {env.smtp_port} --to {name}@localhost" in out
            assert "smtplib.SMTP(" in out
            with socket.create_connection(("127.0.0.1", env.smtp_port), timeout=10) as s:
                s.settimeout(10)
                assert s.recv(512).startswith(b"220 ")
        env.wait_for_log(r"postie/master\[\d+\]: daemon started -- version \S+, configuration "
                         + re.escape(os.path.realpath(env.dir)) + "$", count=2)
    finally:
        env.cleanup()


def test_serve_first_start_shows_user_and_password(postie_factory):
    env = postie_factory(start=False)
    env.start()
    out = env.stdout()
    m = re.search(r"^  user    (\S+), password (\S+) \(shown only now", out, re.M)
    assert m, out
    assert m.group(1) == env.user
    # Stored as a hash only; the clear text is in no file and no log line.
    assert m.group(2) not in open(env.path("users")).read()
    assert not [l for l in env.log_lines() if m.group(2) in l]


def test_serve_refuses_a_second_master_on_the_same_instance(postie):
    r = subprocess.run([postie.bin, "serve", "--dir", postie.dir], capture_output=True,
                       text=True, timeout=20,
                       env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})
    assert r.returncode != 0
    assert "already running" in r.stderr
    # The first one is unharmed.
    assert postie.proc.poll() is None


@pytest.mark.skipif(not has_service("smtpd"), reason="smtpd not in this build yet")
def test_serve_reports_a_port_in_use_and_exits(postie_factory):
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = postie_factory(conf={"smtpd_listen": f"127.0.0.1:{port}"}, start=False)
        r = subprocess.run([env.bin, "serve", "--dir", env.dir], capture_output=True,
                           text=True, timeout=20,
                           env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})
        assert r.returncode == 1
        assert f"bind 127.0.0.1:{port}: Address already in use" in r.stderr
        assert f"bind 127.0.0.1:{port}: Address already in use" in "\n".join(env.log_lines())


def test_serve_ctrl_c_stops_everything(postie):
    pids = postie.group_pids()
    assert postie.master_pid in pids
    os.kill(postie.master_pid, signal.SIGINT)
    assert postie.proc.wait(timeout=15) == 0
    wait_until(lambda: not postie.group_pids(), 10, "every process to end")
    postie.wait_for_log(r"postie/master\[\d+\]: terminating on signal 2$")
    # A clean stop leaves no pid file behind.
    assert not os.path.exists(postie.path("data", "master.pid"))


def test_serve_refuses_a_bad_value_with_file_and_line(postie_factory):
    env = postie_factory(conf={"queue_run_delay": "soon", "no_such_name": "1"}, start=False)
    r = subprocess.run([env.bin, "serve", "--dir", env.dir], capture_output=True, text=True,
                       timeout=20, env={**os.environ, "ASAN_OPTIONS": "detect_leaks=0"})
    assert r.returncode == 1
    conf = os.path.realpath(env.path("postie.conf"))
    lines = open(conf).read().splitlines()
    n = next(i for i, l in enumerate(lines, 1) if l.startswith("queue_run_delay"))
    assert f"postie: {conf}:{n}: queue_run_delay = soon: not a time value" in r.stderr
    assert "not starting" in r.stderr
    # Nothing runs, and nothing was logged as started.
    assert not [l for l in env.log_lines() if "daemon started" in l]


def test_serve_starts_with_an_unknown_name_and_warns(postie_factory):
    env = postie_factory(conf={"no_such_name": "1"})
    assert env.proc.poll() is None
    assert "unknown parameter: no_such_name" in env.stderr()
