"""Local submission survives kill -9 (DESIGN.md, "The queue is the
database"): messages waiting in maildrop/ while pickup, or the whole
system, is killed in the middle of taking them are all delivered after the
restart.  At least once: a message taken into the queue just before the
kill but not yet removed from maildrop/ may arrive twice, never zero times.
"""

import os
import re
import signal
import time

from postie_env import wait_until

N = 60


def submit_all(env):
    import subprocess
    e = dict(os.environ, MAIL_CONFIG=env.dir, ASAN_OPTIONS="detect_leaks=0")
    for i in range(N):
        r = subprocess.run([env.bin, "sendmail", "-i", f"{env.user}@localhost"],
                           input=f"Subject: crash {i}\nX-Seq: {i}\n\nbody {i}\n",
                           capture_output=True, text=True, timeout=30, env=e)
        assert r.returncode == 0, r.stderr


def delivered_seqs(env):
    return [int(re.search(rb"X-Seq: (\d+)", m).group(1)) for m in env.maildir_messages()]


def test_pickup_killed_while_taking_maildrop_loses_nothing(postie):
    postie.stop()
    submit_all(postie)
    assert len(os.listdir(postie.path("queue", "maildrop"))) == N
    postie.start()
    # Kill pickup again and again while it works; master restarts it.
    deadline = time.monotonic() + 5
    kills = 0
    while time.monotonic() < deadline and os.listdir(postie.path("queue", "maildrop")):
        for pid in postie.service_pids("pickup"):
            try:
                os.kill(pid, signal.SIGKILL)
                kills += 1
            except ProcessLookupError:
                pass
        time.sleep(0.03)
    wait_until(lambda: not os.listdir(postie.path("queue", "maildrop")), 30, "maildrop empty")
    wait_until(lambda: set(delivered_seqs(postie)) == set(range(N)), 30,
               f"all {N} messages delivered (kills: {kills})")


def test_whole_system_killed_while_taking_maildrop_loses_nothing(postie):
    postie.stop()
    submit_all(postie)
    postie.start()
    time.sleep(0.05)
    postie.kill_all(signal.SIGKILL)
    postie.start()
    wait_until(lambda: set(delivered_seqs(postie)) == set(range(N)), 30,
               f"all {N} messages delivered")
    wait_until(lambda: not os.listdir(postie.path("queue", "maildrop")), 10, "maildrop empty")
