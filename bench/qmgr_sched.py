#!/usr/bin/env python3
"""qmgr_sched - the queue manager's own CPU per message under a backlog.

Two postie binaries (OLD and NEW, e.g. the last release and the tree) in
interleaved rounds: each round starts a fresh instance of each, makes USERS
virtual users, sends N one-KiB messages over one SMTP connection, each to
one user in turn (acceptance outruns delivery, so active/ fills up: the
case where a scheduler that rescans the active queue after every event
costs the most), waits until every message is in a Maildir, and reads
qmgr's CPU time (utime + stime of its process, /proc/PID/stat) and the
wall time from the first message to the last delivery.  The medians of
ROUNDS rounds and the ratios are printed, with the machine's load.

Not a test (make test never runs it); figures depend on the machine.

    OLD=/path/to/old/postie NEW=build/postie N=2000 USERS=50 ROUNDS=3 \\
        /usr/bin/python3 bench/qmgr_sched.py
"""

import os
import smtplib
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import postie_env  # noqa: E402

N = int(os.environ.get("N", "2000"))
USERS = int(os.environ.get("USERS", "50"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BINS = {"old": os.environ.get("OLD", "/work/baseline/postie"),
        "new": os.environ.get("NEW", os.path.join(HERE, "..", "build", "postie"))}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def count_new(env, users):
    total = 0
    for u in users:
        try:
            total += len(os.listdir(os.path.join(env.maildir(u), "new")))
        except OSError:
            pass
    return total


def one_round(binary):
    postie_env.POSTIE_BIN = os.path.abspath(binary)
    env = postie_env.PostieEnv(conf={"default_process_limit": "100"})
    try:
        users = [f"u{i}" for i in range(USERS)]
        for u in users:
            env.add_user(u)
        qmgr = env.service_pids("qmgr")[0]
        cpu0 = cpu_seconds(qmgr)
        body = "Subject: bench\r\n\r\n" + ("x" * 70 + "\r\n") * 14
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=60) as s:
            for i in range(N):
                s.sendmail("bench@example.org", [f"{users[i % USERS]}@localhost"], body)
        accepted = time.monotonic() - t0
        deadline = time.monotonic() + 600
        while count_new(env, users) < N:
            if time.monotonic() > deadline:
                raise RuntimeError("not every message was delivered in 600 s")
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(qmgr) - cpu0
        return {"qmgr_us_per_msg": cpu / N * 1e6, "msg_per_s": N / wall,
                "accept_s": accepted}
    finally:
        env.stop()
        env.cleanup()


def main():
    print(f"qmgr_sched: N={N} USERS={USERS} ROUNDS={ROUNDS}; load before: "
          f"{open('/proc/loadavg').read().split()[:3]}")
    res = {k: [] for k in BINS}
    for r in range(ROUNDS):
        for name, b in BINS.items():
            x = one_round(b)
            res[name].append(x)
            print(f"  round {r + 1} {name}: qmgr {x['qmgr_us_per_msg']:.0f} us/msg, "
                  f"{x['msg_per_s']:.1f} msg/s delivered, accepted in {x['accept_s']:.1f} s, "
                  f"load {open('/proc/loadavg').read().split()[0]}", flush=True)
    med = {k: {m: statistics.median(x[m] for x in v) for m in v[0]} for k, v in res.items()}
    for k in BINS:
        print(f"median {k}: qmgr {med[k]['qmgr_us_per_msg']:.0f} us/msg, "
              f"{med[k]['msg_per_s']:.1f} msg/s")
    print(f"ratio new/old: qmgr CPU per message "
          f"{med['new']['qmgr_us_per_msg'] / med['old']['qmgr_us_per_msg']:.2f}, "
          f"delivered msg/s {med['new']['msg_per_s'] / med['old']['msg_per_s']:.2f}; "
          f"load after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
