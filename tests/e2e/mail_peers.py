"""mail_peers - the other side of postie's smtp and lmtp agents, on
loopback only (issue 4):

    LoopbackDNS   unbound from Debian serving local zones (MX, A, AAAA,
                  null MX, NXDOMAIN, REFUSED) on 127.0.0.1:<free port>;
                  postie gets it through dns_servers.  Nothing leaves the
                  host: the root zone itself is a static local zone.
    Peer          an aiosmtpd SMTP (or LMTP) server whose answers to MAIL,
                  RCPT and DATA a test can change while it runs; optional
                  STARTTLS with a self-signed certificate.
    SilentPeer    accepts TCP connections and never says a word.
    SmtpSink      Postfix's smtp-sink (PIPELINING, -r/-f soft and hard
                  rejects).
    self_signed() a throw-away certificate made with openssl.

Every start waits for the server to answer and every stop leaves nothing
running.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from postie_env import free_port, wait_until

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def have_unbound():
    return os.path.exists(UNBOUND)


def have_aiosmtpd():
    try:
        import aiosmtpd  # noqa: F401
        return True
    except ImportError:
        return False


def port_free_on(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def free_port_on(*hosts):
    """A TCP port free on every one of hosts (127.0.0.x, ::1)."""
    for _ in range(50):
        p = free_port()
        if all(port_free_on(h, p) for h in hosts):
            return p
    raise RuntimeError("no common free port")


class LoopbackDNS:
    """unbound on 127.0.0.1:port answering from local-data only.

    records: list of strings in zone-file syntax ("a.test. IN MX 10 mx.a.test.");
    zones: the static zones they live in (names under them that have no
    data are NXDOMAIN); refuse: zones answered with REFUSED (a server
    failure for the resolver: "try again")."""

    def __init__(self, records, zones, refuse=()):
        self.tmp = tempfile.mkdtemp(prefix="postie-dns-")
        os.chmod(self.tmp, 0o755)
        self.records = records
        self.zones = zones
        self.refuse = refuse
        self.proc = None
        self.port = None

    def _conf(self):
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{self.tmp}"',
            f'  pidfile: "{self.tmp}/unbound.pid"',
            "  use-syslog: no",
            f'  logfile: "{self.tmp}/unbound.log"',
            "  verbosity: 1",
            "  num-threads: 1",
            "  so-reuseport: no",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "iterator"',
            "  do-not-query-localhost: yes",
            # Never ask anyone: everything outside the test zones is
            # answered here (NXDOMAIN), the root zone included.
            '  local-zone: "." static',
            "  cache-max-ttl: 0",
            "  cache-max-negative-ttl: 0",
        ]
        for z in self.zones:
            lines.append(f'  local-zone: "{z}" static')
        for z in self.refuse:
            lines.append(f'  local-zone: "{z}" refuse')
        for r in self.records:
            lines.append(f'  local-data: "{r}"')
        lines += ["remote-control:", "  control-enable: no"]
        return "\n".join(lines) + "\n"

    def start(self):
        for _ in range(5):
            self.port = free_port()
            conf = os.path.join(self.tmp, "unbound.conf")
            with open(conf, "w") as f:
                f.write(self._conf())
            self.proc = subprocess.Popen(
                [UNBOUND, "-d", "-c", conf], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "err"), "w"))
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError("unbound did not start: " + self.log())

    def _wait_ready(self, timeout=10):
        import struct
        q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x00" + struct.pack(">HH", 6, 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                try:
                    s.sendto(q, ("127.0.0.1", self.port))
                    data, _ = s.recvfrom(512)
                    if data[:2] == b"\x12\x34":
                        return True
                except OSError:
                    pass
            time.sleep(0.1)
        return False

    def log(self):
        out = ""
        for n in ("err", "unbound.log"):
            try:
                with open(os.path.join(self.tmp, n)) as f:
                    out += f.read()
            except OSError:
                pass
        return out

    @property
    def server(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def self_signed(dirpath, cn="mx.tls.test"):
    """A self-signed certificate and key (PEM) for cn; returns (cert, key)."""
    cert = os.path.join(dirpath, "peer-cert.pem")
    key = os.path.join(dirpath, "peer-key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=60)
    return cert, key


class Peer:
    """An aiosmtpd server on host:port (or an LMTP one on a unix socket).

    Answers: set peer.mail_reply / peer.rcpt_reply (a string, or a function
    of the address returning one, None for "250 OK") / peer.data_reply at
    any time.  peer.messages holds (mail_from, rcpt_tos, content bytes)."""

    def __init__(self, host="127.0.0.1", port=None, tls_cert=None, lmtp_socket=None,
                 smtputf8=False, **smtp_kwargs):
        from aiosmtpd.controller import Controller, UnixSocketController  # noqa: F401
        self.host = host
        self.port = port or free_port_on(host)
        self.messages = []
        self.mail_reply = None
        self.rcpt_reply = None
        self.data_reply = None
        self.ehlo_reply = None
        self.helo_count = 0
        self.sessions = 0
        self.tls_cert = tls_cert
        self.lmtp_socket = lmtp_socket
        self.smtputf8 = smtputf8
        self.smtp_kwargs = smtp_kwargs   # aiosmtpd SMTP(...) options, e.g. data_size_limit
        self.controller = None

    # aiosmtpd handler hooks
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        r = self.rcpt_reply(address) if callable(self.rcpt_reply) else self.rcpt_reply
        if r:
            return r
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content,
                              list(envelope.mail_options)))
        return "250 2.0.0 Ok: queued as PEER%d" % len(self.messages)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if self.ehlo_reply:
            return [self.ehlo_reply]  # an old server: the client falls back to HELO
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self.sessions += 1
        self.helo_count += 1
        session.host_name = hostname
        return "250 {}".format(server.hostname)

    def start(self):
        from aiosmtpd.controller import Controller, UnixSocketController
        kw = {"enable_SMTPUTF8": self.smtputf8,
              **{k: v for k, v in self.smtp_kwargs.items() if k != "tls_break"}}
        if self.tls_cert:
            import ssl
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*self.tls_cert)
            if self.smtp_kwargs.pop("tls_break", False):
                # A handshake that fails: TLS 1.2 and a client certificate
                # the client does not have.
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(self.tls_cert[0])
            kw["tls_context"] = ctx
            kw["require_starttls"] = False
        if self.lmtp_socket:
            from aiosmtpd.lmtp import LMTP

            class _C(UnixSocketController):
                def factory(inner):
                    return LMTP(inner.handler, **kw)
            self.controller = _C(self, unix_socket=self.lmtp_socket)
        else:
            self.controller = Controller(self, hostname=self.host, port=self.port,
                                         server_hostname="peer.test", **kw)
        self.controller.start()
        if self.lmtp_socket:
            os.chmod(self.lmtp_socket, 0o666)
        return self

    def stop(self):
        if self.controller:
            try:
                self.controller.stop()
            except Exception:
                pass
            self.controller = None


class SilentPeer:
    """Accepts connections on host:port and says nothing (a hung server)."""

    def __init__(self, host="127.0.0.1", port=None):
        self.host = host
        self.port = port or free_port_on(host)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except (socket.timeout, OSError):
                continue

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        for c in self.conns:
            c.close()
        self.sock.close()


class SmtpSink:
    """Postfix's smtp-sink on host:port; extra: its options (e.g. ["-r", "RCPT"])."""

    def __init__(self, host="127.0.0.1", port=None, extra=()):
        self.host = host
        self.port = port or free_port_on(host)
        self.extra = list(extra)
        self.proc = None
        self.dump = tempfile.mkdtemp(prefix="postie-sink-")
        os.chmod(self.dump, 0o777)

    def start(self):
        args = [SMTP_SINK]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]
        args += ["-c", "-d", os.path.join(self.dump, "%M."), *self.extra,
                 f"{self.host}:{self.port}", "16"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def up():
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    return s.recv(100)[:1] in (b"2", b"4", b"5")
            except OSError:
                return False
        wait_until(up, 10, "smtp-sink to answer")
        return self

    def messages(self):
        out = []
        for n in sorted(os.listdir(self.dump)):
            with open(os.path.join(self.dump, n), "rb") as f:
                out.append(f.read())
        return out

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dump, ignore_errors=True)


