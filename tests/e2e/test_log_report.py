"""postie log report on logs made by real software (tests/logs/real/).

The logs were written by Postfix, Exim and Dovecot from Debian's packages,
run on loopback by tests/logs/make-real-logs.sh with a known set of
messages; real/README.md lists them and the totals each log must give.
These tests check those totals, that they equal pflogsumm's on the Postfix
log (when pflogsumm is installed), that the delay percentiles agree with
the delays in the log, that the three outputs say the same, that the HTML
page is self-contained and renders in headless Chromium, and that bad
input gets a clear message.
"""

import json
import math
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REAL = os.path.join(REPO, "tests", "logs", "real")
POSTFIX = os.path.join(REAL, "postfix.log")
EXIM = os.path.join(REAL, "exim-mainlog")
DOVECOT = os.path.join(REAL, "dovecot.log")


def postie_bin():
    """The binary under test: $POSTIE_BIN, else build/postie in the repo."""
    b = os.environ.get("POSTIE_BIN", os.path.join(REPO, "build", "postie"))
    if not os.path.isabs(b):
        b = os.path.join(REPO, b)
    return b


def report(*args, stdin=None):
    return subprocess.run([postie_bin(), "log", "report", *args], capture_output=True,
                          text=True, input=stdin, timeout=60)


def report_json(*files):
    r = report("--json", *files)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---- totals against the messages known to have been sent -------------------------

POSTFIX_TOTALS = dict(received=16, delivered=14, forwarded=1, deferred=1, deferrals=5,
                      bounced=2, expired=1, rejected=4, rejected_pct=21, reject_warnings=1,
                      held=1, discarded=1, notifications=3)

EXIM_TOTALS = dict(received=12, delivered=13, deferred=1, deferrals=7, bounced=3,
                   rejected=4, notifications=3, held=0, discarded=0)


def test_report_postfix_totals_match_the_messages_sent():
    d = report_json(POSTFIX)
    got = {k: d["totals"][k] for k in POSTFIX_TOTALS}
    assert got == POSTFIX_TOTALS
    assert d["lines"]["total"] == 153 and d["lines"]["unknown"] == 0


def test_report_postfix_senders_recipients_and_domains():
    d = report_json(POSTFIX)
    t = d["totals"]
    assert (t["senders"], t["sending_domains"], t["recipients"], t["recipient_domains"]) == (6, 3, 3, 2)
    senders = {i["key"]: i["count"] for i in d["top"]["senders"]["items"]}
    assert senders["carol@remote.test"] == 5 and senders["<>"] == 1
    rcpts = {i["key"]: i["count"] for i in d["top"]["recipients"]["items"]}
    assert rcpts == {"alice@example.test": 8, "bob@example.test": 4, "carol@remote.test": 2}
    # The 16 KB message is the largest: its sender tops the list by size.
    assert d["top"]["senders_by_size"]["items"][0]["key"] == "dave@remote.test"
    relays = {i["key"] for i in d["top"]["relays"]["items"]}
    assert relays == {"local", "127.0.0.1[127.0.0.1]"}
    # pflogsumm's delivery summary per domain: sent, deferrals, delays.
    doms = {i["key"]: i for i in d["top"]["recipient_domains"]["items"]}
    assert (doms["example.test"]["count"], doms["remote.test"]["count"]) == (12, 2)
    assert doms["example.test"]["delay_max"] == pytest.approx(0.05)
    defer_doms = {i["key"]: i["count"] for i in d["top"]["deferral_domains"]["items"]}
    assert defer_doms == {"deadhost.test": 5}


def test_report_postfix_reasons_are_grouped():
    d = report_json(POSTFIX)
    rej = {i["key"]: i["count"] for i in d["reasons"]["rejected"]["items"]}
    assert rej["550 5.1.1 Recipient address rejected: User unknown in local recipient table"] == 2
    assert rej["554 5.7.1 Relay access denied"] == 1
    deferred = d["reasons"]["deferred"]["items"]
    assert len(deferred) == 1 and deferred[0]["count"] == 5
    assert "Connection refused" in deferred[0]["key"]
    bounced = {i["key"] for i in d["reasons"]["bounced"]["items"]}
    assert 'unknown user: "nosuchuser"' in bounced
    assert d["reasons"]["held"]["items"][0]["key"].endswith("held for review")
    assert d["reasons"]["discarded"]["items"][0]["key"].endswith("discarded by policy")


def test_report_postfix_smtp_sessions():
    s = report_json(POSTFIX)["smtpd"]
    assert (s["connects"], s["disconnects"], s["lost"]) == (19, 19, 1)
    assert s["session_seconds"]["count"] == 19
    assert {i["key"] for i in s["lost_stages"]["items"]} == {"CONNECT"}


