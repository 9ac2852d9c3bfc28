"""Registers, apologies, attendance rates and who is falling behind.

Big grids are built from plain rows (not ORM objects) in a fixed number of queries, whatever
the cohort's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.attendance.models import ATTENDED, STATUS_LABELS, Attendance, AttendanceStatus
from app.auth.models import Organisation, User
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionStatus


def register_opens_at(session: ProgrammeSession) -> datetime:
    return session.starts_at - timedelta(minutes=current_app.config["REGISTER_OPENS_MINUTES"])


def register_is_open(session: ProgrammeSession, now: datetime) -> bool:
    return not session.is_off and now >= register_opens_at(session)


@dataclass
class RegisterRow:
    enrolment_id: int
    name: str
    email: str
    organisation: str
    status: str | None
    note: str
    recorded_by_participant: bool


def register_rows(session: ProgrammeSession) -> list[RegisterRow]:
    """Every active participant of the session's cohort with what is recorded for them (2 queries)."""
    rows = db.session.execute(
        select(Enrolment.id, User.name, User.email, Organisation.name, User.id)
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Enrolment.cohort_id == session.cohort_id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(User.name, Enrolment.id)
    ).all()
    recorded = {r.enrolment_id: r for r in db.session.execute(
        select(Attendance.enrolment_id, Attendance.status, Attendance.note, Attendance.recorded_by_id)
        .where(Attendance.session_id == session.id)
    )}
    result = []
    for enrolment_id, name, email, organisation, user_id in rows:
        record = recorded.get(enrolment_id)
        result.append(RegisterRow(enrolment_id, name, email, organisation or "", record.status if record else None,
                                  record.note if record else "",
                                  bool(record and record.recorded_by_id == user_id)))
    return result


def status_counts(rows: list[RegisterRow]) -> dict[str, int]:
    """How many of a register's people have each status."""
    return {status.value: sum(1 for r in rows if r.status == status.value) for status in AttendanceStatus}


def save_attendance(session_id: int, enrolment_id: int, status: AttendanceStatus, note: str, actor: User,
                    now: datetime) -> bool:
    """Record one person's status for one session. Returns True when something changed."""
    row = _attendance_row(session_id, enrolment_id)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(Attendance(session_id=session_id, enrolment_id=enrolment_id, status=status.value,
                                          note=note, recorded_by_id=actor.id, recorded_at=now))
            return True
        except IntegrityError:
            # Someone else recorded this person for this session at the same moment (two of the team
            # saving the register, or an apology arriving): theirs is in now, and ours updates it.
            row = _attendance_row(session_id, enrolment_id)
    if (row.status, row.note) == (status.value, note):
        return False
    row.status, row.note, row.recorded_by_id, row.recorded_at = status.value, note, actor.id, now
    return True


def _attendance_row(session_id: int, enrolment_id: int) -> Attendance | None:
    return db.session.scalar(select(Attendance).where(Attendance.session_id == session_id,
                                                      Attendance.enrolment_id == enrolment_id))


