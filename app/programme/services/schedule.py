"""The schedule's rules: adding, changing, moving, postponing, cancelling and reinstating sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select

from app import audit, clock
from app.auth.models import User
from app.db import db
from app.errors import Conflict, DomainError
from app.notifications.services import cancel_pending_any, count_pending_any
from app.programme.change_notices import notify_session_change, one_email_per_person
from app.programme.models import (
    Cohort,
    Enrolment,
    EnrolmentStatus,
    ProgrammeModule,
    ProgrammeSession,
    SessionChange,
    SessionChangeKind,
    SessionFacilitator,
    SessionKind,
    SessionStatus,
)
from app.programme.reminder_rules import RULES
from app.programme.services.cohorts import require_team
from app.programme.signals import deletion_notes, session_calling_off
from app.programme.template import WorkingDays


@dataclass
class SessionDetails:
    """What the team types for a session, in the cohort's local time."""

    title: str
    kind: str
    day: date
    starts: time
    ends: time
    module_number: int | None = None
    part: int | None = None
    join_url: str = ""
    venue: str = ""
    access_info: str = ""
    description: str = ""
    # The team has confirmed an unusual date: a weekend or bank holiday, or one day of a module moved
    # away from the other.
    keep_date: bool = False


def _instant(details: SessionDetails, at: time, field: str, tz: str) -> datetime:
    problem = clock.wall_clock_problem(details.day, at, tz)
    if problem == "missing":
        raise DomainError(f"{at:%H:%M} does not exist on {details.day:%-d %B %Y}: the clocks go forward an hour "
                          "that night. Choose a time after 02:00.", field=field)
    if problem == "ambiguous":
        raise DomainError(f"{at:%H:%M} happens twice on {details.day:%-d %B %Y}: the clocks go back an hour that "
                          "night. Choose a time after 02:00.", field=field)
    return clock.local_instant(details.day, at, tz)


def _apply(session: ProgrammeSession, cohort: Cohort, details: SessionDetails) -> None:
    title = " ".join(details.title.split())  # one line: titles go into email subjects and calendars
    if not title:
        raise DomainError("Give the session a title.", field="title")
    try:
        kind = SessionKind(details.kind)
    except ValueError:
        raise DomainError("Choose what kind of session this is.", field="kind") from None
    if details.ends <= details.starts:
        raise DomainError("The session must end after it starts.", field="ends")
    join_url = details.join_url.strip()
    if join_url and not join_url.startswith("https://"):
        raise DomainError("A join link must start with https://", field="join_url")
    module = None
    part = None
    if kind == SessionKind.MODULE:
        if details.module_number not in range(1, 6):
            raise DomainError("Choose which module (1 to 5) this day belongs to.", field="module_number")
        if details.part not in (1, 2):
            raise DomainError("Choose day 1 or day 2 of the module.", field="part")
        module = next((m for m in cohort.modules if m.number == details.module_number), None)
        if module is None:
            raise DomainError(f"This cohort has no module {details.module_number}.", field="module_number")
        part = details.part
    session.kind = kind.value
    session.module = module
    session.part = part
    session.title = title
    session.description = details.description.strip()
    session.starts_at = _instant(details, details.starts, "starts", cohort.timezone)
    session.ends_at = _instant(details, details.ends, "ends", cohort.timezone)
    session.join_url = join_url
    session.venue = details.venue.strip()
    session.access_info = details.access_info.strip()


KEEP_HINT = "Choose another date, or tick \"Keep this date anyway\" if it is what you mean."


def _day_off(day: date) -> str | None:
    """Why a day is not a working day in the programme's bank holiday region, or None."""
    if day.weekday() >= 5:
        return f"{day:%-d %B %Y} is a {day:%A}"
    days = WorkingDays(day, current_app.config["BANK_HOLIDAY_REGION"])
    return None if days.is_working(day) else f"{day:%-d %B %Y} is a bank holiday"


def _module_coconsulting(cohort: Cohort, number: int) -> ProgrammeSession | None:
    """The co-consulting session that follows module `number` (the template plans one after each module,
    in order)."""
    sessions = sorted((s for s in cohort.sessions if s.kind == SessionKind.CO_CONSULTING), key=lambda s: s.id)
    return sessions[number - 1] if 0 < number <= len(sessions) else None