def test_report_postfix_per_hour_and_per_day_add_up():
    d = report_json(POSTFIX)
    t = d["totals"]
    for series in ("received", "delivered", "bounced", "rejected"):
        assert sum(h[series] for h in d["per_hour"]) == t[series]
        assert sum(x[series] for x in d["per_day"]) == t[series]
    # "deferred" per hour counts deferral lines, as pflogsumm's does.
    assert sum(h["deferred"] for h in d["per_hour"]) == t["deferrals"]
    assert len(d["per_day"]) == 1


def test_report_delay_percentiles_agree_with_the_log():
    """p50/p90/p99/max of delay= and each delays= part, against the exact
    nearest-rank values computed here from the sent lines; the report's
    histogram has 2 % buckets."""
    vals = {k: [] for k in ("delay", "a", "b", "c", "d")}
    for line in open(POSTFIX):
        if "status=sent" not in line or "forwarded as" in line:
            continue
        m = re.search(r"delay=([\d.]+), delays=([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+)", line)
        for k, v in zip(vals, m.groups()):
            vals[k].append(float(v))
    d = report_json(POSTFIX)["delays"]
    for k, v in vals.items():
        v.sort()
        assert d[k]["count"] == len(v) == 14
        assert d[k]["max"] == pytest.approx(v[-1])
        for q in (0.5, 0.9, 0.99):
            want = v[max(0, math.ceil(q * len(v)) - 1)]
            assert d[k]["p%d" % round(q * 100)] == pytest.approx(want, rel=0.03, abs=0.0011), (k, q)


def test_report_exim_totals_match_the_messages_sent():
    d = report_json(EXIM)
    got = {k: d["totals"][k] for k in EXIM_TOTALS}
    assert got == EXIM_TOTALS
    rej = {i["key"]: i["count"] for i in d["reasons"]["rejected"]["items"]}
    assert rej == {"Unrouteable address": 2, "relay not permitted": 1,
                   "message content rejected": 1}
    assert d["lines"]["formats"] == {"exim": 135}


def test_report_dovecot_logins_are_counted_apart_from_mta_deliveries():
    d = report_json(DOVECOT)
    m = d["mailbox"]
    assert m["logins"] == 3
    assert {i["key"]: i["count"] for i in m["login_users"]["items"]} == {"bob": 2, "alice": 1}
    # Mailbox deliveries never count as the MTA's "delivered".
    assert d["totals"]["delivered"] == 0 and d["totals"]["received"] == 0


def test_report_dovecot_deliveries_and_failed_logins():
    m = report_json(DOVECOT)["mailbox"]
    assert (m["deliveries"], m["login_failures"], m["logouts"]) == (5, 3, 3)


def test_report_mixed_logs_add_up():
    """Several files, several formats, in one run: the totals are the sums."""
    a, b = report_json(POSTFIX)["totals"], report_json(EXIM)["totals"]
    both = report_json(POSTFIX, EXIM, DOVECOT)["totals"]
    for k in ("received", "delivered", "bounced", "rejected", "deferrals"):
        assert both[k] == a[k] + b[k]


# ---- against pflogsumm ----------------------------------------------------------

def pflogsumm_totals(path):
    out = subprocess.run(["pflogsumm", path], capture_output=True, text=True, timeout=60).stdout
    head = out.split("Per-Hour")[0]

    def num(label):
        m = re.search(r"^\s*(\d+)([km]?)\s+" + re.escape(label), head, re.M)
        assert m, label
        return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]
    tot = {k: num(k) for k in ("received", "delivered", "forwarded", "deferred", "bounced",
                               "rejected", "reject warnings", "held", "discarded",
                               "bytes received", "bytes delivered", "senders",
                               "sending hosts/domains", "recipients", "recipient hosts/domains")}
    m = re.search(r"deferred\s+\((\d+)\s+deferrals\)", head)
    tot["deferrals"] = int(m.group(1)) if m else 0
    m = re.search(r"rejected \((\d+)%\)", head)
    tot["rejected_pct"] = int(m.group(1))
    return tot


