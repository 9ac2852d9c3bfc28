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
from app.notifications import services
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

    # The server is down: a first pass finds it so on its first message, puts that batch off by the
    # back-off and stops, rather than waiting for a time-out on every message.
    with app.app_context():
        report = services.send_due_report(now, transport=transport, limit=50)
    assert (report.sent, report.deferred) == (0, 50) and "ConnectionRefusedError" in report.errors[0]
    waiting = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.due_at > now, OutboxMessage.status == "pending"))
    assert waiting == 50
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


class SlowSink(Sink):
    """A mail server that takes its time over every message, as an overloaded relay does."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        import asyncio

        await asyncio.sleep(self.seconds)
        return await super().handle_DATA(server, session, envelope)


def test_two_senders_and_a_slow_server_send_each_message_once(app, monkeypatch):
    """A lease much shorter than a batch takes to send: without renewing it, the second sender would
    take over rows the first is still working through (59 of 300 doubled, as found)."""
    monkeypatch.setattr(smtplib, "SMTP", REAL_SMTP)
    monkeypatch.setattr(services, "CLAIM_LEASE", timedelta(seconds=1))
    monkeypatch.setattr(services, "LEASE_RENEW_EVERY", timedelta(seconds=0.2))
    count = 40
    now = clock.now()
    for n in range(count):
        queue_email(key=f"slow:{n}", recipient=f"slow{n}@example.org", subject=f"Slow {n}", body_text="Hello",
                    due_at=now)
    db.session.commit()
    port = free_port()
    sink = SlowSink(0.1)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    errors = []

    def scheduler(delay: float):
        import time

        time.sleep(delay)
        with app.app_context():
            try:
                # Each run claims 10 (about 1 s of sending at 0.1 s a message) and sees the clock move.
                while services.send_due_report(clock.now(), transport=SMTPTransport("127.0.0.1", port, timeout=5),
                                               limit=10).sent:
                    pass
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    try:
        threads = [threading.Thread(target=scheduler, args=(delay,)) for delay in (0, 0.5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        controller.stop()
    assert not errors, errors
    assert len(sink.message_ids) == count, "every message arrived"
    assert len(set(sink.message_ids)) == count, "none twice (counted by Message-ID)"


def test_a_server_that_never_answers_is_reported_and_nothing_is_lost(app, monkeypatch, runner):
    """It accepts the connection and says nothing: each run gives up after the time-out, says so, and
    puts the mail off; `reminders send-due` exits 1 with one sentence."""
    monkeypatch.setattr(smtplib, "SMTP", REAL_SMTP)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    port = listener.getsockname()[1]
    now = clock.now()
    for n in range(3):
        queue_email(key=f"hang:{n}", recipient=f"hang{n}@example.org", subject="Hang", body_text="x", due_at=now)
    db.session.commit()
    try:
        report = services.send_due_report(now, transport=SMTPTransport("127.0.0.1", port, timeout=1))
        assert (report.sent, report.deferred) == (0, 3) and "timed out" in " ".join(report.errors)
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 1)
        monkeypatch.setitem(app.extensions, "convene_mail", SMTPTransport("127.0.0.1", port, timeout=1))
        db.session.execute(services.update(OutboxMessage).values(due_at=now))
        db.session.commit()
        result = runner.invoke(args=["reminders", "send-due"])
        assert result.exit_code == 1
        assert "could not be sent" in result.output and "timed out" in result.output
        assert "Traceback" not in result.output
    finally:
        listener.close()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.status == "pending")) == 3
