"""The mail transports on their own: which one the settings give, what a wrong setting says at start-up,
and SMTP against a local aiosmtpd: signing in to the relay (only over TLS, as production does), one
connection for a batch, a relay that drops the connection mid-batch, and a relay that is down.

tests/test_smtp_tls.py covers certificate checks for implicit TLS and STARTTLS, tests/test_smtp_delivery.py
sending a thousand messages through outages, tests/test_notifications.py the .eml files."""

from __future__ import annotations

import asyncio
import email
import smtplib
import ssl
import threading
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.notifications.transports import (
    FileTransport,
    MemoryTransport,
    SMTPTransport,
    transport_from_config,
)
from config import ConfigurationError
from tests.test_smtp_tls import LOCAL_NAMES, PKI, _free_port

REAL_SMTP, REAL_SMTP_SSL = smtplib.SMTP, smtplib.SMTP_SSL  # taken before the autouse fixture blocks SMTP
USER, PASSWORD = "convene", "relay password"


def _message(subject: str, n: int = 1) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Convene <no-reply@convene.test>", "a@example.org", subject
    message["Message-ID"] = f"<test-{n}@convene.test>"
    message.set_content("Hello – your session is on Tuesday.")
    return message


# -- which transport the settings give -------------------------------------------------------------

SMTP_SETTINGS = {"MAIL_TRANSPORT": "smtp", "SMTP_HOST": "mail.example.org", "SMTP_PORT": 587, "SMTP_USERNAME": "u",
                 "SMTP_PASSWORD": "p", "SMTP_TIMEOUT": 7, "SMTP_TLS": "starttls", "SMTP_STARTTLS": True,
                 "SMTP_CA_FILE": ""}


def test_the_file_transport_is_the_default_and_writes_under_the_configured_folder(tmp_path):
    folder = tmp_path / "instance" / "mail"  # made when the first message is written
    transport = transport_from_config({"MAIL_TRANSPORT": "file", "MAIL_FILE_DIR": folder})
    assert isinstance(transport, FileTransport) and not folder.exists()
    with transport.batch() as same:  # a plain transport's batch is itself
        same.send(_message("First", 1))
        same.send(_message("Second", 2))
    assert sorted(p.name for p in folder.iterdir()) == ["test-1.eml", "test-2.eml"]
    again = email.message_from_bytes((folder / "test-2.eml").read_bytes(), policy=policy.default)
    assert again["Subject"] == "Second"


def test_the_memory_transport_keeps_what_a_mail_client_would_see():
    transport = transport_from_config({"MAIL_TRANSPORT": "memory"})
    assert isinstance(transport, MemoryTransport)
    transport.send(_message("Réunion – Tuesday"))
    (received,) = transport.sent
    assert received["Subject"] == "Réunion – Tuesday"  # decoded again, as a mail client shows it
    assert received.get_content().strip() == "Hello – your session is on Tuesday."


def test_the_smtp_settings_are_carried_over():
    transport = transport_from_config(SMTP_SETTINGS)
    assert isinstance(transport, SMTPTransport)
    assert (transport.host, transport.port, transport.username, transport.password, transport.timeout) == (
        "mail.example.org", 587, "u", "p", 7)
    assert transport.tls == "starttls" and transport.starttls and transport.tls_context is not None
    plain = transport_from_config({**SMTP_SETTINGS, "SMTP_TLS": "none", "SMTP_STARTTLS": False})
    assert plain.tls == "none" and plain.tls_context is None


@pytest.mark.parametrize("kind", ["smtps", "", "SMTP"])
def test_an_unknown_transport_stops_start_up_with_one_sentence(kind):
    with pytest.raises(ConfigurationError, match=f"MAIL_TRANSPORT must be file, smtp or memory, not {kind!r}"):
        transport_from_config({"MAIL_TRANSPORT": kind})


