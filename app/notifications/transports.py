"""Mail transports: file (default, .eml files under instance/), smtp (production), memory (tests)."""

from __future__ import annotations

import email
import smtplib
import threading
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path


class Transport:
    def send(self, message: Message) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @contextmanager
    def batch(self):
        """Several sends in one go (SMTP keeps one connection open for them)."""
        yield self


class FileTransport(Transport):
    """Writes each message as an .eml file: open it in a mail client, or read the outbox page."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = message["Message-ID"].strip("<>").split("@")[0]
        (self.directory / f"{stem}.eml").write_bytes(message.as_bytes())


class SMTPTransport(Transport):
    def __init__(self, host: str, port: int, username: str = "", password: str = "",
                 starttls: bool = False, timeout: int = 10):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout
        # One open connection per thread: the transport is shared by every sender in the process.
        self._local = threading.local()

    @property
    def _open(self) -> smtplib.SMTP | None:
        return getattr(self._local, "smtp", None)

    @_open.setter
    def _open(self, smtp: smtplib.SMTP | None) -> None:
        self._local.smtp = smtp

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            smtp.starttls()
        if self.username:
            smtp.login(self.username, self.password)
        return smtp

    def send(self, message: Message) -> None:
        if self._open is None:
            with self._connect() as smtp:
                smtp.send_message(message)
            return
        try:
            self._open.send_message(message)
        except smtplib.SMTPServerDisconnected:
            # The server dropped the connection mid-batch: one fresh try on a new connection.
            self._open.close()
            self._open = self._connect()
            self._open.send_message(message)

    @contextmanager
    def batch(self):
        try:
            self._open = self._connect()
        except OSError:
            self._open = None  # each send reports the failure itself
        try:
            yield self
        finally:
            if self._open is not None:
                try:
                    self._open.quit()
                except (smtplib.SMTPException, OSError):
                    self._open.close()
            self._open = None


class MemoryTransport(Transport):
    """Keeps sent messages in a list (tests), parsed back as a mail client would see them."""

    def __init__(self):
        self.sent: list[EmailMessage] = []

    def send(self, message: Message) -> None:
        self.sent.append(email.message_from_bytes(message.as_bytes(), policy=policy.default))


def transport_from_config(config) -> Transport:
    kind = config["MAIL_TRANSPORT"]
    if kind == "file":
        return FileTransport(config["MAIL_FILE_DIR"])
    if kind == "smtp":
        return SMTPTransport(
            config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_USERNAME"],
            config["SMTP_PASSWORD"], config["SMTP_STARTTLS"], config["SMTP_TIMEOUT"],
        )
    if kind == "memory":
        return MemoryTransport()
    raise RuntimeError(f"MAIL_TRANSPORT must be file, smtp or memory, not {kind!r}")
