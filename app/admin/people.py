"""The team's people pages (accounts, roles, sessions, data protection) and the audit log search."""

from __future__ import annotations

import math
from datetime import datetime

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from app import audit, clock
from app.admin.personal_data import subject_access_zip
from app.admin.retention import erase_person
from app.admin.services import audit_actions, audit_page, people_page
from app.admin.views import bp
from app.audit import AuditEvent
from app.auth import services as accounts
from app.auth import two_step
from app.auth.models import StaffRole, User
from app.auth.sessions import live_sessions
from app.db import db
from app.errors import DomainError
from app.permissions import team_required
from app.programme.models import Enrolment

PAGE_SIZE = 50


def _page_number() -> int:
    page = request.args.get("page", 1, type=int)
    if page < 1:
        abort(404)
    return page


@bp.get("/people")
@team_required
def people():
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    page = _page_number()
    rows, total, requests = people_page(q=q, role=role, page=page, page_size=PAGE_SIZE,
                                        deletion_requested=request.args.get("deletion") == "requested")
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        abort(404)
    return render_template("admin/people.html", rows=rows, total=total, page=page, pages=pages, q=q, role=role,
                           roles=list(StaffRole), deletion_requests=requests)


@bp.get("/people/<int:user_id>")
@team_required
def person(user_id: int):
    person = db.get_or_404(User, user_id)
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.user_id == person.id)).all()
    history = db.session.scalars(select(AuditEvent).where(
        or_(AuditEvent.actor_id == person.id, (AuditEvent.target_type == "user") & (AuditEvent.target_id == person.id)))
        .order_by(AuditEvent.at.desc()).limit(20)).all()
    return render_template("admin/person.html", person=person, enrolments=enrolments, history=history,
                           sessions=live_sessions(person), roles=list(StaffRole))


@bp.post("/people/<int:user_id>/<any(role, disable, enable, 'sign-out', 'two-step-off', erase):action>")
@team_required
def person_action(user_id: int, action: str):
    person = db.get_or_404(User, user_id)
    now = clock.now()
    try:
        if action == "role":
            accounts.set_role(actor=current_user, person=person, role=request.form.get("role", ""), now=now)
            message = f"{person.name}'s role is saved. It applies from their next sign-in."
        elif action in ("disable", "enable"):
            accounts.set_disabled(actor=current_user, person=person, disabled=action == "disable", now=now)
            message = f"{person.name} can no longer sign in." if action == "disable" else f"{person.name} can sign in again."
        elif action == "two-step-off":
            if person.id == current_user.id:
                raise DomainError("Turn off your own two-step sign-in from your settings.")
            two_step.turn_off(actor=current_user, user=person, code=None, now=now)
            message = f"Two-step sign-in is off for {person.name}. They can turn it on again from their settings."
        elif action == "sign-out":
            ended = accounts.sign_out_everywhere(actor=current_user, person=person, now=now)
            message = f"{person.name} is signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended)."
        else:
            if request.form.get("confirm") != person.email:
                raise DomainError("Type the person's email address exactly to confirm.")
            erase_person(actor=current_user, person=person, now=now, reason=request.form.get("reason", "")[:200])
            message = "The account is erased: what identified the person has been deleted."
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("admin.person", user_id=person.id))


@bp.post("/people/<int:user_id>/export")
@team_required
def person_export(user_id: int):
    """Subject access: everything held about the person as a ZIP (JSON and their files)."""
    person = db.get_or_404(User, user_id)
    now = clock.now()
    archive = subject_access_zip(person, now=now)
    audit.record(actor=current_user, action="subject_access_export", target_type="user", target_id=person.id, now=now)
    db.session.commit()
    return Response(archive, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="personal-data-{person.id}-{now:%Y%m%d}.zip"',
        "Cache-Control": "no-store"})


def _date(name: str) -> datetime | None:
    value = request.args.get(name, "")
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/audit")
@team_required
def audit_log():
    action = request.args.get("action", "").strip()
    who = request.args.get("who", "").strip()
    start, end = _date("from"), _date("to")
    target = None
    if request.args.get("target_type") and request.args.get("target_id", "").isdigit():
        target = (request.args["target_type"], int(request.args["target_id"]))
    page = _page_number()
    rows, total = audit_page(action=action, who=who, start=start, end=end, target=target, page=page,
                             page_size=PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        abort(404)
    actions = audit_actions()
    bad_dates = [name for name in ("from", "to") if request.args.get(name) and _date(name) is None]
    return render_template("admin/audit.html", rows=rows, total=total, page=page, pages=pages, actions=actions,
                           filters=request.args, bad_dates=bad_dates)
