"""Benchmark: plan the reminders for 10 cohorts x 30 participants and send them to a local SMTP sink.

    .venv/bin/python bench/reminders.py

Prints how many reminders were planned and how fast, the time to claim 5,000 due rows in batches, the
time to record each one sent (one small commit each, as send_due does, so that a killed sender repeats
at most one message), and messages per second end to end through a real SMTP server
(aiosmtpd) on a loopback port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date, timedelta

from common import Figure, make_app, print_table

CLAIM_ROWS = 5000


def claim_and_record_seconds(url: str | None = None) -> tuple[float, float, str]:
    """Seconds to claim 5,000 due rows in batches of OUTBOX_BATCH_SIZE (one statement each), and
    seconds to record each of them sent with its own small commit, as send_due does."""
    app = make_app(url)
    from sqlalchemy import func, insert, select

    from app import clock
    from app.db import db
    from app.notifications.models import OutboxMessage
    from app.notifications.services import _claim, _recorder

    with app.app_context():
        now = clock.now()
        db.session.execute(insert(OutboxMessage), [
            {"key": f"due:{n}", "recipient": f"p{n}@example.org", "subject": "Reminder", "body_text": "Hello",
             "due_at": now - timedelta(minutes=n % 60)} for n in range(CLAIM_ROWS)])
        db.session.commit()
        batch = app.config["OUTBOX_BATCH_SIZE"]
        claiming = recording = 0.0
        while True:
            started = time.perf_counter()
            token, rows = _claim(now, batch)
            claiming += time.perf_counter() - started
            if not rows:
                break
            started = time.perf_counter()
            with _recorder(token, now, "bench.example") as record:
                for row in rows:
                    record.sent(row.id, f"<outbox.{row.id}.{token}@bench.example>")
            recording += time.perf_counter() - started
        left = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
        assert left == 0, left
        dialect = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()
        return claiming, recording, dialect


def figures(postgres_url: str | None = None) -> list[Figure]:
    """On a new SQLite file; or, given a throwaway PostgreSQL server's URL, on two new databases there."""
    urls = [None, None]
    if postgres_url:
        from postgres import another_database

        urls = [another_database(postgres_url, "bench_claim"), another_database(postgres_url, "bench_send")]
    claiming, recording, dialect = claim_and_record_seconds(urls[0])
    limit = 0.25 if dialect == "sqlite" else 0.5
    result = [Figure(f"reminders: claim {CLAIM_ROWS:,} due rows in batches ({dialect})", f"{claiming:.3f} s",
                     f"<= {limit} s", claiming <= limit),
              Figure(f"reminders: record {CLAIM_ROWS:,} sent, a commit each ({dialect})", f"{recording:.3f} s",
                     "", None)]
    planned, plan_seconds, sent, send_seconds, sink_rate = plan_and_send(urls[1])
    result.append(Figure(f"reminders: plan a year, 10 cohorts x 30 ({planned:,} rows, {dialect})",
                         f"{planned / plan_seconds:,.0f}/s", "", None))
    result.append(Figure(f"reminders: send {sent:,} to a local SMTP server ({dialect})",
                         f"{sent / send_seconds:,.0f}/s", ">= 300/s", sent / send_seconds >= 300))
    result.append(Figure("reminders: the SMTP sink (aiosmtpd) alone, no sender work", f"{sink_rate:,.0f}/s", "", None))
    return result


def main() -> int:
    rows = figures()
    print_table(rows)
    return 0 if all(row.passed is not False for row in rows) else 1


def plan_and_send(url: str | None = None) -> tuple[int, float, int, float, float]:
    app = make_app(url)
    from sqlalchemy import func, select, update

    from app.auth.models import StaffRole, User
    from app.db import db
    from app.notifications.models import OutboxMessage
    from app.notifications.services import send_due
    from app.notifications.transports import SMTPTransport
    from app.programme import services as programme
    from app.programme.models import ProgrammeSession
    from app.scheduler import plan_reminders

    with app.app_context():
        team = User(email="bench-team@example.org", name="Bench Team", staff_role=StaffRole.TEAM.value,
                    password_hash="x")
        db.session.add(team)
        db.session.flush()
        row = programme.get_or_create_programme("Bench")
        for c in range(10):
            cohort = programme.create_cohort(actor=team, programme=row, name=f"Bench {c}", starts_on=date(2027, 1, 4),
                                             content=app.extensions["convene_content"])
            cohort.status = "running"
            for n in range(30):
                user = User(email=f"p{c}-{n}@example.org", name=f"Person {c}-{n}", password_hash="x")
                db.session.add(user)
                db.session.flush()
                programme.enrol(cohort=cohort, user=user, now=cohort.sessions[0].starts_at)
        db.session.commit()
        first = db.session.scalar(select(func.min(ProgrammeSession.starts_at)))
        # Plan across the year, a week at a time, as the scheduler would.
        started = time.perf_counter()
        now, planned = first - timedelta(days=8), 0
        while now < first + timedelta(days=365):
            planned += plan_reminders(now)
            now += timedelta(days=7)
        db.session.commit()
        plan_seconds = time.perf_counter() - started
        total = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The SMTP sink runs as its own process, as a mail server would, so it does not share our CPU time.
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        with app.app_context():
            # Make every row due now (and not yet stale) to measure sending alone.
            send_at = now + timedelta(days=400)
            db.session.execute(update(OutboxMessage).values(due_at=send_at, expires_at=None))
            db.session.commit()
            started = time.perf_counter()
            sent = send_due(send_at, transport=SMTPTransport("127.0.0.1", port), limit=500)
            send_seconds = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
        sink_rate = sink_alone(port)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    assert total == planned, (total, planned)
    return planned, plan_seconds, sent, send_seconds, sink_rate


def sink_alone(port: int, count: int = 2000) -> float:
    """Messages a second the SMTP sink takes when the sender does nothing else: one connection,
    one prebuilt 1.5 KB message sent again and again (the most any sender could reach here)."""
    import smtplib

    message = (b"From: bench@example.org\r\nTo: person@example.org\r\nSubject: Reminder\r\n\r\n"
               + b"See you tomorrow at half past nine.\r\n" * 40)
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        started = time.perf_counter()
        for n in range(count):
            smtp.sendmail("bench@example.org", [f"person{n}@example.org"], message)
        return count / (time.perf_counter() - started)


if __name__ == "__main__":
    raise SystemExit(main())