def _check_place_in_year(session: ProgrammeSession, cohort: Cohort, *, was_starting_at: datetime | None,
                         now: datetime, keep_date: bool, module_move: bool = False) -> None:
    """A session's new date must make sense in the year: not before the welcome, a module day before the
    co-consulting session that follows the module (refused); not in the past, not on a weekend or bank
    holiday, nor one day of a module moved away from the other (refused unless the team confirms with
    `keep_date`: recording when a session really took place is a past date on purpose). Unchanged dates
    are not checked again."""
    if was_starting_at is not None and session.starts_at == was_starting_at:
        return
    tz = cohort.timezone
    day = clock.to_local(session.starts_at, tz).date()
    if session.starts_at <= now and not keep_date:
        raise DomainError("That time has already passed, so nobody will be told. To record when it really took "
                          "place, tick \"Keep this date anyway\"; to record that it did not take place, use its "
                          "status page.", field="day")
    welcome = next((s for s in cohort.sessions if s.kind == SessionKind.WELCOME and s is not session), None)
    if welcome is not None and session.kind != SessionKind.WELCOME and session.starts_at < welcome.starts_at:
        raise DomainError(f"That is before the cohort's welcome on {clock.to_local(welcome.starts_at, tz):%-d %B %Y}."
                          " Every session comes after it.", field="day")
    why = _day_off(day)
    if why and not keep_date:
        raise DomainError(f"{why}. {KEEP_HINT}", field="day")
    if session.kind == SessionKind.MODULE and session.module is not None:
        number = session.module.number
        if not module_move and not keep_date and was_starting_at is not None:
            other = next((s for s in session.module.sessions if s is not session and s.part != session.part), None)
            if other is not None:
                first, second = sorted([session, other], key=lambda s: s.part or 0)
                first_day = clock.to_local(first.starts_at, tz).date()
                second_day = clock.to_local(second.starts_at, tz).date()
                expected = WorkingDays(first_day, current_app.config["BANK_HOLIDAY_REGION"]).on_or_after(
                    first_day + timedelta(days=1))
                if second_day != expected:
                    raise DomainError(f"The two days of Module {number} would no longer be consecutive working days. "
                                      "To move the module, use \"Move both days\" on the schedule. "
                                      f"{KEEP_HINT}", field="day")
        follow_up = _module_coconsulting(cohort, number)
        if follow_up is not None and not follow_up.is_off and session.ends_at >= follow_up.starts_at:
            raise DomainError(f"Module {number} would then come after its co-consulting session on "
                              f"{clock.to_local(follow_up.starts_at, tz):%-d %B %Y}, which follows the module. Move "
                              "that session first, or choose an earlier date.", field="day")
    if session.kind == SessionKind.CO_CONSULTING:
        ordered = sorted((s for s in cohort.sessions if s.kind == SessionKind.CO_CONSULTING), key=lambda s: s.id)
        number = ordered.index(session) + 1 if session in ordered else None
        module = next((m for m in cohort.modules if m.number == number), None)
        days = [s for s in (module.sessions if module else []) if not s.is_off]
        if days and session.starts_at <= max(s.ends_at for s in days):
            raise DomainError(f"Co-consulting session {number} follows Module {number}, whose last day is "
                              f"{clock.to_local(max(s.ends_at for s in days), tz):%-d %B %Y}. Choose a later date.",
                              field="day")


def add_session(*, actor: User, cohort: Cohort, details: SessionDetails, now: datetime | None = None
                ) -> ProgrammeSession:
    require_team(actor)
    session = ProgrammeSession(status=SessionStatus.SCHEDULED.value, sequence=0)
    with db.session.no_autoflush:
        _apply(session, cohort, details)
        session.cohort = cohort
        _check_place_in_year(session, cohort, was_starting_at=None, now=now or clock.now(),
                             keep_date=details.keep_date)
    db.session.add(session)
    db.session.flush()
    notify_session_change(session, now=now or clock.now(), was_starting_at=session.starts_at, added=True)
    return session


def update_session(*, actor: User, session: ProgrammeSession, details: SessionDetails,
                   now: datetime | None = None, module_move: bool = False) -> bool:
    """Change a session. When anything changed, the ICS sequence is bumped and everyone is told."""
    require_team(actor)
    before = _snapshot(session)
    old_start = session.starts_at
    now = now or clock.now()
    with db.session.no_autoflush:
        _apply(session, session.cohort, details)
        _check_place_in_year(session, session.cohort, was_starting_at=old_start, now=now,
                             keep_date=details.keep_date, module_move=module_move)
    changed = _snapshot(session) != before
    if changed:
        session.sequence += 1
        if session.starts_at != old_start:
            _record_change(session, SessionChangeKind.MOVED, actor=actor, now=now, from_starts_at=old_start)
        db.session.flush()
        notify_session_change(session, now=now, was_starting_at=old_start)
    db.session.flush()
    return changed


