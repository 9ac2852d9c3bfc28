"""Real SMTP: 1,000 due emails, two senders at once, the server down for part of the run.

Every message must arrive exactly once after the server recovers (counted by Message-ID).
"""

from __future__ import annotations

import smtplib
import socket
import threading
from datetime import timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app import clock
from app.db import db
from app.notifications.models import OutboxMessage
from app.notifications.services import queue_email, send_due
from app.notifications.transports import SMTPTransport

REAL_SMTP = smtplib.SMTP  # taken before the autouse fixture blocks SMTP for every other test
COUNT = 1000


class Sink:
    def __init__(self):
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                with self.lock:
                    self.message_ids.append(line.split(":", 1)[1].strip())
                break
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_message_arrives_exactly_once_with_two_senders_and_an_outage(app, monkeypatch, frozen_now):
    monkeypatch.setattr(smtplib, "SMTP", REAL_SMTP)
    now = clock.now()
    for n in range(COUNT):
        queue_email(key=f"load:{n}", recipient=f"person{n}@example.org", subject=f"Message {n}",
                    body_text="Hello", due_at=now)
    db.session.commit()
    port = free_port()
    transport = SMTPTransport("127.0.0.1", port, timeout=5)

    # The server is down: a first pass fails every message it claims and schedules retries.
    with app.app_context():
        send_due(now, transport=transport, limit=50)
    failed_once = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.attempts == 1, OutboxMessage.status == "pending"))
    assert failed_once == COUNT
    db.session.rollback()  # end this read, so the senders can take the write lock

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = now + timedelta(minutes=5)  # past the first back-off
        errors = []

        def worker():
            with app.app_context():
                try:
                    send_due(later, transport=transport, limit=25)
                except Exception as error:  # noqa: BLE001 - reported below
                    errors.append(error)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors
    finally:
        controller.stop()
    db.session.expire_all()
    assert len(sink.message_ids) == COUNT
    assert len(set(sink.message_ids)) == COUNT  # no duplicates
    sent = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
    assert sent == COUNT
