"""smtpd as a service: many clients at once over the smtpd processes, and a
graceful stop that lets a message in DATA finish while idle sessions get
421 4.3.2."""

import re
import smtplib
import threading
import time

import pytest

from test_smtpd_session import Raw, local_rcpt, queued_id, start


@pytest.mark.timeout_s(180)
def test_200_clients_at_once_each_get_their_message_queued(postie):
    n = 200
    rcpt = local_rcpt(postie)
    results = [None] * n
    barrier = threading.Barrier(n)

    def client(i):
        try:
            s = smtplib.SMTP("127.0.0.1", postie.smtp_port, timeout=60)
            barrier.wait(timeout=60)
            s.sendmail(f"c{i}@example.org", [rcpt],
                       f"Subject: client {i}\r\n\r\nbody {i}\r\n".encode())
            s.quit()
            results[i] = "ok"
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = repr(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    failed = [r for r in results if r != "ok"]
    assert not failed, failed[:5]
    postie.wait_for_log(r"postie/cleanup\[\d+\]: [0-9A-F]+: message-id=", count=n,
                        timeout=30)
    msgs = postie.wait_for_mail(count=n, timeout=90)
    bodies = sorted(int(re.search(rb"\nbody (\d+)\n", m).group(1)) for m in msgs)
    assert bodies == list(range(n))


def test_stop_lets_data_finish_and_tells_idle_sessions(postie):
    rcpt = local_rcpt(postie)
    idle = start(postie)
    busy = start(postie)
    assert busy.cmd("MAIL FROM:<a@example.org>") == "250 2.1.0 Ok"
    assert busy.cmd(f"RCPT TO:<{rcpt}>") == "250 2.1.5 Ok"
    assert busy.cmd("DATA").startswith("354")
    busy.send("Subject: during stop\r\n\r\n")
    stopper = threading.Thread(target=postie.stop)
    stopper.start()
    try:
        assert re.match(r"421 4\.3\.2 \S+ Service shutting down$", idle.reply())
        busy.send("the end\r\n.\r\n")
        qid = queued_id(busy.reply())
        assert re.match(r"421 4\.3\.2 ", busy.reply())
    finally:
        stopper.join(timeout=30)
        idle.close()
        busy.close()
    assert any(f"{qid}: message-id=" in l for l in postie.log_lines())


@pytest.mark.postie_conf(smtpd_client_connection_count_limit="2", mynetworks="192.0.2.0/24")
def test_killed_smtpd_is_restarted_and_its_connection_slots_freed(postie):
    import os
    import signal
    held = [Raw(postie.smtp_port) for _ in range(2)]
    for h in held:
        assert h.reply().startswith("220 ")
    old = postie.service_pids("smtpd")
    assert old
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    for h in held:
        assert h.closed()
        h.close()

    def restarted():
        pids = postie.service_pids("smtpd")
        return len(pids) == len(old) and not set(pids) & set(old)
    from postie_env import wait_until
    wait_until(restarted, 30, "smtpd restarted by master")
    # The dead processes' two connections no longer count.
    again = []
    try:
        for _ in range(2):
            r = None
            deadline = time.monotonic() + 15
            while True:
                try:
                    r = Raw(postie.smtp_port)
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            again.append(r)
            assert r.reply().startswith("220 ")
    finally:
        for r in again:
            r.close()
