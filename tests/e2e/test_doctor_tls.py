"""postie doctor on an implicit-TLS listener (pop3s): the handshake, the
certificate's remaining life and the greeting through TLS are step 4's."""

import os
import re
import shutil
import tempfile

import pytest

from mail_peers import self_signed
from postie_env import free_port, has_service

pytestmark = pytest.mark.skipif(not has_service("pop3d"), reason="pop3d not in this build")


@pytest.fixture(scope="module")
def cert():
    d = tempfile.mkdtemp(prefix="postie-doctor-cert-")
    os.chmod(d, 0o755)
    c, k = self_signed(d, cn="pop.doctor.test")  # valid for two days
    os.chmod(c, 0o644)
    yield c, k
    shutil.rmtree(d, ignore_errors=True)


def test_doctor_greets_pop3s_through_tls_and_warns_of_a_certificate_near_its_end(
        postie_factory, cert):
    import json
    port = free_port()
    env = postie_factory(conf={"myhostname": "localhost",
                               "pop3d_tls_cert_file": cert[0], "pop3d_tls_key_file": cert[1],
                               "pop3s_listen": f"127.0.0.1:{port}"})
    r = env.postie("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    c = checks["pop3s"]
    assert c["status"] == "warn", c
    assert f"127.0.0.1:{port}" in c["finding"] and "CN=pop.doctor.test" in c["finding"]
    assert re.search(r"expires in [12] days?", c["finding"]), c["finding"]
    assert "renew" in c["next"]
    assert any('"+OK' in d for d in c["details"]), c["details"]
    assert r.returncode == 1
    # The plain POP3 listener next to it is fine.
    assert checks["pop3d"]["status"] == "ok"
