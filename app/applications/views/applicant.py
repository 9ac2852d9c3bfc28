"""The applicant's pages: start, draft, submit, follow, change line manager, withdraw, answer an offer."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.applications import services
from app.applications.forms import (
    ApplicationForm,
    OfferResponseForm,
    SponsorChangeForm,
    StartApplicationForm,
    WithdrawForm,
)
from app.applications.models import Application, ApplicationStatus
from app.applications.views import bp
from app.auth.models import ORGANISATION_KIND_LABELS
from app.db import db
from app.form_errors import attach_domain_error
from app.permissions import can_view_application, public, signed_in
from app.programme.models import Cohort
from app.unit_of_work import unit_of_work


def _own_application(application_id: int) -> Application:
    application = db.get_or_404(Application, application_id)
    if not can_view_application(current_user, application) or application.applicant_id != current_user.id:
        abort(404)
    return application


# -- applicant -------------------------------------------------------------------------------

@bp.get("/my-applications")
@signed_in
def mine():
    now = clock.now()
    applications = services.applications_of(current_user)
    applied = {a.cohort_id for a in applications}
    cohorts = services.applying_cohorts(now)
    return render_template("applications/mine.html", applications=applications, now=now,
                           open_cohorts=[c for c in cohorts.open if c.id not in applied],
                           upcoming=[c for c in cohorts.upcoming if c.id not in applied])


@bp.get("/apply")
@public
def apply():
    """Every cohort taking applications; with one, its page directly."""
    now = clock.now()
    cohorts = services.applying_cohorts(now)
    if len(cohorts.open) == 1:
        return _apply_page(cohorts.open[0], now)
    if cohorts.open:
        existing = {}
        if current_user.is_authenticated:
            existing = {a.cohort_id: a for a in services.applications_of(current_user)}
        return render_template("applications/apply_choose.html", cohorts=cohorts, existing=existing, now=now)
    shown = cohorts.upcoming[0] if cohorts.upcoming else cohorts.last_closed
    if shown is None:
        return render_template("applications/apply.html", cohort=None, now=now)
    return _apply_page(shown, now)


@bp.get("/apply/<int:cohort_id>")
@public
def apply_to(cohort_id: int):
    """One cohort's application page: the link the team shares for a particular cohort."""
    return _apply_page(db.get_or_404(Cohort, cohort_id), clock.now())


def _apply_page(cohort: Cohort, now):
    existing = services.application_for(current_user, cohort) if current_user.is_authenticated else None
    return render_template("applications/apply.html", cohort=cohort, now=now, existing=existing,
                           window=cohort.application_window(now),
                           others=len(services.applying_cohorts(now).open) > 1)


@bp.post("/apply")
@signed_in
def start():
    now = clock.now()
    cohort = db.session.get(Cohort, StartApplicationForm().cohort_id.data or 0)
    if cohort is None:
        flash("Choose the cohort you are applying to.", "error")
        return redirect(url_for("applications.apply"))
    with unit_of_work() as work:
        application = services.start_application(applicant=current_user, cohort=cohort, now=now)
    if work.failed:
        return redirect(url_for("applications.apply_to", cohort_id=cohort.id))
    return redirect(url_for("applications.edit", application_id=application.id))


