"""SMTP over TLS, implicit (SMTP_TLS=implicit, port 465) and STARTTLS, against a local aiosmtpd with
certificates from a throwaway certificate authority made here: the server's certificate and name are
checked, so a certificate signed by SMTP_CA_FILE's authority for 127.0.0.1 is trusted, and a self-signed
one or one for another name is refused, said on the outbox row, and nothing is marked sent."""

from __future__ import annotations

import smtplib
import socket
import ssl
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app import clock
from app.db import db
from app.notifications import services
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import queue_email
from app.notifications.transports import SMTPTransport, transport_from_config

REAL_SMTP, REAL_SMTP_SSL = smtplib.SMTP, smtplib.SMTP_SSL  # taken before the autouse fixture blocks SMTP
ROOT = Path(__file__).resolve().parent.parent


# -- a throwaway certificate authority ------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key, *, issuer: str, issuer_key, names: list | None, is_ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if is_ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class PKI:
    """PEM files: the authority's certificate, and server certificates with their keys."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("Convene test CA", self.ca_key, issuer="Convene test CA", issuer_key=self.ca_key,
                          names=None, is_ca=True)
        self.ca_file = self._write("ca.pem", ca.public_bytes(serialization.Encoding.PEM))

    def _write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path

    def server(self, label: str, names: list, *, self_signed: bool = False) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        issuer, issuer_key = (label, key) if self_signed else ("Convene test CA", self.ca_key)
        cert = _certificate(label, key, issuer=issuer, issuer_key=issuer_key, names=names, is_ca=False)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return (self._write(f"{label}.pem", cert.public_bytes(serialization.Encoding.PEM)),
                self._write(f"{label}.key", key_pem))


LOCAL_NAMES = [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def certificates(pki) -> dict[str, tuple[Path, Path]]:
    return {
        "trusted": pki.server("mail-local", LOCAL_NAMES),
        "self-signed": pki.server("self-signed", LOCAL_NAMES, self_signed=True),
        "other name": pki.server("mail-elsewhere", [x509.DNSName("mail.example.org")]),
    }


# -- a local SMTP server speaking TLS -------------------------------------------------------------

class Sink:
    def __init__(self):
        self.subjects: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            for line in envelope.content.decode("utf-8", "replace").splitlines():
                if line.lower().startswith("subject:"):
                    self.subjects.append(line.split(":", 1)[1].strip())
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    """start(mode, certificate) -> (port, sink): implicit TLS, or STARTTLS that the server requires."""
    monkeypatch.setattr(smtplib, "SMTP", REAL_SMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", REAL_SMTP_SSL)
    controllers = []

    def start(mode: str, certificate: tuple[Path, Path]):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        sink, port = Sink(), _free_port()
        if mode == "implicit":
            controller = Controller(sink, hostname="127.0.0.1", port=port, ssl_context=context)
        else:
            controller = Controller(sink, hostname="127.0.0.1", port=port, tls_context=context,
                                    require_starttls=True)
        controller.start()
        controllers.append(controller)
        return port, sink

    yield start
    for controller in controllers:
        controller.stop()


def _queue_one(subject: str) -> None:
    queue_email(key=f"tls:{subject}", recipient="someone@example.org", subject=subject, body_text="Hello",
                due_at=clock.now())
    db.session.commit()


def _row(subject: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == f"tls:{subject}"))


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_a_certificate_from_the_configured_authority_is_trusted(app, pki, certificates, smtp_server, mode):
    port, sink = smtp_server(mode, certificates["trusted"])
    _queue_one(f"Over {mode}")
    transport = SMTPTransport("127.0.0.1", port, timeout=5, tls=mode, ca_file=str(pki.ca_file))
    report = services.send_due_report(clock.now(), transport=transport)
    assert (report.sent, report.errors) == (1, [])
    assert sink.subjects == [f"Over {mode}"]
    assert _row(f"Over {mode}").status == OutboxStatus.SENT


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
@pytest.mark.parametrize(("certificate", "with_ca_file", "reason"), [
    ("self-signed", True, "self-signed certificate"),
    ("other name", True, "IP address mismatch, certificate is not valid for '127.0.0.1'"),
    ("trusted", False, "unable to get local issuer certificate"),  # the system does not know our authority
])
def test_a_certificate_that_cannot_be_trusted_is_refused_and_said_on_the_row(
        app, pki, certificates, smtp_server, mode, certificate, with_ca_file, reason):
    port, sink = smtp_server(mode, certificates[certificate])
    _queue_one("Not to be sent")
    _queue_one("Nor this")
    ca_file = str(pki.ca_file) if with_ca_file else ""
    transport = SMTPTransport("127.0.0.1", port, timeout=5, tls=mode, ca_file=ca_file)
    report = services.send_due_report(clock.now(), transport=transport)
    assert report.sent == 0 and sink.subjects == []
    trust = f"the certificate authorities in SMTP_CA_FILE ({ca_file})" if with_ca_file \
        else "the system's certificate authorities (set SMTP_CA_FILE for a private one)"
    expected = (f"SMTPTLSError: the mail server at 127.0.0.1:{port} is not trusted, so nothing was sent: "
                f"{reason} (checked against {trust})")
    for subject in ("Not to be sent", "Nor this"):
        row = _row(subject)
        assert row.status == OutboxStatus.PENDING and row.sent_at is None
    # The first message says why; the rest of the batch waits for the back-off with it, not tried one by one.
    assert expected in [_row("Not to be sent").last_error, _row("Nor this").last_error]
    assert report.errors == [expected]


def test_implicit_tls_against_a_plain_server_says_what_to_check(app, smtp_server):
    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _queue_one("Wrong port")
        report = services.send_due_report(clock.now(), transport=SMTPTransport("127.0.0.1", port, timeout=5,
                                                                                tls="implicit"))
    finally:
        controller.stop()
    assert report.sent == 0
    assert "SMTPTLSError: TLS with the mail server at 127.0.0.1:" in _row("Wrong port").last_error
    assert "check SMTP_PORT and SMTP_TLS match what the server offers" in _row("Wrong port").last_error


def test_the_settings_choose_the_transport(pki):
    base = {"MAIL_TRANSPORT": "smtp", "SMTP_HOST": "mail.example.org", "SMTP_PORT": 465, "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "", "SMTP_TIMEOUT": 5, "SMTP_TLS": "none", "SMTP_STARTTLS": False, "SMTP_CA_FILE": ""}
    assert transport_from_config(base).tls == "none"
    assert transport_from_config({**base, "SMTP_STARTTLS": True}).tls == "starttls"  # as before SMTP_TLS
    implicit = transport_from_config({**base, "SMTP_TLS": "implicit", "SMTP_CA_FILE": str(pki.ca_file)})
    assert implicit.tls == "implicit" and implicit.tls_context.verify_mode == ssl.CERT_REQUIRED
    assert implicit.tls_context.check_hostname is True


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "none 25"),
    ({"SMTP_STARTTLS": "true"}, "starttls 25"),
    ({"SMTP_STARTTLS": "true", "SMTP_PORT": "587"}, "starttls 587"),
    ({"SMTP_SSL": "true"}, "implicit 465"),
    ({"SMTP_TLS": "implicit"}, "implicit 465"),
    ({"SMTP_TLS": "STARTTLS", "SMTP_PORT": "587"}, "starttls 587"),
    ({"SMTP_TLS": "none", "SMTP_STARTTLS": "true"}, "none 25"),  # SMTP_TLS, when set, decides
])
def test_smtp_tls_is_read_from_the_environment(env, expected):
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMTP_")}
    result = subprocess.run([sys.executable, "-c", "import config; print(config.Config.SMTP_TLS, config.Config.SMTP_PORT)"],
                            cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == expected
