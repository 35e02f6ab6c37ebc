"""postie_env - one running postie instance for an end-to-end test.

PostieEnv makes a temporary instance directory, writes a postie.conf with
free loopback ports and short timers, runs `postie serve --dir DIR` (the
binary from $POSTIE_BIN, default build/postie), waits until master has bound
its sockets and started its services, and offers helpers to look at the
log, the mailboxes and the processes.  stop() always leaves nothing running
and nothing on disk.

Every wait has a timeout: a test can fail, never hang.

Running as root (as CI does), the services drop to mail_owner, so the
harness makes sure that user exists and that the instance directory can be
entered by it.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTIE_BIN = os.environ.get("POSTIE_BIN", os.path.join(REPO, "build", "postie"))
MAIL_OWNER = "postie"

# The parameters every test instance gets; a test adds or overrides with
# conf={...}.  Short timers so that retries and scans happen within a test.
TEST_CONF = {
    "queue_run_delay": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "4s",
    "service_throttle_time": "2s",
    "smtpd_processes": "2",
    "inet_interfaces": "loopback-only",
}


_ports_given = set()


def free_port():
    """A TCP port free on 127.0.0.1 right now (the kernel picks it), and
    never one this test run handed out before: a test that keeps a port
    closed on purpose (a dead MX) must not see the kernel give the same
    number to the instance it then starts, or the "dead" MX is postie's
    own smtpd and the mail loops."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port
    raise RuntimeError("no fresh free port")


