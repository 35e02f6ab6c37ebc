"""Shared fixtures for the end-to-end tests (see postie_env.py).

    def test_something(postie):                  # a running instance
        with postie.smtp() as s: ...
        postie.wait_for_log(r"status=sent")

    @pytest.mark.postie_conf(message_size_limit="1000")
    def test_limit(postie): ...                  # extra postie.conf lines

    def test_two(postie_factory):                # several, or not started
        a = postie_factory(conf={...}, start=False)

Every test runs under a time limit (POSTIE_TEST_TIMEOUT seconds, default
120; a marker @pytest.mark.timeout_s(N) changes it for one test), every
instance is stopped and removed afterwards, and a test fails when a postie
process printed a sanitizer report.
"""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postie_env import POSTIE_BIN, PostieEnv  # noqa: E402

DEFAULT_TIMEOUT = int(os.environ.get("POSTIE_TEST_TIMEOUT", "120"))


def pytest_sessionstart(session):
    # Before collection: test modules ask the binary which services it has.
    if not os.access(POSTIE_BIN, os.X_OK):
        raise pytest.UsageError(f"{POSTIE_BIN} is not built: run make (or set POSTIE_BIN)")


def pytest_configure(config):
    config.addinivalue_line("markers", "postie_conf(**params): extra postie.conf parameters")
    config.addinivalue_line("markers", "timeout_s(n): time limit of one test in seconds")


class TestTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """A per-test time limit with SIGALRM (libuv's habit: a test can fail,
    never hang), without depending on the pytest-timeout plugin."""
    m = item.get_closest_marker("timeout_s")
    limit = int(m.args[0]) if m else DEFAULT_TIMEOUT

    def expired(signum, frame):
        raise TestTimeout(f"test exceeded its time limit of {limit}s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _finish(request, envs):
    failed = getattr(request.node, "rep_call", None)
    failed = failed is not None and failed.failed
    reports = []
    for env in envs:
        if failed or getattr(env, "start_failed", False):
            print(f"---- {env.dir}: serve stdout ----\n{env.stdout()}")
            print(f"---- serve stderr ----\n{env.stderr()[-4000:]}")
            print("---- maillog (last 60 lines) ----")
            print("\n".join(env.log_lines()[-60:]))
        try:
            env.stop()
        finally:
            reports += env.sanitizer_reports()
            env.cleanup()
    if reports:
        pytest.fail("sanitizer reports from postie processes:\n" + "\n".join(reports[:20]))


@pytest.fixture
def postie_factory(request):
    """Make instances: postie_factory(conf={...}, start=True)."""
    envs = []

    def make(conf=None, start=True):
        env = PostieEnv(conf=conf, start=False)
        envs.append(env)
        if start:
            try:
                env.start()
            except BaseException:
                env.start_failed = True  # show its output at teardown
                raise
        return env
    yield make
    _finish(request, envs)


@pytest.fixture
def postie(request):
    """A running instance; @pytest.mark.postie_conf(name=value) adds lines."""
    conf = {}
    for m in request.node.iter_markers("postie_conf"):
        conf.update(m.kwargs)
    env = PostieEnv(conf=conf, start=False)
    try:
        try:
            env.start()
        except BaseException:
            env.start_failed = True  # show its output below
            raise
        yield env
    finally:
        _finish(request, [env])


@pytest.fixture
def system_user():
    """A throw-away system user (name pt + 8 hex) whose home is in a
    temporary directory that every user may traverse (pytest's own tmp_path
    is root's alone).  Skips where useradd fails (not root)."""
    import pwd
    import shutil
    import subprocess
    import tempfile
    import uuid
    name = "pt" + uuid.uuid4().hex[:8]
    top = tempfile.mkdtemp(prefix="postie-home-")
    os.chmod(top, 0o755)
    home = os.path.join(top, name)
    r = subprocess.run(["useradd", "-m", "-d", home, "-s", "/usr/sbin/nologin", name],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        pytest.skip("useradd failed: " + r.stderr)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True, timeout=30)
        shutil.rmtree(top, ignore_errors=True)
