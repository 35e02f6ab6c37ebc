"""What a service process inherits from master (issue 14, item 7): no
descriptor beyond its own sockets and the configuration, and no way to
gain privileges through exec (no_new_privs), except local, which runs the
users' own programs."""

import os
import tempfile


def _status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    return None


def test_services_cannot_gain_privileges_through_exec(postie):
    postie.wait_services_configured()
    seen = {}
    for name in postie.expected_services():
        for pid in postie.service_pids(name):
            seen[name] = _status(pid, "NoNewPrivs")
    assert seen, "no service process found"
    want = {name: ("0" if name == "local" else "1") for name in seen}
    assert seen == want


def test_a_descriptor_master_inherits_reaches_no_service(postie_factory):
    fd_file = tempfile.NamedTemporaryFile(prefix="postie-inherited-", delete=False)
    try:
        os.set_inheritable(fd_file.fileno(), True)
        env = postie_factory(start=False)
        env.pass_fds = (fd_file.fileno(),)
        env.start()
        env.wait_services_configured()
        # master itself got it (the test is not empty) ...
        assert _holders(fd_file.name, [env.master_pid]) == [env.master_pid]
        # ... and none of its services.
        pids = env.service_pids()
        assert pids
        assert _holders(fd_file.name, pids) == []
    finally:
        fd_file.close()
        os.unlink(fd_file.name)


def _holders(path, pids):
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                    out.append(pid)
                    break
            except OSError:
                pass
    return out
