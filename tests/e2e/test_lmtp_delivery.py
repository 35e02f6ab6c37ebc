"""LMTP delivery (RFC 2033) to a mail store: local_transport =
lmtp:unix:/path or lmtp:inet:host:port sends mydestination's recipients to
the lmtp agent instead of local.  The stores: aiosmtpd's LMTP server on a
unix socket, and a small LMTP server here that answers each recipient
after DATA on its own (RFC 2033 section 4.2), which is what LMTP is for."""

import os
import re
import shutil
import socket
import tempfile
import threading

import pytest

from mail_peers import Peer, free_port_on, have_aiosmtpd
from postie_env import has_service

pytestmark = pytest.mark.skipif(not has_service("lmtp"), reason="needs the lmtp agent")


class Store:
    """An LMTP server: LHLO, MAIL, RCPT, DATA with one reply per accepted
    recipient; data_replies maps a recipient to its reply after DATA."""

    def __init__(self, family=socket.AF_INET, path=None):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX:
            self.sock.bind(path)
            os.chmod(path, 0o666)
            self.addr = path
        else:
            self.port = free_port_on("127.0.0.1")
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.data_replies = {}
        self.rcpt_replies = {}
        self.messages = []
        self.commands = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            try:
                self._session(c)
            except OSError:
                pass
            finally:
                c.close()

    def _session(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 store.test LMTP ready\r\n")
        rcpts = []
        sender = None
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode()
            self.commands.append(cmd.split(" ")[0].upper())
            up = cmd.upper()
            if up.startswith("LHLO"):
                c.sendall(b"250-store.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
            elif up.startswith("MAIL FROM:"):
                sender = cmd[10:].split(" ")[0].strip("<>")
                rcpts = []
                c.sendall(b"250 2.1.0 Ok\r\n")
            elif up.startswith("RCPT TO:"):
                a = cmd[8:].split(" ")[0].strip("<>")
                r = self.rcpt_replies.get(a)
                if r:
                    c.sendall(r.encode() + b"\r\n")
                else:
                    rcpts.append(a)
                    c.sendall(b"250 2.1.5 Ok\r\n")
            elif up == "DATA":
                if not rcpts:
                    c.sendall(b"503 5.5.1 No valid recipients\r\n")
                    continue
                c.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                body = b""
                while True:
                    l = f.readline()
                    if l in (b".\r\n", b""):
                        break
                    body += l
                self.messages.append((sender, list(rcpts), body))
                for a in rcpts:
                    r = self.data_replies.get(a, f"250 2.0.0 <{a}> Saved")
                    c.sendall(r.encode() + b"\r\n")
            elif up == "QUIT":
                c.sendall(b"221 2.0.0 Bye\r\n")
                return
            elif up == "RSET":
                rcpts = []
                c.sendall(b"250 2.0.0 Ok\r\n")
            else:
                c.sendall(b"500 5.5.2 what?\r\n")

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="postie-lmtp-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def send(env, rcpts):
    # smtpd still checks local recipients against the users (Postfix's
    # local_recipient_maps); the store behind LMTP has its own view.
    for r in rcpts:
        user = r.split("@")[0]
        if user not in env.postie("user", "list").stdout.split():
            env.add_user(user)
    with env.smtp() as s:
        s.sendmail("alice@example.org", rcpts, "Subject: to the store\n\nhello store\n")


def test_lmtp_per_recipient_replies_over_unix_socket(postie_factory, sockdir):
    """Three recipients in one LMTP transaction: the store keeps one, fails
    one for good and one for now after DATA; each gets its own line."""
    path = os.path.join(sockdir, "lmtp")
    store = Store(socket.AF_UNIX, path)
    store.data_replies = {"carol@localhost": "452 4.2.2 <carol@localhost> Mailbox full",
                          "dave@localhost": "550 5.1.1 <dave@localhost> User doesn't exist"}
    try:
        env = postie_factory(conf={"local_transport": f"lmtp:unix:{path}", "myhostname": "mail.test"})
        send(env, ["bob@localhost", "carol@localhost", "dave@localhost"])
        relay = re.escape(f"mail.test[{path}]")
        env.wait_for_log(rf"postie/lmtp\[\d+\]: [0-9A-F]+: to=<bob@localhost>, relay={relay}, delay=[\d.]+, "
                         r"delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <bob@localhost> Saved\)$",
                         timeout=20)
        env.wait_for_log(rf"to=<carol@localhost>, relay={relay}, .*dsn=4\.2\.2, status=deferred "
                         rf"\(host {relay} said: 452 4\.2\.2 <carol@localhost> Mailbox full "
                         r"\(in reply to end of DATA command\)\)$")
        env.wait_for_log(rf"to=<dave@localhost>, relay={relay}, .*dsn=5\.1\.1, status=bounced")
        assert len(store.messages) >= 1
        assert store.messages[0][1] == ["bob@localhost", "carol@localhost", "dave@localhost"]
        assert "LHLO" in store.commands
        # local never saw them
        assert not any("relay=local" in l for l in env.log_lines())
    finally:
        store.stop()


def test_lmtp_over_tcp(postie_factory):
    store = Store()
    try:
        env = postie_factory(conf={"local_transport": f"lmtp:inet:127.0.0.1:{store.port}"})
        send(env, ["bob@localhost"])
        env.wait_for_log(rf"postie/lmtp\[\d+\]: [0-9A-F]+: to=<bob@localhost>, "
                         rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{store.port}, .*status=sent", timeout=20)
        assert b"hello store" in store.messages[0][2]
    finally:
        store.stop()


def test_lmtp_store_down_is_deferred(postie_factory, sockdir):
    path = os.path.join(sockdir, "nothing-here")
    env = postie_factory(conf={"local_transport": f"lmtp:unix:{path}", "myhostname": "mail.test"})
    send(env, ["bob@localhost"])
    m = env.wait_for_log(r"postie/lmtp\[\d+\]: [0-9A-F]+: to=<bob@localhost>, relay=none, "
                         r".*dsn=4\.4\.1, status=deferred \((.*)\)$", timeout=20)[0]
    assert m.group(1) == f"connect to mail.test[{path}]: No such file or directory"


@pytest.mark.skipif(not have_aiosmtpd(), reason="needs aiosmtpd")
def test_lmtp_to_aiosmtpd(postie_factory, sockdir):
    path = os.path.join(sockdir, "aiosmtpd-lmtp")
    peer = Peer(lmtp_socket=path).start()
    try:
        env = postie_factory(conf={"local_transport": f"lmtp:unix:{path}"})
        send(env, ["bob@localhost"])
        env.wait_for_log(r"postie/lmtp\[\d+\]: [0-9A-F]+: to=<bob@localhost>, .*dsn=2\.0\.0, status=sent",
                         timeout=20)
        assert peer.messages[0][1] == ["bob@localhost"]
    finally:
        peer.stop()


DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


class Dovecot:
    """Dovecot's LMTP server alone, in a directory of its own, storing
    Maildirs under DIR/mail/USER (static users, uid nobody)."""

    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, "lmtp.sock")
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, "mail"), 0o777)
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(f"""protocols = lmtp
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
listen = 127.0.0.1
# no inet listener is configured: nothing but the unix socket
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
mail_location = maildir:{d}/mail/%n/Maildir
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%n
}}
service lmtp {{
  unix_listener lmtp {{
    path = {self.sock}
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
""")
        import subprocess
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from postie_env import wait_until
        try:
            wait_until(lambda: os.path.exists(self.sock), 15, "dovecot's lmtp socket")
        except AssertionError:
            self.stop()
            raise

    def messages(self, user):
        d = os.path.join(self.dir, "mail", user, "Maildir", "new")
        try:
            return [open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))]
        except OSError:
            return []

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(DOVECOT),
                    reason="needs Dovecot's lmtp and root (its static users are uid nobody)")
def test_lmtp_to_dovecot(postie_factory, sockdir):
    """The real thing: Dovecot's LMTP server stores the mail; one line per
    recipient with Dovecot's own reply."""
    dv = Dovecot(os.path.join(sockdir, "dovecot"))
    try:
        env = postie_factory(conf={"local_transport": f"lmtp:unix:{dv.sock}", "myhostname": "mail.test"})
        send(env, ["bob@localhost", "carol@localhost"])
        relay = re.escape(f"mail.test[{dv.sock}]")
        for u in ("bob", "carol"):
            env.wait_for_log(rf"postie/lmtp\[\d+\]: [0-9A-F]+: to=<{u}@localhost>, relay={relay}, .*dsn=2\.0\.0, "
                             rf"status=sent \(250 2\.0\.0 <{u}@localhost> \S+ Saved\)$", timeout=20)
        from postie_env import wait_until
        for u in ("bob", "carol"):
            msgs = wait_until(lambda: dv.messages(u), 10, f"{u}'s mail in Dovecot's Maildir")
            assert b"hello store" in msgs[0]
    finally:
        dv.stop()
