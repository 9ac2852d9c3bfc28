"""The programme team's pages: lists and filters, exports, scoring, decisions, releasing outcomes."""

from __future__ import annotations

import math

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.applications import services
from app.applications.forms import (
    DecisionForm,
    OnBehalfForm,
    ReviewForm,
)
from app.applications.models import DECISION_LABELS, Application, ApplicationStatus, Decision
from app.applications.team_forms import AssignReviewersForm, BulkDecisionForm, ReleaseForm
from app.applications.views import bp
from app.auth.models import ORGANISATION_KIND_LABELS
from app.db import db
from app.errors import DomainError
from app.form_errors import attach_domain_error
from app.permissions import team_required
from app.programme.models import Cohort
from app.unit_of_work import unit_of_work


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


def _team_detail(application: Application, **forms):
    my_review = next((r for r in application.reviews if r.reviewer_id == current_user.id), None)
    review_form = forms.get("review_form") or ReviewForm(data={
        "boundary": my_review.boundary_score if my_review else None,
        "ambition": my_review.ambition_score if my_review else None,
        "readiness": my_review.readiness_score if my_review else None,
        "comment": my_review.comment if my_review else ""})
    decision_form = forms.get("decision_form") or DecisionForm(data={"decision": application.decision or "none"})
    on_behalf_form = forms.get("on_behalf_form") or OnBehalfForm()
    assign_form = forms.get("assign_form") or reviewer_form(application)
    has_errors = any(f.errors or f.form_errors for f in (review_form, decision_form, on_behalf_form, assign_form))
    return render_template("applications/team_detail.html", application=application, now=clock.now(),
                           review_form=review_form, decision_form=decision_form, on_behalf_form=on_behalf_form,
                           assign_form=assign_form, show_scores=services.can_see_scores(current_user, application),
                           decision_labels=DECISION_LABELS, missing=services.missing_answers(application),
                           form_errors=has_errors)


def reviewer_form(application: Application, form: AssignReviewersForm | None = None) -> AssignReviewersForm:
    if form is None:
        form = AssignReviewersForm(data={"reviewers": [a.reviewer_id for a in application.assignments]})
    form.reviewers.choices = [SelectChoice(u.id, f"{u.name} ({'team' if u.is_team else 'facilitator'})")
                              for u in services.possible_reviewers() if u.id != application.applicant_id]
    return form


@bp.get("/team/applications/<int:application_id>")
@team_required
def team_detail(application_id: int):
    return _team_detail(db.get_or_404(Application, application_id))


