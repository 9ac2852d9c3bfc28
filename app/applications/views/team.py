"""The programme team's pages: lists and filters, exports, scoring, decisions, releasing outcomes."""

from __future__ import annotations

import math

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import audit, clock
from app.applications import services
from app.applications.forms import (
    DecisionForm,
    OnBehalfForm,
    ReviewForm,
)
from app.applications.models import Application, ApplicationStatus, Decision
from app.applications.views import bp
from app.auth.models import ORGANISATION_KIND_LABELS
from app.db import db, write_unit
from app.errors import DomainError
from app.exports import spreadsheet_response
from app.form_errors import attach_domain_error
from app.permissions import team_required
from app.programme.models import Cohort


def _filters() -> services.Filters:
    crosses = {"yes": True, "no": False}.get(request.args.get("crosses_boundaries", ""))
    status = request.args.get("status") or None
    if status and status not in {s.value for s in ApplicationStatus}:
        status = None
    return services.Filters(status=status, sponsor=request.args.get("sponsor") or None,
                            organisation_kind=request.args.get("organisation_kind") or None,
                            region=request.args.get("region") or None, crosses_boundaries=crosses)


@bp.get("/team/cohorts/<int:cohort_id>/applications")
@team_required
def team_list(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    filters = _filters()
    page = request.args.get("page", 1, type=int)
    rows, total = services.list_applications(cohort, filters, max(page, 1))
    pages = max(1, math.ceil(total / services.PAGE_SIZE))
    if page < 1 or page > pages:
        abort(404)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("applications/team_list.html", cohort=cohort, rows=rows, total=total, page=page,
                           pages=pages, filters=filters, counts=services.status_counts(cohort),
                           regions=services.regions(cohort), kinds=ORGANISATION_KIND_LABELS,
                           statuses=list(ApplicationStatus), args=args)


EXPORT_HEADERS = ["Reference", "Name", "Email", "Status", "Submitted", "Job title", "Profession", "Organisation",
                  "Organisation kind", "Region", "Improvement community member", "Leads a network CoP",
                  "Community of practice", "What it cares about", "Who it brings together", "Crosses boundaries",
                  "How", "CoP status", "Hopes", "Line manager", "Line manager email", "Line manager job title",
                  "Mean score", "Decision", "Waiting list position"]


def _export_rows(cohort: Cohort):
    applications = db.session.scalars(
        services.filtered_query(cohort, _filters()).order_by(Application.id)
        .options(*services.LIST_OPTIONS)
    ).all()
    for a in applications:
        org = a.organisation
        yield [a.id, a.applicant.name, a.applicant.email, a.status_label,
               clock.to_local(a.submitted_at, cohort.timezone).isoformat() if a.submitted_at else "",
               a.job_title, a.profession, org.name if org else "", org.kind_label if org else "",
               org.region if org else "", a.is_improvement_community_member, a.leads_network_cop, a.cop_title,
               a.cop_domain, a.cop_members, "" if a.crosses_boundaries is None else a.crosses_boundaries,
               a.boundaries_how, a.cop_status or "", a.hopes, a.sponsor_name, a.sponsor_email, a.sponsor_job_title,
               a.mean_score if a.mean_score is not None else "", a.decision or "", a.waitlist_rank or ""]


@bp.get("/team/cohorts/<int:cohort_id>/applications.<any(csv, xlsx):fmt>")
@team_required
def export(cohort_id: int, fmt: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = list(_export_rows(cohort))
    with write_unit():
        audit.record(actor=current_user, action="applications_exported", target_type="cohort", target_id=cohort.id,
                     detail={"format": fmt, "rows": len(rows)})
    return spreadsheet_response(fmt, EXPORT_HEADERS, rows, title="Applications", filename_stem=f"applications-{cohort.name}")


def _team_detail(application: Application, **forms):
    my_review = next((r for r in application.reviews if r.reviewer_id == current_user.id), None)
    review_form = forms.get("review_form") or ReviewForm(data={
        "boundary": my_review.boundary_score if my_review else None,
        "ambition": my_review.ambition_score if my_review else None,
        "readiness": my_review.readiness_score if my_review else None,
        "comment": my_review.comment if my_review else ""})
    decision_form = forms.get("decision_form") or DecisionForm(data={"decision": application.decision or "none"})
    on_behalf_form = forms.get("on_behalf_form") or OnBehalfForm()
    has_errors = any(f.errors or f.form_errors for f in (review_form, decision_form, on_behalf_form))
    return render_template("applications/team_detail.html", application=application, now=clock.now(),
                           review_form=review_form, decision_form=decision_form, on_behalf_form=on_behalf_form,
                           missing=services.missing_answers(application), form_errors=has_errors)


@bp.get("/team/applications/<int:application_id>")
@team_required
def team_detail(application_id: int):
    return _team_detail(db.get_or_404(Application, application_id))


@bp.post("/team/applications/<int:application_id>/review")
@team_required
def review(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            services.score_application(actor=current_user, application=application, boundary=form.boundary.data,
                                       ambition=form.ambition.data, readiness=form.readiness.data,
                                       comment=form.comment.data or "")
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            db.session.commit()
            flash("Your scores are saved.", "success")
            return redirect(url_for("applications.team_detail", application_id=application.id))
    return _team_detail(application, review_form=form)


@bp.post("/team/applications/<int:application_id>/decision")
@team_required
def decide(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = DecisionForm()
    if form.validate_on_submit():
        decision = None if form.decision.data == "none" else Decision(form.decision.data)
        try:
            services.set_decision(actor=current_user, application=application, decision=decision, now=clock.now())
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            db.session.commit()
            flash("Decision saved. The applicant is told when you release outcomes.", "success")
            return redirect(request.form.get("back") == "selection"
                            and url_for("applications.selection", cohort_id=application.cohort_id)
                            or url_for("applications.team_detail", application_id=application.id))
    return _team_detail(application, decision_form=form)


@bp.post("/team/applications/<int:application_id>/sponsor-decision")
@team_required
def record_on_behalf(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = OnBehalfForm()
    if form.validate_on_submit():
        try:
            services.record_sponsor_decision_for(actor=current_user, application=application,
                                                 approve=form.decision.data == "approve", reason=form.reason.data,
                                                 comment=form.comment.data or "", now=clock.now())
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            db.session.commit()
            flash("The line manager's answer is recorded, with your reason.", "success")
            return redirect(url_for("applications.team_detail", application_id=application.id))
    return _team_detail(application, on_behalf_form=form)


@bp.get("/team/cohorts/<int:cohort_id>/selection")
@team_required
def selection(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    pool = services.selection_pool(cohort)
    offered = [a for a in pool if a.status in (ApplicationStatus.OFFERED, ApplicationStatus.ACCEPTED)
               or (a.status == ApplicationStatus.SPONSOR_APPROVED and a.decision == Decision.OFFER)]
    unreleased = sum(1 for a in pool if a.status == ApplicationStatus.SPONSOR_APPROVED and a.decision)
    return render_template("applications/selection.html", cohort=cohort, pool=pool, now=now,
                           taken=services.places_taken(cohort, now), mix=services.mix(offered),
                           unreleased=unreleased, next_waiting=services.next_on_waitlist(cohort))


@bp.route("/team/cohorts/<int:cohort_id>/selection/release", methods=["GET", "POST"])
@team_required
def release(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    if request.method == "POST":
        try:
            counts = services.release_outcomes(actor=current_user, cohort=cohort, now=clock.now())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(f"Outcomes released: {counts['offer']} offered, {counts['waitlist']} on the waiting list, "
                  f"{counts['unsuccessful']} unsuccessful. The emails are on their way.", "success")
        return redirect(url_for("applications.selection", cohort_id=cohort.id))
    pool = [a for a in services.selection_pool(cohort) if a.status == ApplicationStatus.SPONSOR_APPROVED and a.decision]
    return render_template("applications/release.html", cohort=cohort, pool=pool)


@bp.post("/team/cohorts/<int:cohort_id>/selection/offer-next")
@team_required
def offer_next(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    try:
        application = services.offer_to_next(actor=current_user, cohort=cohort, now=clock.now())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"{application.applicant.name} has been offered the place.", "success")
    return redirect(url_for("applications.selection", cohort_id=cohort.id))
