"""test_lint - make lint finds each kind of violation it is for.

A small tree is planted with one violation of each rule (and clean code
beside it), compiled with cc, and lint must name exactly those; the known
list excuses what it lists and no more, and must shrink when a violation
is fixed.
"""

import os
import subprocess
import sys
import textwrap

import pytest

LINT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lint.py")

FILES = {
    # util is layer 0: it may not include a component's header.
    "util/strx.c": """
        #include "smtpd/smtpd.h"
        #include <stdio.h>
        int strx_len(const char *s) { return (int) s[0]; }
        int other_name(void) { return 1; }          /* prefix */
        void strx_fmt(char *b, int n) {
            /* sprintf(b, ...) in a comment does not count */
            const char *t = "atoi( in a string does not count";
            sprintf(b, "%d", n);                     /* banned */
            (void) t;
        }
    """,
    "util/low.c": """
        extern int smtpd_entry(void);
        int low_call(void) { return smtpd_entry(); }   /* layers (symbol) */
    """,
    "smtpd/smtpd.h": "int smtpd_entry(void);\n",
    "smtpd/smtpd.c": """
        #include "util/strx.h"
        int smtpd_entry(void) { return 2; }
    """,
    "util/strx.h": "int strx_len(const char *);\n",
    "global/mail_conf.c": """
        struct p { const char *name; const char *def; };
        static const struct p mail_conf_table[] = {
            { "myhostname", "localhost" },
            { "never_read", "x" },
            { "mydomain", "localhost" },     /* read through $mydomain */
            { "myorigin", "$mydomain" },
        };
        extern const char *var_str(const char *);
        const char *mail_conf_host(void) { return var_str("myhostname"); }
        const char *mail_conf_origin(void) { return var_str("myorigin"); }
        const char *mail_conf_typo(void) { return var_str("not_in_table"); }
        const struct p *mail_conf_all(void) { return mail_conf_table; }
    """,
}


@pytest.fixture
def tree(tmp_path):
    src, obj = tmp_path / "src", tmp_path / "obj"
    for name, text in FILES.items():
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    for name in FILES:
        if name.endswith(".c"):
            d, f = name.split("/")
            (obj / d).mkdir(parents=True, exist_ok=True)
            subprocess.run(["cc", "-c", "-w", "-I", str(src), "-o",
                            str(obj / d / f.replace(".c", ".o")),
                            str(src / name)], check=True)
    return tmp_path


def lint(tree, *args):
    r = subprocess.run([sys.executable, LINT, "--src", str(tree / "src"),
                        "--obj", str(tree / "obj"), *args],
                       capture_output=True, text=True)
    return r.returncode, r.stdout.splitlines()


@pytest.mark.parametrize("rule,expected", [
    ("layers", ["util/strx.c:2: layers: util (layer 0) includes #include \"smtpd/smtpd.h\" (layer 2)",
                "util/low refers to smtpd_entry of smtpd/smtpd (a higher layer)"]),
    ("prefix", ["src/util/strx.c: prefix: other_name does not start with strx_",
                ]),
    ("banned", ["util/strx.c:9: banned: sprintf()"]),
    ("params", ["params: never_read is in the table and never read",
                "params: not_in_table is read and not in the table"]),
])
def test_each_rule_names_its_planted_violation_and_nothing_else(tree, rule, expected):
    rc, out = lint(tree, "--rule", rule)
    assert rc == 1
    for e in expected:
        assert any(e in line for line in out), (e, out)
    if rule == "prefix":
        # low_call, strx_len, smtpd_entry...: clean; only other_name is wrong.
        assert len(out) == 1 and "other_name" in out[0], out
    else:
        assert len(out) == len(expected), out


def test_known_list_excuses_what_it_lists_and_fails_on_one_more(tree):
    known = tree / "known.txt"
    rc, _ = lint(tree, "--write-known", str(known))
    assert rc == 0
    assert lint(tree, "--known", str(known)) == (0, [])
    # One more sprintf in the same file is a new violation.
    p = tree / "src/util/strx.c"
    p.write_text(p.read_text() + 'void strx_two(char *b) { sprintf(b, "x"); }\n')
    rc, out = lint(tree, "--rule", "banned", "--known", str(known))
    assert rc == 1 and len(out) == 1 and "strx.c:12: banned: sprintf()" in out[0], out


def test_known_list_must_shrink_when_a_violation_is_fixed(tree):
    known = tree / "known.txt"
    lint(tree, "--write-known", str(known))
    p = tree / "src/util/strx.c"
    p.write_text(p.read_text().replace('sprintf(b, "%d", n);', 'b[0] = (char) n;'))
    rc, out = lint(tree, "--rule", "banned", "--known", str(known))
    assert rc == 1
    assert len(out) == 1 and "'src/util/strx.c: banned: sprintf()' is now 0, not 1" in out[0].replace(str(tree) + "/", ""), out
