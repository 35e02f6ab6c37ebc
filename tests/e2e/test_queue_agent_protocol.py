"""The qmgr <-> delivery agent protocol (docs/architecture.md), seen from
an agent: a stand-in on queue/private/smtp gets the request lines, answers
one line per recipient, and qmgr marks each result.  Recipients of one
message to one destination come in one request (up to 50)."""

import os
import re
import socket
import threading

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(
    not all(has_service(s) for s in ("smtpd", "qmgr", "local")),
    reason="needs smtpd, qmgr and local")


def read_queue_file(env, qid):
    # qmgr moves it between active/ and deferred/ meanwhile: try both.
    for d in ("deferred", "active"):
        try:
            with open(env.path("queue", d, qid), "rb") as f:
                return f.read()
        except FileNotFoundError:
            pass
    return None


class FakeAgent:
    """Accepts requests on private/smtp; answers with answer(rcpt_addr).
    A real smtp service of the build keeps its socket open but loses the
    name: qmgr connects by name, so it reaches this stand-in."""

    def __init__(self, path, answer):
        self.path = path
        self.answer = answer
        self.requests = []
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

    def run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            with c:
                data = b""
                while not data.endswith(b"\n\n"):
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                lines = data.decode().split("\n")[:-2]
                req = {"rcpt": []}
                for l in lines:
                    k, v = l.split("=", 1)
                    if k == "rcpt":
                        idx, addr = v.split(" ", 1)
                        req["rcpt"].append((int(idx), addr))
                    else:
                        req[k] = v
                self.requests.append(req)
                out = "".join(f"{i} {self.answer(a)}\n" for i, a in req["rcpt"])
                c.sendall(out.encode())

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def test_agent_gets_one_request_per_destination_and_each_result_is_marked(postie):
    def answer(addr):
        if addr.startswith("later"):
            return "4.4.1 connect to mx.example.net[192.0.2.1]:25: Connection timed out"
        if addr.startswith("nobody"):
            return "5.1.1 host mx.example.com said: 550 no such user"
        return "2.0.0 250 2.0.0 Ok: queued"
    path = postie.path("queue", "private", "smtp")
    if has_service("smtp"):
        # Take the name over only after the real agent has bound it.
        wait_until(lambda: os.path.exists(path), 15, "the smtp service's socket")
    agent = FakeAgent(path, answer)
    try:
        at = len(postie.log_lines())
        with postie.smtp() as s:
            s.ehlo()
            s.mail("alice@example.org")
            for r in ("a@example.com", "nobody@example.com", "b@example.com",
                      "later@example.net"):
                assert s.rcpt(r)[0] == 250
            code, resp = s.data(b"Subject: relay\r\n\r\nbody\r\n")
            assert code == 250
        qid = re.search(rb"queued as ([0-9A-F]+)", resp).group(1).decode()
        postie.wait_for_log(rf"qmgr\[\d+\]: {qid}: from=<alice@example\.org>, size=\d+, "
                            r"nrcpt=4 \(queue active\)$", start=at)
        postie.wait_for_log(rf"{qid}: from=", start=at, count=2, timeout=15)  # retried
        reqs = [r for r in agent.requests if r["id"] == qid]
        first = sorted((r for r in reqs[:2]), key=lambda r: r["nexthop"])
        assert first[0]["nexthop"] == "example.com"
        assert [a for _, a in first[0]["rcpt"]] == ["a@example.com", "nobody@example.com",
                                                    "b@example.com"]
        assert [i for i, _ in first[0]["rcpt"]] == [0, 1, 2]
        assert first[1]["nexthop"] == "example.net"
        assert first[1]["rcpt"] == [(3, "later@example.net")]
        assert first[0]["sender"] == "alice@example.org"
        assert int(first[0]["arrival"]) <= int(first[0]["active"]) <= int(first[0]["handoff"])
        # The retry carries only the deferred recipient, flagged as a repeat.
        later = [r for r in reqs[2:]]
        assert later and all(r["rcpt"] == [(3, "later@example.net")] for r in later)
        assert later[0].get("retry") == "1"
        data = wait_until(lambda: read_queue_file(postie, qid), 10, "the queue file")
        marks = re.findall(rb"(?m)^R (.) (\d) ", data)
        assert marks[:3] == [(b"D", b"0"), (b"B", b"1"), (b"D", b"2")]
        assert marks[3][0] == b"-"
    finally:
        agent.close()
