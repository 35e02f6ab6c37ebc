"""newaliases logs "FILE: checked" only for a file without problems
(issue 9); a file with problems gets its problems in the log, as postalias
logs its warnings, and never "checked"."""

import re


def test_failed_newaliases_does_not_log_checked(postie):
    path = postie.path("aliases")
    at = len(postie.log_lines())
    r = postie.postie("newaliases")
    assert r.returncode == 0, r.stderr
    postie.wait_for_log(r"postie/newaliases\[\d+\]: %s: checked$" % re.escape(path), start=at)
    with open(path, "a") as f:
        f.write("no colon here\n")
    n = len(open(path).read().splitlines())
    at = len(postie.log_lines())
    r = postie.postie("newaliases")
    assert r.returncode == 1
    postie.wait_for_log(r"postie/newaliases\[\d+\]: warning: %s, line %d: missing ':' after "
                        r"the alias name$" % (re.escape(path), n), start=at)
    assert not [l for l in postie.log_lines()[at:] if l.endswith(": checked")], \
        postie.log_lines()[at:]
