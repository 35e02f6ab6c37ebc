"""A parameter for a service this postie does not have is said, not
silently accepted (issue 9): config check, reload and doctor warn
"parameter imapd_listen: service imapd is not built into this postie".

It stays a warning (exit 0, the system runs): Postfix, too, only warns
about a parameter nothing uses.  An empty value ("off") is what the
missing service is anyway and draws nothing.
"""

import os
import re
import subprocess

import pytest

from postie_env import has_service


def unbuilt_listen_params():
    names = [n for n in ("imapd_listen", "submission_listen")
             if not has_service(n[:-len("_listen")])]
    if not names:
        pytest.skip("every service with a *_listen parameter is built")
    return names


def conf_line(env, name):
    with open(env.path("postie.conf")) as f:
        return next(i for i, l in enumerate(f, 1) if l.startswith(name + " "))


def warning(name):
    svc = name[:-len("_listen")]
    return f"parameter {name}: service {svc} is not built into this postie"


def test_config_check_warns_about_parameters_of_unbuilt_services(postie_factory):
    names = unbuilt_listen_params()
    env = postie_factory(conf={n: "127.0.0.1:1" for n in names} | {"pop3s_listen": ""},
                         start=False)
    path = os.path.realpath(env.path("postie.conf"))
    r = env.postie("config", "check")
    assert r.returncode == 0, r.stderr
    for n in names:
        assert f"{path}:{conf_line(env, n)}: warning: {warning(n)}" in r.stderr.splitlines(), \
            r.stderr
    # A built service's parameters draw nothing.
    assert "pop3d_listen" not in r.stderr and "smtpd_listen" not in r.stderr
    # Empty (off) draws nothing either.
    env.write_conf({n: "" for n in names})
    r = env.postie("config", "check")
    assert (r.returncode, r.stderr) == (0, "")


def test_reload_warns_on_the_terminal_and_in_the_log(postie):
    names = unbuilt_listen_params()
    log_at = len(postie.log_lines())
    postie.write_conf({names[0]: "127.0.0.1:1"})
    path = os.path.realpath(postie.path("postie.conf"))
    line = conf_line(postie, names[0])
    r = postie.postie("reload")
    assert r.returncode == 0, r.stderr
    assert f"postie: warning: {path}:{line}: {warning(names[0])}" in r.stderr.splitlines(), \
        r.stderr
    postie.wait_for_log(r"postie/master\[\d+\]: warning: %s, line %d: %s$"
                        % (re.escape(path), line, re.escape(warning(names[0]))), start=log_at)


def test_doctor_warns_in_the_configuration_step(postie):
    names = unbuilt_listen_params()
    postie.write_conf({names[0]: "127.0.0.1:1"})
    r = postie.postie("doctor")
    config = [l for l in r.stdout.splitlines() if re.match(r"\s+\[\w+ *\] config ", l)]
    assert config and config[0].lstrip().startswith("[warn] config"), r.stdout
    assert warning(names[0]) in r.stdout, r.stdout
