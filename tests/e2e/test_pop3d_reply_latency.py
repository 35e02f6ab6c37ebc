"""POP3 replies do not wait for the client's delayed ACK (issue #15): a
RETR reply used to go out in three writes (reply line, content, end) on a
socket with Nagle's algorithm, and the last one waited about 40 ms for the
client's ACK; now the reply is one write and the socket has TCP_NODELAY.
50 RETRs of a small message take well under a second."""

import time

from test_pop3d_session import _pop, _setup


def test_fifty_small_retrs_take_less_than_a_second(postie):
    _setup(postie, messages=["short body\r\n"])
    p = _pop(postie)
    try:
        assert p.stat()[0] == 1
        t0 = time.monotonic()
        for _ in range(50):
            _, lines, _ = p.retr(1)
            assert b"short body" in lines
        took = time.monotonic() - t0
        print(f"50 RETRs took {took:.3f}s")
        assert took < 1.0, took
    finally:
        p.quit()
