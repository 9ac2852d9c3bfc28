"""The participant's home and session pages; the team's cohort schedule."""

from __future__ import annotations

from datetime import date, datetime, time

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.auth.services import user_for_calendar_token
from app.db import db
from app.form_errors import attach_domain_error
from app.permissions import public, signed_in, staff_required, team_required
from app.programme import reminder_rules, services
from app.programme.access import can_view_session
from app.programme.calendar import build_calendar, session_ics_filename
from app.programme.forms import (
    CohortForm,
    CohortSettingsForm,
    NewDateForm,
    ReminderRuleForm,
    RescheduleModuleForm,
    SessionForm,
    SessionStatusForm,
)
from app.programme.home_panels import home_panels, landing_for
from app.programme.models import Cohort, ProgrammeSession, SessionKind
from app.programme.services.reads import participant_place
from app.programme.services.templates import list_templates
from app.programme.services.templates import summary as template_summary
from app.programme.signals import session_notes
from app.unit_of_work import unit_of_work
from app.urls import site_domain

bp = Blueprint("programme", __name__, template_folder="templates")


def _content():
    return current_app.extensions["convene_content"]


@bp.get("/home")
@signed_in
def home():
    if current_user.is_staff:
        return redirect(url_for("admin.dashboard"))
    enrolment = participant_place(current_user.id)  # with its cohort, so the providers below have a query spare
    if enrolment is None:
        # No place: a community member's home is their communities; anyone else's is their applications.
        return redirect(landing_for(current_user) or url_for("applications.mine"))
    now = clock.now()
    cohort = enrolment.cohort
    year = services.participant_year(cohort.id, now)
    return render_template("programme/home.html", cohort=cohort, sessions=year.sessions, upcoming=year.upcoming,
                           next_id=year.next_id, next_session=year.next_session, now=now, content=_content(),
                           module_numbers={s.module.number for s in year.sessions if s.module is not None},
                           panels=home_panels(current_user, cohort, now),
                           notes=session_notes(current_user, year.shown_ids))


