"""Guests and RSVPs, showcases and the running order, drop-in clinic sign-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import func, select, update

from app.applications.models import Application, ApplicationStatus
from app.auth.services import normalise_email
from app.celebration.invitation_calendar import build_guest_invitation
from app.celebration.models import ClinicSignup, Guest, GuestStatus, Relationship, Rsvp, Showcase
from app.db import db
from app.errors import Conflict, DomainError, FieldErrors, InvalidToken, PermissionDenied
from app.notifications.services import Attachment, cancel_pending, cancel_pending_to, queue_email, seal_link
from app.programme.access import enrolment_in
from app.programme.calendar import CalendarUser, calendar_content_type, session_ics_filename
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionKind
from app.tokens import hash_token, new_token
from app.urls import absolute_url, site_domain

# What one participant may create: enough for anyone's real use, few enough that nobody can flood the
# page (one person once proposed 825 showcases).
SHOWCASES_PER_PARTICIPANT = 5
GUESTS_PER_PARTICIPANT = 20
# A place in the running order is a small positive number.
MAX_POSITION = 999


def celebration_session(cohort_id: int) -> ProgrammeSession | None:
    return db.session.scalar(select(ProgrammeSession).where(
        ProgrammeSession.cohort_id == cohort_id, ProgrammeSession.kind == SessionKind.CELEBRATION.value,
        ProgrammeSession.status == "scheduled").order_by(ProgrammeSession.starts_at).limit(1))


def _enrolment(user, cohort_id: int) -> Enrolment:
    enrolment = enrolment_in(user, cohort_id)
    if enrolment is None:
        raise PermissionDenied("Only participants of this cohort can do that.")
    return enrolment


def _send_invitation(guest: Guest, *, inviter_name: str, now: datetime) -> None:
    event = celebration_session(guest.cohort_id)
    if event is None:
        raise Conflict("The celebration event is not on the schedule yet.")
    token, guest.token_hash = new_token()
    guest.status, guest.invited_at = GuestStatus.INVITED.value, now
    db.session.flush()
    link = seal_link(absolute_url("celebration.rsvp", token=token))
    context = dict(guest=guest, event=event, inviter=inviter_name, link=link,
                   programme_name=current_app.config["PROGRAMME_NAME"])
    render = {kind: render_template(f"celebration/email/invitation.{kind}", **context) for kind in ("txt", "html")}
    organizer = CalendarUser(current_app.config["CONTACT_EMAIL"], current_app.config["PROGRAMME_NAME"])
    ics = build_guest_invitation(guest, event, organizer=organizer, domain=site_domain(), now=now)
    attachment = Attachment(session_ics_filename(event, event.cohort.timezone), calendar_content_type("REQUEST"),
                            ics.decode())
    queue_email(key=f"guest-invitation:{guest.id}:{guest.token_hash[:12]}", recipient=guest.email,
                subject=f"You are invited: {event.title}", body_text=render["txt"], body_html=render["html"],
                due_at=now, category="celebration", attachments=[attachment])


def invite_guest(*, actor, cohort: Cohort, name: str, email: str, relationship: str, now: datetime) -> Guest:
    enrolment = _enrolment(actor, cohort.id)
    name, email = name.strip(), normalise_email(email)
    if not name:
        raise DomainError("Enter your guest's name.", field="name")
    if not email:
        raise DomainError("Enter your guest's email address.", field="email")
    if not is_email_address(email):
        raise DomainError("Enter an email address in the correct format, like name@example.com", field="email")
    try:
        Relationship(relationship)
    except ValueError:
        raise DomainError("Choose how you know your guest.", field="relationship") from None
    if db.session.scalar(select(Guest.id).where(Guest.cohort_id == cohort.id, Guest.email == email)):
        raise Conflict("That person has already been invited.", field="email")
    invited = db.session.scalar(select(func.count()).select_from(Guest).where(Guest.invited_by_id == enrolment.id))
    if invited >= GUESTS_PER_PARTICIPANT:
        raise Conflict(f"You have invited {GUESTS_PER_PARTICIPANT} guests, the most one participant can. "
                       "Ask the programme team if you need to invite more.", field="name")
    guest = Guest(cohort_id=cohort.id, invited_by_id=enrolment.id, name=name[:120], email=email,
                  relationship_kind=relationship, rsvp=Rsvp.PENDING.value)
    db.session.add(guest)
    db.session.flush()
    _send_invitation(guest, inviter_name=actor.name, now=now)
    return guest


def is_email_address(email: str) -> bool:
    """Whether this is an address mail can go to, by its form alone (the same check as the sign-up forms'
    Email validator; nothing is looked up)."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def propose_sponsor_invitations(*, cohort: Cohort, now: datetime) -> int:
    """Every participant's line manager gets a proposed invitation the participant can stop."""
    rows = db.session.execute(
        select(Enrolment.id, Application.id)
        .join(Application, (Application.applicant_id == Enrolment.user_id) & (Application.cohort_id == cohort.id))
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value,
               Application.status == ApplicationStatus.ACCEPTED.value)).all()
    made = 0
    for enrolment_id, application_id in rows:
        application = db.session.get(Application, application_id)
        approval = application.current_approval
        if approval is None or approval.decision != "approved":
            continue
        email = normalise_email(approval.sponsor_email)
        if db.session.scalar(select(Guest.id).where(Guest.cohort_id == cohort.id, Guest.email == email)):
            continue
        db.session.add(Guest(cohort_id=cohort.id, invited_by_id=enrolment_id, name=approval.sponsor_name,
                             email=email, relationship_kind=Relationship.SPONSOR.value, status=GuestStatus.PROPOSED.value,
                             rsvp=Rsvp.PENDING.value))
        made += 1
    db.session.flush()
    return made


