"""Local submission end to end (issue 3): sendmail, the setgid postdrop
helper, maildrop/, pickup, and on through qmgr and local to the Maildir.

Each test starts its own instance; the unprivileged ones run the command
as "nobody" through setpriv, with a setgid copy of the binary installed
the way docs/architecture.md ("Local submission") describes.
"""

import grp
import os
import pwd
import re
import shutil
import subprocess
import time

import pytest

from postie_env import wait_until


def run(env, argv0, *args, input=None, user=None, binary=None, extra_env=None):
    """Run the binary under the name argv0 (sendmail, mailq) for env."""
    e = dict(os.environ, MAIL_CONFIG=env.dir, ASAN_OPTIONS="detect_leaks=0", TZ="UTC")
    if extra_env:
        e.update(extra_env)
    binary = binary or env.bin
    link = os.path.join(os.path.dirname(binary), argv0)
    if not os.path.exists(link):
        link = binary
    cmd = [link, *args] if link != binary else [binary, argv0, *args]
    if user:
        if os.geteuid() != 0:
            pytest.skip("needs root to run a command as another user")
        pw = pwd.getpwnam(user)
        cmd = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd]
    return subprocess.run(cmd, input=input, capture_output=True, timeout=30, env=e,
                          text=isinstance(input, str) or input is None)


def local_rcpt(env):
    return f"{env.user}@localhost"


