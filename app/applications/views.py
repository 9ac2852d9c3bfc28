"""Applying, the line manager's sign-off page, and the team's review and selection pages."""

from __future__ import annotations

import math

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app import audit, clock
from app.applications import services
from app.applications.forms import (
    ApplicationForm,
    DecisionForm,
    OfferResponseForm,
    OnBehalfForm,
    ReviewForm,
    SponsorChangeForm,
    SponsorDecisionForm,
    WithdrawForm,
)
from app.applications.models import Application, ApplicationStatus, Decision
from app.auth.models import ORGANISATION_KIND_LABELS, Organisation
from app.db import db
from app.errors import DomainError, InvalidToken
from app.exports import to_csv, to_xlsx
from app.permissions import can_view_application, public, signed_in, team_required
from app.programme.models import Cohort

bp = Blueprint("applications", __name__, template_folder="templates")


def _form_failed(form, error: DomainError) -> None:
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _own_application(application_id: int) -> Application:
    application = db.get_or_404(Application, application_id)
    if not can_view_application(current_user, application) or application.applicant_id != current_user.id:
        abort(404)
    return application


# -- applicant -------------------------------------------------------------------------------

@bp.get("/apply")
@public
def apply():
    now = clock.now()
    cohort = services.cohort_taking_applications(now)
    existing = services.application_for(current_user, cohort) if cohort and current_user.is_authenticated else None
    return render_template("applications/apply.html", cohort=cohort, now=now, existing=existing,
                           window=cohort.application_window(now) if cohort else None)


@bp.post("/apply")
@signed_in
def start():
    now = clock.now()
    cohort = services.cohort_taking_applications(now)
    if cohort is None:
        abort(404)
    try:
        application = services.start_application(applicant=current_user, cohort=cohort, now=now)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("applications.apply"))
    db.session.commit()
    return redirect(url_for("applications.edit", application_id=application.id))


def _organisation_choices() -> list[SelectChoice]:
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    return [SelectChoice("", "Choose your organisation")] + [SelectChoice(str(o.id), o.name) for o in organisations]


def _answers(form: ApplicationForm) -> services.Answers:
    def yes_no(value):
        return {"yes": True, "no": False}.get(value)

    return services.Answers(
        job_title=form.job_title.data or "", profession=form.profession.data or "", phone=form.phone.data or "",
        organisation_id=int(form.organisation_id.data) if form.organisation_id.data else None,
        new_organisation_name=form.new_organisation_name.data or "",
        new_organisation_kind=form.new_organisation_kind.data or "",
        new_organisation_region=form.new_organisation_region.data or "",
        is_improvement_community_member=bool(form.is_improvement_community_member.data),
        leads_network_cop=bool(form.leads_network_cop.data), cop_title=form.cop_title.data or "",
        cop_domain=form.cop_domain.data or "", cop_members=form.cop_members.data or "",
        crosses_boundaries=yes_no(form.crosses_boundaries.data), boundaries_how=form.boundaries_how.data or "",
        cop_status=form.cop_status.data or None, hopes=form.hopes.data or "",
        sponsor_name=form.sponsor_name.data or "", sponsor_email=form.sponsor_email.data or "",
        sponsor_job_title=form.sponsor_job_title.data or "",
    )


def _form_for(application: Application) -> ApplicationForm:
    if request.method == "POST":
        form = ApplicationForm()
    else:
        data = {name: getattr(application, name) for name in services.ANSWER_COLUMNS}
        data["crosses_boundaries"] = {True: "yes", False: "no"}.get(application.crosses_boundaries)
        data["organisation_id"] = str(application.organisation_id) if application.organisation_id else ""
        data["sponsor_email"] = application.sponsor_email
        form = ApplicationForm(data=data)
    form.organisation_id.choices = _organisation_choices()
    return form


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(application_id: int):
    application = _own_application(application_id)
    if application.status != ApplicationStatus.DRAFT:
        return redirect(url_for("applications.status", application_id=application.id))
    now = clock.now()
    form = _form_for(application)
    if form.validate_on_submit():
        submitting = request.form.get("action") == "submit"
        try:
            services.save_draft(actor=current_user, application=application, answers=_answers(form), now=now)
            if submitting:
                services.submit_application(actor=current_user, application=application, now=now)
        except services.IncompleteApplication as error:
            # Keep the saved draft; show what is missing against each field.
            db.session.commit()
            for name, message in error.errors.items():
                target = getattr(form, name if name != "eligibility" else "is_improvement_community_member", None)
                if target is not None:
                    target.errors = [*target.errors, message]
                else:
                    form.form_errors.append(message)
        except DomainError as error:
            _form_failed(form, error)
        else:
            db.session.commit()
            if submitting:
                flash("Your application has been submitted. We have emailed your line manager to ask them "
                      "to confirm their support.", "success")
                return redirect(url_for("applications.status", application_id=application.id))
            flash("Your answers are saved. You can come back and finish your application before the deadline.",
                  "success")
            return redirect(url_for("applications.edit", application_id=application.id))
    return render_template("applications/form.html", form=form, application=application, now=now,
                           kinds=ORGANISATION_KIND_LABELS, form_errors=bool(form.errors or form.form_errors))