def stop_proposed_invitation(*, actor, guest: Guest) -> None:
    enrolment = _enrolment(actor, guest.cohort_id)
    if guest.invited_by_id != enrolment.id or guest.status != GuestStatus.PROPOSED:
        raise Conflict("Only an invitation that has not been sent can be stopped.")
    guest.status = GuestStatus.NOT_SENT.value
    db.session.flush()


def send_proposed_invitations(*, actor, cohort: Cohort, now: datetime) -> int:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team sends these invitations.")
    proposed = db.session.scalars(select(Guest).where(Guest.cohort_id == cohort.id,
                                                      Guest.status == GuestStatus.PROPOSED.value)).all()
    for guest in proposed:
        inviter = guest.invited_by.user.name if guest.invited_by else "the programme team"
        _send_invitation(guest, inviter_name=inviter, now=now)
    return len(proposed)


@dataclass(frozen=True)
class RsvpLink:
    guest: Guest
    event: ProgrammeSession | None
    is_past: bool


def open_rsvp(*, token: str, now: datetime) -> RsvpLink:
    guest = db.session.scalar(select(Guest).where(Guest.token_hash == hash_token(token)))
    if guest is None or guest.status != GuestStatus.INVITED:
        raise InvalidToken("This invitation link is not valid. Check you used the whole link from the email.")
    event = celebration_session(guest.cohort_id)
    return RsvpLink(guest, event, event is None or event.starts_at <= now)


