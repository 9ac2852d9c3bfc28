"""Reliability: several processes writing to SQLite at once, GETs that write, and migrations on a populated database."""

from __future__ import annotations

import email
import multiprocessing
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import audit, clock, create_app
from app.db import db, read_only_unit, write_unit
from tests.factories import make_cohort, make_participant, make_team

PROCESSES, TRANSACTIONS = 5, 400


def _sqlite_only(app) -> None:
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("SQLite only: PostgreSQL has row locks")


def _increment_many(url: str, times: int, queue) -> None:
    """One worker process: read the counter, then write it back plus one, `times` times."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    errors = 0
    with app.app_context():
        for _ in range(times):
            try:
                with db.engine.begin() as connection:  # BEGIN IMMEDIATE: the write lock from the start
                    value = connection.execute(text("SELECT value FROM counter WHERE id = 1")).scalar()
                    connection.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
            except Exception as error:  # noqa: BLE001 - counted and reported, never hidden
                errors += 1
                queue.put(repr(error))
        db.engine.dispose()
    queue.put(errors)


def test_five_processes_writing_at_once_lose_nothing_and_never_see_a_locked_database(app, tmp_path):
    _sqlite_only(app)
    url = f"sqlite:///{tmp_path / 'counter.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))
        connection.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (1, 0)"))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_increment_many, args=(url, TRANSACTIONS, queue)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in range(PROCESSES)]
    for worker in workers:
        worker.join(timeout=60)
    problems = [r for r in results if not isinstance(r, int)]
    assert problems == [] and sum(r for r in results if isinstance(r, int)) == 0, problems
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM counter")).scalar() == PROCESSES * TRANSACTIONS
    engine.dispose()


def test_the_newest_migration_goes_down_and_up_on_a_populated_database_losing_nothing(app, scratch_database_url,
                                                                                       tmp_path):
    from demo.seed import seed

    populated = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url,
                            "UPLOAD_DIR": Path(tmp_path / "uploads"), "MAIL_TRANSPORT": "memory"})
    with populated.app_context():
        try:
            flask_migrate.upgrade()
            seed(now=clock.now())
            db.session.commit()
            tables = [t for t in inspect(db.engine).get_table_names() if t != "alembic_version"]

            def counts() -> dict[str, int]:
                with db.engine.connect() as connection:
                    return {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in tables
                            if t in inspect(connection).get_table_names()}

            before = counts()
            assert before["users"] > 30 and before["feedback_responses"] > 50
            flask_migrate.downgrade(revision="-1")
            # Tables the newest migration creates go on the way down with their rows (that is what a
            # downgrade is); every other table must come back with every row.
            created_by_newest = set(tables) - set(inspect(db.engine).get_table_names())
            flask_migrate.upgrade()
            after = counts()
            assert {t: n for t, n in after.items() if t not in created_by_newest} == {
                t: n for t, n in before.items() if t not in created_by_newest}
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_scheduler_process_stops_on_sigterm_without_sending_anything_twice(app, scratch_database_url, tmp_path):
    """`flask scheduler run` is sent SIGTERM while it is sending: it exits cleanly, every email it wrote is
    recorded as sent exactly once, and the rest are due again at once (no lease to wait out)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from app.notifications.models import OutboxMessage

    total = 5000
    scratch = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        flask_migrate.upgrade()
        db.session.execute(insert(OutboxMessage), [
            {"key": f"stop-test:{n}", "recipient": f"person{n}@example.org", "subject": "Reminder",
             "body_text": "Hello", "due_at": datetime(2026, 1, 5, 9, tzinfo=UTC)} for n in range(total)])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    mail = tmp_path / "mail"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": scratch_database_url, "MAIL_TRANSPORT": "file", "MAIL_FILE_DIR": str(mail),
           "SCHEDULER_SEND_INTERVAL_SECONDS": "1", "CONVENE_ENV": "development", "SCHEDULER_EMBEDDED": "false"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (mail.exists() and any(mail.iterdir())):
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
            time.sleep(0.005)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "SIGTERM received" in output
    written = [email.message_from_bytes(path.read_bytes())["X-Convene-Key"] for path in mail.iterdir()]
    assert 0 < len(written) < total, "stopped while sending"
    assert len(set(written)) == len(written)
    with scratch.app_context():
        statuses = dict(db.session.execute(text("SELECT status, COUNT(*) FROM outbox_messages GROUP BY status")).all())
        db.session.remove()
        db.engine.dispose()
    assert statuses == {"sent": len(written), "pending": total - len(written)}


def test_a_get_that_writes_after_another_request_saved_waits_for_the_lock_instead_of_failing(app):
    """On SQLite a deferred transaction that has read cannot write once another connection has
    committed: "database is locked" at once, whatever the busy timeout. write_unit() starts again."""
    _sqlite_only(app)
    elsewhere = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with app.app_context(), read_only_unit():
            db.session.scalar(text("SELECT COUNT(*) FROM audit_events"))  # a GET's reads: a deferred BEGIN
            with elsewhere.begin() as connection:  # meanwhile another worker saves something
                connection.execute(text("INSERT INTO organisations (name, kind, region, created_at, updated_at) "
                                        "VALUES ('Elsewhere', 'other', '', '2026-01-01', '2026-01-01')"))
            with write_unit():
                audit.record(actor=None, action="attendance_exported", target_type="cohort", target_id=None)
            assert db.session.scalar(text("SELECT COUNT(*) FROM audit_events")) == 1
    finally:
        elsewhere.dispose()


EXPORTS = ["/cohorts/{id}/attendance.csv", "/team/cohorts/{id}/applications.csv", "/cohorts/{id}/feedback.csv",
           "/cohorts/{id}/communities.csv", "/cohorts/{id}/celebration/guests.csv", "/cohorts/{id}/report.pdf"]


@pytest.mark.parametrize("path", EXPORTS)
def test_a_download_records_its_audit_event_even_when_someone_saves_at_that_moment(app, client, login_as,
                                                                                 monkeypatch, path):
    """Every GET that writes (the audit event of a download), with another worker saving just
    before the write. Found by bench/load.py: attendance and applications downloads answered 500
    ("database is locked") while other people saved registers and posts."""
    _sqlite_only(app)
    cohort = make_cohort()
    make_participant(cohort)
    team = make_team()
    team_id = team.id
    login_as(team)
    # A short busy timeout: once the download holds the write lock no one can save in between, as intended.
    elsewhere = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], connect_args={"timeout": 0.2})
    recorded = audit.record

    def record_after_someone_saves(**kwargs):
        try:
            with elsewhere.begin() as connection:
                connection.execute(text("UPDATE users SET job_title = job_title || '.' WHERE id = :id"),
                                   {"id": team_id})
        except OperationalError:
            pass
        return recorded(**kwargs)

    monkeypatch.setattr(audit, "record", record_after_someone_saves)
    try:
        response = client.get(path.format(id=cohort.id))
    finally:
        elsewhere.dispose()
    assert response.status_code == 200
    assert db.session.scalar(text("SELECT COUNT(*) FROM audit_events WHERE actor_id = :id"), {"id": team_id}) == 1
