"""The team's spreadsheet of a cohort's applications (CSV or Excel), with the list's filters."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy.orm import selectinload

from app import audit, clock
from app.applications import services
from app.applications.forms import DecisionForm
from app.applications.models import Application, CopStatus, Review
from app.applications.views import bp
from app.applications.views.team import _filters
from app.db import db, write_unit
from app.exports import spreadsheet_response
from app.permissions import team_required
from app.programme.models import Cohort

EXPORT_HEADERS = ["Reference", "Name", "Email", "Status", "Submitted", "Job title", "Profession", "Organisation",
                  "Organisation kind", "Region", "Improvement community member", "Leads a network CoP",
                  "Community of practice", "What it cares about", "Who it brings together", "Crosses boundaries",
                  "How", "CoP status", "Hopes", "Line manager", "Line manager email", "Line manager job title",
                  "Mean score", "Reviewers' comments", "Decision", "Waiting list position"]

# The words the team reads on its own pages, not the stored codes.
DECISION_LABELS = {choice.value: choice.label for choice in DecisionForm.decision.kwargs["choices"]
                   if choice.value != "none"}
COP_STATUS_LABELS = {CopStatus.PLANNING: "Planning", CopStatus.RUNNING: "Running"}


def _yes_no(value: bool | None) -> str:
    return {True: "Yes", False: "No"}.get(value, "")


def _reviewers_comments(application: Application) -> str:
    """Each reviewer's comment with their name, one a line."""
    reviews = sorted(application.reviews, key=lambda r: (r.created_at, r.id))
    return "\n".join(f"{r.reviewer.name}: {r.comment.strip()}" for r in reviews if r.comment and r.comment.strip())


def _export_rows(cohort: Cohort):
    applications = db.session.scalars(
        services.filtered_query(cohort, _filters()).order_by(Application.id)
        .options(*services.LIST_OPTIONS, selectinload(Application.reviews).selectinload(Review.reviewer))
    ).all()
    for a in applications:
        org = a.organisation
        yield [a.id, a.applicant.name, a.applicant.email, a.status_label,
               # Local wall-clock time: a real date in Excel, "30 Nov 2026 14:05" in a CSV.
               clock.to_local(a.submitted_at, cohort.timezone) if a.submitted_at else "",
               a.job_title, a.profession, org.name if org else "", org.kind_label if org else "",
               org.region if org else "", _yes_no(a.is_improvement_community_member), _yes_no(a.leads_network_cop),
               a.cop_title, a.cop_domain, a.cop_members, _yes_no(a.crosses_boundaries),
               a.boundaries_how, COP_STATUS_LABELS.get(a.cop_status, ""), a.hopes, a.sponsor_name, a.sponsor_email,
               a.sponsor_job_title, a.mean_score if a.mean_score is not None else "", _reviewers_comments(a),
               DECISION_LABELS.get(a.decision, ""), a.waitlist_rank or ""]


@bp.get("/team/cohorts/<int:cohort_id>/applications.<any(csv, xlsx):fmt>")
@team_required
def export(cohort_id: int, fmt: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = list(_export_rows(cohort))
    with write_unit():
        audit.record(actor=current_user, action="applications_exported", target_type="cohort", target_id=cohort.id,
                     detail={"format": fmt, "rows": len(rows)})
    return spreadsheet_response(fmt, EXPORT_HEADERS, rows, title="Applications", filename_stem=f"applications-{cohort.name}")
