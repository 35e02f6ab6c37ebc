"""The explanations issue 13 found wrong or empty, each checked on a line as
the software writes it:

- tests/logs/real/: written by real Exim 4.96, Postfix 3.7 and Dovecot 2.3
  (tests/logs/make-real-logs.sh; dovecot-auth-verbose.log is the dovecot run
  with auth_verbose = yes: `make-real-logs.sh dovecot-verbose`);
- tests/logs/crafted/qmail.log: the qmail lines of seed 001, as it prints them;
- tests/logs/crafted/explain-cases.log: lines in the exact text of the
  program that writes them, which the machine cannot make on demand
  (postgrey's default greylisting text through Postfix's smtpd, a Dovecot
  LMTP storage error, Postfix's smtpd FCrDNS warning, qmgr's congestion
  warning, master's restart lines of Postfix and postie).
"""

import json
import os
import re
import subprocess

from postie_env import POSTIE_BIN, REPO

LOGS = os.path.join(REPO, "tests", "logs")


def explain_blocks(path):
    """{raw line: its explanation} for every line of path."""
    r = subprocess.run([POSTIE_BIN, "log", "explain", path], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    out = {}
    for b in r.stdout.split("\n\n"):
        lines = b.strip("\n").splitlines()
        if lines:
            out[lines[0]] = "\n".join(lines[1:])
    return out


def explained(path, pattern):
    """The explanation of the one line of path that matches pattern."""
    hits = [(l, e) for l, e in explain_blocks(path).items() if re.search(pattern, l)]
    assert hits, f"no line matching {pattern!r} in {path}"
    return hits[0][1]


CASES = os.path.join(LOGS, "crafted", "explain-cases.log")


def test_greylisting_is_explained_as_greylisting_not_a_bad_recipient():
    for pat in (r"Greylisted, see http://postgrey", r"Greylisted for 300 seconds"):
        e = explained(CASES, pat)
        assert "likely cause: greylisting" in e, e
        assert "does not exist" not in e and "refused this recipient" not in e, e


def test_exim_retry_time_not_reached_has_a_cause():
    e = explained(os.path.join(LOGS, "real", "exim-mainlog"), r"retry time not reached")
    assert "likely cause: an earlier delivery attempt to this host failed" in e, e
    assert "exinext" in e


def test_exim_bounce_arrival_names_the_parent_not_a_new_id():
    e = explained(os.path.join(LOGS, "real", "exim-mainlog"), r" <= <> R=1xVXHO-000202-2l ")
    assert "parent=1xVXHO-000202-2l" in e and "new_queue_id" not in e, e
    assert "a bounce" in e.splitlines()[0], e


def test_qmail_status_and_did_counts_are_decoded():
    q = os.path.join(LOGS, "crafted", "qmail.log")
    e = explained(q, r"status: local 1/10 remote 0/255")
    assert "1 of 10 local deliveries running" in e and "0 of 255 remote" in e, e
    e = explained(q, r"did_0\+0\+1")
    assert "stored the message in 0 mailboxes" in e, e
    assert "forwarded it to 0 addresses" in e and "gave it to 1 program" in e, e


def test_dovecot_auth_verbose_failures_counted_once():
    path = os.path.join(LOGS, "real", "dovecot-auth-verbose.log")
    text = open(path).read()
    # The same three failed logins as dovecot.log, each also told by auth.
    assert len(re.findall(r"\(auth failed, ", text)) == 3
    assert len(re.findall(r" auth: .*(Password mismatch|unknown user)", text)) >= 3
    r = subprocess.run([POSTIE_BIN, "log", "report", "--json", path], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    mb = json.loads(r.stdout)["mailbox"]
    assert mb["login_failures"] == 3 and mb["logins"] == 3, mb
    users = {i["key"]: i["count"] for i in mb["login_fail_users"]["items"]}
    assert users == {"alice": 2, "mallory": 1}, users


def test_temporary_lmtp_storage_error_is_not_called_permanent():
    e = explained(CASES, r"Internal error occurred")
    assert "delivery deferred (temporary failure)" in e, e
    assert "permanent" not in e, e


def test_common_warnings_get_a_cause():
    for pat, cause in (
            (r"does not resolve to address", "reverse DNS name does not resolve back"),
            (r"active queue entries", "queue congestion"),
            (r"qmgr_clog_warn_time", "congestion warning"),
            (r"you may need to reduce", "congestion warning"),
            (r"smtpd pid 4242 killed by signal 9", "died on a signal"),
            (r"postie pid 4243 exit status 1", "exited with an error")):
        e = explained(CASES, pat)
        assert "likely cause: " in e and cause in e, (pat, e)


def test_report_reasons_keep_their_closing_parenthesis():
    r = subprocess.run([POSTIE_BIN, "log", "report", os.path.join(LOGS, "real", "postfix.log")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if "in reply to RCPT TO command" in l)
    assert line.endswith("(in reply to RCPT TO command)"), line
