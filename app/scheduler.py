"""The one list of scheduled jobs and their triggers (APScheduler 3).

Jobs are plain functions of `now` elsewhere; this module only wires them to triggers and runs
each inside an app context as one unit of work. Production runs `flask scheduler run` (a
BlockingScheduler in its own process); the embedded default runs a BackgroundScheduler
inside the web process. Running several schedulers at once is safe: send_due claims rows
atomically, so each message is sent once.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from app import clock
from app.db import db

log = logging.getLogger(__name__)

_state = {"running": False, "mode": "off", "last_run": None}
_lock = threading.Lock()


def _send_due_job(app: Flask) -> None:
    from app.notifications.services import send_due

    with app.app_context():
        try:
            sent = send_due(clock.now())
            _state["last_run"] = clock.now().isoformat()
            if sent:
                log.info("sent %s message(s)", sent)
        except Exception:
            db.session.rollback()
            log.exception("send_due failed")
        finally:
            db.session.remove()


def plan_reminders(now) -> int:
    """Every domain's reminder rules, in one pass. Each is idempotent."""
    from app.admin.jobs import plan_team_digest
    from app.applications.jobs import plan_application_reminders
    from app.celebration.jobs import plan_guest_reminders
    from app.evaluation.jobs import plan_cop_reminders, plan_feedback_requests
    from app.groups.jobs import plan_group_reminders
    from app.programme.jobs import plan_preparation_reminders, plan_session_reminders

    planners = (plan_session_reminders, plan_preparation_reminders, plan_group_reminders,
                plan_application_reminders, plan_guest_reminders, plan_feedback_requests, plan_cop_reminders,
                plan_team_digest)
    return sum(planner(now) for planner in planners)


def _plan_reminders_job(app: Flask) -> None:
    with app.app_context():
        try:
            planned = plan_reminders(clock.now())
            db.session.commit()
            if planned:
                log.info("planned %s reminder(s)", planned)
        except Exception:
            db.session.rollback()
            log.exception("plan_reminders failed")
        finally:
            db.session.remove()


JOBS = [
    # (id, function, trigger kwargs)
    ("plan_reminders", _plan_reminders_job, {"trigger": "interval", "minutes": 15}),
    ("send_due", _send_due_job, {"trigger": "interval", "seconds": None}),
]


def _add_jobs(scheduler, app: Flask) -> None:
    for job_id, func, trigger in JOBS:
        kwargs = dict(trigger)
        if job_id == "send_due":
            kwargs["seconds"] = app.config["SCHEDULER_SEND_INTERVAL_SECONDS"]
        scheduler.add_job(func, args=[app], id=job_id, replace_existing=True, coalesce=True,
                          max_instances=1, misfire_grace_time=300, **kwargs)


def start_embedded(app: Flask):
    """Start a background scheduler inside this process (the embedded default)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    with _lock:
        if _state["running"]:
            return None
        scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
        _add_jobs(scheduler, app)
        scheduler.start()
        _state.update(running=True, mode="embedded")
        app.extensions["convene_scheduler"] = scheduler
        return scheduler


def run_blocking(app: Flask) -> None:
    """`flask scheduler run`: the production scheduler process."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    # The job list is rebuilt from JOBS on every start; what is due lives in the outbox table,
    # so nothing is lost while the process is down: the next run sends the backlog.
    scheduler = BlockingScheduler(timezone="UTC")
    _add_jobs(scheduler, app)
    _state.update(running=True, mode="process")
    log.info("scheduler started with jobs: %s", ", ".join(j[0] for j in JOBS))
    scheduler.start()


def scheduler_state(app: Flask) -> dict:
    return {"running": _state["running"], "mode": _state["mode"], "last_run": _state["last_run"]}