def record_register(*, actor: User, session: ProgrammeSession, entries: dict[int, tuple[str, str]],
                    now: datetime, everyone_else_present: bool = False) -> int:
    """Save the register as the team set it: enrolment id -> (status, note).

    A person given no status is left as they are; with `everyone_else_present`, everyone who has
    no status recorded and none given becomes present (keeping any note typed for them), so the
    team records only the exceptions and nothing they typed is lost. A note typed without a status
    and without `everyone_else_present` is refused rather than dropped. Returns how many people's
    records changed."""
    if not actor.is_staff:
        raise PermissionDenied("Only the programme team and facilitators take registers.")
    if session.is_off:
        raise Conflict(f"This session has no register: it is {session.status_label.lower()}.")
    if not register_is_open(session, now):
        raise Conflict("The register opens 15 minutes before the session starts.")
    rows = {r.enrolment_id: r for r in register_rows(session)}
    to_save: dict[int, tuple[AttendanceStatus, str]] = {}
    notes_without_status = []
    for enrolment_id, (status, note) in entries.items():
        row = rows.get(enrolment_id)
        if row is None:
            raise DomainError("Someone in this register is not a participant of the cohort.")
        note = note.strip()[:500]
        if status:
            try:
                to_save[enrolment_id] = (AttendanceStatus(status), note)
            except ValueError:
                raise DomainError(f"{status!r} is not an attendance status.") from None
        elif not note:
            continue  # nothing given for them (everyone_else_present still reaches them below)
        elif row.status is None and everyone_else_present:
            to_save[enrolment_id] = (AttendanceStatus.PRESENT, note)
        elif row.status is not None:  # recorded since the page was loaded: the note joins that status
            to_save[enrolment_id] = (AttendanceStatus(row.status), note)
        else:
            notes_without_status.append(row)
    if notes_without_status:
        first = notes_without_status[0]
        names = ", ".join(r.name for r in notes_without_status)
        raise DomainError(f"Choose a status for {names}: a note is saved with a status.",
                          field=f"status-{first.enrolment_id}")
    if everyone_else_present:
        for enrolment_id, row in rows.items():
            if row.status is None and enrolment_id not in to_save:
                to_save[enrolment_id] = (AttendanceStatus.PRESENT, "")
    saved = sum(save_attendance(session.id, enrolment_id, status, note, actor, now)
                for enrolment_id, (status, note) in to_save.items())
    db.session.flush()
    return saved


def mark_all_present(*, actor: User, session: ProgrammeSession, now: datetime) -> int:
    """Everyone with nothing recorded yet becomes present; apologies and other entries stay."""
    return record_register(actor=actor, session=session, entries={}, now=now, everyone_else_present=True)


def send_apologies(*, actor: User, session: ProgrammeSession, reason: str, now: datetime) -> None:
    """A participant says in advance that they cannot come."""
    enrolment_id = db.session.scalar(
        select(Enrolment.id).where(Enrolment.user_id == actor.id, Enrolment.cohort_id == session.cohort_id,
                                   Enrolment.status == EnrolmentStatus.ACTIVE.value))
    if enrolment_id is None:
        raise PermissionDenied("Only participants of this cohort can send apologies for it.")
    if session.is_off:
        raise Conflict(f"There is no need to send apologies: this session is {session.status_label.lower()}.")
    if now >= session.starts_at:
        raise Conflict("This session has already started. Contact the programme team instead.")
    save_attendance(session.id, enrolment_id, AttendanceStatus.APOLOGIES, reason.strip()[:500], actor, now)
    db.session.flush()


def withdraw_apologies(*, actor: User, session: ProgrammeSession, now: datetime) -> None:
    enrolment_id = db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == actor.id,
                                                                Enrolment.cohort_id == session.cohort_id))
    row = db.session.scalar(select(Attendance).where(Attendance.session_id == session.id,
                                                     Attendance.enrolment_id == enrolment_id))
    if row is None or row.status != AttendanceStatus.APOLOGIES or now >= session.starts_at:
        raise Conflict("There are no apologies to take back for this session.")
    db.session.delete(row)
    db.session.flush()


def my_apology(user: User, session: ProgrammeSession) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(Attendance.session_id == session.id, Enrolment.user_id == user.id))


# -- rates, risk and the matrix --------------------------------------------------------------

# What a grid or a download shows for a session that did not go ahead, where nothing is recorded.
OFF_WORDS = {SessionStatus.CANCELLED.value: "Cancelled", SessionStatus.POSTPONED.value: "Postponed",
             SessionStatus.NOT_HELD.value: "Not held"}


def apologies_rule(cohort: Cohort) -> str:
    """The cohort's rule for apologies, in the words the attendance pages use."""
    if cohort.apologies_excused:
        return "Apologies are excused: left out of the rate"
    return "Apologies count as a missed session"

@dataclass
class PersonRecord:
    enrolment_id: int
    name: str
    email: str
    organisation: str
    statuses: dict[int, str] = field(default_factory=dict)  # session id -> status
    attended: int = 0
    counted: int = 0
    excused: int = 0  # apologies left out of the rate (only where the cohort excuses them)
    at_risk_reasons: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)  # the shown sessions' statuses, in words

    @property
    def rate(self) -> float | None:
        return self.attended / self.counted if self.counted else None


