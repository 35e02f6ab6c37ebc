"""Postfix as a peer: Postfix's smtp client, with smtp_tls_security_level =
encrypt, delivers to postie's smtpd over STARTTLS (issue 11, "Postfix as a
peer").  A throw-away Postfix instance in a temporary directory (postfix
-c DIR), relaying everything to postie; needs root and Debian's postfix."""

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("postfix") is None,
    reason="needs root and Debian's postfix package")

MASTER_CF = """\
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def test_postfix_delivers_to_postie_over_required_starttls(postie_factory):
    env = postie_factory(conf={"smtpd_tls_loglevel": "1", "smtpd_tls_received_header": "yes",
                               "mydestination": "$myhostname, localhost, postie.test"})
    d = tempfile.mkdtemp(prefix="postie-postfix-peer-")
    os.chmod(d, 0o755)
    etc, spool, data = (os.path.join(d, x) for x in ("etc", "spool", "data"))
    for p in (etc, spool, data):
        os.makedirs(p)
    shutil.chown(data, "postfix")
    log = os.path.join(d, "maillog")
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {spool}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {log}
maillog_file_prefixes = {d}
myhostname = relay.postfix.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:{env.smtp_port}
smtp_dns_support_level = disabled
smtp_tls_security_level = encrypt
smtp_tls_loglevel = 1
alias_maps =
alias_database =
""")
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write(MASTER_CF)
    started = False
    try:
        r = subprocess.run(["postfix", "-c", etc, "start"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        started = True
        r = subprocess.run(["sendmail", "-C", etc, "-f", "alice@postfix.test",
                            f"{env.user}@postie.test"],
                           input="Subject: from postfix\n\nover starttls\n",
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        msg = env.wait_for_mail(timeout=40)[0].decode()
        assert "over starttls" in msg
        assert re.search(r"\t\(using TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)\)\n", msg), msg
        env.wait_for_log(r"postie/smtpd\[\d+\]: Anonymous TLS connection established from "
                         r"\S+\[127\.0\.0\.1\]: TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)$")

        def postfix_log():
            try:
                with open(log) as f:
                    return f.read()
            except OSError:
                return ""
        deadline = time.monotonic() + 20
        while "status=sent" not in postfix_log():
            assert time.monotonic() < deadline, postfix_log()
            time.sleep(0.2)
        text = postfix_log()
        assert re.search(r"postfix/smtp\[\d+\]: Untrusted TLS connection established to "
                         r"127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.3 with cipher", text), text
        assert re.search(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=2\.0\.0, status=sent "
                         r"\(250 2\.0\.0 Ok: queued as [0-9A-F]+\)", text), text
    finally:
        if started:
            subprocess.run(["postfix", "-c", etc, "stop"], capture_output=True, timeout=60)
        # postfix stop returns before every daemon is gone.
        for _ in range(50):
            if subprocess.run(["pgrep", "-f", f"master -c {etc}"], capture_output=True).returncode:
                break
            time.sleep(0.1)
        shutil.rmtree(d, ignore_errors=True)
