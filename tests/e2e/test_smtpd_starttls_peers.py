"""STARTTLS between two postie instances (postie's smtp client at
smtp_tls_security_level = encrypt to postie's smtpd with the certificate
serve made), and a large message through TLS records (the reads that
OpenSSL holds back, SSL_pending)."""

import hashlib
import smtplib
import ssl


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_postie_smtp_client_delivers_to_postie_smtpd_over_required_tls(postie_factory):
    b = postie_factory(conf={"myhostname": "mx.b.test", "mydestination": "$myhostname, b.test",
                             "smtpd_tls_loglevel": "1", "smtpd_tls_received_header": "yes"})
    a = postie_factory(conf={"myhostname": "mx.a.test",
                             "relayhost": f"[127.0.0.1]:{b.smtp_port}",
                             "smtp_tls_security_level": "encrypt", "smtp_tls_loglevel": "1"})
    with a.smtp() as s:
        s.sendmail("alice@a.test", [f"{b.user}@b.test"], "Subject: tls hop\r\n\r\nhop\r\n")
    a.wait_for_log(r"postie/smtp\[\d+\]: Untrusted TLS connection established to "
                   r"127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)$",
                   timeout=20)
    a.wait_for_log(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=2\.0\.0, status=sent", timeout=20)
    b.wait_for_log(r"postie/smtpd\[\d+\]: Anonymous TLS connection established from "
                   r"\S+\[127\.0\.0\.1\]: TLSv1\.3 with cipher \S+ \(\d+/\d+ bits\)$")
    msg = b.wait_for_mail()[0].decode()
    assert "(postie) with ESMTPS id" in msg
    assert "\t(using TLSv1.3 with cipher " in msg


def test_a_large_message_through_tls_arrives_whole(postie_factory):
    env = postie_factory(conf={"message_size_limit": "20000000"})
    line = ("0123456789abcdef" * 4 + "\r\n")
    body = line * 60000  # about 4 MB: many full TLS records
    with smtplib.SMTP("127.0.0.1", env.smtp_port, timeout=30) as s:
        s.starttls(context=_ctx())
        s.sendmail("a@example.org", [f"{env.user}@localhost"], "Subject: big\r\n\r\n" + body)
    got = env.wait_for_mail(timeout=30)[0]
    content = got.split(b"\n\n", 1)[1]
    want = body.replace("\r\n", "\n").encode()
    assert hashlib.sha256(content).hexdigest() == hashlib.sha256(want).hexdigest()
