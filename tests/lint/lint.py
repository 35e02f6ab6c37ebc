#!/usr/bin/env python3
"""lint - the house rules that a compiler does not check (make lint).

Rules (docs/development.md):
  layers   no #include and no symbol reference from a lower layer to a higher
           one: src/util (0) < src/global (1) < a component directory (2) <
           src/postie (3).  Symbols are read with nm from the objects.
  prefix   every external symbol an object defines starts with its file's
           name (smtp_session.c defines smtp_session_*), or with the prefix
           the file declares in PREFIX_ALIASES below, each with its reason.
  banned   no call of sprintf, vsprintf, strcpy, strcat, gets, atoi, atol,
           atoll (unbounded or unchecked: use snprintf / buf_*, strtol with a
           check), nor alarm (timers belong to the event loop or to a
           deadline the caller checks).
  params   every parameter in the table of src/global/mail_conf.c is read
           somewhere, and every name read is in the table.

Usage: lint.py [--src DIR] [--obj DIR] [--rule NAME ...] [--known FILE]
                [--write-known FILE]
Exit 0 when clean, 1 with one line per violation (file:line: rule: text).

--known FILE names the violations that were in the tree when the rule came
(tests/lint/known.txt), one "count key" per line, the key being the
violation without its line number.  They are reported as a count and do
not fail; a new one does, and so does one more of a known kind in the same
file.  The list only shrinks: when a count drops, lint says which lines of
the file to lower, and fails until they are.
"""

import argparse
import collections
import os
import re
import subprocess
import sys

LAYER = {"util": 0, "global": 1, "postie": 3}   # any other directory: 2

# A file whose functions carry another prefix than its name, and why.
PREFIX_ALIASES = {
    # Postfix's convention: a parameter's value is var_<type>("name").
    "global/mail_conf.c": ["var_"],
}

BANNED = ["sprintf", "vsprintf", "strcpy", "strcat", "gets", "atoi", "atol",
          "atoll", "alarm"]


def layer_of(d):
    return LAYER.get(d, 2)


