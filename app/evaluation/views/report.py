"""The cohort's evaluation report: the page, the PDF, and the team's own words in it."""

from __future__ import annotations

from flask import Response, redirect, render_template, url_for
from flask_login import current_user

from app import audit, clock
from app.charts import bar_chart
from app.db import db, write_unit
from app.evaluation import report as reports
from app.evaluation.forms import NarrativeForm
from app.evaluation.views import bp
from app.form_errors import attach_domain_error
from app.formatting import short_date
from app.permissions import team_required
from app.programme.models import SESSION_KIND_LABELS, Cohort, SessionKind
from app.unit_of_work import unit_of_work


def _short(session, tz: str) -> str:
    """A chart label that tells sessions apart: the module and day, or the kind and the date."""
    if session.module is not None:
        return f"Module {session.module.number}, day {session.part}"
    return f"{session.kind_label}, {short_date(session.starts_at, tz)}"


def report_charts(report: reports.Report) -> dict:
    tz = report.cohort.timezone
    delivered = [line for line in report.delivered if line.registered]
    charts = {
        "attendance": bar_chart(
            title="People attending each session held (where a register was taken, or groups recorded who came)",
            chart_id="attendance-per-session",
            labels=[_short(line.session, tz) for line in delivered], values=[line.attended for line in delivered],
            maximum=max([*(line.expected for line in delivered), 1])),
        "cycles": bar_chart(
            title="Times each kind of value was named", chart_id="value-cycles",
            labels=[cycle.capitalize() for cycle in report.cycle_counts], values=list(report.cycle_counts.values()),
            maximum=max([*report.cycle_counts.values(), 1])),
    }
    if report.feedback_by_kind:
        charts["feedback"] = bar_chart(
            title="Percentage agreeing the session was a worthwhile use of their time", chart_id="feedback-by-kind",
            labels=[SESSION_KIND_LABELS[SessionKind(k)] for k in report.feedback_by_kind],
            values=[t.worthwhile_percent for t in report.feedback_by_kind.values()], maximum=100, value_label="%")
    return charts


@bp.get("/cohorts/<int:cohort_id>/report")
@team_required
def report(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    built = reports.build_report(cohort, clock.now())
    form = NarrativeForm(obj=built.narrative)
    return render_template("evaluation/report.html", report=built, charts=report_charts(built), form=form,
                           kind_labels=SESSION_KIND_LABELS)


@bp.post("/cohorts/<int:cohort_id>/report/narrative")
@team_required
def narrative(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    form = NarrativeForm()
    if form.validate_on_submit():
        with unit_of_work("The report's summary and next steps are saved.", flash_error=False) as work:
            reports.save_narrative(actor=current_user, cohort=cohort, summary=form.summary.data or "",
                                   next_steps=form.next_steps.data or "")
        if not work.failed:
            return redirect(url_for("evaluation.report", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    built = reports.build_report(cohort, clock.now())
    return render_template("evaluation/report.html", report=built, charts=report_charts(built), form=form,
                           kind_labels=SESSION_KIND_LABELS, form_errors=True), 400


@bp.get("/cohorts/<int:cohort_id>/report.pdf")
@team_required
def report_pdf(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    built = reports.build_report(cohort, clock.now())
    pdf = reports.render_pdf(built, charts=report_charts(built), kind_labels=SESSION_KIND_LABELS)
    with write_unit():
        audit.record(actor=current_user, action="report_downloaded", target_type="cohort", target_id=cohort.id)
    filename = f"evaluation-report-{cohort.name}".replace(" ", "-").lower()
    filename = "".join(ch for ch in filename if ch.isalnum() or ch in "-_") + ".pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