@bp.get("/applications/<int:application_id>")
@signed_in
def status(application_id: int):
    application = _own_application(application_id)
    return render_template("applications/status.html", application=application, now=clock.now(),
                           offer_form=OfferResponseForm())


@bp.route("/applications/<int:application_id>/line-manager", methods=["GET", "POST"])
@signed_in
def change_sponsor(application_id: int):
    application = _own_application(application_id)
    form = SponsorChangeForm()
    if not form.is_submitted():
        form = SponsorChangeForm(data={"sponsor_name": application.sponsor_name,
                                       "sponsor_email": application.sponsor_email,
                                       "sponsor_job_title": application.sponsor_job_title})
    elif form.validate():
        try:
            services.change_sponsor(actor=current_user, application=application, name=form.sponsor_name.data,
                                    email=form.sponsor_email.data, job_title=form.sponsor_job_title.data or "",
                                    now=clock.now())
        except DomainError as error:
            _form_failed(form, error)
        else:
            db.session.commit()
            flash(f"We have emailed {application.sponsor_name}. The link sent to your previous line manager "
                  "no longer works.", "success")
            return redirect(url_for("applications.status", application_id=application.id))
    return render_template("applications/change_sponsor.html", form=form, application=application,
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/applications/<int:application_id>/line-manager/resend")
@signed_in
def resend_sponsor(application_id: int):
    application = _own_application(application_id)
    try:
        services.resend_sponsor_request(actor=current_user, application=application, now=clock.now())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(f"We have sent {application.sponsor_name} a new link. The earlier link no longer works.", "success")
    return redirect(url_for("applications.status", application_id=application.id))


@bp.route("/applications/<int:application_id>/withdraw", methods=["GET", "POST"])
@signed_in
def withdraw(application_id: int):
    application = _own_application(application_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw_application(actor=current_user, application=application, now=clock.now(),
                                          reason=form.reason.data or "")
        except DomainError as error:
            _form_failed(form, error)
        else:
            db.session.commit()
            flash("Your application has been withdrawn.", "success")
            return redirect(url_for("applications.status", application_id=application.id))
    return render_template("applications/withdraw.html", form=form, application=application,
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/applications/<int:application_id>/offer")
@signed_in
def respond(application_id: int):
    application = _own_application(application_id)
    form = OfferResponseForm()
    if not form.validate_on_submit():
        return render_template("applications/status.html", application=application, now=clock.now(),
                               offer_form=form, form_errors=True), 200
    accept = form.response.data == "accept"
    try:
        services.respond_to_offer(actor=current_user, application=application, accept=accept, now=clock.now())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("applications.status", application_id=application.id))
    db.session.commit()
    if accept:
        flash("You have accepted your place. Welcome to the programme.", "success")
        return redirect(url_for("programme.home"))
    flash("You have declined the place. Thank you for letting us know.", "success")
    return redirect(url_for("applications.status", application_id=application.id))


# -- line manager (no account: the token in the link is the permission) ---------------------

@bp.route("/sponsor/<token>", methods=["GET", "POST"])
@public
def sponsor(token: str):
    now = clock.now()
    try:
        link = services.open_sponsor_link(token=token, now=now)
    except InvalidToken as error:
        return render_template("applications/sponsor_invalid.html", message=error.message), 404
    form = SponsorDecisionForm()
    if link.state == "pending" and form.validate_on_submit():
        try:
            services.record_sponsor_decision(token=token, approve=form.decision.data == "approve",
                                             confirms_release=bool(form.confirms_release.data),
                                             comment=form.comment.data or "", now=now)
        except InvalidToken:
            db.session.rollback()
        except DomainError as error:
            _form_failed(form, error)
            if error.status_code == 409:
                return redirect(url_for("applications.sponsor", token=token))
        else:
            db.session.commit()
            return redirect(url_for("applications.sponsor", token=token))
        link = services.open_sponsor_link(token=token, now=now)
    response = render_template("applications/sponsor.html", link=link, approval=link.approval,
                               application=link.approval.application, form=form, now=now,
                               form_errors=bool(form.errors or form.form_errors))
    return Response(response, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


# -- the programme team ----------------------------------------------------------------------

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
        services._filtered(cohort, _filters()).order_by(Application.id)
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
    audit.record(actor=current_user, action="applications_exported", target_type="cohort", target_id=cohort.id,
                 detail={"format": fmt, "rows": len(rows)})
    db.session.commit()
    filename = f"applications-{cohort.name.replace(' ', '-').lower()}.{fmt}"
    if fmt == "csv":
        body, mimetype = to_csv(EXPORT_HEADERS, rows), "text/csv; charset=utf-8"
    else:
        body = to_xlsx(EXPORT_HEADERS, rows, title="Applications")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


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
            _form_failed(form, error)
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
            _form_failed(form, error)
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
            _form_failed(form, error)
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