def answer_rsvp(*, token: str, coming: bool, access_needs: str, dietary_needs: str, now: datetime) -> Guest:
    """A guest answers (and may change their answer until the day). Capacity is checked atomically.

    The needs are kept as given whatever the answer, so a guest who says no and later yes finds them
    still filled in; the team's lists and the export show them only for guests who are coming."""
    link = open_rsvp(token=token, now=now)
    guest = link.guest
    if link.is_past:
        raise Conflict("The event has started, so answers can no longer be changed.")
    cohort = db.session.get(Cohort, guest.cohort_id)
    if coming and guest.rsvp != Rsvp.YES:
        # Lock the cohort row so two last-place answers cannot both get in.
        db.session.execute(update(Cohort).where(Cohort.id == cohort.id).values(guest_capacity=Cohort.guest_capacity)
                           .execution_options(synchronize_session=False))
        taken = db.session.scalar(select(func.count()).select_from(Guest).where(
            Guest.cohort_id == cohort.id, Guest.rsvp == Rsvp.YES.value))
        if taken >= cohort.guest_capacity:
            raise Conflict("Sorry, the event is full: all guest places have been taken. The organisers have a "
                           "note of your interest.")
    guest.rsvp = Rsvp.YES.value if coming else Rsvp.NO.value
    guest.access_needs = access_needs.strip()[:1000]
    guest.dietary_needs = dietary_needs.strip()[:1000]
    guest.responded_at = now
    if not coming:
        cancel_pending_to(guest.email, ("guest_reminder",))
    db.session.flush()
    return guest


def notify_guests_of_change(event: ProgrammeSession, *, now: datetime, was_starting_at: datetime) -> int:
    """Tell every invited guest who has not said no that the celebration moved or was cancelled.

    Their RSVP link cannot go again (only its hash is kept), so the email points them to their
    invitation. Pending guest reminders were cancelled with the change; the next planning pass
    writes them for the new time (none for a cancelled event). Returns how many were told.
    """
    guests = db.session.scalars(select(Guest).where(Guest.cohort_id == event.cohort_id,
                                                    Guest.status == GuestStatus.INVITED.value,
                                                    Guest.rsvp != Rsvp.NO.value).order_by(Guest.id)).all()
    verb = "changed" if not event.is_off else "postponed" if event.status == "postponed" else "cancelled"
    organizer = CalendarUser(current_app.config["CONTACT_EMAIL"], current_app.config["PROGRAMME_NAME"])
    method = "CANCEL" if event.is_off else "REQUEST"
    for guest in guests:
        # The same UID as their invitation and a higher SEQUENCE: their calendar moves or removes the event.
        ics = build_guest_invitation(guest, event, organizer=organizer, domain=site_domain(), now=now,
                                     cancelled=event.is_off)
        attachment = Attachment(session_ics_filename(event, event.cohort.timezone), calendar_content_type(method),
                                ics.decode())
        context = dict(guest=guest, event=event, cohort=event.cohort, was_starting_at=was_starting_at,
                       inviter=guest.invited_by.user.name if guest.invited_by else "The programme team",
                       programme_name=current_app.config["PROGRAMME_NAME"])
        render = {kind: render_template(f"celebration/email/changed.{kind}", **context) for kind in ("txt", "html")}
        queue_email(key=f"guest-event-changed:{event.id}:{event.sequence}:{guest.id}", recipient=guest.email,
                    subject=f"{event.title} has been {verb}", body_text=render["txt"], body_html=render["html"],
                    due_at=now, category="celebration", attachments=[attachment])
    return len(guests)


def on_cohort_settings_changed(cohort: Cohort, *, changes: dict, actor, now: datetime) -> None:
    """Subscribed to programme's `cohort_settings_changed`: fewer guest places than guests already
    coming is refused."""
    if "guest_capacity" in changes:
        coming = db.session.scalar(select(func.count()).select_from(Guest).where(
            Guest.cohort_id == cohort.id, Guest.rsvp == Rsvp.YES.value))
        if cohort.guest_capacity < coming:
            raise Conflict(f"{coming} guests have said they are coming, so the celebration needs at least {coming} "
                           "guest places.", field="guest_capacity")


def on_session_changed(session: ProgrammeSession, *, now: datetime, was_starting_at: datetime) -> None:
    """Subscribed to programme's `session_changed`: guest reminders planned for the old time go (the
    next planning pass writes them again), and guests hear of a celebration moved or cancelled."""
    cancel_pending(f"guest-reminder:{session.id}:")
    if session.kind == SessionKind.CELEBRATION and session.ends_at > now:
        notify_guests_of_change(session, now=now, was_starting_at=was_starting_at)


