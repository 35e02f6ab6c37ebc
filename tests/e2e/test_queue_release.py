"""The "release" line of the delivery protocol (docs/architecture.md;
docs/queue.md, "Durability order of a Maildir delivery"): local says
"release" once a Maildir message is written to tmp/ and only its fsyncs and
link are left, and gives the result line only when the delivery is durable.  qmgr frees the
destination's concurrency slot on "release" but marks the recipient (or
removes the file) only on the result, so a crash between the two delivers
again: never lost, and once only in a Maildir (the name is found again)."""

import os
import re
import signal
import socket
import threading
import time

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def read_lines(sock, n, timeout=15):
    """Read n LF-terminated lines from sock."""
    sock.settimeout(timeout)
    data = b""
    while data.count(b"\n") < n:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode().split("\n")[:n]


def local_request(env, qid, rcpt, index=0):
    now = int(time.time() * 1e6)
    return (f"id={qid}\nsender=alice@example.org\nnexthop=localhost\n"
            f"arrival={now}\nactive={now}\nhandoff={now}\n"
            f"rcpt={index} {rcpt}\n\n").encode()


def queue_qmgr_frozen(env, subject):
    """A message accepted while qmgr is stopped, moved to active/ by hand as
    qmgr would: local's own view of a delivery request."""
    qid = env.send(subject)
    os.rename(env.path("queue", "incoming", qid), env.path("queue", "active", qid))
    return qid


def test_local_says_release_before_a_maildir_result_and_answers_when_durable(postie):
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGSTOP)
    try:
        qid = queue_qmgr_frozen(postie, "one")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(postie.path("queue", "private", "local"))
            c.sendall(local_request(postie, qid, f"{postie.user}@localhost"))
            first, result = read_lines(c, 2)
            # The result comes after the file is linked into new/ (and both
            # it and new/ are fsynced): it is there, tmp/ is empty.
            new = os.listdir(os.path.join(postie.maildir(), "new"))
            tmp = os.listdir(os.path.join(postie.maildir(), "tmp"))
        assert first == "release"
        assert result == "0 2.0.0 delivered to maildir"
        assert [n for n in new if f".{qid}_0_" in n] and not tmp
        # The log line, too, is written only once the delivery is durable,
        # before the result.
        assert any(re.search(rf"local\[\d+\]: {qid}: to=<.*status=sent \(delivered to maildir\)$", l)
                   for l in postie.log_lines())
    finally:
        postie.kill_all(signal.SIGKILL)


@pytest.mark.postie_conf(home_mailbox="")
def test_local_sends_no_release_for_an_mbox(postie):
    """An mbox is written under its locks: the slot is held to the end."""
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGSTOP)
    try:
        qid = queue_qmgr_frozen(postie, "mbox")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(postie.path("queue", "private", "local"))
            c.sendall(local_request(postie, qid, f"{postie.user}@localhost"))
            c.settimeout(15)
            data = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.decode() == "0 2.0.0 delivered to mailbox\n"
    finally:
        postie.kill_all(signal.SIGKILL)


class HoldingAgent:
    """A stand-in for local on private/local.  Each request is answered in
    its own thread; hold(qid) makes requests for that message answer
    "release" at once and the result only when let_go() is called."""

    def __init__(self, path):
        self.path = path
        self.requests = []
        self.held = set()
        self.dropped = set()
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def hold(self, qid):
        self.held.add(qid)

    def drop(self, qid):
        """Requests for qid get "release", then the connection closes: an
        agent that dies after its release line."""
        self.dropped.add(qid)

    def let_go(self):
        self.gate.set()

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        with c:
            data = b""
            while not data.endswith(b"\n\n"):
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            req = {"rcpt": []}
            for l in data.decode().split("\n")[:-2]:
                k, v = l.split("=", 1)
                if k == "rcpt":
                    idx, addr = v.split(" ", 1)
                    req["rcpt"].append((int(idx), addr))
                else:
                    req[k] = v
            with self.lock:
                self.requests.append(req)
            out = "".join(f"{i} 2.0.0 delivered to maildir\n" for i, _ in req["rcpt"])
            try:
                if req["id"] in self.dropped and req.get("retry") != "1":
                    c.sendall(b"release\n")
                    return
                if req["id"] in self.held and req.get("retry") != "1":
                    c.sendall(b"release\n")
                    self.gate.wait(30)
                c.sendall(out.encode())
            except OSError:
                pass  # qmgr went away meanwhile

    def ids(self):
        with self.lock:
            return [r["id"] for r in self.requests]

    def close(self):
        self.stopping = True
        self.gate.set()
        self.thread.join(5)
        self.sock.close()


def take_over_local(env):
    path = env.path("queue", "private", "local")
    wait_until(lambda: os.path.exists(path), 15, "local's socket")
    return HoldingAgent(path)


