"""Attendance in and out as spreadsheets: export one row per participant × session; import a
register from CSV with a preview that applies nothing until confirmed."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app import clock
from app.attendance.models import STATUS_LABELS, Attendance, AttendanceStatus
from app.attendance.services import save_attendance
from app.auth.models import Organisation, User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionKind

EXPORT_HEADERS = ["Name", "Email", "Organisation", "Session", "Kind", "Starts", "Status", "Note"]
REQUIRED = ("email", "session", "starts", "status")
_BY_LABEL = {label.lower(): status for status, label in STATUS_LABELS.items()}
_BY_LABEL.update({status.value: status for status in AttendanceStatus})


def export_rows(cohort: Cohort) -> list[list]:
    """One row per participant × session (sessions in order), statuses blank where none recorded."""
    people = db.session.execute(
        select(Enrolment.id, User.name, User.email, Organisation.name)
        .join(User, User.id == Enrolment.user_id).outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(User.name, Enrolment.id)).all()
    sessions = db.session.execute(
        select(ProgrammeSession.id, ProgrammeSession.title, ProgrammeSession.kind, ProgrammeSession.starts_at)
        .where(ProgrammeSession.cohort_id == cohort.id).order_by(ProgrammeSession.starts_at, ProgrammeSession.id)).all()
    recorded = {(r.enrolment_id, r.session_id): (r.status, r.note) for r in db.session.execute(
        select(Attendance.enrolment_id, Attendance.session_id, Attendance.status, Attendance.note)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(ProgrammeSession.cohort_id == cohort.id))}
    rows = []
    for enrolment_id, name, email, organisation in people:
        for session_id, title, kind, starts_at in sessions:
            status, note = recorded.get((enrolment_id, session_id), ("", ""))
            rows.append([name, email, organisation or "", title, SessionKind(kind).label,
                         clock.to_local(starts_at, cohort.timezone).isoformat(),
                         STATUS_LABELS[AttendanceStatus(status)] if status else "", note])
    return rows


@dataclass
class ImportRow:
    line: int
    email: str
    session: str
    starts: str
    status: str
    note: str
    outcome: str  # "change", "same", "rejected"
    message: str = ""
    enrolment_id: int | None = None
    session_id: int | None = None
    new_status: AttendanceStatus | None = None
    old_status: str | None = None


def preview_import(*, cohort: Cohort, text: str, now: datetime) -> list[ImportRow]:
    """Read a CSV register and say, row by row, what importing it would change. Writes nothing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {h.strip().lower(): h for h in (reader.fieldnames or [])}
    missing = [h for h in REQUIRED if h not in headers]
    if missing:
        raise DomainError("The file needs these columns: Email, Session, Starts, Status (and optionally Note). "
                          f"Missing: {', '.join(m.capitalize() for m in missing)}.", field="file")
    people = dict(db.session.execute(
        select(User.email, Enrolment.id).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)).all())
    sessions = {}
    for session_id, title, starts_at, status in db.session.execute(
            select(ProgrammeSession.id, ProgrammeSession.title, ProgrammeSession.starts_at,
                   ProgrammeSession.status).where(ProgrammeSession.cohort_id == cohort.id)):
        key = (title.strip().lower(), clock.to_local(starts_at, cohort.timezone).isoformat())
        sessions[key] = (session_id, starts_at, status)
    existing = {(r.enrolment_id, r.session_id): r.status for r in db.session.execute(
        select(Attendance.enrolment_id, Attendance.session_id, Attendance.status)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(ProgrammeSession.cohort_id == cohort.id))}
    result = []
    for line, raw in enumerate(reader, start=2):
        values = {name: (raw.get(headers.get(name, ""), "") or "").strip()
                  for name in ("email", "session", "starts", "status", "note")}
        row = ImportRow(line, values["email"].lower(), values["session"], values["starts"], values["status"],
                        values["note"], "rejected")
        if not any([row.email, row.session, row.starts, row.status]):
            continue
        enrolment_id = people.get(row.email)
        found = sessions.get((row.session.lower(), row.starts))
        status = _BY_LABEL.get(row.status.lower())
        if enrolment_id is None:
            row.message = f"{row.email or 'No email'} is not a participant of {cohort.name}"
        elif found is None:
            row.message = "No session of this cohort has that title and start time"
        elif found[2] == "cancelled":
            row.message = "That session was cancelled"
        elif found[1] > now:
            row.message = "That session has not happened yet"
        elif status is None:
            row.message = f"{row.status or 'An empty status'} is not a status (use Present, Late, Left early, " \
                          "Apologies or Absent)"
        else:
            row.enrolment_id, row.session_id, row.new_status = enrolment_id, found[0], status
            row.old_status = existing.get((enrolment_id, found[0]))
            row.outcome = "same" if row.old_status == status.value else "change"
        result.append(row)
    return result


def apply_import(*, actor: User, cohort: Cohort, text: str, now: datetime) -> int:
    """Apply every acceptable row of the file (rejected rows are skipped). Returns rows changed."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can import registers.")
    changed = 0
    for row in preview_import(cohort=cohort, text=text, now=now):
        if row.outcome == "change":
            save_attendance(row.session_id, row.enrolment_id, row.new_status, row.note[:500], actor, now)
            changed += 1
    db.session.flush()
    return changed
