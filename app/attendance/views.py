"""Registers, apologies, the cohort's attendance matrix, exports and imports, my own record."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from app import audit, clock
from app.attendance import exchange, services
from app.attendance.forms import ApologiesForm, ImportForm, register_form
from app.attendance.models import STATUS_LABELS, AttendanceStatus
from app.charts import bar_chart
from app.db import db, write_unit
from app.errors import DomainError
from app.exports import read_table_upload, spreadsheet_response
from app.form_errors import attach_domain_error
from app.permissions import signed_in, staff_required, team_required
from app.programme.access import active_enrolment, can_view_session
from app.programme.models import SESSION_KIND_LABELS, Cohort, ProgrammeSession
from app.unit_of_work import unit_of_work

bp = Blueprint("attendance", __name__, template_folder="templates")


@bp.route("/sessions/<int:session_id>/register", methods=["GET", "POST"])
@staff_required
def register(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    now = clock.now()
    error, typed = None, {}
    if request.method == "POST":
        # One form: the statuses and notes the team set, and which button they pressed ("Save", or
        # "Save, and mark everyone else present"). What they typed is saved, or shown again with
        # the problem; never thrown away.
        form = register_form()
        with unit_of_work(flash_error=False) as work:
            typed = form.entries()
            saved = services.record_register(actor=current_user, session=session, entries=typed, now=now,
                                             everyone_else_present=form.action.data == "save_rest_present")
            work.success = f"Register saved ({saved} {'person' if saved == 1 else 'people'} updated)."
        if not work.failed:
            return redirect(url_for("attendance.register", session_id=session.id))
        error = work.error
    rows = services.register_rows(session)
    counts = services.status_counts(rows)
    for row in rows:  # a refused save shows what was typed, not what is stored
        if row.enrolment_id in typed:
            status, note = typed[row.enrolment_id]
            row.status, row.note = status or row.status, note
    return render_template("attendance/register.html", session=session, cohort=session.cohort, rows=rows, now=now,
                           is_open=services.register_is_open(session, now), opens_at=services.register_opens_at(session),
                           statuses=list(AttendanceStatus), counts=counts, error=error,
                           form_errors=error is not None), 400 if error else 200


@bp.route("/sessions/<int:session_id>/apologies", methods=["GET", "POST"])
@signed_in
def apologies(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    if not can_view_session(current_user, session) or current_user.is_staff:
        abort(404)
    now = clock.now()
    form = ApologiesForm()
    existing = services.my_apology(current_user, session)
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            if form.action.data == "withdraw":
                services.withdraw_apologies(actor=current_user, session=session, now=now)
                work.success = "Your apologies are withdrawn. We look forward to seeing you."
            else:
                services.send_apologies(actor=current_user, session=session, reason=form.reason.data or "", now=now)
                work.success = "Thank you: your apologies are recorded and the team can see them."
        if not work.failed:
            return redirect(url_for("programme.session_detail", session_id=session.id))
        attach_domain_error(form, work.error)
    elif not form.is_submitted() and existing is not None and existing.status == AttendanceStatus.APOLOGIES:
        form.reason.data = existing.note
    return render_template("attendance/apologies.html", session=session, cohort=session.cohort, form=form,
                           existing=existing, now=now, form_errors=bool(form.errors or form.form_errors))


def _kinds_filter() -> set[str]:
    return {k for k in request.args.getlist("kind") if k in {kind.value for kind in SESSION_KIND_LABELS}}


@lru_cache(maxsize=64)
def _cell(text: str) -> str:
    """One cell of the grid, escaped; its text is one of a few status labels, so each is built once."""
    return f'<td class="nhsuk-table__cell">{escape(text)}</td>'


@bp.get("/cohorts/<int:cohort_id>/attendance")
@staff_required
def matrix(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    kinds = _kinds_filter()
    result = services.cohort_matrix(cohort, now, kinds)
    happened, attended = services.attended_per_session(result, now)
    chart = bar_chart(title=f"People who attended each session of {cohort.name} so far",
                      labels=[s.title for s in happened], values=attended, maximum=len(result.people),
                      chart_id="attendance-chart", value_label=f" of {len(result.people)}") if happened else None
    # The grid's cells, joined once per row: a template loop per cell cost more than everything
    # else on the page for a big cohort.
    cells = {p.enrolment_id: Markup("".join(map(_cell, p.cells))) for p in result.people}
    return render_template("attendance/matrix.html", cohort=cohort, matrix=result, now=now, kinds=kinds, cells=cells,
                           kind_labels=SESSION_KIND_LABELS, labels=STATUS_LABELS, chart=chart,
                           apologies_rule=services.apologies_rule(cohort),
                           happened=list(zip(happened, attended, strict=True)))


@bp.get("/cohorts/<int:cohort_id>/attendance.<any(csv, xlsx):fmt>")
@team_required
def export(cohort_id: int, fmt: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = exchange.export_rows(cohort, clock.now())
    with write_unit():
        audit.record(actor=current_user, action="attendance_exported", target_type="cohort", target_id=cohort.id,
                     detail={"format": fmt, "rows": len(rows)})
    return spreadsheet_response(fmt, exchange.EXPORT_HEADERS, rows, title="Attendance", filename_stem=f"attendance-{cohort.name}")


PREVIEW_FILTERS = {"default": "Problems and changes", "changes": "Changes only", "problems": "Problems only",
                   "all": "Every row, including those that change nothing"}


@bp.route("/cohorts/<int:cohort_id>/attendance/import", methods=["GET", "POST"])
@team_required
def import_register(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    form = ImportForm()
    preview, text = None, ""
    show = form.show.data if form.show.data in PREVIEW_FILTERS else "default"
    if form.validate_on_submit():
        action = form.action.data
        text = form.csv_text.data or ""
        if action in ("confirm", "filter") and text:
            if action == "confirm":
                with unit_of_work(flash_error=False) as work:
                    changed = exchange.apply_import(actor=current_user, cohort=cohort, text=text, now=now,
                                                    expected=form.fingerprint.data or "")
                    audit.record(actor=current_user, action="attendance_imported", target_type="cohort",
                                 target_id=cohort.id, detail={"changed": changed})
                    work.success = f"Register imported: {changed} record{'s' if changed != 1 else ''} changed."
                if not work.failed:
                    return redirect(url_for("attendance.matrix", cohort_id=cohort.id))
                attach_domain_error(form, work.error)
        else:
            table = read_table_upload(form)
            text = exchange.table_text(table) if table is not None else ""
        if text:
            try:
                preview = exchange.preview_import(cohort=cohort, text=text, now=now)
            except DomainError as error:
                attach_domain_error(form, error)
    listed = None
    if preview is not None:
        listed = {"default": preview.problems + preview.changes, "changes": preview.changes,
                  "problems": preview.problems, "all": preview.rows}[show]
    return render_template("attendance/import.html", cohort=cohort, form=form, preview=preview, text=text,
                           listed=listed, show=show, filters=PREVIEW_FILTERS, labels=STATUS_LABELS,
                           form_errors=bool(form.errors or form.form_errors))


@bp.get("/my-attendance")
@signed_in
def mine():
    enrolment = active_enrolment(current_user)
    if enrolment is None:
        abort(404)
    now = clock.now()
    person, sessions = services.person_record(enrolment, now)
    return render_template("attendance/mine.html", person=person, sessions=sessions, cohort=enrolment.cohort,
                           now=now, labels=STATUS_LABELS, kind_labels=SESSION_KIND_LABELS, off_words=services.OFF_WORDS,
                           apologies_rule=services.apologies_rule(enrolment.cohort))
