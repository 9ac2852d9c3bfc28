"""The celebration page (guests, showcases, running order), guests' RSVP page, drop-in sign-ups."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import audit, clock
from app.celebration import participants, services
from app.celebration.forms import (
    ClinicForm,
    InviteForm,
    ParticipantAnswerForm,
    RsvpForm,
    RunningOrderForm,
    ShowcaseForm,
    SponsorInvitationsForm,
    typed,
)
from app.celebration.models import Guest, Relationship
from app.db import db, write_unit
from app.errors import DomainError, FieldErrors, InvalidToken
from app.exports import spreadsheet_response
from app.permissions import public, signed_in, team_required
from app.programme.access import can_view_session, viewable_cohort_or_404
from app.programme.models import Cohort, ProgrammeSession
from app.unit_of_work import unit_of_work

bp = Blueprint("celebration", __name__, template_folder="templates")


def _overview(cohort: Cohort, *, kept: dict[str, str] | None = None, invite_error: DomainError | None = None,
              showcase_error: DomainError | None = None, order_errors: FieldErrors | None = None,
              answer_error: DomainError | None = None):
    """The page; after a refused form it is shown again with what was typed (`kept`) and the message beside
    it (for the running order, one message per place field: `order_errors`)."""
    guests = services.guests_for(current_user, cohort)
    if current_user.is_staff:
        everyone = participants.participant_answers(cohort)
        team_view = dict(participant_rows=everyone, headcount=participants.venue_headcount(everyone, guests))
    else:
        team_view = dict(participant_rows=[], headcount=None)
    return render_template("celebration/overview.html", cohort=cohort, guests=guests, **team_view,
                           my_answer=participants.my_answer(current_user, cohort), answer_error=answer_error,
                           counts=services.rsvp_counts(guests), event=services.celebration_session(cohort.id),
                           showcases=services.showcases_of(cohort), relationships=list(Relationship), now=clock.now(),
                           typed=kept or {}, invite_error=invite_error, showcase_error=showcase_error,
                           order_errors=order_errors.errors if order_errors else {},
                           needs_for_the_venue=services.needs_for_the_venue,
                           form_errors=bool(invite_error or showcase_error or order_errors or answer_error))


@bp.get("/cohorts/<int:cohort_id>/celebration")
@signed_in
def overview(cohort_id: int):
    return _overview(viewable_cohort_or_404(cohort_id))


@bp.post("/cohorts/<int:cohort_id>/celebration/guests")
@signed_in
def invite(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = InviteForm()
    with unit_of_work(flash_error=False) as work:
        guest = services.invite_guest(actor=current_user, cohort=cohort, name=form.name.data or "",
                                      email=form.email.data or "", relationship=form.relationship.data or "",
                                      now=clock.now())
        work.success = f"Invitation sent to {guest.name}."
    if work.failed:
        return _overview(cohort, kept=typed(form), invite_error=work.error)
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/celebration/my-answer")
@signed_in
def answer(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = ParticipantAnswerForm()
    with unit_of_work(flash_error=False) as work:
        mine = participants.answer_celebration(actor=current_user, cohort=cohort, coming=form.coming.data or "",
                                               access_needs=form.access_needs.data or "",
                                               dietary_needs=form.dietary_needs.data or "", now=clock.now())
        work.success = ("Thank you: we have you down as coming." if mine.is_coming
                        else "Thank you: we have you down as not coming.")
    if work.failed:
        return _overview(cohort, kept=typed(form), answer_error=work.error)
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/guests/<int:guest_id>/stop")
@signed_in
def stop(guest_id: int):
    guest = db.get_or_404(Guest, guest_id)
    viewable_cohort_or_404(guest.cohort_id)
    with unit_of_work(f"We will not invite {guest.name}."):
        services.stop_proposed_invitation(actor=current_user, guest=guest)
    return redirect(url_for("celebration.overview", cohort_id=guest.cohort_id))


@bp.post("/cohorts/<int:cohort_id>/celebration/sponsors")
@team_required
def propose_sponsors(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    form = SponsorInvitationsForm()
    if form.action.data == "send":
        with unit_of_work("Line managers' invitations sent (except those participants stopped)."):
            services.send_proposed_invitations(actor=current_user, cohort=cohort, now=clock.now())
    else:
        with unit_of_work("Line managers are proposed as guests. Participants can stop their invitation before "
                          "you send."):
            services.propose_sponsor_invitations(cohort=cohort, now=clock.now())
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/celebration/showcases")
@signed_in
def propose(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = ShowcaseForm()
    with unit_of_work("Thank you: your showcase is proposed.", flash_error=False) as work:
        services.propose_showcase(actor=current_user, cohort=cohort, title=form.title.data or "",
                                  description=form.description.data or "", format=form.format.data or "")
    if work.failed:
        return _overview(cohort, kept=typed(form), showcase_error=work.error)
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/celebration/running-order")
@team_required
def running_order(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    form = RunningOrderForm()
    # As typed: the service checks each id belongs to this cohort and each place is a small number.
    with unit_of_work("Running order saved.", flash_error=False) as work:
        services.set_running_order(actor=current_user, cohort=cohort, positions=form.positions.data)
    if isinstance(work.error, FieldErrors):  # wrong places: the table again, as typed, each beside its showcase
        kept = {f"{form.positions.PREFIX}{key}": value for key, value in form.positions.data.items()}
        return _overview(cohort, kept=kept, order_errors=work.error)
    if work.failed:  # the page was out of date: nothing on it to point at
        flash(work.error.message, "error")
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


GUEST_HEADERS = ["Name", "Email", "Relationship", "Invited by", "Invitation", "RSVP", "Access needs", "Dietary needs",
                 "Row"]


@bp.get("/cohorts/<int:cohort_id>/celebration/guests.<any(csv, xlsx):fmt>")
@team_required
def export(cohort_id: int, fmt: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    # Needs only of guests who are coming: this list is what the venue plans from.
    guests = services.guests_of(cohort)
    rows = [[g.name, g.email, g.relationship_label, g.invited_by.user.name if g.invited_by else "", g.status,
             g.rsvp, *services.needs_for_the_venue(g), "Guest"] for g in guests]
    # Participants' own answers follow (needs only of those coming), then the venue's headcount.
    everyone = participants.participant_answers(cohort)
    rows += [[p.name, p.email, "Participant", "", "", p.answer, p.access_needs, p.dietary_needs, "Participant"]
             for p in everyone]
    rows.append([participants.venue_headcount(everyone, guests).summary(), "", "", "", "", "", "", "", "Headcount"])
    with write_unit():
        audit.record(actor=current_user, action="guests_exported", target_type="cohort", target_id=cohort.id,
                     detail={"format": fmt, "rows": len(rows)})
    return spreadsheet_response(fmt, GUEST_HEADERS, rows, title="Guests", filename_stem=f"guests-{cohort.name}")


@bp.route("/rsvp/<token>", methods=["GET", "POST"])
@public
def rsvp(token: str):
    now = clock.now()
    try:
        link = services.open_rsvp(token=token, now=now)
    except InvalidToken as error:
        return _private(render_template("celebration/rsvp_invalid.html", message=error.message), 404)
    form = RsvpForm()
    error_message = None
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            services.answer_rsvp(token=token, coming=form.coming.data == "yes", now=now,
                                 access_needs=form.access_needs.data or "",
                                 dietary_needs=form.dietary_needs.data or "")
        if not work.failed:
            return redirect(url_for("celebration.rsvp", token=token, saved=1))
        error_message = work.error.message
    elif form.coming.errors:
        error_message = form.coming.errors[0]
    body = render_template("celebration/rsvp.html", link=link, guest=link.guest, event=link.event, now=now,
                           error_message=error_message, saved=request.args.get("saved"), form=typed(form),
                           form_errors=bool(error_message))
    return _private(body)


def _private(body: str, status: int = 200) -> Response:
    """A page reached by a secret link: not cached, and the link not passed on as a referrer."""
    return Response(body, status=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.route("/sessions/<int:session_id>/clinic", methods=["GET", "POST"])
@signed_in
def clinic(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    if not can_view_session(current_user, session) or session.kind != "drop_in":
        abort(404)
    if request.method == "POST":
        if current_user.is_staff:
            abort(403)
        form = ClinicForm()
        if form.action.data == "cancel":
            with unit_of_work("You are no longer down for this clinic."):
                services.cancel_clinic_signup(actor=current_user, session=session, now=clock.now())
        else:
            with unit_of_work() as work:
                signup = services.sign_up_for_clinic(actor=current_user, session=session, now=clock.now(),
                                                     topic=form.topic.data or "")
                work.success = ("Thank you: the facilitator will see your topic before the clinic." if signup.topic
                                else "Thank you: the facilitator will see that you plan to come.")
        return redirect(url_for("celebration.clinic", session_id=session.id))
    signups = services.clinic_signups(session)
    return render_template("celebration/clinic.html", session=session, cohort=session.cohort,
                           state=services.clinic_state(session, now=clock.now()),
                           signups=signups if current_user.is_staff else [], mine=services.signup_of(current_user, signups))
