#!/usr/bin/python3
"""smtp_probe - measuring helpers for bench/smtp_throughput.sh.

Subcommands (each prints "key=value" lines the shell script reads):

  ports K                       K free TCP ports on 127.0.0.1
  wait MAILDIR COUNT TIMEOUT    prints "ready", then waits (inotify) until
                                COUNT new entries appeared in MAILDIR/new;
                                prints the wall-clock time of the last one
  latency HOST PORT FROM TO MAILDIR RUNS SIZE
                                RUNS times: connect, send one message of SIZE
                                bytes, wait (inotify) for it in MAILDIR/new;
                                prints median/min/max of connect->250 and
                                connect->mailbox (the first run is a warm-up)
  fsync DIR                     cost of write(1 KiB)+fsync of a new file in
                                DIR, and of fsync of DIR itself
  cpu ROOTPID                   CPU seconds (user+system) used so far by the
                                process tree under ROOTPID, including its
                                reaped children
  idle HOST PORT COUNT ROOTPID  memory of the process tree under ROOTPID
                                before and after COUNT idle SMTP connections
                                (greeting read, EHLO answered), RSS and PSS

Not a test, not part of "make test": a measuring tool only.  It talks only
to the loopback address it is given.
"""
import ctypes
import ctypes.util
import os
import select
import socket
import statistics
import struct
import sys
import time

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class Watch:
    """inotify on one directory: entries created or moved into it."""

    def __init__(self, path):
        self.path = path
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        wd = _libc.inotify_add_watch(self.fd, path.encode(), IN_CREATE | IN_MOVED_TO)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + path)
        self.seen = set(os.listdir(path))

    def new_entries(self, timeout):
        """Block up to timeout seconds; return (names, time of arrival)."""
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        now = time.time()
        if not r:
            return [], now
        names = []
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return [], now
        off = 0
        while off < len(data):
            _wd, mask, _cookie, ln = struct.unpack_from("iIII", data, off)
            name = data[off + 16:off + 16 + ln].rstrip(b"\0").decode(errors="replace")
            off += 16 + ln
            if mask & IN_Q_OVERFLOW:
                # Lost events: fall back to the directory itself.
                for n in os.listdir(self.path):
                    if n not in self.seen:
                        self.seen.add(n)
                        names.append(n)
            elif name and name not in self.seen:
                self.seen.add(name)
                names.append(name)
        return names, now


def cmd_ports(k):
    socks, ports = [], []
    for _ in range(int(k)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    print(" ".join(map(str, ports)))


def cmd_wait(maildir, count, timeout):
    count, deadline = int(count), time.time() + float(timeout)
    w = Watch(os.path.join(maildir, "new"))
    print("ready", flush=True)
    got, last = 0, None
    while got < count:
        left = deadline - time.time()
        if left <= 0:
            print("arrived=%d" % got)
            print("timeout=1")
            sys.exit(1)
        names, t = w.new_entries(min(left, 1.0))
        if names:
            got += len(names)
            last = t
    print("arrived=%d" % got)
    print("last=%.6f" % last)


def smtp_reply(f):
    """Read one (multi-line) reply; return its code."""
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


def smtp_expect(f, want):
    code = smtp_reply(f)
    if code // 100 != want:
        raise RuntimeError("unexpected reply %d" % code)


def message_body(sender, rcpt, size, seq):
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: bench latency %d\r\n"
            "Message-ID: <bench-%d-%d@bench.test>\r\n\r\n"
            % (sender, rcpt, seq, os.getpid(), seq)).encode()
    line = b"x" * 70 + b"\r\n"
    body = bytearray(head)
    while len(body) + len(line) <= size:
        body += line
    return bytes(body)


