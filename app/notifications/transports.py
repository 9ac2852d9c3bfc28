"""Mail transports: file (default, .eml files under instance/), smtp (production), memory (tests)."""

from __future__ import annotations

import email
import smtplib
import ssl
import threading
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path

from config import ConfigurationError


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


class SMTPTLSError(ConnectionError):
    """TLS with the mail server failed: most often its certificate is not trusted or names another host.

    A ConnectionError, so the sender puts the rest of its batch off by the back-off too, rather than
    trying each message against a server that cannot be trusted.
    """


class SMTPTransport(Transport):
    """Sends over SMTP. `tls`: "none", "starttls" (upgrade a plain connection) or "implicit" (TLS from the
    first byte, smtplib.SMTP_SSL). With TLS the server's certificate and host name are always checked,
    against the system's certificate authorities or those in `ca_file` (PEM)."""

    def __init__(self, host: str, port: int, username: str = "", password: str = "",
                 starttls: bool = False, timeout: int = 10, *, tls: str | None = None, ca_file: str = ""):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.tls = tls or ("starttls" if starttls else "none")
        if self.tls not in ("none", "starttls", "implicit"):
            raise ValueError(f"tls must be none, starttls or implicit, not {self.tls!r}")
        self.starttls, self.timeout = self.tls == "starttls", timeout
        self.ca_file = ca_file
        # Built now, so an unreadable SMTP_CA_FILE stops start-up rather than every send.
        self.tls_context = ssl.create_default_context(cafile=ca_file or None) if self.tls != "none" else None
        # One open connection per thread: the transport is shared by every sender in the process.
        self._local = threading.local()

    @property
    def _open(self) -> smtplib.SMTP | None:
        return getattr(self._local, "smtp", None)

    @_open.setter
    def _open(self, smtp: smtplib.SMTP | None) -> None:
        self._local.smtp = smtp

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.tls == "implicit":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls_context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.tls == "starttls":
                    try:
                        smtp.starttls(context=self.tls_context)
                    except BaseException:
                        smtp.close()
                        raise
        except ssl.SSLError as error:
            raise SMTPTLSError(self._tls_problem(error)) from error
        try:
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls_problem(self, error: ssl.SSLError) -> str:
        where = f"{self.host}:{self.port}"
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = (error.verify_message or error.reason or str(error)).rstrip(".")
            trust = (f"the certificate authorities in SMTP_CA_FILE ({self.ca_file})" if self.ca_file
                     else "the system's certificate authorities (set SMTP_CA_FILE for a private one)")
            return f"the mail server at {where} is not trusted, so nothing was sent: {reason} (checked against {trust})"
        mode = "implicit TLS (SMTP_TLS=implicit)" if self.tls == "implicit" else "STARTTLS (SMTP_TLS=starttls)"
        return (f"TLS with the mail server at {where} failed using {mode}: {error.reason or error}; "
                "check SMTP_PORT and SMTP_TLS match what the server offers")

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
        tls = config.get("SMTP_TLS", "none")
        if tls == "none" and config.get("SMTP_STARTTLS"):
            tls = "starttls"  # set on its own, as before SMTP_TLS existed
        try:
            return SMTPTransport(
                config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_USERNAME"],
                config["SMTP_PASSWORD"], timeout=config["SMTP_TIMEOUT"], tls=tls,
                ca_file=str(config.get("SMTP_CA_FILE") or ""),
            )
        except (ssl.SSLError, OSError) as error:
            raise ConfigurationError(f"SMTP_CA_FILE {config.get('SMTP_CA_FILE')} could not be read as PEM "
                                     f"certificates: {getattr(error, 'reason', None) or error}.") from None
    if kind == "memory":
        return MemoryTransport()
    raise ConfigurationError(f"MAIL_TRANSPORT must be file, smtp or memory, not {kind!r}.")
