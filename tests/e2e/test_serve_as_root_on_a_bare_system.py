"""postie serve run by root on a system without postie's accounts and from
a checkout under a mode-700 home (/root/postie): it makes mail_owner with
useradd --system and says so, moves its instance to a directory mail_owner
can reach and says so, names the first mail user after whoever ran sudo
(never "postie"), and the mail it accepts can be read back.

Run by root only, in a mount and network namespace of its own: /etc is a
copy (useradd writes the copy, never this machine's), /var/lib an empty
directory, and loopback is private, so serve's default ports meet no one."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from postie_env import POSTIE_BIN, has_service

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, useradd)"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="no unshare"),
    pytest.mark.skipif(shutil.which("useradd") is None and not os.path.exists("/usr/sbin/useradd"),
                       reason="no useradd"),
    pytest.mark.skipif(not has_service("pop3d"), reason="no pop3d in this build"),
]

# Runs inside the namespaces; prints one JSON object.
DRIVER = r'''
import fcntl, json, os, re, shlex, signal, smtplib, socket, struct, subprocess, sys, time
tmp, postie = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # "ip link set lo up"
flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0))[:18])[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))
subprocess.run(["mount", "--bind", tmp + "/etc", "/etc"], check=True)
subprocess.run(["mount", "--bind", tmp + "/varlib", "/var/lib"], check=True)
res = {"postie_before": subprocess.run(["getent", "passwd", "postie"]).returncode == 0}
out = open(tmp + "/serve.out", "w")
env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/root",
       "SUDO_USER": "alice", "ASAN_OPTIONS": "detect_leaks=0"}
p = subprocess.Popen([postie, "serve"], cwd=tmp + "/home/postie", stdout=out,
                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
text = ""
for _ in range(300):
    text = open(tmp + "/serve.out").read()
    if "\nstop: " in text or p.poll() is not None:
        break
    time.sleep(0.1)
res["banner"] = text
try:
    m = re.search(r"^  (curl .*)$", text, re.M)
    user = re.search(r"^  user    ([^,]+),", text, re.M).group(1)
    with smtplib.SMTP("127.0.0.1", 2525, timeout=20) as c:
        c.sendmail("newcomer@localhost", [user + "@localhost"],
                   "Subject: as root\r\n\r\nhello\r\n")
    for _ in range(100):
        r = subprocess.run(shlex.split(m.group(1)), capture_output=True, text=True, timeout=20)
        res["pop3"] = r.stdout
        if "Subject: as root" in r.stdout:
            break
        time.sleep(0.2)
    import pwd   # who the services run as (no ps on a minimal system)
    res["owner"] = []
    for d in os.listdir("/proc"):
        try:
            st = open("/proc/%s/stat" % d).read()
            if int(st[st.rindex(")") + 2:].split()[1]) == p.pid:
                res["owner"].append(pwd.getpwuid(os.stat("/proc/" + d).st_uid).pw_name)
        except (OSError, ValueError):
            pass
except Exception as e:   # the banner tells what went wrong
    res["error"] = repr(e)
finally:
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    p.wait(timeout=30)
res["postie_after"] = subprocess.run(["getent", "passwd", "postie"], capture_output=True,
                                     text=True).stdout
res["log"] = open("/var/lib/postie-serve/maillog").read() if os.path.exists(
    "/var/lib/postie-serve/maillog") else ""
res["left_in_home"] = os.listdir(tmp + "/home/postie")
print(json.dumps(res))
'''


def strip_account(etc, name):
    for f in ("passwd", "shadow", "group", "gshadow"):
        path = os.path.join(etc, f)
        if os.path.exists(path):
            lines = open(path).read().splitlines(True)
            with open(path, "w") as w:
                w.writelines(l for l in lines if not l.startswith(name + ":"))


@pytest.mark.timeout_s(90)
def test_root_serve_makes_mail_owner_and_leaves_a_closed_home():
    # Not pytest's tmp_path: /tmp/pytest-of-root is itself mode 700.
    tmp = tempfile.mkdtemp(prefix="postie-root-serve-")
    try:
        check_root_serve(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_root_serve(tmp):
    os.chmod(tmp, 0o755)
    shutil.copytree("/etc", tmp + "/etc", symlinks=True)
    strip_account(tmp + "/etc", "postie")
    os.makedirs(tmp + "/varlib")
    os.makedirs(tmp + "/home/postie")
    os.chmod(tmp + "/home", 0o700)        # as /root on Debian
    before = open("/etc/passwd").read()
    r = subprocess.run(["unshare", "-m", "-n", "--", sys.executable, "-c", DRIVER, tmp,
                        POSTIE_BIN], capture_output=True, text=True, timeout=80)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(r.stdout.splitlines()[-1])
    banner = res["banner"]
    assert not res["postie_before"]
    assert "made system user postie (mail_owner)\n" in banner, banner
    assert res["postie_after"].startswith("postie:"), res
    assert f"(/{os.path.relpath(tmp + '/home', '/')} is closed to it): the instance is " \
           "/var/lib/postie-serve instead" in banner, banner
    assert "postie serve: instance /var/lib/postie-serve (made now)" in banner
    # The first mail user: who ran sudo, not mail_owner's name.
    assert "\n  user    alice, password " in banner, banner
    assert "Subject: as root" in res.get("pop3", ""), res
    assert "postie" in res["owner"], res["owner"]  # services dropped to it
    assert "status=sent" in res["log"]
    # Nothing left behind in the closed home, nothing changed here.
    assert res["left_in_home"] == []
    assert open("/etc/passwd").read() == before
