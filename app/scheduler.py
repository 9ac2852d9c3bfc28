"""The one list of scheduled jobs and their triggers (APScheduler 3).

Jobs are plain functions of `now` elsewhere; this module only wires them to triggers and runs
each inside an app context as one unit of work. Production runs `flask scheduler run`: a
BlockingScheduler in its own process whose jobs live in the database (SQLAlchemyJobStore, table
`apscheduler_jobs`, created by APScheduler rather than by our migrations) under fixed ids, so a
restart replaces them and a missed run is caught up once (coalesce, a misfire grace time). The
embedded default runs a BackgroundScheduler inside the web process with jobs in memory. Running
several schedulers at once is safe: send_due claims rows atomically, so each message is sent once.

A job store keeps jobs by reference ("app.scheduler:send_due_job"), so the job functions are
module-level and take no arguments: they run in the app that started the scheduler, or create
one when there is none.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from app import clock, heartbeat
from app.db import db

log = logging.getLogger(__name__)

_state = heartbeat.PROCESS_STATE  # this process's scheduler, as /healthz reports it
_lock = threading.Lock()
_apps: list[Flask] = []  # the app whose scheduler runs the jobs; set on start
JOBSTORE_TABLE = "apscheduler_jobs"
MISFIRE_GRACE_SECONDS = 300


def _app() -> Flask:
    if not _apps:
        from app import create_app

        _apps.append(create_app())
    return _apps[0]


def _use(app: Flask) -> None:
    _apps[:] = [app]


def _run(name: str, work, report: str) -> None:
    """Run one job's work(now) as a unit of work in the scheduler's app; log, never raise."""
    with _app().app_context():
        try:
            result = work(clock.now())
            heartbeat.beat(clock.now())
            db.session.commit()
            _state["last_run"] = clock.now().isoformat()
            if result:
                log.info(report, result)
        except Exception:
            db.session.rollback()
            log.exception("%s failed", name)
        finally:
            db.session.remove()


def send_due_job() -> None:
    from app.notifications.services import send_due

    _run("send_due", send_due, "sent %s message(s)")


def plan_reminders(now) -> int:
    """Every domain's reminder rules, in one pass. Each is idempotent."""
    from app.admin.jobs import plan_team_digest
    from app.applications.jobs import plan_application_reminders
    from app.celebration.jobs import plan_guest_reminders
    from app.communities.jobs import plan_community_feedback_requests, plan_community_meeting_reminders
    from app.evaluation.jobs import plan_cop_reminders, plan_feedback_requests
    from app.groups.jobs import plan_group_reminders
    from app.portal.jobs import plan_material_notices
    from app.programme.jobs import plan_preparation_reminders, plan_session_reminders

    planners = (plan_session_reminders, plan_preparation_reminders, plan_group_reminders,
                plan_application_reminders, plan_guest_reminders, plan_feedback_requests, plan_cop_reminders,
                plan_material_notices, plan_community_meeting_reminders, plan_community_feedback_requests,
                plan_team_digest)
    return sum(planner(now) for planner in planners)


def plan_reminders_job() -> None:
    _run("plan_reminders", plan_reminders, "planned %s reminder(s)")


def release_feedback_job() -> None:
    from app.evaluation.jobs import release_all_feedback

    _run("release_feedback", release_all_feedback, "released %s held-back anonymous answer(s)")


def retention_job() -> None:
    from app.admin.retention import apply_retention

    _run("retention", apply_retention, "retention applied: %s")


JOBS = [
    # (fixed id, function by reference, trigger kwargs)
    ("retention", "app.scheduler:retention_job",
     {"trigger": "cron", "hour": 2, "minute": 30, "timezone": "Europe/London"}),
    ("plan_reminders", "app.scheduler:plan_reminders_job", {"trigger": "interval", "minutes": 15}),
    ("release_feedback", "app.scheduler:release_feedback_job", {"trigger": "interval", "minutes": 15}),
    ("send_due", "app.scheduler:send_due_job", {"trigger": "interval", "seconds": None}),
]


def _add_jobs(scheduler, app: Flask) -> None:
    for job_id, func, trigger in JOBS:
        kwargs = dict(trigger)
        if job_id == "send_due":
            kwargs["seconds"] = app.config["SCHEDULER_SEND_INTERVAL_SECONDS"]
        scheduler.add_job(func, id=job_id, name=job_id, replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=MISFIRE_GRACE_SECONDS, **kwargs)


def durable_job_store(app: Flask):
    """The jobs' table in the app's database, on an engine of its own (SQLite: WAL, busy timeout)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from sqlalchemy import create_engine

    from app.db import configure_sqlite

    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], pool_pre_ping=True)
    configure_sqlite(engine)
    return SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)


def production_scheduler(app: Flask, scheduler_class=None):
    """The production scheduler, its jobs added to the durable store (written there on start)."""
    if scheduler_class is None:
        from apscheduler.schedulers.blocking import BlockingScheduler as scheduler_class
    _use(app)
    scheduler = scheduler_class(timezone="UTC", jobstores={"default": durable_job_store(app)},
                                job_defaults={"coalesce": True, "max_instances": 1,
                                              "misfire_grace_time": MISFIRE_GRACE_SECONDS})
    _add_jobs(scheduler, app)
    return scheduler


def start_embedded(app: Flask):
    """Start a background scheduler inside this process (the embedded default)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    with _lock:
        if _state["running"]:
            return None
        _use(app)
        scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
        _add_jobs(scheduler, app)
        scheduler.start()
        _state.update(running=True, mode="embedded")
        app.extensions["convene_scheduler"] = scheduler
        return scheduler


def run_blocking(app: Flask) -> None:
    """`flask scheduler run`: the production scheduler process."""
    # JOBS replace the stored jobs of the same ids on every start; what is due lives in the outbox
    # table, so nothing is lost while the process is down: the next run sends the backlog.
    scheduler = production_scheduler(app)
    _state.update(running=True, mode="process")
    with app.app_context():
        from app.notifications.services import reclaim_own

        reclaimed = reclaim_own(clock.now())
        db.session.commit()
        if reclaimed:
            log.info("took back %s email(s) this scheduler was sending when it last stopped", reclaimed)
    install_stop_handlers(scheduler)
    log.info("scheduler started with jobs: %s", ", ".join(j[0] for j in JOBS))
    scheduler.start()
    _state.update(running=False)
    log.info("scheduler stopped")


def install_stop_handlers(scheduler) -> None:
    """SIGTERM (systemd, Kubernetes, `kill`) and SIGINT (Ctrl+C) stop the process gracefully.

    A sender stops between two messages: the one in hand is recorded, the rest of its claim is
    handed back as due, and the running job finishes before the process exits, so nothing is sent
    twice. (Only SIGKILL, which no process can catch, can repeat the single message in hand.)
    """
    import signal

    from app.notifications.services import stop_sending

    def stop(signum, _frame) -> None:
        log.info("%s received: finishing the message in hand, then stopping", signal.Signals(signum).name)
        stop_sending.set()
        _state.update(running=False)  # before the loop can return, so nobody reads "running" after it
        # Shut down from another thread: the signal may have interrupted the main thread inside a
        # job-store transaction, and waiting here for the running job (which may need to write)
        # would hold that transaction's lock until the database's busy time-out.
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, name="scheduler-stop").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
