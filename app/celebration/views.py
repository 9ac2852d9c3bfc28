"""The celebration page (guests, showcases, running order), guests' RSVP page, drop-in sign-ups."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import audit, clock
from app.celebration import services
from app.celebration.models import Guest, Relationship, Rsvp
from app.db import db, write_unit
from app.errors import DomainError, InvalidToken
from app.exports import spreadsheet_response
from app.permissions import public, signed_in, team_required
from app.programme.access import can_view_session, viewable_cohort_or_404
from app.programme.models import Cohort, ProgrammeSession

bp = Blueprint("celebration", __name__, template_folder="templates")


def _flash_result(action, success: str):
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success, "success")


def _overview(cohort: Cohort, *, invite_error: DomainError | None = None, showcase_error: DomainError | None = None):
    """The page; after a refused form it is shown again with what was typed and the message beside it."""
    guests = services.guests_of(cohort) if current_user.is_staff else services.my_guests(current_user, cohort)
    counts = {r.value: sum(1 for g in guests if g.rsvp == r and g.status == "invited") for r in Rsvp}
    typed = request.form if request.method == "POST" else {}
    return render_template("celebration/overview.html", cohort=cohort, guests=guests, counts=counts,
                           event=services.celebration_session(cohort.id), showcases=services.showcases_of(cohort),
                           relationships=list(Relationship), now=clock.now(), typed=typed,
                           invite_error=invite_error, showcase_error=showcase_error,
                           form_errors=bool(invite_error or showcase_error))


@bp.get("/cohorts/<int:cohort_id>/celebration")
@signed_in
def overview(cohort_id: int):
    return _overview(viewable_cohort_or_404(cohort_id))


@bp.post("/cohorts/<int:cohort_id>/celebration/guests")
@signed_in
def invite(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = request.form
    try:
        guest = services.invite_guest(actor=current_user, cohort=cohort, name=form.get("name", ""),
                                      email=form.get("email", ""), relationship=form.get("relationship", ""),
                                      now=clock.now())
    except DomainError as error:
        db.session.rollback()
        return _overview(cohort, invite_error=error)
    db.session.commit()
    flash(f"Invitation sent to {guest.name}.", "success")
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/guests/<int:guest_id>/stop")
@signed_in
def stop(guest_id: int):
    guest = db.get_or_404(Guest, guest_id)
    viewable_cohort_or_404(guest.cohort_id)
    _flash_result(lambda: services.stop_proposed_invitation(actor=current_user, guest=guest),
                  f"We will not invite {guest.name}.")
    return redirect(url_for("celebration.overview", cohort_id=guest.cohort_id))


@bp.post("/cohorts/<int:cohort_id>/celebration/sponsors")
@team_required
def propose_sponsors(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    if request.form.get("action") == "send":
        _flash_result(lambda: services.send_proposed_invitations(actor=current_user, cohort=cohort, now=clock.now()),
                      "Line managers' invitations sent (except those participants stopped).")
    else:
        _flash_result(lambda: services.propose_sponsor_invitations(cohort=cohort, now=clock.now()),
                      "Line managers are proposed as guests. Participants can stop their invitation before you send.")
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/celebration/showcases")
@signed_in
def propose(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = request.form
    try:
        services.propose_showcase(actor=current_user, cohort=cohort, title=form.get("title", ""),
                                  description=form.get("description", ""), format=form.get("format", ""))
    except DomainError as error:
        db.session.rollback()
        return _overview(cohort, showcase_error=error)
    db.session.commit()
    flash("Thank you: your showcase is proposed.", "success")
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/celebration/running-order")
@team_required
def running_order(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    # As typed: the service checks each id belongs to this cohort and each place is a small number.
    positions = {key.removeprefix("position-"): value for key, value in request.form.items()
                 if key.startswith("position-")}
    _flash_result(lambda: services.set_running_order(actor=current_user, cohort=cohort, positions=positions),
                  "Running order saved.")
    return redirect(url_for("celebration.overview", cohort_id=cohort.id))


GUEST_HEADERS = ["Name", "Email", "Relationship", "Invited by", "Invitation", "RSVP", "Access needs", "Dietary needs"]


@bp.get("/cohorts/<int:cohort_id>/celebration/guests.<any(csv, xlsx):fmt>")
@team_required
def export(cohort_id: int, fmt: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = [[g.name, g.email, g.relationship_label, g.invited_by.user.name if g.invited_by else "", g.status,
             g.rsvp, g.access_needs, g.dietary_needs] for g in services.guests_of(cohort)]
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
    error_message = None
    if request.method == "POST":
        choice = request.form.get("coming")
        if choice not in ("yes", "no"):
            error_message = "Choose whether you will come"
        else:
            try:
                services.answer_rsvp(token=token, coming=choice == "yes", now=now,
                                     access_needs=request.form.get("access_needs", ""),
                                     dietary_needs=request.form.get("dietary_needs", ""))
            except DomainError as error:
                db.session.rollback()
                error_message = error.message
            else:
                db.session.commit()
                return redirect(url_for("celebration.rsvp", token=token, saved=1))
    body = render_template("celebration/rsvp.html", link=link, guest=link.guest, event=link.event, now=now,
                           error_message=error_message, saved=request.args.get("saved"), form=request.form,
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
        if request.form.get("action") == "cancel":
            _flash_result(lambda: services.cancel_clinic_signup(actor=current_user, session=session),
                          "You are no longer down for this clinic.")
        else:
            _flash_result(lambda: services.sign_up_for_clinic(actor=current_user, session=session, now=clock.now(),
                                                              topic=request.form.get("topic", "")),
                          "Thank you: the facilitator will see your topic before the clinic.")
        return redirect(url_for("celebration.clinic", session_id=session.id))
    signups = services.clinic_signups(session)
    mine = next((s for s in signups if s.enrolment.user_id == current_user.id), None)
    return render_template("celebration/clinic.html", session=session, cohort=session.cohort, now=clock.now(),
                           signups=signups if current_user.is_staff else [], mine=mine)
