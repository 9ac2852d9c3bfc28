"""Pages anyone can open: the programme page and the health check."""

import hmac
from datetime import timedelta

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import clock, heartbeat
from app.applications.services import applying_cohorts
from app.db import database_heads, db, migration_script, read_only_unit
from app.notifications.services import backlog
from app.permissions import public
from app.programme.services import cohort_sessions, current_cohort, sessions_by_module

bp = Blueprint("public", __name__, template_folder="templates")


@bp.get("/")
@public
def index():
    content = current_app.extensions["convene_content"]
    now = clock.now()
    cohort = current_cohort(now)
    sessions = cohort_sessions(cohort.id) if cohort else []
    return render_template("public/index.html", page=content.pages["programme"], content=content,
                           cohort=cohort, module_sessions=sessions_by_module(sessions), sessions=sessions, now=now,
                           applying=applying_cohorts(now))


@bp.get("/privacy")
@public
def privacy():
    return render_template("public/privacy.html")


@bp.get("/healthz/live")
@public
def liveness():
    """The process answers (no database): for a load balancer's liveness probe."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


def mail_problems(outbox: dict, scheduler: dict) -> list[str]:
    """What /healthz counts as wrong with mail: failed email, overdue email, no live scheduler."""
    problems = []
    failed = outbox["by_status"].get("failed", 0)
    if failed:
        problems.append(f"{failed} email(s) failed for good: retry them from the outbox")
    if outbox["overdue"]:
        problems.append(f"{outbox['overdue']} email(s) overdue: due more than "
                        f"{current_app.config['HEALTH_OVERDUE_MINUTES']} minutes ago and not sent")
    if outbox["retrying"]:
        problems.append(f"{outbox['retrying']} email(s) refused by the mail server for over "
                        f"{current_app.config['HEALTH_OVERDUE_MINUTES']} minutes and being retried")
    beat = scheduler.get("heartbeat") or {}
    if current_app.config["SCHEDULER_REQUIRED"] and beat.get("stale", True):
        problems.append("no scheduler has run in the last "
                        f"{current_app.config['HEARTBEAT_STALE_MINUTES']} minutes (is `flask scheduler run` running?)")
    return problems


def _given_healthz_token() -> str:
    """The token a monitor sent: `Authorization: Bearer <token>`, or `?token=` for one that cannot send a
    header (the header is better: query strings end up in access logs)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.args.get("token", "")


def may_see_health_details() -> bool:
    """Which check failed, and the counts, are for signed-in staff and a monitor holding HEALTHZ_TOKEN."""
    expected = current_app.config["HEALTHZ_TOKEN"]
    given = _given_healthz_token()
    if expected and given and hmac.compare_digest(given.encode(), expected.encode()):
        return True
    try:
        return bool(current_user.is_authenticated and current_user.is_staff)
    except SQLAlchemyError:  # the database is down: the answer is 503 all the same, without details
        db.session.rollback()
        return False


@bp.get("/healthz")
@public
def healthz():
    """Database reachable, migrations at head, outbox backlog, a live scheduler. 503 when something is wrong.

    Anyone gets only {"status": "ok"} or {"status": "error"}; staff and HEALTHZ_TOKEN get the details.
    """
    status = {"database": "ok", "migrations": "unknown", "outbox": None}
    beat_info = None
    healthy = True
    with read_only_unit():
        try:
            connection = db.session.connection()
            connection.execute(text("SELECT 1"))
            current = database_heads(connection)
            heads = set(migration_script().get_heads())
            status["migrations"] = "at head" if current == heads else "behind"
            if current != heads:
                healthy = False
            now = clock.now()
            status["outbox"] = backlog(now, overdue_after=timedelta(minutes=current_app.config["HEALTH_OVERDUE_MINUTES"]))
            last = heartbeat.last_beat()
            stale = heartbeat.is_stale(last, now, timedelta(minutes=current_app.config["HEARTBEAT_STALE_MINUTES"]))
            beat_info = {"last": last.isoformat() if last else None, "stale": stale}
        except Exception as error:  # noqa: BLE001 - the health check reports, never raises
            status["database"] = f"error: {type(error).__name__}"
            healthy = False
        finally:
            db.session.rollback()

    status["scheduler"] = {**heartbeat.scheduler_state(), "heartbeat": beat_info}
    if status["outbox"] is not None:
        problems = mail_problems(status["outbox"], status["scheduler"])
        status["problems"] = problems
        healthy = healthy and not problems
    status["status"] = "ok" if healthy else "error"
    body = status if may_see_health_details() else {"status": status["status"]}
    return jsonify(body), 200 if healthy else 503, {"Cache-Control": "no-store"}