@pytest.mark.skipif(shutil.which("pflogsumm") is None, reason="pflogsumm is not installed")
def test_report_totals_equal_pflogsumms():
    p = pflogsumm_totals(POSTFIX)
    t = report_json(POSTFIX)["totals"]
    mine = dict(received=t["received"], delivered=t["delivered"], forwarded=t["forwarded"],
                deferred=t["deferred"], deferrals=t["deferrals"], bounced=t["bounced"],
                rejected=t["rejected"], rejected_pct=t["rejected_pct"],
                held=t["held"], discarded=t["discarded"], senders=t["senders"],
                recipients=t["recipients"])
    mine["reject warnings"] = t["reject_warnings"]
    mine["bytes received"] = t["bytes_received"]
    mine["bytes delivered"] = t["bytes_delivered"]
    mine["sending hosts/domains"] = t["sending_domains"]
    mine["recipient hosts/domains"] = t["recipient_domains"]
    # pflogsumm writes large numbers in k/m units: compare at its precision.
    for k, v in p.items():
        if v >= 1024 * 1024 or (v >= 1024 and v % 1024 == 0 and mine[k] >= 1000000):
            assert abs(mine[k] - v) < 1024 * (1024 if v >= 1024 * 1024 else 1), k
        else:
            assert mine[k] == v, k


# ---- the three outputs ------------------------------------------------------------

def test_report_text_has_pflogsumms_sections_and_same_numbers():
    r = report(POSTFIX)
    assert r.returncode == 0, r.stderr
    t = r.stdout
    for section in ("Grand Totals", "Per-Day Traffic Summary", "Per-Hour Traffic Summary",
                    "Senders by message count", "Recipients by message size",
                    "message deferral detail", "message bounce detail",
                    "message reject detail", "SMTP server connections",
                    "Delays of delivered recipients"):
        assert section in t, section
    assert re.search(r"^\s+16\s+received$", t, re.M)
    assert re.search(r"^\s+4\s+rejected \(21%\)$", t, re.M)
    assert re.search(r"^\s+1\s+deferred\s+\(5 deferrals\)$", t, re.M)


def test_report_html_is_self_contained():
    r = report("--html", POSTFIX, EXIM, DOVECOT)
    assert r.returncode == 0, r.stderr
    h = r.stdout
    assert h.startswith("<!DOCTYPE html>") and h.rstrip().endswith("</html>")
    assert h.count("<svg") >= 5
    low = h.lower()
    for bad in ("<script", "http://", "https://", "src=", "@import", "url("):
        assert bad not in low, bad
    assert ">28<" in h  # received, both MTAs


def test_report_html_escapes_what_the_log_says():
    line = ('Jan  5 10:00:00 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: '
            '554 5.7.1 <a@b>: Relay <script>alert(1)</script> denied; from=<"<b>"@x> '
            'to=<a@b> proto=ESMTP helo=<x>\n')
    r = report("--html", "-", stdin=line)
    assert r.returncode == 0, r.stderr
    assert "<script" not in r.stdout and "&lt;script&gt;" in r.stdout


