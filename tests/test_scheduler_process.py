"""The scheduler as it runs: when each job fires, what a failing job does to the others, the heartbeat
each run leaves, the embedded scheduler starting once per process, and `flask scheduler run` taking back
its half-sent mail at start and stopping cleanly on SIGTERM. The jobs themselves are tested elsewhere as
plain functions of `now`; tests/test_scheduler.py covers the durable job store."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_SCHEDULER_START
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.util import ref_to_obj
from sqlalchemy import select

from app import clock, create_app, heartbeat, scheduler
from app.db import db
from app.notifications import services as notifications
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import queue_email
from tests.test_scheduler import job_table  # noqa: F401  (a fixture: drops the job store's table)


@pytest.fixture
def scheduler_state(app, monkeypatch):
    """This process's scheduler state and app, put back as they were after the test."""
    for key, value in {"running": False, "mode": "off", "last_run": None}.items():
        monkeypatch.setitem(scheduler._state, key, value)
    monkeypatch.setattr(scheduler, "_apps", [app])
    yield scheduler._state
    notifications.stop_sending.clear()


def _jobs(app) -> dict:
    """The jobs as the scheduler would hold them, without starting it."""
    held = BackgroundScheduler(timezone="UTC")
    scheduler._add_jobs(held, app)
    return {job.id: job for job in held.get_jobs()}


# -- the one list of jobs --------------------------------------------------------------------------

def test_every_job_names_a_function_of_this_module_once(app):
    ids = [job_id for job_id, _, _ in scheduler.JOBS]
    assert len(ids) == len(set(ids))
    for job_id, reference, _ in scheduler.JOBS:
        function = ref_to_obj(reference)
        assert callable(function) and function.__module__ == "app.scheduler", job_id
    assert set(_jobs(app)) == set(ids)


@pytest.mark.parametrize(("now", "next_run"), [
    (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), datetime(2026, 11, 24, 2, 30, tzinfo=UTC)),  # GMT
    (datetime(2026, 7, 1, 10, 0, tzinfo=UTC), datetime(2026, 7, 2, 1, 30, tzinfo=UTC)),  # BST: 02:30 in London
    (datetime(2026, 11, 24, 1, 0, tzinfo=UTC), datetime(2026, 11, 24, 2, 30, tzinfo=UTC)),
])
def test_retention_runs_at_half_past_two_at_night_in_london(app, now, next_run):
    assert _jobs(app)["retention"].trigger.get_next_fire_time(None, now) == next_run


def test_sending_follows_the_configured_interval_and_reminders_every_quarter_hour(app, monkeypatch):
    monkeypatch.setitem(app.config, "SCHEDULER_SEND_INTERVAL_SECONDS", 17)
    jobs = _jobs(app)
    assert jobs["send_due"].trigger.interval == timedelta(seconds=17)
    assert jobs["plan_reminders"].trigger.interval == jobs["release_feedback"].trigger.interval == timedelta(minutes=15)
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, scheduler.MISFIRE_GRACE_SECONDS)


# -- one run: a unit of work that beats, logs, and never raises ------------------------------------

def test_a_run_commits_its_work_beats_for_this_process_and_logs_what_it_did(scheduler_state, frozen_now, caplog):
    def plan(now):
        queue_email(key="planned-by-job", recipient="a@example.org", subject="S", body_text="B", due_at=now)
        return 1

    with caplog.at_level(logging.INFO, logger="app.scheduler"):
        scheduler._run("plan", plan, "planned %s reminder(s)")
    assert db.session.scalar(select(OutboxMessage.key)) == "planned-by-job"
    beats = db.session.execute(select(heartbeat.Heartbeat.name, heartbeat.Heartbeat.beat_at)).all()
    assert beats == [(heartbeat.process_name(), clock.now())]
    assert scheduler_state["last_run"] == clock.now().isoformat()
    assert "planned 1 reminder(s)" in caplog.text

    db.session.rollback()  # end this read: the run takes the write lock in a session of its own
    frozen_now.shift(timedelta(minutes=1))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.scheduler"):
        scheduler._run("plan", lambda now: 0, "planned %s reminder(s)")
    assert caplog.text == ""  # nothing done, nothing said
    db.session.expire_all()
    assert db.session.execute(select(heartbeat.Heartbeat.name, heartbeat.Heartbeat.beat_at)).all() == [
        (heartbeat.process_name(), clock.now())]  # one row per process, moved on


def test_a_failing_job_is_logged_and_rolled_back_and_leaves_no_beat(scheduler_state, frozen_now, caplog):
    def broken(now):
        queue_email(key="half-done", recipient="a@example.org", subject="S", body_text="B", due_at=now)
        raise RuntimeError("the reminder rules broke")

    scheduler._run("plan_reminders", broken, "planned %s reminder(s)")  # does not raise
    failures = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in failures] == ["plan_reminders failed"]
    assert "RuntimeError: the reminder rules broke" in caplog.text  # with its traceback, for the journal
    assert db.session.scalar(select(OutboxMessage.key)) is None
    assert heartbeat.last_beat() is None and scheduler_state["last_run"] is None


