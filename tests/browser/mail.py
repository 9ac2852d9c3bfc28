"""The file mail transport read back as an inbox: send what is due, open the .eml files, follow links."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from app import clock
from app.notifications.services import send_due


class Mailbox:
    def __init__(self, app):
        self.app = app
        self.directory = Path(app.config["MAIL_FILE_DIR"])

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if self.directory.exists() else []

    def deliver(self) -> None:
        """Send every email that is due now, as the scheduler would."""
        with self.app.app_context():
            send_due(clock.now())

    def messages(self, to: str) -> list[EmailMessage]:
        self.deliver()
        found = []
        for path in self._files():
            message = email.message_from_bytes(path.read_bytes(), policy=default)
            if to.lower() in str(message["To"]).lower():
                check_readable(message)
                found.append(message)
        return found

    def latest(self, to: str, subject: str) -> EmailMessage:
        matching = [m for m in self.messages(to) if subject.lower() in str(m["Subject"]).lower()]
        assert matching, f"no email to {to} about {subject!r}; got {[str(m['Subject']) for m in self.messages(to)]}"
        return matching[-1]

    def link(self, to: str, subject: str, path_pattern: str) -> str:
        """The first link in the email's plain text whose path matches, as a reader would copy it."""
        text = plain_text(self.latest(to, subject))
        for url in re.findall(r"https?://\S+", text):
            url = url.rstrip(".,)>")
            if re.search(path_pattern, url):
                return url
        raise AssertionError(f"no link matching {path_pattern!r} in:\n{text}")


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, f"{message['Subject']!r} has no plain-text part"
    return part.get_content()


def check_readable(message: EmailMessage) -> None:
    """Every email has a plain-text part; its HTML, if any, declares a language and uses no layout tables."""
    text = plain_text(message)
    assert text.strip(), f"{message['Subject']!r} has an empty plain-text part"
    html_part = message.get_body(preferencelist=("html",))
    if html_part is not None:
        html = html_part.get_content()
        assert '<html lang="en"' in html, f"{message['Subject']!r}: the HTML part has no language"
        assert "<table" not in html or 'role="presentation"' in html, f"{message['Subject']!r}: a layout table"