@bp.post("/team/applications/<int:application_id>/reviewers")
@team_required
def assign(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = reviewer_form(application, AssignReviewersForm())
    if form.validate_on_submit():
        with unit_of_work("Reviewers saved.", flash_error=False) as work:
            services.assign_reviewers(actor=current_user, application=application, reviewer_ids=form.reviewers.data,
                                      now=clock.now())
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            return redirect(url_for("applications.team_detail", application_id=application.id))
    return _team_detail(application, assign_form=form)


@bp.post("/team/applications/<int:application_id>/decision")
@team_required
def decide(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = DecisionForm()
    if form.validate_on_submit():
        decision = None if form.decision.data == "none" else Decision(form.decision.data)
        with unit_of_work("Decision saved. The applicant is told when you release outcomes.",
                          flash_error=False) as work:
            services.set_decision(actor=current_user, application=application, decision=decision, now=clock.now())
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            return redirect(form.back.data == "selection"
                            and url_for("applications.selection", cohort_id=application.cohort_id)
                            or url_for("applications.team_detail", application_id=application.id))
    return _team_detail(application, decision_form=form)


@bp.post("/team/applications/<int:application_id>/sponsor-decision")
@team_required
def record_on_behalf(application_id: int):
    application = db.get_or_404(Application, application_id)
    form = OnBehalfForm()
    if form.validate_on_submit():
        with unit_of_work("The line manager's answer is recorded, with your reason.", flash_error=False) as work:
            services.record_sponsor_decision_for(actor=current_user, application=application,
                                                 approve=form.decision.data == "approve", reason=form.reason.data,
                                                 comment=form.comment.data or "", now=clock.now())
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            return redirect(url_for("applications.team_detail", application_id=application.id))
    return _team_detail(application, on_behalf_form=form)


def _bulk_form(pool, form: BulkDecisionForm | None = None) -> BulkDecisionForm:
    form = form or BulkDecisionForm()
    form.applications.choices = [SelectChoice(a.id, a.applicant.name) for a in pool if a.status == ApplicationStatus.SPONSOR_APPROVED]
    return form


@bp.route("/team/cohorts/<int:cohort_id>/selection", methods=["GET", "POST"])
@team_required
def selection(cohort_id: int):
    """The selection pool, with one decision for every application ticked."""
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    pool = services.selection_pool(cohort)
    form = _bulk_form(pool)
    if request.method == "POST" and form.validate_on_submit():
        chosen = [a for a in pool if a.id in set(form.applications.data or [])]
        decision = None if form.decision.data == "none" else Decision(form.decision.data)
        with unit_of_work(flash_error=False) as work:
            changed = services.set_decisions(actor=current_user, applications=chosen, decision=decision, now=now)
            label = DECISION_LABELS[decision].lower() if decision else "no decision yet"
            work.success = (f"{changed} decision{'s' if changed != 1 else ''} saved ({label}). Applicants are told "
                            "when you release outcomes.")
        if not work.failed:
            return redirect(url_for("applications.selection", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
        pool = services.selection_pool(cohort)
        form = _bulk_form(pool, form)
    overview = services.selection_overview(cohort, pool, now)
    return render_template("applications/selection.html", cohort=cohort, pool=pool, now=now, form=form,
                           taken=overview.taken, mix=overview.mix, unreleased=overview.unreleased,
                           next_waiting=overview.next_waiting, form_errors=bool(form.errors or form.form_errors))


@bp.route("/team/cohorts/<int:cohort_id>/selection/release", methods=["GET", "POST"])
@team_required
def release(cohort_id: int):
    """Check every outcome email (with the team's own words) and the offer deadline, then send them all."""
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    pool = services.decided_waiting(cohort)
    if request.method == "POST":
        form = ReleaseForm()
    else:
        form = ReleaseForm(data={"offer_deadline": services.default_offer_deadline(cohort, now)})
    messages = services.OutcomeMessages(offer=form.offer_message.data or "", waitlist=form.waitlist_message.data or "",
                                        unsuccessful=form.unsuccessful_message.data or "")
    if request.method == "POST" and form.validate_on_submit() and form.action.data == "release":
        with unit_of_work(flash_error=False) as work:
            counts = services.release_outcomes(actor=current_user, cohort=cohort, now=now,
                                               offer_deadline=form.offer_deadline.data, messages=messages)
            work.success = (f"Outcomes released: {counts['offer']} offered, {counts['waitlist']} on the waiting "
                            f"list, {counts['unsuccessful']} unsuccessful. The emails are on their way.")
        if not work.failed:
            return redirect(url_for("applications.selection", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    deadline = None
    if form.offer_deadline.data:
        try:
            deadline = services.check_offer_deadline(cohort, form.offer_deadline.data, now)
        except DomainError as error:
            if request.method == "POST" and not form.offer_deadline.errors:
                attach_domain_error(form, error)
    previews = [{**preview, "field": getattr(form, f"{preview['decision'].value}_message")}
                for preview in services.outcome_previews(pool, messages, offer_expires_at=deadline, now=now)]
    return render_template("applications/release.html", cohort=cohort, pool=pool, form=form, previews=previews,
                           decision_labels=DECISION_LABELS, form_errors=bool(form.errors or form.form_errors))


@bp.post("/team/cohorts/<int:cohort_id>/selection/offer-next")
@team_required
def offer_next(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    with unit_of_work() as work:
        application = services.offer_to_next(actor=current_user, cohort=cohort, now=clock.now())
        work.success = f"{application.applicant.name} has been offered the place."
    return redirect(url_for("applications.selection", cohort_id=cohort.id))
