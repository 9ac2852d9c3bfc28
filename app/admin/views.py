"""The programme team's pages: cohorts at a glance and the outbox."""

import math

import nh3
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app import clock
from app.admin.services import (
    OUTBOX_PAGE_SIZE,
    QUEUE_DAYS,
    QUEUE_STATUSES,
    REMINDER_KINDS,
    cancel_for_everyone,
    cancel_message,
    outbox_page,
    reminder_queue,
    retry_failed_email,
    send_message_now,
)
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import backlog, redact_links
from app.permissions import staff_required, team_required
from app.programme.facilitators import sessions_for_facilitator
from app.programme.jobs import HORIZON
from app.programme.models import CohortStatus
from app.programme.services import enrolment_counts, list_cohorts
from app.unit_of_work import unit_of_work

bp = Blueprint("admin", __name__, url_prefix="/team", template_folder="templates")


@bp.get("/")
@staff_required
def dashboard():
    now = clock.now()
    return render_template("admin/dashboard.html", cohorts=list_cohorts(), counts=enrolment_counts(), now=now,
                           my_sessions=sessions_for_facilitator(current_user, now))


@bp.get("/outbox")
@team_required
def outbox():
    status = request.args.get("status") or None
    if status and status not in {s.value for s in OutboxStatus}:
        abort(404)
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    rows, total = outbox_page(page, status)
    pages = max(1, math.ceil(total / OUTBOX_PAGE_SIZE))
    if page > pages:
        abort(404)
    return render_template("admin/outbox.html", rows=rows, total=total, page=page, pages=pages, status=status,
                           statuses=list(OutboxStatus), summary=backlog(clock.now()))


@bp.get("/outbox/<int:message_id>")
@team_required
def outbox_message(message_id: int):
    message = db.get_or_404(OutboxMessage, message_id)
    # Our own HTML, still sanitised before it is shown inside the page.
    # Secret links (sign-off, RSVP, reset) stay sealed: the page says a private link is there.
    html = redact_links(message.body_html)
    body = Markup(nh3.clean(html, url_schemes={"http", "https", "mailto"})) if html else None
    return render_template("admin/outbox_message.html", message=message, body_html=body,
                           body_text=redact_links(message.body_text))


@bp.get("/reminders")
@team_required
def reminders():
    """The reminder queue: one row per reminder with its recipients counted, filtered."""
    cohorts = list_cohorts()
    cohort_id = request.args.get("cohort", type=int)
    kind = request.args.get("kind") or None
    status = request.args.get("status") or "pending"
    if (cohort_id is not None and cohort_id not in {c.id for c in cohorts}) or (kind and kind not in REMINDER_KINDS) \
            or status not in QUEUE_STATUSES:
        abort(404)
    return render_template("admin/reminders.html", now=clock.now(), horizon_days=HORIZON.days, queue_days=QUEUE_DAYS,
                           days=reminder_queue(clock.now(), cohort_id=cohort_id, kind=kind, status=status),
                           cohorts=cohorts, live=[c for c in cohorts if c.status != CohortStatus.COMPLETED],
                           kinds=REMINDER_KINDS, statuses=QUEUE_STATUSES,
                           chosen={"cohort": cohort_id, "kind": kind, "status": status})


@bp.post("/reminders/<int:message_id>/cancel")
@team_required
def cancel_reminder(message_id: int):
    """Cancel every copy of a reminder still waiting, for everyone it was going to."""
    sample = db.get_or_404(OutboxMessage, message_id)
    with unit_of_work() as work:
        count = cancel_for_everyone(actor=current_user, sample=sample, now=clock.now())
        work.success = f"Cancelled \"{sample.subject}\" for everyone: {count} email{'s' if count != 1 else ''}."
    return redirect(url_for("admin.reminders", **{k: v for k, v in request.args.items()
                                                   if k in ("cohort", "kind", "status")}))


@bp.post("/outbox/retry-failed")
@team_required
def retry_all_failed():
    with unit_of_work() as work:
        count = retry_failed_email(actor=current_user, now=clock.now())
        work.success = f"{count} failed email{'s go' if count != 1 else ' goes'} out again with the next sending run."
    return redirect(url_for("admin.outbox", status="failed"))


@bp.post("/outbox/<int:message_id>/<any(cancel, send, retry):action>")
@team_required
def outbox_action(message_id: int, action: str):
    message = db.get_or_404(OutboxMessage, message_id)
    with unit_of_work("Cancelled." if action == "cancel" else "It goes out with the next sending run (within a minute)."):
        if action == "cancel":
            cancel_message(actor=current_user, message=message, now=clock.now())
        elif action == "retry":
            retry_failed_email(actor=current_user, message=message, now=clock.now())
        else:
            send_message_now(actor=current_user, message=message, now=clock.now())
    return redirect(url_for("admin.outbox_message", message_id=message.id))


from app.admin import people  # noqa: E402, F401  (registers the people and audit pages)