def test_a_job_that_fails_does_not_stop_the_scheduler_running_it_again(app, scheduler_state, caplog):
    """In a running scheduler: the first run raises, the next one (the same job) still happens."""
    runs, done = [], threading.Event()

    def flaky(now):
        runs.append(now)
        if len(runs) == 1:
            raise ConnectionError("the database went away for a moment")
        done.set()
        return 0

    db.session.commit()  # the job's thread writes the heartbeat: hold no lock here
    running = BackgroundScheduler(timezone="UTC")
    running.add_job(scheduler._run, "interval", seconds=0.2, args=("flaky", flaky, "%s"), max_instances=1,
                    next_run_time=datetime.now(UTC))
    running.start()
    try:
        assert done.wait(timeout=30), "the job did not run again after failing"
    finally:
        running.shutdown(wait=True)
    assert len(runs) >= 2
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["flaky failed"]
    assert heartbeat.last_beat() is not None


def test_the_job_functions_find_the_app_the_scheduler_was_started_with(app, scheduler_state, frozen_now, mailbox):
    queue_email(key="found-the-app", recipient="a@example.org", subject="Found", body_text="B", due_at=clock.now())
    db.session.commit()
    scheduler.release_feedback_job()
    scheduler.retention_job()
    scheduler.send_due_job()
    assert [m["Subject"] for m in mailbox] == ["Found"]
    assert scheduler_state["last_run"] == clock.now().isoformat()


# -- the embedded scheduler ------------------------------------------------------------------------

def test_the_embedded_scheduler_starts_once_however_many_requests_arrive_together(app, scheduler_state, monkeypatch):
    monkeypatch.delitem(app.extensions, "convene_scheduler", raising=False)
    started, barrier = [], threading.Barrier(6)

    def first_request():
        barrier.wait()
        started.append(scheduler.start_embedded(app))

    threads = [threading.Thread(target=first_request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    running = [s for s in started if s is not None]
    try:
        assert len(started) == 6 and len(running) == 1
        assert app.extensions["convene_scheduler"] is running[0] and running[0].running
        assert {job.id for job in running[0].get_jobs()} == {job_id for job_id, _, _ in scheduler.JOBS}
        assert (scheduler_state["running"], scheduler_state["mode"]) == (True, "embedded")
        assert scheduler.start_embedded(app) is None  # and later requests leave it alone
    finally:
        for s in running:
            s.shutdown(wait=False)


def test_an_app_with_the_embedded_scheduler_starts_it_on_its_first_request_not_before(app, scheduler_state):
    embedded = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                           "SCHEDULER_EMBEDDED": True})
    try:
        assert "convene_scheduler" not in embedded.extensions and scheduler_state["running"] is False
        embedded.test_client().get("/healthz")
        first = embedded.extensions["convene_scheduler"]
        embedded.test_client().get("/healthz")
        assert embedded.extensions["convene_scheduler"] is first and scheduler_state["mode"] == "embedded"
        assert scheduler._apps == [embedded]
    finally:
        embedded.extensions.get("convene_scheduler") and embedded.extensions["convene_scheduler"].shutdown(wait=False)
        with embedded.app_context():
            db.session.remove()
            db.engine.dispose()


# -- `flask scheduler run` -------------------------------------------------------------------------

def test_the_scheduler_process_takes_back_its_mail_and_stops_on_sigterm(
        app, scheduler_state, monkeypatch, caplog, job_table):  # noqa: F811
    """run_blocking, in this process: SIGTERM and SIGINT are handled, a claim this scheduler left
    half-sent when it last stopped is due again at once, and SIGTERM stops it between two messages."""
    queue_email(key="half-sent", recipient="a@example.org", subject="S", body_text="B",
                due_at=clock.now() - timedelta(minutes=1))
    db.session.flush()
    row = db.session.scalar(select(OutboxMessage))
    row.status, row.claim_token, row.attempts = OutboxStatus.SENDING.value, notifications.sender_prefix() + "-old", 1
    row.claimed_at = clock.now()
    db.session.commit()

    handlers = {}
    monkeypatch.setattr(signal, "signal", lambda signum, handler: handlers.__setitem__(signum, handler))
    seen_while_running = {}
    real_production_scheduler = scheduler.production_scheduler

    started = []

    def sigterm():
        seen_while_running.update(scheduler_state)
        handlers[signal.SIGTERM](signal.SIGTERM, None)

    class SentSigtermOnceStarted(BlockingScheduler):
        def start(self, *args, **kwargs):
            started.append(self)
            # SIGTERM arrives from outside once the scheduler is up, as systemd's would.
            self.add_listener(lambda _event: threading.Thread(target=sigterm).start(), EVENT_SCHEDULER_START)
            super().start(paused=True)  # paused: no job runs, only the stop is under test

    monkeypatch.setattr(scheduler, "production_scheduler",
                        lambda app: real_production_scheduler(app, SentSigtermOnceStarted))
    with caplog.at_level(logging.INFO, logger="app.scheduler"):
        try:
            scheduler.run_blocking(app)  # returns once stopped
        finally:
            for stopped in started:  # the job store's engine can hold a connection after the shutdown
                stopped._jobstores["default"].engine.dispose()

    assert set(handlers) == {signal.SIGTERM, signal.SIGINT}
    assert (seen_while_running["running"], seen_while_running["mode"]) == (True, "process")
    assert scheduler_state["running"] is False
    assert notifications.stop_sending.is_set()  # a sender in hand would stop between two messages
    messages = [r.getMessage() for r in caplog.records]
    assert "took back 1 email(s) this scheduler was sending when it last stopped" in messages
    assert "scheduler started with jobs: retention, plan_reminders, release_feedback, send_due" in messages
    assert "SIGTERM received: finishing the message in hand, then stopping" in messages
    assert messages[-1] == "scheduler stopped"
    db.session.expire_all()
    row = db.session.scalar(select(OutboxMessage))
    assert (row.status, row.claim_token, row.attempts) == (OutboxStatus.PENDING, None, 0)