def cmd_latency(host, port, sender, rcpt, maildir, runs, size):
    port, runs, size = int(port), int(runs), int(size)
    w = Watch(os.path.join(maildir, "new"))
    acc, box = [], []
    for i in range(runs + 1):
        t0 = time.time()
        s = socket.create_connection((host, port), timeout=30)
        f = s.makefile("rwb")
        smtp_expect(f, 2)
        for cmd, want in ((b"EHLO bench.test", 2), (b"MAIL FROM:<%s>" % sender.encode(), 2),
                          (b"RCPT TO:<%s>" % rcpt.encode(), 2), (b"DATA", 3)):
            f.write(cmd + b"\r\n")
            f.flush()
            smtp_expect(f, want)
        f.write(message_body(sender, rcpt, size, i) + b".\r\n")
        f.flush()
        smtp_expect(f, 2)
        t250 = time.time()
        f.write(b"QUIT\r\n")
        f.flush()
        try:
            smtp_reply(f)
        except (ConnectionError, OSError):
            pass
        s.close()
        deadline = t0 + 30
        while True:
            names, t = w.new_entries(deadline - time.time())
            if names:
                break
            if time.time() >= deadline:
                print("timeout=1")
                sys.exit(1)
        if i > 0:  # run 0 warms up the server's processes and caches
            acc.append((t250 - t0) * 1000)
            box.append((t - t0) * 1000)
        time.sleep(0.05)
    for name, v in (("accept", acc), ("mailbox", box)):
        print("%s_median_ms=%.1f" % (name, statistics.median(v)))
        print("%s_min_ms=%.1f" % (name, min(v)))
        print("%s_max_ms=%.1f" % (name, max(v)))


def tree(root):
    """PIDs of root and all its descendants."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as fh:
                st = fh.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_mem(root):
    """(processes, RSS KiB, PSS KiB) of the tree."""
    n = rss = pss = 0
    for p in tree(root):
        try:
            with open("/proc/%d/smaps_rollup" % p) as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            n += 1
        except OSError:
            pass
    return n, rss, pss


def cmd_cpu(root):
    hz = os.sysconf("SC_CLK_TCK")
    ticks = 0
    for p in tree(int(root)):
        try:
            with open("/proc/%d/stat" % p) as fh:
                st = fh.read()
        except OSError:
            continue
        f = st[st.rindex(")") + 2:].split()
        # utime stime cutime cstime: fields 14-17 of stat(5), here 11-14
        ticks += sum(int(x) for x in f[11:15])
    print("cpu_s=%.2f" % (ticks / hz))


def cmd_idle(host, port, count, root):
    port, count, root = int(port), int(count), int(root)
    time.sleep(0.5)
    n0, rss0, pss0 = tree_mem(root)
    conns = []
    try:
        for _ in range(count):
            s = socket.create_connection((host, port), timeout=30)
            f = s.makefile("rwb")
            smtp_expect(f, 2)
            f.write(b"EHLO bench.test\r\n")
            f.flush()
            smtp_expect(f, 2)
            conns.append((s, f))
        time.sleep(1.0)
        n1, rss1, pss1 = tree_mem(root)
    finally:
        for s, f in conns:
            try:
                f.write(b"QUIT\r\n")
                f.flush()
            except OSError:
                pass
            s.close()
    print("connections=%d" % len(conns))
    print("procs_before=%d" % n0)
    print("procs_after=%d" % n1)
    print("rss_before_kib=%d" % rss0)
    print("rss_after_kib=%d" % rss1)
    print("pss_before_kib=%d" % pss0)
    print("pss_after_kib=%d" % pss1)
    print("rss_per_conn_kib=%.1f" % ((rss1 - rss0) / count))
    print("pss_per_conn_kib=%.1f" % ((pss1 - pss0) / count))


def cmd_fsync(d):
    """What one durable small write costs on this disk (context for rates)."""
    runs, tf, td = 100, 0.0, 0.0
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(runs):
            p = os.path.join(d, "fsync-probe.%d" % i)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            t0 = time.perf_counter()
            os.write(fd, b"x" * 1024)
            os.fsync(fd)
            t1 = time.perf_counter()
            os.fsync(dfd)
            t2 = time.perf_counter()
            os.close(fd)
            os.unlink(p)
            tf += t1 - t0
            td += t2 - t1
    finally:
        os.close(dfd)
    print("file_fsync_ms=%.3f" % (tf / runs * 1000))
    print("dir_fsync_ms=%.3f" % (td / runs * 1000))


def main(argv):
    cmds = {"ports": (cmd_ports, 1), "wait": (cmd_wait, 3),
            "latency": (cmd_latency, 7), "idle": (cmd_idle, 4),
            "fsync": (cmd_fsync, 1), "cpu": (cmd_cpu, 1)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    fn, _ = cmds[argv[1]]
    fn(*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