def guests_of(cohort: Cohort) -> list[Guest]:
    return list(db.session.scalars(select(Guest).where(Guest.cohort_id == cohort.id).order_by(Guest.name)))


def my_guests(actor, cohort: Cohort) -> list[Guest]:
    enrolment = _enrolment(actor, cohort.id)
    return list(db.session.scalars(select(Guest).where(Guest.invited_by_id == enrolment.id).order_by(Guest.id)))


def guests_for(actor, cohort: Cohort) -> list[Guest]:
    """The guests a person sees on the celebration page: all of them for staff, their own for a participant."""
    return guests_of(cohort) if actor.is_staff else my_guests(actor, cohort)


def needs_for_the_venue(guest: Guest) -> tuple[str, str]:
    """A guest's access and dietary needs as the team plans the venue: only a guest who is coming has any."""
    return (guest.access_needs, guest.dietary_needs) if guest.rsvp == Rsvp.YES else ("", "")


def rsvp_counts(guests: list[Guest]) -> dict[str, int]:
    """How many of these guests, once invited, have said yes, no, or not yet answered."""
    return {r.value: sum(1 for g in guests if g.rsvp == r and g.status == "invited") for r in Rsvp}


# -- showcases -------------------------------------------------------------------------------

def propose_showcase(*, actor, cohort: Cohort, title: str, description: str, format: str) -> Showcase:
    enrolment = _enrolment(actor, cohort.id)
    if not title.strip():
        raise DomainError("Give your showcase a title.", field="title")
    proposed = db.session.scalar(select(func.count()).select_from(Showcase).where(
        Showcase.cohort_id == cohort.id, Showcase.enrolment_id == enrolment.id))
    if proposed >= SHOWCASES_PER_PARTICIPANT:
        raise Conflict(f"You have proposed {SHOWCASES_PER_PARTICIPANT} showcases, the most one participant can. "
                       "Ask the programme team if you want to change one.", field="title")
    showcase = Showcase(cohort_id=cohort.id, enrolment_id=enrolment.id, title=title.strip()[:200],
                        description=description.strip()[:2000], format=format.strip()[:60])
    db.session.add(showcase)
    db.session.flush()
    return showcase


def _whole_number(value: str | int | None) -> int | None:
    text = "" if value is None else str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def place_field(showcase: Showcase) -> str:
    """The name of a showcase's place input on the running order form."""
    return f"position-{showcase.id}"