def _organisation_choices(including: int | None) -> list[SelectChoice]:
    organisations = services.choosable_organisations(including=including)
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
    from app.auth import held_forms  # kept here: this function is the only user in this module

    held = held_forms.restore(request.path) if request.method == "GET" else None
    if request.method == "POST":
        form = ApplicationForm()
    elif held is not None:
        # What they typed when their sign-in had ended: shown, not saved, until they press a button.
        form = ApplicationForm(formdata=held)
        flash(held_forms.RESTORED_MESSAGE, "info")
    else:
        data = {name: getattr(application, name) for name in services.ANSWER_COLUMNS}
        data["crosses_boundaries"] = {True: "yes", False: "no"}.get(application.crosses_boundaries)
        data["organisation_id"] = str(application.organisation_id) if application.organisation_id else ""
        data["sponsor_email"] = application.sponsor_email
        form = ApplicationForm(data=data)
    form.organisation_id.choices = _organisation_choices(application.organisation_id)
    return form


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(application_id: int):
    application = _own_application(application_id)
    if application.status != ApplicationStatus.DRAFT:
        return redirect(url_for("applications.status", application_id=application.id))
    now = clock.now()
    if application.cohort.application_window(now) == "closed":
        flash("The application deadline has passed, so this draft can no longer be changed or submitted.", "error")
        return redirect(url_for("applications.status", application_id=application.id))
    form = _form_for(application)
    if form.validate_on_submit():
        submitting = form.action.data == "submit"
        with unit_of_work(flash_error=False) as work:
            # An incomplete application is still saved: what is missing is shown against each field.
            missing = services.save_answers(actor=current_user, application=application, answers=_answers(form),
                                            submit=submitting, now=now)
            if not missing:
                work.success = ("Your application has been submitted. We have emailed your line manager to ask "
                                "them to confirm their support." if submitting else
                                "Your answers are saved. You can come back and finish your application before "
                                "the deadline.")
        if work.failed:
            attach_domain_error(form, work.error)
        elif missing:
            for name, message in missing.items():
                target = getattr(form, name if name != "eligibility" else "is_improvement_community_member", None)
                if target is not None:
                    target.errors = [*target.errors, message]
                else:
                    form.form_errors.append(message)
        elif submitting:
            return redirect(url_for("applications.status", application_id=application.id))
        else:
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
    if not services.can_ask_another_sponsor(application, clock.now()):
        flash("Your line manager has already answered, so you cannot change who we ask.", "error")
        return redirect(url_for("applications.status", application_id=application.id))
    declined = application.status == ApplicationStatus.SPONSOR_DECLINED
    form = SponsorChangeForm()
    if not form.is_submitted():
        form = SponsorChangeForm(data={} if declined else {"sponsor_name": application.sponsor_name,
                                                           "sponsor_email": application.sponsor_email,
                                                           "sponsor_job_title": application.sponsor_job_title})
    elif form.validate():
        with unit_of_work(flash_error=False) as work:
            services.change_sponsor(actor=current_user, application=application, name=form.sponsor_name.data,
                                    email=form.sponsor_email.data, job_title=form.sponsor_job_title.data or "",
                                    now=clock.now())
            work.success = (f"We have emailed {application.sponsor_name} to ask for their support." if declined else
                            f"We have emailed {application.sponsor_name}. The link sent to your previous line "
                            "manager no longer works.")
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            return redirect(url_for("applications.status", application_id=application.id))
    return render_template("applications/change_sponsor.html", form=form, application=application,
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/applications/<int:application_id>/line-manager/resend")
@signed_in
def resend_sponsor(application_id: int):
    application = _own_application(application_id)
    with unit_of_work() as work:
        services.resend_sponsor_request(actor=current_user, application=application, now=clock.now())
        work.success = f"We have sent {application.sponsor_name} a new link. The earlier link no longer works."
    return redirect(url_for("applications.status", application_id=application.id))


@bp.route("/applications/<int:application_id>/withdraw", methods=["GET", "POST"])
@signed_in
def withdraw(application_id: int):
    application = _own_application(application_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        with unit_of_work("Your application has been withdrawn.", flash_error=False) as work:
            services.withdraw_application(actor=current_user, application=application, now=clock.now(),
                                          reason=form.reason.data or "")
        if work.failed:
            attach_domain_error(form, work.error)
        else:
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
    with unit_of_work("You have accepted your place. Welcome to the programme." if accept else
                      "You have declined the place. Thank you for letting us know.") as work:
        services.respond_to_offer(actor=current_user, application=application, accept=accept, now=clock.now())
    if accept and not work.failed:
        return redirect(url_for("programme.home"))
    return redirect(url_for("applications.status", application_id=application.id))


# -- the applicant's copy of their answers ---------------------------------------------------

@bp.get("/applications/<int:application_id>/answers")
@signed_in
def answers(application_id: int):
    application = _own_application(application_id)
    return render_template("applications/answers.html", application=application,
                           answers=services.application_answers(application))