def test_a_ca_file_that_is_not_pem_stops_start_up_and_says_which(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("this is not a certificate\n")
    with pytest.raises(ConfigurationError, match=f"SMTP_CA_FILE {bad} could not be read as PEM certificates"):
        transport_from_config({**SMTP_SETTINGS, "SMTP_CA_FILE": str(bad)})
    with pytest.raises(ConfigurationError, match="could not be read as PEM"):
        transport_from_config({**SMTP_SETTINGS, "SMTP_CA_FILE": str(tmp_path / "missing.pem")})


def test_an_unknown_tls_mode_is_refused():
    with pytest.raises(ValueError, match="tls must be none, starttls or implicit, not 'ssl'"):
        SMTPTransport("mail.example.org", 465, tls="ssl")


# -- SMTP against a local relay --------------------------------------------------------------------

class Relay:
    """What the relay received: (connection, subject) for each message, and who signed in."""

    def __init__(self, *, drop_after_first: bool = False):
        self.received: list[tuple[tuple, str]] = []
        self.logins: list[str] = []
        self.drop_after_first = drop_after_first
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        subject = email.message_from_bytes(envelope.content, policy=policy.default)["Subject"]
        with self.lock:
            self.received.append((session.peer, subject))
            if self.drop_after_first and len(self.received) == 1:
                # Answer, then hang up, as a relay that restarts or times out an idle client does.
                asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        if ok:
            with self.lock:
                self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 when not ok

    @property
    def subjects(self) -> list[str]:
        return [subject for _, subject in self.received]

    @property
    def connections(self) -> int:
        return len({peer for peer, _ in self.received})


@pytest.fixture
def relay(monkeypatch, tmp_path):
    """start(**options) -> (port, relay, ca_file): a local relay, plain or STARTTLS with sign-in."""
    monkeypatch.setattr(smtplib, "SMTP", REAL_SMTP)
    monkeypatch.setattr(smtplib, "SMTP_SSL", REAL_SMTP_SSL)
    controllers = []

    def start(*, tls: bool = False, drop_after_first: bool = False):
        handler, port, kwargs = Relay(drop_after_first=drop_after_first), _free_port(), {}
        ca_file = None
        if tls:
            pki = PKI(tmp_path)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*pki.server("relay", LOCAL_NAMES))
            kwargs = {"tls_context": context, "require_starttls": True, "authenticator": handler.authenticate,
                      "auth_required": True}
            ca_file = str(pki.ca_file)
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return port, handler, ca_file

    yield start
    for controller in controllers:
        controller.stop()


def test_a_plain_relay_receives_the_message(relay):
    port, received, _ = relay()
    SMTPTransport("127.0.0.1", port, timeout=5).send(_message("Plain"))
    assert received.subjects == ["Plain"]


def test_the_relay_is_signed_in_to_after_starttls(relay):
    port, received, ca_file = relay(tls=True)
    SMTPTransport("127.0.0.1", port, USER, PASSWORD, timeout=5, tls="starttls", ca_file=ca_file).send(
        _message("Signed in"))
    assert received.subjects == ["Signed in"] and received.logins == [USER]


def test_a_wrong_relay_password_is_an_error_and_nothing_is_sent(relay):
    port, received, ca_file = relay(tls=True)
    transport = SMTPTransport("127.0.0.1", port, USER, "not the password", timeout=5, tls="starttls",
                              ca_file=ca_file)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        transport.send(_message("Refused"))
    assert received.subjects == [] and received.logins == []


def test_starttls_asked_of_a_relay_that_does_not_offer_it_is_an_error_not_a_plain_send(relay):
    port, received, _ = relay()
    with pytest.raises(smtplib.SMTPNotSupportedError, match="STARTTLS"):
        SMTPTransport("127.0.0.1", port, timeout=5, tls="starttls").send(_message("Must not go in clear"))
    assert received.subjects == []


def test_a_batch_sends_over_one_connection_and_single_sends_each_open_their_own(relay):
    port, received, ca_file = relay(tls=True)
    transport = SMTPTransport("127.0.0.1", port, USER, PASSWORD, timeout=5, tls="starttls", ca_file=ca_file)
    with transport.batch():
        for n in range(3):
            transport.send(_message(f"Batch {n}", n))
    assert received.subjects == ["Batch 0", "Batch 1", "Batch 2"]
    assert received.connections == 1 and received.logins == [USER]
    assert transport._open is None  # closed after the batch
    transport.send(_message("Alone 1", 4))
    transport.send(_message("Alone 2", 5))
    assert received.connections == 3


def test_a_relay_that_hangs_up_mid_batch_gets_one_fresh_connection(relay):
    port, received, _ = relay(drop_after_first=True)
    transport = SMTPTransport("127.0.0.1", port, timeout=5)
    with transport.batch():
        transport.send(_message("Before", 1))
        time.sleep(0.3)  # the relay has hung up by now
        transport.send(_message("After", 2))
        transport.send(_message("And on", 3))
    assert received.subjects == ["Before", "After", "And on"]
    assert received.connections == 2


def test_a_relay_that_is_down_fails_each_send_of_a_batch_with_a_connection_error(relay):
    port = _free_port()  # nothing listens here
    transport = SMTPTransport("127.0.0.1", port, timeout=5)
    with transport.batch():
        assert transport._open is None
        with pytest.raises(ConnectionRefusedError):
            transport.send(_message("Nowhere"))


def test_each_thread_has_its_own_connection_in_a_batch(relay):
    """One transport is shared by every sender in the process: a batch in one thread must not send over
    another thread's connection."""
    port, received, _ = relay()
    transport = SMTPTransport("127.0.0.1", port, timeout=5)
    ready = threading.Barrier(2)
    errors = []

    def sender(n: int):
        try:
            with transport.batch():
                ready.wait(timeout=10)
                transport.send(_message(f"Thread {n}", n))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=sender, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(received.subjects) == ["Thread 1", "Thread 2"] and received.connections == 2


def test_the_path_of_a_written_message_comes_from_its_message_id(tmp_path):
    transport = FileTransport(tmp_path)
    message = _message("Named")
    message.replace_header("Message-ID", "<outbox-42.abc@convene.test>")
    transport.send(message)
    assert [p.name for p in Path(tmp_path).iterdir()] == ["outbox-42.abc.eml"]