def install_setgid(env):
    """What a system install does: postie and a setgid postdrop copy in one
    directory, sendmail a link, maildrop/ group-writable by setgid_group."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a setgid helper")
    with open(env.bin, "rb") as f:
        if b"AddressSanitizer" in f.read():
            # A setgid process runs in secure mode: ASAN_OPTIONS is ignored
            # and LeakSanitizer cannot stop the (undumpable) process.
            pytest.skip("sanitizer builds cannot run setgid")
    try:
        gid = grp.getgrnam("postdrop").gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", "postdrop"], check=True, timeout=30)
        gid = grp.getgrnam("postdrop").gr_gid
    bindir = os.path.join(env.tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.chmod(bindir, 0o755)
    postie = os.path.join(bindir, "postie")
    shutil.copy(env.bin, postie)
    os.chmod(postie, 0o755)
    helper = os.path.join(bindir, "postdrop")
    shutil.copy(env.bin, helper)
    os.chown(helper, 0, gid)
    os.chmod(helper, 0o2755)
    for n in ("sendmail", "mailq"):
        os.symlink("postie", os.path.join(bindir, n))
    maildrop = env.path("queue", "maildrop")
    os.chown(maildrop, os.stat(maildrop).st_uid, gid)
    os.chmod(maildrop, 0o1730)
    # Others read the configuration (as /etc/postie/postie.conf is).
    os.chmod(env.dir, 0o755)
    os.chmod(os.path.join(env.dir, "postie.conf"), 0o644)
    return postie


def test_sendmail_t_i_as_unprivileged_user_reaches_the_mailbox(postie):
    binary = install_setgid(postie)
    msg = (f"To: Someone <{local_rcpt(postie)}>\nSubject: from nobody\n\n"
           ".\nthe line above is a lone dot, kept with -i\n")
    r = run(postie, "sendmail", "-t", "-i", input=msg, user="nobody", binary=binary)
    assert r.returncode == 0, r.stderr
    m = postie.wait_for_log(r"postie/pickup\[\d+\]: ([0-9A-F]{12}): uid=65534 from=<nobody>")
    qid = m[0].group(1)
    postie.wait_for_log(qid + r": message-id=<")
    postie.wait_for_log(qid + r": to=<.*status=sent")
    mails = postie.wait_for_mail()
    body = mails[-1].decode()
    assert "Subject: from nobody" in body
    assert "\n.\nthe line above" in body
    # pickup added From (the sender at myorigin), cleanup Date and Message-ID.
    assert re.search(r"^From: nobody@", body, re.M), body
    assert re.search(r"^Date: ", body, re.M) and re.search(r"^Message-I[dD]: ", body, re.M)
    assert os.listdir(postie.path("queue", "maildrop")) == []


def test_unprivileged_user_without_helper_gets_a_clear_error(postie):
    r = run(postie, "sendmail", local_rcpt(postie), input="Subject: x\n\nhi\n", user="nobody")
    assert r.returncode in (69, 75), r.stderr
    assert "maildrop" in r.stderr or "queue" in r.stderr
    assert os.listdir(postie.path("queue", "maildrop")) == []


def test_mail_command_uses_postie_sendmail(postie):
    if shutil.which("mail") is None:
        pytest.skip("no mail command")
    sendmail = os.path.join(os.path.dirname(postie.bin), "sendmail")
    r = subprocess.run(["mail", "-s", "hello from mail", "-E", f"set sendmail=sendmail://{sendmail}",
                        local_rcpt(postie)], input="body via mail(1)\n", text=True,
                       capture_output=True, timeout=30,
                       env=dict(os.environ, MAIL_CONFIG=postie.dir, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 0, r.stderr
    postie.wait_for_log(rf"postie/pickup\[\d+\]: [0-9A-F]{{12}}: uid={os.geteuid()} from=<")
    mails = postie.wait_for_mail()
    assert b"Subject: hello from mail" in mails[-1]
    assert b"body via mail(1)" in mails[-1]


def test_php_style_mail_call(postie):
    # PHP's mail() runs "sendmail -t -i" (sendmail_path) and writes To,
    # Subject, its additional headers, an empty line and the body.
    msg = (f"To: {local_rcpt(postie)}\r\nSubject: PHP mail\r\nX-PHP-Originating-Script: 0:x.php\r\n"
           "From: webmaster@example.org\r\n\r\nHello from PHP\r\n")
    r = run(postie, "sendmail", "-t", "-i", "-f", "webmaster@example.org", input=msg)
    assert r.returncode == 0, r.stderr
    postie.wait_for_log(rf"pickup\[\d+\]: [0-9A-F]{{12}}: uid={os.geteuid()} from=<webmaster@example.org>")
    mails = postie.wait_for_mail()
    body = mails[-1]
    assert b"Subject: PHP mail\n" in body and b"From: webmaster@example.org\n" in body
    assert b"\r" not in body  # stored with LF line ends
    assert body.count(b"From: ") == 1  # the program's From is kept, none added


def test_bcc_is_removed_and_counts_as_recipient(postie):
    msg = f"To: nobody-here@example.invalid\nBcc: {local_rcpt(postie)}\nSubject: bcc\n\nx\n"
    r = run(postie, "sendmail", "-t", input=msg)
    assert r.returncode == 0, r.stderr
    mails = postie.wait_for_mail()
    assert b"Bcc:" not in mails[-1]


def test_message_submitted_while_stopped_is_delivered_after_start(postie):
    postie.stop()
    r = run(postie, "sendmail", local_rcpt(postie), input="Subject: while stopped\n\nwaiting\n")
    assert r.returncode == 0, r.stderr
    names = os.listdir(postie.path("queue", "maildrop"))
    assert len(names) == 1
    listing = run(postie, "mailq").stdout
    assert names[0] in listing and local_rcpt(postie) in listing
    postie.start()
    mails = postie.wait_for_mail()
    assert b"Subject: while stopped" in mails[-1]
    wait_until(lambda: os.listdir(postie.path("queue", "maildrop")) == [], 10, "maildrop empty")


def test_bad_input_gets_sysexits_and_queues_nothing(postie):
    maildrop = postie.path("queue", "maildrop")
    r = run(postie, "sendmail", input="Subject: x\n\nno recipient\n")
    assert r.returncode == 64 and "no recipients" in r.stderr
    r = run(postie, "sendmail", "-Z", local_rcpt(postie), input="x\n")
    assert r.returncode == 64 and "invalid option" in r.stderr
    r = run(postie, "sendmail", "-t", input="Subject: no To here\n\nbody\n")
    assert r.returncode == 64
    unreadable = os.open("/", os.O_RDONLY)  # a directory: read() fails
    try:
        r = subprocess.run([postie.bin, "sendmail", local_rcpt(postie)], stdin=unreadable,
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, MAIL_CONFIG=postie.dir))
    finally:
        os.close(unreadable)
    assert r.returncode == 74, r.stderr
    assert "read standard input" in r.stderr
    r = run(postie, "sendmail", "bad address@x", input="x\n")
    assert r.returncode == 65
    assert os.listdir(maildrop) == []


@pytest.mark.postie_conf(message_size_limit="2000")
def test_message_larger_than_the_limit_is_refused(postie):
    r = run(postie, "sendmail", local_rcpt(postie), input="Subject: big\n\n" + "x" * 3000 + "\n")
    assert r.returncode == 65
    assert "message_size_limit" in r.stderr
    assert os.listdir(postie.path("queue", "maildrop")) == []


def test_bv_verifies_without_sending(postie):
    r = run(postie, "sendmail", "-bv", local_rcpt(postie))
    assert r.returncode == 0, r.stderr
    assert "deliverable" in r.stdout
    r = run(postie, "sendmail", "-bv", "no-such-user@localhost")
    assert r.returncode == 67
    assert "undeliverable" in r.stdout
    assert os.listdir(postie.path("queue", "maildrop")) == []


def test_bs_speaks_smtp_on_stdin(postie):
    session = (f"EHLO me\r\nMAIL FROM:<script@example.org>\r\nRCPT TO:<{local_rcpt(postie)}>\r\n"
               "DATA\r\nSubject: over -bs\r\n\r\n..dot-stuffed line\r\n.\r\nQUIT\r\n")
    r = run(postie, "sendmail", "-bs", input=session)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("220 ")
    assert any(l.startswith("250 2.0.0 Ok: queued as ") for l in lines)
    assert lines[-1].startswith("221 ")
    mails = postie.wait_for_mail()
    assert b"\n.dot-stuffed line\n" in mails[-1]


def test_bp_is_mailq(postie):
    postie.stop()
    run(postie, "sendmail", local_rcpt(postie), input="x\n")
    a = run(postie, "sendmail", "-bp").stdout
    b = run(postie, "mailq").stdout
    assert a == b and a.startswith("-Queue ID-")


def test_q_flushes_and_bi_rebuilds_aliases(postie):
    r = run(postie, "sendmail", "-q")
    assert r.returncode == 0, r.stderr
    r = run(postie, "sendmail", "-bi")
    direct = subprocess.run([postie.bin, "-c", postie.dir, "newaliases"], capture_output=True,
                            text=True, timeout=30)
    assert r.returncode == direct.returncode


def test_unreadable_configuration_is_ex_config(postie):
    conf = os.path.join(postie.dir, "postie.conf")
    os.chmod(postie.dir, 0o755)
    os.chmod(conf, 0o600)
    try:
        r = run(postie, "sendmail", local_rcpt(postie), input="x\n", user="nobody")
    finally:
        os.chmod(conf, 0o644)
    assert r.returncode == 78, r.stderr
    assert "cannot read" in r.stderr
