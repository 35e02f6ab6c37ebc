"""postie user add without a terminal and without --password-stdin says
how to give the password (issue 9): before, only "empty password refused",
which leaves a script's author guessing."""


def test_user_add_from_a_script_points_at_password_stdin(postie):
    r = postie.postie("user", "add", "carol", input="")
    assert r.returncode != 0
    assert "empty password refused" in r.stderr
    assert "--password-stdin" in r.stderr, r.stderr
    assert "carol" not in open(postie.path("users")).read()
    # The hinted way works.
    r = postie.postie("user", "add", "carol", "--password-stdin", input="s3cret\n")
    assert r.returncode == 0, r.stderr
    assert "s3cret" not in r.stderr and "s3cret" not in "\n".join(postie.log_lines())


def test_empty_password_on_password_stdin_needs_no_hint(postie):
    r = postie.postie("user", "add", "dora", "--password-stdin", input="\n")
    assert r.returncode != 0
    assert r.stderr.strip().endswith("postie user: empty password refused"), r.stderr
