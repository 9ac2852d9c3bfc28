"""The production scheduler keeps its jobs in the database under fixed ids; a restart replaces them."""

from __future__ import annotations

import pickle

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import inspect, select, text

from app import clock, scheduler
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import queue_email


@pytest.fixture
def job_table(app):
    """The scheduler's table in the test database, dropped afterwards (it is not one of ours)."""
    yield scheduler.JOBSTORE_TABLE
    db.session.remove()
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {scheduler.JOBSTORE_TABLE}"))


def _stop(production) -> None:
    production.shutdown()
    # The store's engine can hand out a connection again after the scheduler's own dispose.
    production._jobstores["default"].engine.dispose()


def _start_and_stop(app) -> None:
    """Start the production setup (paused, so nothing runs) and stop it: its jobs are now stored."""
    production = scheduler.production_scheduler(app, BackgroundScheduler)
    production.start(paused=True)
    _stop(production)


def _stored_jobs() -> dict[str, dict]:
    """What the table holds, read in a transaction of its own (a running scheduler writes to it too)."""
    with db.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, job_state FROM {scheduler.JOBSTORE_TABLE}")).all()
    return {job_id: pickle.loads(state) for job_id, state in rows}


def test_the_production_jobs_are_stored_under_fixed_ids_by_reference(app, job_table):
    _start_and_stop(app)
    assert job_table in inspect(db.engine).get_table_names()
    jobs = _stored_jobs()
    assert set(jobs) == {"plan_reminders", "release_feedback", "send_due", "retention"}
    assert jobs["retention"]["func"] == "app.scheduler:retention_job"
    assert str(jobs["retention"]["trigger"].timezone) == "Europe/London"
    assert jobs["send_due"]["func"] == "app.scheduler:send_due_job" and jobs["send_due"]["args"] == ()
    assert jobs["plan_reminders"]["func"] == "app.scheduler:plan_reminders_job"
    for job in jobs.values():
        assert (job["coalesce"], job["max_instances"], job["misfire_grace_time"]) == (True, 1, 300)
    assert jobs["send_due"]["trigger"].interval.total_seconds() == app.config["SCHEDULER_SEND_INTERVAL_SECONDS"]
    assert jobs["plan_reminders"]["trigger"].interval.total_seconds() == 15 * 60


def test_starting_again_or_twice_at_once_replaces_the_jobs_rather_than_adding_more(app, job_table):
    _start_and_stop(app)
    _start_and_stop(app)
    first = scheduler.production_scheduler(app, BackgroundScheduler)
    second = scheduler.production_scheduler(app, BackgroundScheduler)
    first.start(paused=True)
    second.start(paused=True)
    try:
        assert sorted(_stored_jobs()) == ["plan_reminders", "release_feedback", "retention", "send_due"]
        assert [job.id for job in first.get_jobs()] and len(first.get_jobs()) == 4
    finally:
        _stop(first)
        _stop(second)
    assert len(_stored_jobs()) == 4


def test_the_stored_job_functions_run_in_the_scheduler_app(app, mailbox, job_table, frozen_now, caplog):
    _start_and_stop(app)
    queue_email(key="scheduler-test", recipient="someone@example.org", subject="Hello", body_text="Hi",
                due_at=clock.now())
    db.session.commit()
    scheduler.send_due_job()  # what the job store calls: no arguments, the app found by itself
    with db.engine.connect() as connection:
        status = connection.scalar(select(OutboxMessage.status).where(OutboxMessage.key == "scheduler-test"))
    assert status == OutboxStatus.SENT and [m["Subject"] for m in mailbox] == ["Hello"]
    db.session.remove()
    scheduler.plan_reminders_job()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