def png_is_not_blank(path):
    """Decode the PNG's pixel data (zlib, no imaging library needed) and
    check that it has more than a couple of distinct colours."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    # Unfiltered values are enough to tell a blank page from a drawn one:
    # a blank page compresses to almost nothing and has few distinct bytes.
    return width > 0 and len(set(raw)) > 32 and len(idat) > 20000


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


@pytest.mark.timeout_s(120)
@pytest.mark.skipif(find_chromium() is None,
                    reason="chromium is not installed (apt-get install chromium)")
def test_report_html_renders_in_headless_chromium():
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "report.html")
        shot = os.path.join(tmp, "report.png")
        r = report("--html", POSTFIX, EXIM, DOVECOT)
        assert r.returncode == 0, r.stderr
        open(page, "w").write(r.stdout)
        subprocess.run([find_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run",
                        "--user-data-dir=" + os.path.join(tmp, "profile"),
                        "--window-size=1200,2000", "--screenshot=" + shot,
                        "file://" + page],
                       capture_output=True, timeout=90, cwd=tmp)
        assert os.path.exists(shot), "chromium wrote no screenshot"
        assert png_is_not_blank(shot), "the screenshot is blank"


# ---- bad input ----------------------------------------------------------------------

def test_report_missing_file_and_directory_get_a_clear_message():
    r = report("/nonexistent/maillog")
    assert r.returncode == 66 and "/nonexistent/maillog" in r.stderr
    r = report(REAL)
    assert r.returncode == 66 and "director" in r.stderr.lower()


def test_report_reads_the_good_file_when_another_is_missing():
    r = report("--json", "/nonexistent/maillog", POSTFIX)
    assert r.returncode == 66
    assert json.loads(r.stdout)["totals"]["received"] == 16


def test_report_empty_file_says_so():
    with tempfile.NamedTemporaryFile() as f:
        r = report("--json", f.name)
        assert r.returncode == 0
        assert "empty" in r.stderr
        assert json.loads(r.stdout)["totals"]["received"] == 0


def test_report_counts_unknown_and_binary_lines_and_goes_on():
    good = open(POSTFIX).read()
    junk = "this is not a mail log line\n\x00\x01\x02binary\xff junk\n"
    r = subprocess.run([postie_bin(), "log", "report", "--json", "-"], capture_output=True,
                       input=(junk + good).encode("latin-1", "replace"), timeout=60)
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["lines"]["unknown"] + d["lines"]["binary"] == 2
    assert d["totals"]["received"] == 16


def test_report_reads_gzip_and_stdin():
    import gzip
    with tempfile.TemporaryDirectory() as tmp:
        gz = os.path.join(tmp, "maillog.gz")
        with gzip.open(gz, "wb") as f:
            f.write(open(POSTFIX, "rb").read())
        assert report_json(gz)["totals"]["delivered"] == 14
    r = report("--json", "-", stdin=open(POSTFIX).read())
    assert json.loads(r.stdout)["totals"]["delivered"] == 14


def test_report_unknown_option_is_a_usage_error():
    r = report("--bogus")
    assert r.returncode == 64 and "usage" in r.stderr


def test_report_reads_every_format_of_the_crafted_logs():
    """The crafted logs of the tracer's tests (qmail, DMA, Sendmail, Exim,
    Dovecot, Postfix variants): every line is read and no mail is lost
    between received and what became of it."""
    crafted = os.path.join(REPO, "tests", "logs", "crafted")
    for name in sorted(os.listdir(crafted)):
        path = os.path.join(crafted, name)
        r = report("--json", path)
        assert r.returncode == 0, (name, r.stderr)
        d = json.loads(r.stdout)
        with open(path, "rb") as f:
            data = f.read()
        assert d["lines"]["total"] == data.count(b"\n") + (0 if data.endswith(b"\n") else 1), name
    for name, fmt in (("qmail.log", "qmail"), ("sendmail.log", "sendmail"), ("dma.log", "dma"),
                      ("exim.log", "exim")):
        d = report_json(os.path.join(crafted, name))
        assert fmt in d["lines"]["formats"], name
        assert d["totals"]["received"] > 0 and d["totals"]["delivered"] > 0, name


def synthetic_log(messages, domains=50):
    """A Postfix log of `messages` messages, each from its own sender."""
    out = []
    for i in range(messages):
        qid = "%011X" % (0x10000000000 + i)
        t = "Mar  %d %02d:%02d:%02d" % (1 + i // 86400 % 28, i // 3600 % 24, i // 60 % 60, i % 60)
        out.append(f"{t} mx postfix/smtpd[{100 + i % 50}]: {qid}: client=c{i % 7}.example.net[192.0.2.{i % 250}]\n")
        out.append(f"{t} mx postfix/qmgr[9]: {qid}: from=<s{i}@d{i % domains}.test>, size={1000 + i % 100}, nrcpt=1 (queue active)\n")
        out.append(f"{t} mx postfix/local[10]: {qid}: to=<u{i % 10}@example.org>, relay=local, delay=0.{i % 10}, delays=0/0/0/0.{i % 10}, dsn=2.0.0, status=sent (delivered to mailbox)\n")
        out.append(f"{t} mx postfix/qmgr[9]: {qid}: removed\n")
    return "".join(out)


def peak_rss_kb(args, stdin):
    """Peak RSS of one run, through /usr/bin/time (GNU), or None."""
    if not os.path.exists("/usr/bin/time"):
        return None
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *args], input=stdin, capture_output=True,
                       text=True, timeout=120)
    return int(r.stderr.strip().splitlines()[-1])


def test_report_memory_stays_bounded_and_big_lists_are_approximate():
    """More distinct senders than a top list keeps: the head of the list and
    the totals stay exact, the distinct count is an estimate within 5 %, and
    four times the log does not need four times the memory."""
    small, big = synthetic_log(30000), synthetic_log(120000)
    r = report("--json", "-", stdin=big)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    t = d["totals"]
    assert t["received"] == t["delivered"] == 120000
    assert t["bytes_received"] == sum(1000 + i % 100 for i in range(120000))
    assert d["top"]["senders"]["exact"] is False
    assert abs(t["senders"] - 120000) / 120000 < 0.05
    doms = d["top"]["sending_domains"]
    assert doms["exact"] is True and doms["distinct"] == 50
    assert all(i["count"] == 2400 for i in doms["items"])
    assert d["delays"]["delay"]["count"] == 120000
    assert d["delays"]["delay"]["max"] == pytest.approx(0.9)
    assert d["memory"]["open_messages_at_end"] == 0
    cmd = [postie_bin(), "log", "report", "--json", "-"]
    a, b = peak_rss_kb(cmd, small), peak_rss_kb(cmd, big)
    if a is not None:
        assert b < a * 1.5 + 2048, (a, b)