@bp.get("/sessions/<int:session_id>")
@signed_in
def session_detail(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    if not can_view_session(current_user, session):
        abort(404)
    content = _content()
    module_content = content.module(session.module.number) if session.module else None
    page = {SessionKind.WELCOME: "welcome", SessionKind.CO_CONSULTING: "co-consulting",
            SessionKind.CELEBRATION: "celebration"}.get(SessionKind(session.kind))
    return render_template("programme/session.html", session=session, cohort=session.cohort, now=clock.now(),
                           notes=session_notes(current_user, [session.id]).get(session.id, []),
                           module_content=module_content, page=content.pages.get(page) if page else None,
                           steps=content.co_consulting_steps if session.kind == SessionKind.CO_CONSULTING else [])


@bp.get("/cohorts/<int:cohort_id>/schedule")
@staff_required
def schedule(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    return render_template("programme/schedule.html", cohort=cohort, sessions=services.cohort_sessions(cohort.id),
                           now=clock.now())


@bp.route("/cohorts/new", methods=["GET", "POST"])
@team_required
def new_cohort():
    form = CohortForm()
    templates = [template for template, _ in list_templates()]
    form.template_id.choices = [SelectChoice(str(t.id), t.name) for t in templates]
    if not form.is_submitted():
        form.template_id.data = str(templates[0].id)  # the default comes first
    chosen = next((t for t in templates if str(t.id) == form.template_id.data), None)
    valid = form.validate_on_submit()
    if form.is_submitted() and form.template_id.data and chosen is None:
        form.template_id.errors = ["Choose one of the templates listed"]
        valid = False
    if valid:
        tz = "Europe/London"
        opens = clock.local_instant(form.applications_open.data, time(9, 0), tz) if form.applications_open.data else None
        deadline = (clock.local_instant(form.application_deadline.data, time(23, 59), tz)
                    if form.application_deadline.data else None)
        with unit_of_work(flash_error=False) as work:
            programme = services.get_or_create_programme(current_app.config["PROGRAMME_NAME"])
            cohort = services.create_cohort(
                actor=current_user, programme=programme, name=form.name.data, starts_on=form.starts_on.data,
                capacity=form.capacity.data, applications_open_at=opens, application_deadline_at=deadline,
                content=_content(), bank_holiday_region=current_app.config["BANK_HOLIDAY_REGION"],
                template=chosen,
            )
            work.success = (f"{cohort.name} created with {len(cohort.sessions)} sessions. Check the dates and add "
                            "join links.")
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    return render_template("programme/cohort_form.html", form=form, templates=templates, summary=template_summary,
                           form_errors=bool(form.errors or form.form_errors))


@bp.route("/cohorts/<int:cohort_id>/settings", methods=["GET", "POST"])
@team_required
def cohort_settings(cohort_id: int):
    """Change a cohort's name, places, application window, offer and guest settings."""
    cohort = db.get_or_404(Cohort, cohort_id)
    tz = cohort.timezone
    if request.method == "POST":
        form = CohortSettingsForm()
    else:
        form = CohortSettingsForm(data={
            "name": cohort.name, "capacity": cohort.capacity, "offer_response_days": cohort.offer_response_days,
            "guest_capacity": cohort.guest_capacity, "blind_review": cohort.blind_review,
            "apologies_excused": cohort.apologies_excused,
            "applications_open": clock.to_local(cohort.applications_open_at, tz).date()
            if cohort.applications_open_at else None,
            "application_deadline": clock.to_local(cohort.application_deadline_at, tz).date()
            if cohort.application_deadline_at else None})
    if form.validate_on_submit():
        opens = form.applications_open.data
        deadline = form.application_deadline.data
        settings = services.CohortSettings(
            name=form.name.data, capacity=form.capacity.data, offer_response_days=form.offer_response_days.data,
            guest_capacity=form.guest_capacity.data, blind_review=bool(form.blind_review.data),
            apologies_excused=bool(form.apologies_excused.data),
            applications_open_at=clock.local_instant(opens, time(9, 0), tz) if opens else None,
            application_deadline_at=clock.local_instant(deadline, time(23, 59), tz) if deadline else None)
        # A date kept as it was keeps its exact time (a cohort created elsewhere may open at 08:00).
        if opens and cohort.applications_open_at and clock.to_local(cohort.applications_open_at, tz).date() == opens:
            settings.applications_open_at = cohort.applications_open_at
        if (deadline and cohort.application_deadline_at
                and clock.to_local(cohort.application_deadline_at, tz).date() == deadline):
            settings.application_deadline_at = cohort.application_deadline_at
        with unit_of_work(flash_error=False) as work:
            changes = services.change_cohort_settings(actor=current_user, cohort=cohort, settings=settings,
                                                      now=clock.now())
            work.success = _settings_saved(changes)
        if not work.failed:
            return redirect(url_for("programme.cohort_settings", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    return render_template("programme/cohort_settings.html", form=form, cohort=cohort, now=clock.now(),
                           form_errors=bool(form.errors or form.form_errors))


def _settings_saved(changes: dict) -> str:
    if not changes:
        return "Nothing was changed."
    told = " Applicants whose application depends on the deadline have been emailed." if (
        "application_deadline_at" in changes and changes["application_deadline_at"][0]) else ""
    return "Saved: " + ", ".join(services.SETTING_LABELS[k].lower() for k in changes) + "." + told


def _details(form: SessionForm) -> services.SessionDetails:
    return services.SessionDetails(
        title=form.title.data or "", kind=form.kind.data, day=form.day.data, starts=form.starts.data,
        ends=form.ends.data, module_number=int(form.module_number.data) if form.module_number.data else None,
        part=int(form.part.data) if form.part.data else None, join_url=form.join_url.data or "",
        venue=form.venue.data or "", access_info=form.access_info.data or "",
        description=form.description.data or "", keep_date=bool(form.keep_date.data),
    )


@bp.route("/cohorts/<int:cohort_id>/sessions/new", methods=["GET", "POST"])
@team_required
def new_session(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    form = SessionForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            session = services.add_session(actor=current_user, cohort=cohort, details=_details(form))
            told = " Participants have been emailed." if services.has_participants(cohort) else ""
            work.success = f"{session.title} added to the schedule.{told}"
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    return render_template("programme/session_form.html", form=form, cohort=cohort, session=None,
                           form_errors=bool(form.errors or form.form_errors))


def _local_parts(instant: datetime, tz: str) -> tuple[date, time]:
    local = clock.to_local(instant, tz)
    return local.date(), local.time().replace(second=0, microsecond=0)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@team_required
def edit_session(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    cohort = session.cohort
    form = SessionForm()
    if not form.is_submitted():
        day, starts = _local_parts(session.starts_at, cohort.timezone)
        _, ends = _local_parts(session.ends_at, cohort.timezone)
        form = SessionForm(data={
            "title": session.title, "kind": session.kind, "day": day, "starts": starts, "ends": ends,
            "module_number": str(session.module.number) if session.module else "",
            "part": str(session.part) if session.part else None, "join_url": session.join_url,
            "venue": session.venue, "access_info": session.access_info, "description": session.description,
        })
    elif form.validate():
        now = clock.now()
        with unit_of_work(flash_error=False) as work:
            changed = services.update_session(actor=current_user, session=session, details=_details(form), now=now)
            told = ("Participants have been emailed the new details." if session.ends_at > now
                    and services.has_participants(cohort) else "Nobody was emailed.")
            work.success = f"{session.title} updated. {told}" if changed else "Nothing was changed."
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    return render_template("programme/session_form.html", form=form, cohort=cohort, session=session,
                           form_errors=bool(form.errors or form.form_errors))


@bp.get("/sessions/<int:session_id>/cancel")
@team_required
def confirm_cancel(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    if session.is_cancelled:
        flash(f"{session.title} is already cancelled.", "info")
        return redirect(url_for("programme.schedule", cohort_id=session.cohort_id))
    return render_template("programme/cancel.html", session=session, cohort=session.cohort)


@bp.post("/sessions/<int:session_id>/cancel")
@team_required
def cancel_session(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    with unit_of_work() as work:
        told = services.cancel_session(actor=current_user, session=session, now=clock.now())
        emailed = f"{told} participant{'s have' if told != 1 else ' has'} been emailed" if told else "Nobody was emailed"
        work.success = f"{session.title} is cancelled. {emailed}."
    return redirect(url_for("programme.schedule", cohort_id=session.cohort_id))


@bp.route("/sessions/<int:session_id>/status", methods=["GET", "POST"])
@team_required
def session_status(session_id: int):
    """Postpone a session (new date to be confirmed), or record that it did not take place."""
    session = db.get_or_404(ProgrammeSession, session_id)
    now = clock.now()
    form = SessionStatusForm()
    action = "not_held" if session.starts_at <= now else "postpone"
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            if action == "postpone":
                services.postpone_session(actor=current_user, session=session, reason=form.reason.data, now=now)
                work.success = (f"{session.title} is postponed, its new date to be confirmed. Participants have been "
                                "emailed.")
            else:
                services.mark_not_held(actor=current_user, session=session, reason=form.reason.data, now=now)
                work.success = f"{session.title} is recorded as not having taken place."
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=session.cohort_id))
        attach_domain_error(form, work.error)
    return render_template("programme/session_status.html", session=session, cohort=session.cohort, form=form,
                           action=action, form_errors=bool(form.errors or form.form_errors))


@bp.route("/sessions/<int:session_id>/new-date", methods=["GET", "POST"])
@team_required
def new_date(session_id: int):
    """Give a postponed session its new date."""
    session = db.get_or_404(ProgrammeSession, session_id)
    form = NewDateForm()
    if not form.is_submitted():
        form.starts.data = clock.to_local(session.starts_at, session.cohort.timezone).time()
        form.ends.data = clock.to_local(session.ends_at, session.cohort.timezone).time()
    if form.validate_on_submit():
        with unit_of_work(f"{session.title} has its new date. Participants have been emailed.",
                          flash_error=False) as work:
            services.set_new_date(actor=current_user, session=session, day=form.day.data, starts=form.starts.data,
                                  ends=form.ends.data, now=clock.now())
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=session.cohort_id))
        attach_domain_error(form, work.error)
    return render_template("programme/new_date.html", session=session, cohort=session.cohort, form=form,
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/sessions/<int:session_id>/reinstate")
@team_required
def reinstate_session(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    with unit_of_work(f"{session.title} is back on the schedule.", flash_error=False) as work:
        services.reinstate_session(actor=current_user, session=session, now=clock.now())
    if work.failed:
        raise work.error  # no form to show it on: the error page says why (a session not cancelled)
    return redirect(url_for("programme.schedule", cohort_id=session.cohort_id))


@bp.route("/cohorts/<int:cohort_id>/modules/<int:number>/reschedule", methods=["GET", "POST"])
@team_required
def reschedule_module(cohort_id: int, number: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    module = services.cohort_module(cohort, number)
    if module is None:
        abort(404)
    form = RescheduleModuleForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            moved = services.reschedule_module(actor=current_user, module=module, first_day=form.first_day.data,
                                               now=clock.now(),
                                               bank_holiday_region=current_app.config["BANK_HOLIDAY_REGION"])
            work.success = (f"Module {number} moved: {len(moved)} day{'s' if len(moved) != 1 else ''} changed and "
                            "participants emailed." if moved else "Those are the module's dates already: nothing changed.")
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    elif not form.is_submitted() and module.sessions:
        form.first_day.data = clock.to_local(module.sessions[0].starts_at, cohort.timezone).date()
    return render_template("programme/reschedule_module.html", form=form, cohort=cohort, module=module,
                           title=_content().module(number).title, form_errors=bool(form.errors or form.form_errors))


@bp.get("/cohorts/<int:cohort_id>/reminder-rules")
@team_required
def reminder_rules_page(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    settings = reminder_rules.rules_for([cohort.id])[cohort.id]
    return render_template("programme/reminder_rules.html", cohort=cohort, rules=reminder_rules.RULES,
                           settings=settings, describe=reminder_rules.describe)


@bp.route("/cohorts/<int:cohort_id>/reminder-rules/<key>", methods=["GET", "POST"])
@team_required
def edit_reminder_rule(cohort_id: int, key: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    rule = reminder_rules.RULES.get(key) or abort(404)
    setting = reminder_rules.rules_for([cohort.id])[cohort.id][key]
    form = ReminderRuleForm()
    form.days.label.text = f"Days {rule.days_text}"
    if not form.is_submitted():
        form = ReminderRuleForm(data={
            "enabled": "yes" if setting.enabled else "no", "days": ", ".join(str(d) for d in setting.days),
            "at": f"{setting.at:%H:%M}" if setting.at else "", "hours": str(setting.hours or ""),
            "every_days": str(setting.every_days or "")})
        form.days.label.text = f"Days {rule.days_text}"
    elif form.validate():
        with unit_of_work(f"{rule.label}: saved. Reminders waiting under the old setting were cancelled; the next "
                          "planning pass (within 15 minutes) writes them with the new one.", flash_error=False) as work:
            reminder_rules.change_reminder_rule(
                actor=current_user, cohort=cohort, key=key, enabled=form.enabled.data == "yes",
                days=form.days.data or "", at=form.at.data or "", hours=form.hours.data or "",
                every_days=form.every_days.data or "", now=clock.now())
        if not work.failed:
            return redirect(url_for("programme.reminder_rules_page", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    return render_template("programme/reminder_rule_form.html", form=form, cohort=cohort, rule=rule,
                           default=reminder_rules.describe(rule.default),
                           form_errors=bool(form.errors or form.form_errors))


@bp.get("/sessions/<int:session_id>.ics")
@signed_in
def session_ics(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    if not can_view_session(current_user, session):
        abort(404)
    body = build_calendar([session], name=session.cohort.name, domain=site_domain(), base_url=current_app.config["BASE_URL"],
                          now=clock.now())
    filename = session_ics_filename(session, session.cohort.timezone)
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/calendar/<token>.ics")
@public
def calendar_feed(token: str):
    """The private feed: a calendar app polls it, so the token in the address is the permission."""
    user = user_for_calendar_token(token)
    if user is None:
        abort(404)
    sessions = services.calendar_sessions(user)
    body = build_calendar(sessions, name=current_app.config["PROGRAMME_NAME"], domain=site_domain(),
                          base_url=current_app.config["BASE_URL"], now=clock.now())
    return Response(body, mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"})