def ensure_mail_owner():
    """As root, master drops the services to mail_owner: make sure it exists."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(MAIL_OWNER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--home-dir", "/nonexistent", "--shell",
             "/usr/sbin/nologin", MAIL_OWNER],
            check=False, timeout=30)


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it is true; AssertionError naming what after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces; split after ')'.
    rest = stat[stat.rfind(")") + 2:].split()
    return int(rest[1])


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


_LISTEN_PARAMS = None


def listen_params():
    """The *_listen parameters of this build that are on by default (a
    non-empty default): each test instance gets free ports for all of them,
    so that no two instances meet on a default port."""
    global _LISTEN_PARAMS
    if _LISTEN_PARAMS is None:
        r = subprocess.run([POSTIE_BIN, "-c", "/nonexistent", "config", "-d"],
                           capture_output=True, text=True, timeout=10)
        _LISTEN_PARAMS = [m.group(1) for m in
                          re.finditer(r"^(\w+_listen) = (\S.*)$", r.stdout, re.M)]
    return _LISTEN_PARAMS


_SERVICES = None


def has_service(name):
    """Is the service part of this build?  (`postie service --list`.)"""
    global _SERVICES
    if _SERVICES is None:
        r = subprocess.run([POSTIE_BIN, "service", "--list"], capture_output=True,
                           text=True, timeout=10)
        _SERVICES = r.stdout.split()
    return name in _SERVICES


class PostieEnv:
    """A postie instance in a temporary directory; see the module doc."""

    def __init__(self, conf=None, start=True, write_conf=True):
        ensure_mail_owner()
        self.bin = POSTIE_BIN
        if not os.path.exists(self.bin):
            raise RuntimeError(f"{self.bin} not built (run make)")
        self.tmp = tempfile.mkdtemp(prefix="postie-e2e-")
        # The services run as mail_owner when we are root: let them in.
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "instance")
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.pop3_port = free_port()
        self.imap_port = free_port()
        self.conf = dict(TEST_CONF)
        self.conf.update(self._port_conf())
        if conf:
            self.conf.update(conf)
        self._auto_ports = not conf or not any(k.endswith("_listen") for k in conf)
        self.proc = None
        self.stdout_path = os.path.join(self.tmp, "serve.out")
        self.stderr_path = os.path.join(self.tmp, "serve.err")
        self.starts = 0
        self.pass_fds = ()  # descriptors serve inherits (sandbox tests)
        if write_conf:
            os.makedirs(self.dir)
            self.write_conf()
        if start:
            self.start()

    # ---- configuration ----

    def write_conf(self, extra=None):
        """(Re)write postie.conf from self.conf (plus extra)."""
        if extra:
            self.conf.update(extra)
        with open(os.path.join(self.dir, "postie.conf"), "w") as f:
            f.write("# written by tests/e2e/postie_env.py\n")
            for k, v in self.conf.items():
                f.write(f"{k} = {v}\n")

    def _port_conf(self):
        named = {
            "smtpd_listen": self.smtp_port,
            "submission_listen": self.submission_port,
            "pop3d_listen": self.pop3_port,
            "imapd_listen": self.imap_port,
        }
        # Any other service that listens by default gets a port too
        # (self.ports["NAME_listen"]).
        self.ports = dict(named)
        for name in listen_params():
            if name not in self.ports:
                self.ports[name] = free_port()
        # Only for the services of this build: postie warns about a
        # parameter of a service it does not have (imapd_listen today).
        return {k: f"127.0.0.1:{v}" for k, v in self.ports.items()
                if has_service(k[:-len("_listen")])}

    def _new_ports(self):
        """Another process took a port between free_port() and the bind
        (pytest runs of other people on the same machine): pick again."""
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.pop3_port = free_port()
        self.imap_port = free_port()
        self.write_conf(self._port_conf())

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    # ---- processes ----

    def start(self, timeout=20):
        """Run postie serve and wait until master runs its services."""
        for attempt in range(3):
            err_at = len(self.stderr())
            try:
                return self._start(timeout)
            except AssertionError:
                lost_race = "Address already in use" in self.stderr()[err_at:]
                if not (lost_race and self._auto_ports and self.starts == 1 and attempt < 2):
                    raise
                self.starts = 0
                self._new_ports()

    def _start(self, timeout):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log_before = len(self.log_lines())
        banners_before = self.stdout().count("\nstop: ")
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        # Leaks at exit are by design (msg_fatal, SIGTERM): Postfix's rule.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--dir", self.dir],
            stdin=subprocess.DEVNULL,
            stdout=open(self.stdout_path, "a"),
            stderr=open(self.stderr_path, "a"),
            env=env,
            start_new_session=True,  # its own process group: kill_all
            pass_fds=self.pass_fds,
        )
        self.master_pid = self.proc.pid

        def started():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"postie serve exited with {self.proc.returncode}:\n{self.stderr()}")
            return any("daemon started" in l for l in self.log_lines()[log_before:])
        wait_until(started, timeout, "master's 'daemon started' log line")
        # The banner (which also names the services) follows the start.
        wait_until(lambda: self.stdout().count("\nstop: ") > banners_before, timeout,
                   "serve's banner")
        # The sockets are bound before that line; the services follow.
        want = self.expected_services()
        wait_until(lambda: all(self.service_pids(s) for s in want), timeout,
                   f"services {want}")
        # Master forks every process of a service at once, but a child
        # still between fork and exec shows master's own argv: until none
        # is left, service_pids would miss it (a slow sanitizer build
        # showed one smtpd of two).
        wait_until(lambda: not self.children_starting(), timeout,
                   "every service process to have started")
        return self

    def children_starting(self):
        """Master's children still between fork and exec (argv is master's)."""
        return [pid for pid in all_pids()
                if proc_ppid(pid) == self.master_pid and proc_cmdline(pid)[1:2] == ["serve"]]

    def expected_services(self):
        """The services this build runs (from the serve banner)."""
        # The last banner: "postie serve: instance ..." then one line per
        # service ("  NAME    what") until the "  log" line.
        out = self.stdout()
        banner = out[out.rfind("postie serve: instance"):]
        names = []
        for line in banner.splitlines()[1:]:
            m = re.match(r"^  (\S+) +\S", line)
            if not m or m.group(1) in ("log", "user", "users"):
                break
            names.append(m.group(1))
        return names

    def service_pids(self, name=None):
        """Pids of master's children running service name (all when None)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        pids = []
        for pid in all_pids():
            if proc_ppid(pid) != self.master_pid:
                continue
            argv = proc_cmdline(pid)
            if len(argv) >= 3 and argv[1] == "service" and (name is None or argv[2] == name):
                pids.append(pid)
        return sorted(pids)

    def group_pids(self):
        """Every process of this instance: master's process group."""
        pids = []
        for pid in all_pids():
            try:
                if os.getpgid(pid) == self.master_pid:
                    pids.append(pid)
            except OSError:
                pass
        return pids

    def kill_all(self, sig=signal.SIGKILL, timeout=10):
        """Send sig to master and every service (the process group) and, for
        a deadly signal, wait until all are gone."""
        if self.proc is None:
            return
        try:
            os.killpg(self.master_pid, sig)
        except ProcessLookupError:
            pass
        if sig in (signal.SIGKILL, signal.SIGTERM):
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.master_pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
            wait_until(lambda: not self.group_pids(), timeout, "all postie processes to end")

    def stop(self, timeout=15):
        """SIGTERM to master; it stops the services and exits.  Returns its
        exit status; anything left is killed."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        try:
            wait_until(lambda: not self.group_pids(), 5, "services to end")
        except AssertionError:
            pass
        if self.group_pids():
            try:
                os.killpg(self.master_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return rc

    def restart(self, timeout=20):
        """Stop (gracefully if it runs) and start again on the same directory."""
        self.stop()
        return self.start(timeout=timeout)

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- outputs ----

    def stdout(self):
        try:
            with open(self.stdout_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_reports(self):
        """ASan/UBSan reports any postie process wrote to the inherited stderr."""
        return [l for l in self.stderr().splitlines()
                if "AddressSanitizer" in l or "runtime error:" in l
                or "LeakSanitizer" in l]

    def wait_services_configured(self, timeout=20):
        """Wait until every service has read its configuration: each opens
        the maillog only after reading postie.conf (mail_service_init), so
        a descriptor on it in /proc says the read is over.  A test that
        then changes the file knows no service is still reading it."""
        log = os.path.realpath(self.path("maillog"))

        def has_log(pid):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                return True  # gone, or not ours to look at: nothing to wait for
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == log:
                        return True
                except OSError:
                    pass
            return False

        wait_until(lambda: all(has_log(p) for p in self.service_pids()), timeout,
                   "every service to have read its configuration")

    def log_lines(self):
        """The maillog as a list of lines (empty before the first start)."""
        try:
            with open(self.path("maillog"), errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def wait_for_log(self, regex, timeout=10, start=0, count=1):
        """Wait until count lines (from index start) match regex; returns the
        matches (re.Match objects) in log order."""
        rx = re.compile(regex)

        def found():
            ms = [m for m in (rx.search(l) for l in self.log_lines()[start:]) if m]
            return ms if len(ms) >= count else None
        try:
            return wait_until(found, timeout, f"log line /{regex}/ x{count}")
        except AssertionError:
            tail = "\n".join(self.log_lines()[-30:])
            raise AssertionError(
                f"no log line /{regex}/ (x{count}) within {timeout}s; log tail:\n{tail}")

    # ---- users and mailboxes ----

    @property
    def user(self):
        """The first user of the users file (serve makes one)."""
        try:
            with open(self.path("users")) as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        return line.split(":", 1)[0]
        except OSError:
            pass
        return None

    def add_user(self, name, password="secret"):
        """postie user add NAME --password-stdin; fails the test if it fails."""
        r = self.postie("user", "add", name, "--password-stdin", input=password + "\n")
        assert r.returncode == 0, f"postie user add {name}: {r.stderr}"
        return r

    def maildir(self, user=None):
        """The Maildir of a virtual user: its home from the users file, else
        virtual_mailbox_base/user, plus home_mailbox."""
        user = user or self.user
        home = None
        try:
            with open(self.path("users")) as f:
                for line in f:
                    fields = line.rstrip("\n").split(":")
                    if fields[0] == user and len(fields) > 5 and fields[5]:
                        home = fields[5]
        except OSError:
            pass
        if home is None:
            home = os.path.join(self.conf.get("virtual_mailbox_base", "mail"), user)
        if not os.path.isabs(home):
            home = self.path(home)
        return os.path.join(home, self.conf.get("home_mailbox", "Maildir/"))

    def maildir_messages(self, user=None, sub="new"):
        """Contents (bytes) of the messages in a Maildir subdirectory, by name."""
        d = os.path.join(self.maildir(user), sub)
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return []
        out = []
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out

    def wait_for_mail(self, user=None, count=1, timeout=15):
        return wait_until(lambda: (lambda m: m if len(m) >= count else None)(
            self.maildir_messages(user)), timeout, f"{count} message(s) in the Maildir")

    # ---- commands ----

    def postie(self, *args, input=None, timeout=30, check=False):
        """Run `postie -c DIR ARGS...`; returns the CompletedProcess (text)."""
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        return subprocess.run([self.bin, "-c", self.dir, *args], input=input,
                              capture_output=True, text=True, timeout=timeout,
                              env=env, check=check)

    def smtp(self, timeout=10):
        """An smtplib.SMTP connected to this instance."""
        import smtplib
        return smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout)

    def send(self, subject="test", rcpt=None, sender="alice@example.org"):
        """Send one message over SMTP (to this instance's first user unless
        rcpt names another); returns its queue ID from the 250 reply."""
        rcpt = rcpt or f"{self.user}@localhost"
        with self.smtp() as s:
            s.ehlo()
            s.mail(sender)
            s.rcpt(rcpt)
            code, resp = s.data(f"From: {sender}\r\nSubject: {subject}\r\n\r\n"
                                f"body of {subject}\r\n")
            assert code == 250, (code, resp)
            return re.search(rb"queued as ([0-9A-F]+)", resp).group(1).decode()