def strip_comments(text):
    """C comments and string literals blanked, newlines kept (so that line
    numbers stay right and a banned name inside a comment does not count)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def sources(src):
    for d in sorted(os.listdir(src)):
        p = os.path.join(src, d)
        if not os.path.isdir(p):
            continue
        for f in sorted(os.listdir(p)):
            if f.endswith((".c", ".h")):
                yield d, f, os.path.join(p, f)


def rule_layers_include(src, bad):
    inc = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([a-z0-9_]+)/[^"]+"', re.M)
    for d, f, path in sources(src):
        text = open(path, encoding="utf-8", errors="replace").read()
        for m in inc.finditer(text):
            to = m.group(1)
            if layer_of(to) > layer_of(d):
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{path}:{line}: layers: {d} (layer {layer_of(d)}) "
                           f"includes {m.group(0).strip()} (layer {layer_of(to)})")


def nm(path, defined):
    args = ["nm", "--defined-only" if defined else "--undefined-only", path]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if defined and len(parts) == 3:
            yield parts[1], parts[2]
        elif not defined and len(parts) >= 2:
            yield parts[0], parts[1]


def objects(obj):
    for d in sorted(os.listdir(obj)):
        p = os.path.join(obj, d)
        if os.path.isdir(p):
            for f in sorted(os.listdir(p)):
                if f.endswith(".o") and not f.endswith("_test.o"):
                    yield d, f[:-2], os.path.join(p, f)


def rule_layers_symbols(obj, bad, defs):
    where = {}
    for d, base, path in defs:
        for sym in defs[(d, base, path)]:
            where[sym] = (d, base)
    for d, base, path in defs:
        for t, sym in nm(path, False):
            if sym in where:
                td, tbase = where[sym]
                if layer_of(td) > layer_of(d):
                    bad.append(f"{path}: layers: {d}/{base} refers to {sym} "
                               f"of {td}/{tbase} (a higher layer)")


def rule_prefix(obj, bad, defs):
    for (d, base, path), syms in defs.items():
        ok = [base + "_"] + PREFIX_ALIASES.get(f"{d}/{base}.c", [])
        for sym in syms:
            if sym == base or sym == "main" or any(sym.startswith(p) for p in ok):
                continue
            bad.append(f"src/{d}/{base}.c: prefix: {sym} does not start "
                       f"with {base}_")


def rule_banned(src, bad):
    call = re.compile(r"(?<![\w.>])(" + "|".join(BANNED) + r")\s*\(")
    for d, f, path in sources(src):
        text = strip_comments(open(path, encoding="utf-8", errors="replace").read())
        for m in call.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            bad.append(f"{path}:{line}: banned: {m.group(1)}()")


def rule_params(src, bad):
    conf = os.path.join(src, "global", "mail_conf.c")
    table = {}
    text = open(conf, encoding="utf-8").read()
    for m in re.finditer(r'^\s*\{\s*"([a-z0-9_]+)",', text, re.M):
        table[m.group(1)] = text.count("\n", 0, m.start()) + 1
    # Read: the name as a whole string literal anywhere but in its table
    # line (var_str("x"), or a table of names that is handed to var_*), or
    # as $name in another parameter's default.
    lit = re.compile(r'"([a-z0-9_]+)"')
    acc = re.compile(r'\bvar_(?:str|int|time|bool|list|path|is_set|set|size)\s*\(\s*"([a-z0-9_]+)"')
    used, read = set(), {}
    for m in re.finditer(r'\$\{?([a-z0-9_]+)', text):
        used.add(m.group(1))
    for d, f, path in sources(src):
        if f.endswith("_test.c") or not f.endswith(".c"):
            continue
        body = open(path, encoding="utf-8", errors="replace").read()
        for i, line in enumerate(body.splitlines(), 1):
            if path == conf and re.match(r'\s*\{\s*"[a-z0-9_]+",', line):
                continue
            for m in lit.finditer(line):
                used.add(m.group(1))
            for m in acc.finditer(line):
                read.setdefault(m.group(1), f"{path}:{i}")
    for name, line in sorted(table.items()):
        if name not in used:
            bad.append(f"{conf}:{line}: params: {name} is in the table and never read")
    for name, where in sorted(read.items()):
        if name not in table:
            bad.append(f"{where}: params: {name} is read and not in the table")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="src")
    ap.add_argument("--obj", default="build/obj")
    ap.add_argument("--rule", action="append",
                    choices=["layers", "prefix", "banned", "params"])
    ap.add_argument("--known")
    ap.add_argument("--write-known")
    a = ap.parse_args()
    rules = a.rule or ["layers", "prefix", "banned", "params"]
    bad = []
    defs = {}
    if "layers" in rules or "prefix" in rules:
        if not os.path.isdir(a.obj):
            sys.exit(f"lint: no objects in {a.obj}: build first (make)")
        for d, base, path in objects(a.obj):
            defs[(d, base, path)] = [s for t, s in nm(path, True) if t in "TDBRGS"]
    if "layers" in rules:
        rule_layers_include(a.src, bad)
        rule_layers_symbols(a.obj, bad, defs)
    if "prefix" in rules:
        rule_prefix(a.obj, bad, defs)
    if "banned" in rules:
        rule_banned(a.src, bad)
    if "params" in rules:
        rule_params(a.src, bad)
    if a.write_known:
        with open(a.write_known, "w") as f:
            f.write("# make lint: violations that predate the rule; this list only\n"
                    "# shrinks (tests/lint/lint.py --known).  count key\n")
            for k, c in sorted(collections.Counter(map(key, bad)).items()):
                f.write(f"{c} {k}\n")
        return
    fail = list(bad)
    if a.known:
        known = read_known(a.known)
        # Only the entries of the rules that ran can be checked.
        known = collections.Counter({k: c for k, c in known.items()
                                     if any(f": {r}: " in k for r in rules)})
        fail = check_known(bad, known, a.known)
    for b in fail:
        print(b)
    print(f"lint: {len(fail)} violation(s) of {', '.join(rules)}"
          + (f" ({len(bad) - len(fail)} known, in {a.known})" if a.known else ""),
          file=sys.stderr)
    sys.exit(1 if fail else 0)


def key(violation):
    """The violation without its line number: "src/x.c: banned: atoi()"."""
    return re.sub(r"^([^:\s]+):\d+:", r"\1:", violation)


def read_known(path):
    known = collections.Counter()
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            count, k = line.split(" ", 1)
            known[k] = int(count)
    return known


def check_known(bad, known, path):
    """The violations that are not excused by the known list, plus one line
    per entry of the list that is now too high (so that it shrinks)."""
    seen = collections.Counter()
    fail = []
    for b in bad:
        k = key(b)
        seen[k] += 1
        if seen[k] > known.get(k, 0):
            fail.append(b)
    for k, c in sorted(known.items()):
        if seen[k] < c:
            fail.append(f"{path}: known: '{k}' is now {seen[k]}, not {c}: "
                        f"lower it (the list only shrinks)")
    return fail


if __name__ == "__main__":
    main()
