"""Mail transports: file (default, .eml files under instance/), smtp (production), memory (tests)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path


class Transport:
    def send(self, message: EmailMessage) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class FileTransport(Transport):
    """Writes each message as an .eml file: open it in a mail client, or read the outbox page."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = message["Message-ID"].strip("<>").split("@")[0]
        (self.directory / f"{stem}.eml").write_bytes(bytes(message))


class SMTPTransport(Transport):
    def __init__(self, host: str, port: int, username: str = "", password: str = "",
                 starttls: bool = False, timeout: int = 10):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


class MemoryTransport(Transport):
    """Keeps sent messages in a list (tests)."""

    def __init__(self):
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


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
