"""postie serve's banner says how to read the mail, not only how to send
it: the POP3 user and port, a curl line and a mutt line, and a mail(1)
line that goes through postie's sendmail.  Each printed line is run as
printed."""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from postie_env import has_service, wait_until

pytestmark = pytest.mark.skipif(not has_service("pop3d"), reason="no pop3d in this build")


def banner_line(postie, pattern):
    out = postie.stdout()
    banner = out[out.rfind("postie serve: instance"):]
    m = re.search(pattern, banner, re.M)
    assert m, f"no /{pattern}/ in the banner:\n{banner}"
    return m


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_printed_curl_line_fetches_the_first_message(postie):
    user = postie.user
    m = banner_line(postie, r"^read it \(POP3 on 127\.0\.0\.1:(\d+), user (\S+)\):$")
    assert m.group(1) == str(postie.pop3_port) and m.group(2) == user
    curl = banner_line(postie, r"^  (curl .*)$").group(1)
    # The first start knows the password: the line is complete as printed.
    assert "PASSWORD" not in curl
    assert f"pop3://127.0.0.1:{postie.pop3_port}/1" in curl
    with postie.smtp() as s:
        s.sendmail("newcomer@localhost", [f"{user}@localhost"],
                   "Subject: read me back\r\n\r\nfirst message\r\n")
    postie.wait_for_mail()
    r = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "Subject: read me back" in r.stdout
    assert "first message" in r.stdout


def test_printed_mutt_line_names_the_pop3_mailbox(postie):
    line = banner_line(postie, r"^  (mutt -f \S+)$").group(1)
    assert line == f"mutt -f pop://{postie.user}@127.0.0.1:{postie.pop3_port}/"


def test_restart_prints_a_password_placeholder(postie):
    # The password is shown only on the first start; later banners still
    # give the line, with a placeholder.
    postie.restart()
    curl = banner_line(postie, r"^  (curl .*)$").group(1)
    assert curl == f"curl -u {postie.user}:PASSWORD pop3://127.0.0.1:{postie.pop3_port}/1"


@pytest.mark.skipif(shutil.which("mail") is None, reason="no mail(1) (mailutils)")
def test_printed_mail_line_sends_through_postie(postie):
    # mail(1) runs the system's /usr/sbin/sendmail unless told otherwise;
    # the printed line tells it (and MAIL_CONFIG names this instance).
    line = banner_line(postie, r"^  (echo hi \| MAIL_CONFIG=.* mail .*)$").group(1)
    assert f"MAIL_CONFIG={os.path.realpath(postie.dir)} " in line
    assert "set sendmail=sendmail://" in line
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    env.pop("MAIL_CONFIG", None)
    r = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    mails = postie.wait_for_mail()
    assert b"Subject: hello" in mails[-1]
    assert b"User-Agent: mail" in mails[-1]
