"""The team's people pages (accounts, roles, sessions, data protection) and the audit log search."""

from __future__ import annotations

import math
from datetime import datetime

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.admin import people_services
from app.admin.forms import PersonActionForm
from app.admin.views import bp
from app.auth.models import StaffRole, User
from app.auth.sessions import live_sessions
from app.db import db
from app.permissions import team_required
from app.unit_of_work import unit_of_work

PAGE_SIZE = 50

# What each action on a person's page says once it is done.
DONE = {
    "role": "{name}'s role is saved. It applies from their next sign-in.",
    "disable": "{name} can no longer sign in.",
    "enable": "{name} can sign in again.",
    "two-step-off": "Two-step sign-in is off for {name}. They can turn it on again from their settings.",
    "sign-out": "{name} is signed out everywhere ({ended} session{s} ended).",
    "erase": "The account is erased: what identified the person has been deleted.",
}


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
    rows, total, requests = people_services.people_page(q=q, role=role, page=page, page_size=PAGE_SIZE,
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
    return render_template("admin/person.html", person=person, enrolments=people_services.enrolments_of(person),
                           history=people_services.recent_history(person), sessions=live_sessions(person),
                           roles=list(StaffRole))


@bp.post("/people/<int:user_id>/<any(role, disable, enable, 'sign-out', 'two-step-off', erase):action>")
@team_required
def person_action(user_id: int, action: str):
    person = db.get_or_404(User, user_id)
    form = PersonActionForm()
    with unit_of_work() as work:
        ended = people_services.act_on_person(actor=current_user, person=person, action=action, now=clock.now(),
                                              role=form.role.data or "", confirm=form.confirm.data,
                                              reason=form.reason.data or "")
        work.success = DONE[action].format(name=person.name, ended=ended, s="s" if ended != 1 else "")
    return redirect(url_for("admin.person", user_id=person.id))


@bp.post("/people/<int:user_id>/export")
@team_required
def person_export(user_id: int):
    """Subject access: everything held about the person as a ZIP (JSON and their files)."""
    person = db.get_or_404(User, user_id)
    now = clock.now()
    with unit_of_work() as work:
        archive = people_services.export_personal_data(actor=current_user, person=person, now=now)
    if work.failed:
        return redirect(url_for("admin.person", user_id=person.id))
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
    rows, total = people_services.audit_page(action=action, who=who, start=start, end=end, target=target, page=page,
                             page_size=PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if page > pages:
        abort(404)
    actions = people_services.audit_actions()
    bad_dates = [name for name in ("from", "to") if request.args.get(name) and _date(name) is None]
    return render_template("admin/audit.html", rows=rows, total=total, page=page, pages=pages, actions=actions,
                           filters=request.args, bad_dates=bad_dates)