def _record_change(session: ProgrammeSession, kind: SessionChangeKind, *, actor: User, now: datetime,
                   from_starts_at: datetime, reason: str = "") -> None:
    db.session.add(SessionChange(session_id=session.id, kind=kind.value, changed_at=now, from_starts_at=from_starts_at,
                                 to_starts_at=None if session.is_off else session.starts_at, reason=reason,
                                 actor_id=actor.id))


def _reason(reason: str, what: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError(f"Say why {what}: participants and the report will read it.", field="reason")
    if len(reason) > 500:
        raise DomainError("Keep the reason to 500 characters.", field="reason")
    return reason


def postpone_session(*, actor: User, session: ProgrammeSession, reason: str, now: datetime) -> None:
    """Postpone a session with its new date to be confirmed: participants are told, calendars updated."""
    require_team(actor)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(f"This session cannot be postponed: it is {session.status_label.lower()}.")
    if session.ends_at <= now:
        raise Conflict("This session has already ended. If it did not take place, record that instead.")
    _call_off(session, SessionStatus.POSTPONED, SessionChangeKind.POSTPONED, actor=actor, now=now,
              reason=_reason(reason, "it is postponed"))


def set_new_date(*, actor: User, session: ProgrammeSession, day: date, starts: time, ends: time,
                 now: datetime) -> None:
    """Give a postponed session its new date: it is scheduled again and everyone is told."""
    require_team(actor)
    if session.status != SessionStatus.POSTPONED:
        raise Conflict("Only a postponed session is given a new date; move a scheduled session instead.")
    if ends <= starts:
        raise DomainError("The session must end after it starts.", field="ends")
    was = session.starts_at
    new_start = clock.local_instant(day, starts, session.cohort.timezone)
    if new_start <= now:
        raise DomainError("Choose a date and time that have not passed yet.", field="day")
    session.starts_at = new_start
    session.ends_at = clock.local_instant(day, ends, session.cohort.timezone)
    session.status = SessionStatus.SCHEDULED.value
    session.sequence += 1
    _record_change(session, SessionChangeKind.DATED, actor=actor, now=now, from_starts_at=was,
                   reason=session.status_reason)
    db.session.flush()
    notify_session_change(session, now=now, was_starting_at=was)


def mark_not_held(*, actor: User, session: ProgrammeSession, reason: str, now: datetime) -> None:
    """Record that a session's time came and it did not take place (no email: it is in the past)."""
    require_team(actor)
    if session.status != SessionStatus.SCHEDULED:
        raise Conflict(f"This session is {session.status_label.lower()} already.")
    if session.starts_at > now:
        raise Conflict("This session has not started yet: postpone or cancel it instead.")
    _call_off(session, SessionStatus.NOT_HELD, SessionChangeKind.NOT_HELD, actor=actor, now=now,
              reason=_reason(reason, "it did not take place"))


def _call_off(session: ProgrammeSession, status: SessionStatus, kind: SessionChangeKind, *, actor: User,
              now: datetime, reason: str) -> int:
    """The session is not going ahead as scheduled: record why and when, and tell everyone. The domains
    holding records of the session (registers) may refuse first. Returns how many were emailed."""
    session_calling_off.send(session, status=status, now=now)
    session.status, session.status_reason = status.value, reason
    session.sequence += 1
    _record_change(session, kind, actor=actor, now=now, from_starts_at=session.starts_at, reason=reason)
    db.session.flush()
    return notify_session_change(session, now=now, was_starting_at=session.starts_at)


def _snapshot(session: ProgrammeSession) -> tuple:
    return (session.kind, session.module_id if session.module is None else session.module.id, session.part,
            session.title, session.description, session.starts_at, session.ends_at, session.join_url,
            session.venue, session.access_info)


def cancel_session(*, actor: User, session: ProgrammeSession, now: datetime | None = None, reason: str = "") -> int:
    """Cancel a session still to come; everyone is told. Returns how many were emailed. A session whose
    time has come is not cancelled: it either took place (its register says who came) or did not
    (record that, with why)."""
    require_team(actor)
    now = now or clock.now()
    if session.is_cancelled:
        raise Conflict("This session is already cancelled.")
    if session.starts_at <= now:
        raise Conflict("This session's time has come, so it cannot be cancelled. If it did not take place, record "
                       "that from its status page, with why; if it did, its register stays as it is.")
    return _call_off(session, SessionStatus.CANCELLED, SessionChangeKind.CANCELLED, actor=actor, now=now,
                     reason=" ".join(reason.split())[:500])


def _reminder_prefixes(session: ProgrammeSession) -> list[str]:
    """The outbox key prefixes of every reminder planned about this session, by any domain's rule."""
    keys = {"session-reminder", *(key for rule in RULES.values() for key in rule.session_keys)}
    return [f"{key}:{session.id}:" for key in sorted(keys)]


@dataclass
class DeletionPreview:
    """What deleting a session would do, said to the team before they confirm."""

    refusal: str | None
    told: int  # people emailed that it is cancelled (with a calendar update)
    reminders: int  # planned reminders withdrawn
    notes: list[str]


def deletion_preview(session: ProgrammeSession, now: datetime) -> DeletionPreview:
    refusal = None
    if session.starts_at <= now:
        refusal = ("This session's time has come, so it stays in the record: if it did not take place, record that "
                   "from its status page, with why.")
    told = 0
    if session.status == SessionStatus.SCHEDULED.value:
        participants = select(Enrolment.user_id).where(Enrolment.cohort_id == session.cohort_id,
                                                       Enrolment.status == EnrolmentStatus.ACTIVE.value)
        facilitators = select(SessionFacilitator.user_id).where(SessionFacilitator.session_id == session.id)
        told = db.session.scalar(select(func.count()).select_from(User).where(
            User.id.in_(participants.union(facilitators)), User.is_disabled.is_(False)))
    return DeletionPreview(refusal=refusal, told=told, reminders=count_pending_any(_reminder_prefixes(session)),
                           notes=deletion_notes(session))


def delete_session(*, actor: User, session: ProgrammeSession, now: datetime) -> int:
    """Delete a session that has not happened: participants are told it is cancelled (with a calendar
    update) unless it was already off, its planned reminders are withdrawn, and it leaves the schedule
    and the report. Returns how many were emailed."""
    require_team(actor)
    preview = deletion_preview(session, now)
    if preview.refusal:
        raise Conflict(preview.refusal)
    emailed = 0
    if session.status == SessionStatus.SCHEDULED.value:
        emailed = _call_off(session, SessionStatus.CANCELLED, SessionChangeKind.CANCELLED, actor=actor, now=now,
                            reason="It has been removed from the schedule.")
    withdrawn = cancel_pending_any(_reminder_prefixes(session), "its session was deleted")
    audit.record(actor=actor, action="session_deleted", target_type="session", target_id=session.id, now=now,
                 detail={"title": session.title, "starts_at": session.starts_at.isoformat(),
                         "cohort_id": session.cohort_id, "emailed": emailed, "reminders_withdrawn": withdrawn})
    session.cohort.sessions.remove(session)  # deleted with it (delete-orphan), and gone from the cohort's list now
    db.session.flush()
    return emailed


def reinstate_session(*, actor: User, session: ProgrammeSession, now: datetime | None = None) -> None:
    """Undo a cancellation or a "did not take place"; a postponed session is given a new date instead."""
    require_team(actor)
    if session.status not in (SessionStatus.CANCELLED, SessionStatus.NOT_HELD):
        raise Conflict("This session is not cancelled.")
    now = now or clock.now()
    session.status = SessionStatus.SCHEDULED.value
    session.status_reason = ""
    session.sequence += 1
    _record_change(session, SessionChangeKind.REINSTATED, actor=actor, now=now, from_starts_at=session.starts_at)
    db.session.flush()
    notify_session_change(session, now=now, was_starting_at=session.starts_at, reinstated=True)


def reschedule_module(*, actor: User, module: ProgrammeModule, first_day: date, now: datetime,
                      bank_holiday_region: str = "ENG", keep_date: bool = False) -> list[ProgrammeSession]:
    """Move both days of a module: day 1 to `first_day`, day 2 to the next working day, same times."""
    require_team(actor)
    days = WorkingDays(first_day, bank_holiday_region)
    if not days.is_working(first_day):
        raise DomainError("The first day must be a working day (not a weekend or bank holiday).", field="first_day")
    second_day = days.on_or_after(first_day + timedelta(days=1))
    cohort = module.cohort
    moved = []
    with one_email_per_person(now=now):  # both days in one email to each person
        for session, day in zip(sorted(module.sessions, key=lambda s: s.part or 0), (first_day, second_day),
                                strict=False):
            local_start = clock.to_local(session.starts_at, cohort.timezone)
            local_end = clock.to_local(session.ends_at, cohort.timezone)
            details = SessionDetails(
                title=session.title, kind=session.kind, day=day, starts=local_start.time(), ends=local_end.time(),
                module_number=module.number, part=session.part, join_url=session.join_url, venue=session.venue,
                access_info=session.access_info, description=session.description, keep_date=keep_date)
            try:
                if update_session(actor=actor, session=session, details=details, now=now, module_move=True):
                    moved.append(session)
            except DomainError as error:
                raise DomainError(error.message, field="first_day") from None
    return moved