def set_running_order(*, actor, cohort: Cohort, positions: dict[str | int, str | int | None]) -> None:
    """Places as typed into the form: {showcase id: place}. Every id must be one of this cohort's
    showcases (else the whole form is refused: the page is out of date) and every place blank or a
    whole number from 1 to MAX_POSITION, no two the same; each wrong place is refused against its
    own showcase (FieldErrors keyed by `place_field`), and nothing changes until all are right."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team sets the running order.")
    showcases = {s.id: s for s in showcases_of(cohort)}
    places: dict[Showcase, int | None] = {}
    errors: dict[Showcase, str] = {}
    for raw_id, raw_place in positions.items():
        showcase = showcases.get(_whole_number(raw_id) or 0)
        if showcase is None:
            raise DomainError("That showcase is not in this cohort's celebration. Reload the page and try again.",
                              field="positions")
        blank = raw_place is None or not str(raw_place).strip()
        place = None if blank else _whole_number(raw_place)
        if not blank and (place is None or not 1 <= place <= MAX_POSITION):
            errors[showcase] = (f"Enter the place of “{showcase.title}” as a whole number from 1 to {MAX_POSITION}, "
                                "or leave it blank.")
        places[showcase] = place
    sharing: dict[int, list[Showcase]] = {}
    for showcase, place in places.items():
        if place is not None and showcase not in errors:
            sharing.setdefault(place, []).append(showcase)
    for place, same in sharing.items():
        for showcase in same if len(same) > 1 else ():
            others = " and ".join(f"“{other.title}”" for other in same if other is not showcase)
            errors[showcase] = (f"“{showcase.title}” has the same place ({place}) as {others}. "
                                "Give each showcase its own place.")
    if errors:
        order = list(showcases.values())
        raise FieldErrors({place_field(s): errors[s] for s in sorted(errors, key=order.index)})
    for showcase, place in places.items():
        showcase.position = place
    db.session.flush()


def showcases_of(cohort: Cohort) -> list[Showcase]:
    return sorted(db.session.scalars(select(Showcase).where(Showcase.cohort_id == cohort.id)),
                  key=lambda s: (s.position is None, s.position or 0, s.id))


# -- drop-in clinics -------------------------------------------------------------------------

def clinic_state(session: ProgrammeSession, *, now: datetime) -> str:
    """Where a drop-in clinic is for sign-ups: "open" (still to come), "cancelled", "started" or "over"."""
    if session.is_off:
        return "cancelled"
    if session.starts_at > now:
        return "open"
    return "started" if session.ends_at > now else "over"


def _check_clinic_open(session: ProgrammeSession, *, now: datetime) -> None:
    state = clinic_state(session, now=now)
    if state == "over":
        raise Conflict("This clinic has already taken place, so you can no longer say you will come.")
    if state == "started":
        raise Conflict("This clinic has already started, so you can no longer say you will come or change "
                       "your answer.")
    if state == "cancelled":
        raise Conflict("This clinic is not going ahead, so you cannot say you will come.")


def sign_up_for_clinic(*, actor, session: ProgrammeSession, topic: str, now: datetime) -> ClinicSignup:
    if session.kind != SessionKind.DROP_IN:
        raise Conflict("Only drop-in clinics take sign-ups.")
    _check_clinic_open(session, now=now)
    enrolment = _enrolment(actor, session.cohort_id)
    signup = db.session.scalar(select(ClinicSignup).where(ClinicSignup.session_id == session.id,
                                                          ClinicSignup.enrolment_id == enrolment.id))
    if signup is None:
        signup = ClinicSignup(session_id=session.id, enrolment_id=enrolment.id, created_at=now)
        db.session.add(signup)
    signup.topic = topic.strip()[:1000]
    db.session.flush()
    return signup


def cancel_clinic_signup(*, actor, session: ProgrammeSession, now: datetime) -> None:
    _check_clinic_open(session, now=now)
    enrolment = _enrolment(actor, session.cohort_id)
    signup = db.session.scalar(select(ClinicSignup).where(ClinicSignup.session_id == session.id,
                                                          ClinicSignup.enrolment_id == enrolment.id))
    if signup is not None:
        db.session.delete(signup)
        db.session.flush()


def signup_of(actor, signups: list[ClinicSignup]) -> ClinicSignup | None:
    """This person's own sign-up among a clinic's, if they have one."""
    return next((s for s in signups if s.enrolment.user_id == actor.id), None)


def clinic_signups(session: ProgrammeSession) -> list[ClinicSignup]:
    return list(db.session.scalars(select(ClinicSignup).where(ClinicSignup.session_id == session.id)
                                   .order_by(ClinicSignup.created_at)))


def session_deletion_notes(session: ProgrammeSession) -> list[str]:
    """For the team's page before a session is deleted (`app.programme.signals.register_deletion_notes`)."""
    notes = []
    signups = db.session.scalar(select(func.count()).select_from(ClinicSignup)
                                .where(ClinicSignup.session_id == session.id))
    if signups:
        notes.append(f"{signups} clinic sign-up{'s' if signups != 1 else ''} (with the topics people gave) "
                     f"{'are' if signups != 1 else 'is'} deleted.")
    if session.kind == SessionKind.CELEBRATION:
        guests = db.session.scalar(select(func.count()).select_from(Guest).where(
            Guest.cohort_id == session.cohort_id, Guest.rsvp != Rsvp.NO.value))
        if guests:
            notes.append(f"{guests} invited guest{'s' if guests != 1 else ''} who have not said no "
                         f"{'are' if guests != 1 else 'is'} emailed that the celebration is cancelled.")
    return notes
