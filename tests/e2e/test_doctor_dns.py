"""postie doctor's DNS step against a resolver on loopback (unbound through
dns_servers): for the domains of deferred mail it asks what the smtp client
asks, and says which destination does not resolve and which resolves but
does not take the mail."""

import json
import os

import pytest

from mail_peers import LoopbackDNS, have_unbound
from postie_env import free_port, has_service, wait_until

pytestmark = pytest.mark.skipif(
    not (has_service("smtp") and have_unbound()), reason="needs the smtp agent and unbound")


@pytest.fixture
def dns():
    records = [
        # resolves, but nothing listens on the smtp port there
        "down.test. IN MX 10 mx.down.test.",
        "mx.down.test. IN A 127.0.0.1",
    ]
    d = LoopbackDNS(records, ["down.test."], refuse=["broken.test."]).start()
    yield d
    d.cleanup()


def test_doctor_looks_up_the_destinations_of_deferred_mail(postie_factory, dns):
    env = postie_factory(conf={"myhostname": "localhost", "dns_servers": dns.server,
                               "smtp_tcp_port": str(free_port()),
                               "smtp_connect_timeout": "3s"})
    with env.smtp() as s:
        s.sendmail("alice@example.org", ["bob@down.test", "carol@broken.test"],
                   "Subject: dns\r\n\r\nbody\r\n")
    m = env.wait_for_log(r"(\S+): to=<bob@down\.test>, .*status=deferred", timeout=20)
    env.wait_for_log(r"to=<carol@broken\.test>, .*status=deferred \(Host or domain name "
                     r"not found", timeout=20)
    qid = m[0].group(1)
    wait_until(lambda: os.path.exists(env.path("queue", "deferred", qid)), 10, "deferred/ID")
    r = env.postie("doctor", "--json", timeout=60)
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["resolver"]["status"] == "ok"
    assert dns.server.split(":")[0] in checks["resolver"]["finding"]
    d = checks["destinations"]
    assert d["status"] == "warn", d
    assert d["finding"].startswith("broken.test (1 deferred): Host or domain name not found")
    assert "dig MX broken.test" in d["next"]
    assert any(x.startswith("down.test (1 deferred): MX 10 mx.down.test [127.0.0.1]")
               for x in d["details"]), d["details"]
    assert r.returncode == 1