@dataclass
class Matrix:
    cohort: Cohort
    sessions: list  # plain rows: id, title, kind, starts_at, ends_at, status
    people: list[PersonRecord]
    counts: dict[int, dict[str, int]]  # session id -> status -> count

    @property
    def at_risk(self) -> list[PersonRecord]:
        return [p for p in self.people if p.at_risk_reasons]


def cohort_matrix(cohort: Cohort, now: datetime, kinds: set[str] | None = None) -> Matrix:
    """Participants × sessions with statuses, counts, rates and risk, in three queries."""
    core = set(current_app.config["ATTENDANCE_CORE_KINDS"])
    threshold = current_app.config["ATTENDANCE_AT_RISK_RATE"]
    sessions = db.session.execute(
        select(ProgrammeSession.id, ProgrammeSession.title, ProgrammeSession.kind, ProgrammeSession.starts_at,
               ProgrammeSession.ends_at, ProgrammeSession.status)
        .where(ProgrammeSession.cohort_id == cohort.id).order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ).all()
    people = [PersonRecord(e_id, name, email, org or "") for e_id, name, email, org in db.session.execute(
        select(Enrolment.id, User.name, User.email, Organisation.name)
        .join(User, User.id == Enrolment.user_id).outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(User.name, Enrolment.id))]
    by_enrolment = {p.enrolment_id: p for p in people}
    counts: dict[int, dict[str, int]] = {s.id: {st.value: 0 for st in AttendanceStatus} for s in sessions}
    for session_id, enrolment_id, status in db.session.execute(
            select(Attendance.session_id, Attendance.enrolment_id, Attendance.status)
            .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
            .where(ProgrammeSession.cohort_id == cohort.id)):
        person = by_enrolment.get(enrolment_id)
        if person is not None:
            person.statuses[session_id] = status
            counts[session_id][status] += 1
    # Rates and risk count core sessions that have happened and went ahead (not cancelled, postponed
    # or not held), and only those with something recorded for the person (an untaken register
    # counts against nobody). Where the cohort excuses apologies, an apology is left out altogether:
    # neither attended nor counted, and it neither breaks nor extends a run of missed sessions.
    excused = cohort.apologies_excused
    happened_core = [s for s in sessions if s.kind in core and s.ends_at <= now
                     and s.status == SessionStatus.SCHEDULED]
    for person in people:
        streak = 0
        for s in happened_core:
            status = person.statuses.get(s.id)
            if status is None:
                continue
            if excused and status == AttendanceStatus.APOLOGIES:
                person.excused += 1
                continue
            person.counted += 1
            if status in ATTENDED:  # a StrEnum set: the stored string matches its member
                person.attended += 1
                streak = 0
            else:
                streak += 1
                if streak == 2:
                    person.at_risk_reasons.append(f"Missed two core sessions in a row (up to {s.title})")
        if person.rate is not None and person.rate < threshold:
            person.at_risk_reasons.append(
                f"Attendance {round(person.rate * 100)}% is below {round(threshold * 100)}%")
    shown = [s for s in sessions if not kinds or s.kind in kinds]
    # Cell text is worked out here, once, so the page's template does no per-cell logic.
    for person in people:
        person.cells = [STATUS_LABELS[person.statuses[s.id]] if s.id in person.statuses
                        else OFF_WORDS.get(s.status, "") for s in shown]
    return Matrix(cohort=cohort, sessions=shown, people=people, counts=counts)


def attended_per_session(matrix: Matrix, now: datetime) -> tuple[list, list[int]]:
    """The matrix's sessions that have happened and have a register (co-consulting groups keep their own),
    and how many people attended each."""
    happened = [s for s in matrix.sessions if s.ends_at <= now and s.status == "scheduled"
                and any(matrix.counts[s.id].values())]
    attended = [sum(matrix.counts[s.id][st] for st in ("present", "late", "left_early")) for s in happened]
    return happened, attended


def person_record(enrolment: Enrolment, now: datetime) -> tuple[PersonRecord | None, list]:
    """One participant's own record: their row of the matrix and the cohort's sessions."""
    matrix = cohort_matrix(enrolment.cohort, now)
    return next((p for p in matrix.people if p.enrolment_id == enrolment.id), None), matrix.sessions