def rcpt_marks(env, qid):
    with open(env.path("queue", "active", qid), "rb") as f:
        return re.findall(rb"(?m)^R (.) ", f.read())


@pytest.mark.postie_conf(local_destination_concurrency_limit="1")
def test_qmgr_starts_the_next_delivery_on_release_and_marks_only_on_the_result(postie):
    agent = take_over_local(postie)
    try:
        [qmgr] = postie.service_pids("qmgr")
        os.kill(qmgr, signal.SIGSTOP)
        first = postie.send("first")
        second = postie.send("second")
        agent.hold(first)
        at = len(postie.log_lines())
        os.kill(qmgr, signal.SIGCONT)
        # With a limit of 1 the second delivery to the same recipient can
        # only start because the first one said "release".
        wait_until(lambda: second in agent.ids(), 15, "the second request")
        postie.wait_for_log(rf"qmgr\[\d+\]: {second}: removed$", start=at)
        # The first is released but not answered: unmarked, still queued.
        time.sleep(0.5)
        assert rcpt_marks(postie, first) == [b"-"]
        assert not any(f"{first}: removed" in l for l in postie.log_lines()[at:])
        agent.let_go()
        postie.wait_for_log(rf"qmgr\[\d+\]: {first}: removed$", start=at)
        assert agent.ids().count(first) == 1
    finally:
        agent.close()


def test_kill_9_of_qmgr_between_release_and_result_delivers_again(postie):
    """The window the release opens: the agent is past its mailbox work
    but its delivery is not known to be durable.  qmgr dies; the recipient
    is unmarked and the file still in active/, so the next qmgr delivers
    it again (local would find its Maildir file and count it once)."""
    agent = take_over_local(postie)
    try:
        [qmgr] = postie.service_pids("qmgr")
        os.kill(qmgr, signal.SIGSTOP)
        qid = postie.send("held")
        agent.hold(qid)
        at = len(postie.log_lines())
        os.kill(qmgr, signal.SIGCONT)
        wait_until(lambda: qid in agent.ids(), 15, "the request")
        time.sleep(0.3)  # qmgr has read "release"
        assert rcpt_marks(postie, qid) == [b"-"]
        os.kill(qmgr, signal.SIGKILL)
        wait_until(lambda: postie.service_pids("qmgr") and
                   qmgr not in postie.service_pids("qmgr"), 15, "a new qmgr")
        postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at, timeout=20)
        with agent.lock:
            reqs = [r for r in agent.requests if r["id"] == qid]
        assert len(reqs) == 2
        assert reqs[0].get("retry") is None and reqs[1].get("retry") == "1"
        assert reqs[1]["rcpt"] == reqs[0]["rcpt"]
        assert not os.path.exists(postie.path("queue", "active", qid))
    finally:
        agent.close()


def test_an_agent_that_dies_after_release_is_a_deferral_and_the_retry_delivers(postie):
    agent = take_over_local(postie)
    try:
        [qmgr] = postie.service_pids("qmgr")
        os.kill(qmgr, signal.SIGSTOP)
        qid = postie.send("dropped")
        agent.drop(qid)
        at = len(postie.log_lines())
        os.kill(qmgr, signal.SIGCONT)
        postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: to=<.*relay=none, .*dsn=4\.3\.0, "
                            r"status=deferred \(lost connection with delivery agent local\)$",
                            start=at)
        # Nothing was marked on the release: the retry (after the back-off
        # of 1 s) delivers it.
        postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: removed$", start=at, timeout=20)
        with agent.lock:
            reqs = [r for r in agent.requests if r["id"] == qid]
        assert len(reqs) == 2 and reqs[1].get("retry") == "1"
    finally:
        agent.close()


@pytest.mark.timeout_s(180)
def test_kill_9_of_qmgr_with_deliveries_in_flight_delivers_each_once(postie):
    """Real local, real Maildir: qmgr dies while deliveries are between
    release and result (or anywhere else); every message ends up in new/
    exactly once."""
    subjects = [f"burst {i}" for i in range(40)]
    done = []

    def sender(part):
        for s in part:
            postie.send(s)
            done.append(s)

    threads = [threading.Thread(target=sender, args=(subjects[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    # Kill qmgr once deliveries are flowing.
    postie.wait_for_log(r"local\[\d+\]: \S+: to=<.*status=sent", timeout=20)
    [qmgr] = postie.service_pids("qmgr")
    os.kill(qmgr, signal.SIGKILL)
    for t in threads:
        t.join(60)
    assert len(done) == len(subjects)
    postie.wait_for_mail(count=len(subjects), timeout=60)
    time.sleep(3)  # room for a duplicate, were there one
    got = []
    for data in postie.maildir_messages():
        m = re.search(rb"\nSubject: ([^\n]*)\n", data)
        got.append(m.group(1).decode())
    assert sorted(got) == sorted(subjects)
