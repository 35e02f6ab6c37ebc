"""admin_tools - the administrator's own log tools (fail2ban, logwatch,
pflogsumm) run on a test instance's log with the files postie ships in
contrib/, never touching the machine's /etc.

Clients from other loopback addresses (127.0.0.2, ...) stand for outside
hosts: a test instance with mynetworks = 192.0.2.0/24 trusts none of them,
and fail2ban sees one address per "attacker".
"""

import os
import poplib
import shutil
import smtplib
import socket
import subprocess

from postie_env import REPO

CONTRIB = os.path.join(REPO, "contrib")
FAIL2BAN_ETC = "/etc/fail2ban"
OUTSIDE = {"mynetworks": "192.0.2.0/24"}  # no loopback client is trusted


def have_fail2ban():
    return (shutil.which("fail2ban-regex") is not None
            and os.path.isfile(os.path.join(FAIL2BAN_ETC, "filter.d", "postfix.conf")))


def fail2ban_confdir(tmp):
    """A private copy of the system's fail2ban configuration (stock
    filters, actions, jail.conf; no jail.d, so no sshd jail) plus postie's
    shipped filter.d and jail.d files, as the package installs them."""
    conf = os.path.join(str(tmp), "fail2ban")
    os.makedirs(conf)
    for name in os.listdir(FAIL2BAN_ETC):
        src = os.path.join(FAIL2BAN_ETC, name)
        if name in ("filter.d", "action.d", "fail2ban.d"):
            shutil.copytree(src, os.path.join(conf, name))
        elif os.path.isfile(src):
            shutil.copy(src, conf)
    os.makedirs(os.path.join(conf, "jail.d"))
    for sub in ("filter.d", "jail.d"):
        d = os.path.join(CONTRIB, "fail2ban", sub)
        for f in sorted(os.listdir(d)):
            shutil.copy(os.path.join(d, f), os.path.join(conf, sub, f))
    return conf


def fail2ban_regex(confdir, log, filt, out="msg"):
    """fail2ban-regex -o OUT LOG FILTER with the private config: the
    matched lines (or their addresses with out="ip"), one per match."""
    r = subprocess.run(["fail2ban-regex", "-r", "-c", confdir, "-o", out, log, filt],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return [l for l in r.stdout.splitlines() if l.strip()]


class SMTPFrom(smtplib.SMTP):
    def __init__(self, src, port, timeout=10):
        super().__init__("127.0.0.1", port, timeout=timeout, source_address=(src, 0))


class POP3From(poplib.POP3):
    """poplib.POP3 whose connection comes from address src."""

    def __init__(self, src, port, timeout=10):
        self._src = src
        super().__init__("127.0.0.1", port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, (self._src, 0))


def smtp_reject(env, src, rcpt, helo="client.example.org"):
    """One SMTP session from src with one refused RCPT; returns its code."""
    s = SMTPFrom(src, env.smtp_port)
    try:
        s.ehlo(helo)
        s.mail("someone@example.org")
        code, _ = s.rcpt(rcpt)
        s.rset()
        s.quit()
    finally:
        s.close()
    return code


def pop3_bad_login(env, src, user, password="not-the-password"):
    """One POP3 session from src with a wrong password, then QUIT."""
    p = POP3From(src, env.pop3_port)
    try:
        p.user(user)
        try:
            p.pass_(password)
            raise AssertionError("a wrong password was accepted")
        except poplib.error_proto:
            pass
        p.quit()
    finally:
        p.close()


def smtp_send(env, src, rcpt, subject="hello"):
    """Mail accepted from src (to a local user: no relay needed)."""
    s = SMTPFrom(src, env.smtp_port)
    try:
        s.ehlo("client.example.org")
        s.sendmail("someone@example.org", [rcpt],
                   f"From: someone@example.org\r\nSubject: {subject}\r\n\r\nhi\r\n")
        s.quit()
    finally:
        s.close()


LOGWATCH = "/usr/sbin/logwatch"


def have_logwatch():
    return os.path.isfile(LOGWATCH) and os.path.isfile(
        "/usr/share/logwatch/scripts/services/postfix")


def run_logwatch(tmp, log, services, detail="high"):
    """logwatch on LOG (as /var/log/postie.log would be read) with
    contrib/logwatch as its /etc/logwatch, for the services given; returns
    its report.  logwatch has no option for its configuration directory:
    as root, the contrib files are bind-mounted on /etc/logwatch in a
    private mount namespace (the machine's /etc is never touched); else
    a copy of the program with its ConfigDir pointed at them runs."""
    tmp = str(tmp)
    etc = os.path.join(tmp, "logwatch-etc")
    shutil.copytree(os.path.join(CONTRIB, "logwatch"), etc)
    cache = os.path.join(tmp, "logwatch-cache")
    os.makedirs(cache)
    with open(os.path.join(etc, "conf", "logwatch.conf"), "w") as f:
        f.write(f"TmpDir = {cache}\n")  # not /var/cache/logwatch
    logdir = os.path.join(tmp, "logwatch-logs")
    os.makedirs(logdir)
    shutil.copy(log, os.path.join(logdir, "postie.log"))
    args = ["--logdir", logdir, "--range", "all", "--detail", detail,
            "--output", "stdout"]
    for s in services:
        args += ["--service", s]
    if os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               'mount --bind "$0" /etc/logwatch && exec "$@"', etc, LOGWATCH, *args]
    else:
        prog = os.path.join(tmp, "logwatch")
        with open(LOGWATCH) as f:
            text = f.read()
        assert 'my $ConfigDir = "/etc/logwatch";' in text
        with open(prog, "w") as f:
            f.write(text.replace('my $ConfigDir = "/etc/logwatch";',
                                 f'my $ConfigDir = "{etc}";'))
        cmd = ["perl", prog, *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr
