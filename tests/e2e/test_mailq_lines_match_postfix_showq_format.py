"""mailq's message lines are Postfix's to the byte (issue 9).

Postfix's postqueue (showq_compat.c) prints a message line as
"%-11s %7ld %20.20s %s\\n" of: the queue ID with a mark appended only for
the active ('*') and hold ('!') queues, the size, asctime() of the arrival
cut to 20 columns, the sender.  A deferred message has no mark, so a
12-character ID is followed by exactly one blank: an extra blank status
column breaks scripts that split on fixed columns.

The expected lines are computed here from postqueue -j's fields, with
Python's own asctime: no postie code decides what is right.
"""

import json
import os
import re
import subprocess
import time

import pytest

REMOTE = "someone@example.net"


def run(env, *args, input=None):
    e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", TZ="UTC")
    return subprocess.run([env.bin, "-c", env.dir, *args], input=input, capture_output=True,
                          text=True, timeout=30, env=e)


def postfix_line(qid, mark, size, arrival, sender):
    when = time.asctime(time.gmtime(arrival))
    return "%-11s %7d %20.20s %s" % (qid + mark, size, when, sender)


@pytest.mark.postie_conf(relayhost="[127.0.0.1]:9")
def test_mailq_message_lines_are_postfix_showq_lines_byte_for_byte(postie):
    r = run(postie, "sendmail", "-f", "alice@example.org", REMOTE,
            input="Subject: stuck\n\nbody\n")
    assert r.returncode == 0, r.stderr
    qid = postie.wait_for_log(r"pickup\[\d+\]: ([0-9A-F]{12}): uid=")[-1].group(1)
    postie.wait_for_log(qid + r": to=<%s>.*status=deferred" % re.escape(REMOTE), timeout=20)

    # A second message, put on hold: its line carries the '!' mark.
    r = run(postie, "sendmail", "-f", "bob@example.org", REMOTE,
            input="Subject: held\n\nbody\n")
    assert r.returncode == 0, r.stderr
    qid2 = postie.wait_for_log(r"pickup\[\d+\]: ([0-9A-F]{12}): uid=", count=2)[-1].group(1)
    postie.wait_for_log(qid2 + r": to=<%s>.*status=deferred" % re.escape(REMOTE), timeout=20)

    def held():
        return run(postie, "queue", "hold", qid2).returncode == 0
    deadline = time.monotonic() + 20
    while not held():
        assert time.monotonic() < deadline, "hold refused for 20 s"
        time.sleep(0.2)

    # Both out of active/ (qmgr may retry): the listing is then stable.
    def listing():
        j = run(postie, "queue", "list", "--json")
        assert j.returncode == 0, j.stderr
        objs = [json.loads(line) for line in j.stdout.splitlines()]
        names = {o["queue_id"]: o["queue_name"] for o in objs}
        if names.get(qid) != "deferred" or names.get(qid2) != "hold":
            return None
        text = run(postie, "mailq")
        assert text.returncode == 0, text.stderr
        j2 = run(postie, "queue", "list", "--json")
        if j2.stdout != j.stdout:
            return None
        return objs, text.stdout
    deadline = time.monotonic() + 20
    got = listing()
    while got is None:
        assert time.monotonic() < deadline, "queue never settled"
        time.sleep(0.2)
        got = listing()
    objs, text = got

    by_id = {o["queue_id"]: o for o in objs}
    lines = text.splitlines()
    assert lines[0] == "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"
    for q, mark in ((qid, ""), (qid2, "!")):
        o = by_id[q]
        want = postfix_line(q, mark, o["message_size"], o["arrival_time"], o["sender"])
        mine = [line for line in lines if line.startswith(q)]
        assert mine == [want], (mine, want)
        # The recipient line: 41 blanks, then the address.
        i = lines.index(want)
        rest = lines[i + 1:]
        assert " " * 41 + REMOTE in rest[:2], rest[:2]
    assert lines[-1] == "-- %d Kbytes in 2 Requests." % (
        sum(o["message_size"] for o in objs) // 1024)