class RawPeer:
    """A minimal SMTP server on host:port that keeps the exact octets of
    every DATA it receives (aiosmtpd parses lines first; this one does not),
    and every command line, for tests of what goes on the wire."""

    def __init__(self, host="127.0.0.1", port=None):
        self.host = host
        self.port = port or free_port_on(host)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.data = []       # raw DATA content of each message, up to CRLF.CRLF
        self.commands = []   # every command line, without CRLF
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _serve(self, c):
        c.settimeout(10)
        buf = b""
        c.sendall(b"220 raw.peer.test ESMTP\r\n")
        while True:
            while b"\r\n" not in buf:
                got = c.recv(65536)
                if not got:
                    return
                buf += got
            line, buf = buf.split(b"\r\n", 1)
            self.commands.append(line.decode("latin-1"))
            verb = line[:4].upper()
            if verb == b"EHLO":
                c.sendall(b"250-raw.peer.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go ahead\r\n")
                while b"\r\n.\r\n" not in b"\r\n" + buf:
                    got = c.recv(65536)
                    if not got:
                        return
                    buf += got
                if buf.startswith(b".\r\n"):
                    content, buf = b"", buf[3:]
                else:
                    content, buf = buf.split(b"\r\n.\r\n", 1)
                    content += b"\r\n"
                self.data.append(content)
                c.sendall(b"250 2.0.0 Ok: kept\r\n")
            elif verb == b"QUIT":
                c.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                c.sendall(b"250 2.0.0 Ok\r\n")

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            try:
                self._serve(c)
            except OSError:
                pass
            finally:
                c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()
