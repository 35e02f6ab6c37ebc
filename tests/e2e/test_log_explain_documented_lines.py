"""Every line that docs/logging.md says postie writes is understood by
postie's own `log explain` (issue 13): none may come out as "other", "not
understood", "not a mail log line" or "another program".

docs/logging.md lists the lines in tables: a `program` column (or, for the
tables without one, the program of the section: smtpd, master, pop3d), and
the line's text in backticks, written as a template: ID for a queue ID,
host[addr], N, PATH, "…" for the fields of the flow's delivery line that
are left out.  The test fills the placeholders with sample values (the
table SAMPLES below: a plain word-for-word substitution, nothing clever),
puts postie's prefix in front and feeds the lot to `postie log explain`.
Only the first backticked text of the line column is taken: the "when"
column's backticks are parameter names and variants, not whole lines.
"""

import os
import re
import subprocess

from postie_env import POSTIE_BIN, REPO

DOC = os.path.join(REPO, "docs", "logging.md")

# Section title (start) -> the program of a table without a program column.
SECTION_PROGRAM = {
    "Rejections and limits": "smtpd",
    "master": "master",
    "Mailbox access: pop3d": "pop3d",
}

# Placeholders as the page writes them, and a sample value for each.
# Order matters: longer names first (NEWID before ID).
SAMPLES = [
    (r"^… ", "ID: to=<r@example.org>, relay=mx.example.org[198.51.100.2]:25, delay=1, "
             "delays=0.1/0/0.5/0.4, "),
    (r", (…|\.\.\.), ", ", delay=1, delays=0.1/0/0.5/0.4, "),
    (r"\[…\]", "[192.0.2.7]"),
    (r"…", "x"),
    (r"\bNEWID\b", "4B3C2D1E0F11"),
    (r"\bID\b", "3F2A91C07B12"),
    (r"host\[addr\]", "client.example.org[192.0.2.7]"),
    (r"mx\[addr\]", "mx.example.org[198.51.100.2]"),
    (r"\bCMD\b", "RCPT"),
    (r"\bPATH\b", "/var/spool/postie/f"),
    (r"\bFILE\b", "/etc/postie/users"),
    (r"\bDIR\b", "/etc/postie"),
    (r"\bNAME\b", "alice"),
    (r"\bUSER\b", "postie"),
    (r"\bSERVICE\b", "smtpd"),
    (r"\bPID\b", "4242"),
    (r"\bQUEUE\b", "deferred"),
    (r"\bCERT\b", "/etc/postie/cert.pem"),
    (r"\bKEY\b", "/etc/postie/key.pem"),
    (r"\bN\b", "3"),
    (r"\bNs\b", "10s"),
    (r"\bS\b", "9"),
    (r"\bV\b", "0.1"),
    (r"\bX\b", "x"),
    (r"delay=D\b", "delay=1"),
    (r"delays=a/b/c/d", "delays=0.1/0/0/0.2"),
    (r"delays=a/b/0/0", "delays=0.1/0/0/0"),
    (r"delay=, ", "delay=1, "),
    (r"4\.x\.x", "4.2.0"),
    (r"5\.x\.x", "5.1.1"),
    (r"\[, orig_to=<alias>, \]", ""),
]

BAD = (": other", "not understood", "not a mail log line", "another program")


def documented_lines():
    """(section, program, template) for each table row of the page."""
    rows = []
    section = ""
    prog_col = None
    line_col = None
    for text in open(DOC, encoding="utf-8"):
        text = text.rstrip("\n")
        if text.startswith("## "):
            section = text[3:]
            prog_col = line_col = None
            continue
        if not text.startswith("|"):
            prog_col = line_col = None
            continue
        cells = [c.strip() for c in text.strip("|").split("|")]
        if line_col is None:
            heads = [c.split(" ")[0] for c in cells]
            if "line" in heads:
                line_col = heads.index("line")
                prog_col = heads.index("program") if "program" in heads else None
            continue
        if set(cells[0]) <= set("-: "):
            continue
        m = re.search(r"`([^`]+)`", cells[line_col] if line_col < len(cells) else "")
        if not m:
            continue
        if prog_col is not None:
            # "qmgr, local, smtp, ...": the line is written by each; the
            # first stands for them.
            prog = cells[prog_col].split(",")[0].strip()
        else:
            prog = next((p for s, p in SECTION_PROGRAM.items() if section.startswith(s)), None)
        assert prog, f"no program for a row of section {section!r}: {text}"
        rows.append((section, prog, m.group(1)))
    return rows


def fill(template):
    line = template
    for pat, value in SAMPLES:
        line = re.sub(pat, value, line)
    return line


def test_every_documented_line_is_explained_specifically():
    rows = documented_lines()
    # The page's tables really were read (the flow, smtpd, master, pop3d...).
    assert len(rows) >= 100, len(rows)
    assert {p for _, p, _ in rows} >= {"smtpd", "qmgr", "local", "master", "pop3d", "bounce",
                                       "smtp", "postsuper", "pickup"}
    lines = [f"Dec  7 13:20:13 vm postie/{prog}[4242]: {fill(t)}" for _, prog, t in rows]
    r = subprocess.run([POSTIE_BIN, "log", "explain", "-"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    blocks = [b for b in r.stdout.split("\n\n") if b.strip()]
    assert len(blocks) == len(lines), (len(blocks), len(lines))
    bad = []
    for (section, prog, template), block in zip(rows, blocks):
        step = block.splitlines()[1] if len(block.splitlines()) > 1 else block
        if any(w in step for w in BAD):
            bad.append(f"[{section}] {prog}: {template}\n    -> {step.strip()}")
    assert not bad, "documented lines that log explain does not understand:\n" + "\n".join(bad)
