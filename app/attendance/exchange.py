"""Attendance in and out as spreadsheets: export one row per participant × session (with each
person's attendance rate); import a register from CSV or Excel with a preview that writes nothing
until confirmed, and then writes everything it showed or nothing.

The export reads back as it is: its rows change nothing and are counted as unchanged, whatever
the session's state, so the team can download, edit a few cells and import the file again."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app import clock
from app.attendance.models import STATUS_LABELS, Attendance, AttendanceStatus
from app.attendance.services import OFF_WORDS, cohort_matrix, save_attendance
from app.auth.models import User
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.exports import Percent, csv_rows, readable_datetime
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionKind, SessionStatus

EXPORT_HEADERS = ["Name", "Email", "Organisation", "Attendance rate", "Session", "Kind", "Starts", "Status", "Note"]
REQUIRED = ("email", "session", "starts", "status")
_BY_LABEL = {label.lower(): status for status, label in STATUS_LABELS.items()}
_BY_LABEL.update({status.value: status for status in AttendanceStatus})
_BY_LABEL["left early"] = AttendanceStatus.LEFT_EARLY
_OFF_BY_WORD = {word.lower(): status for status, word in OFF_WORDS.items()}
NOTE_LIMIT = 500


def export_rows(cohort: Cohort, now: datetime) -> list[list]:
    """One row per participant × session (sessions in order): the person's attendance rate, the
    start as a local date and time, the status (or the word for a session that did not go ahead)."""
    matrix = cohort_matrix(cohort, now)
    notes = {(r.enrolment_id, r.session_id): r.note for r in db.session.execute(
        select(Attendance.enrolment_id, Attendance.session_id, Attendance.note)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(ProgrammeSession.cohort_id == cohort.id, Attendance.note != ""))}
    starts = {s.id: clock.to_local(s.starts_at, cohort.timezone) for s in matrix.sessions}
    kinds = {s.id: SessionKind(s.kind).label for s in matrix.sessions}
    rows = []
    for person in matrix.people:
        rate = Percent(person.rate) if person.rate is not None else ""
        for s in matrix.sessions:
            status = person.statuses.get(s.id)
            rows.append([person.name, person.email, person.organisation, rate, s.title, kinds[s.id], starts[s.id],
                         STATUS_LABELS[AttendanceStatus(status)] if status else OFF_WORDS.get(s.status, ""),
                         notes.get((person.enrolment_id, s.id), "")])
    return rows


# -- reading dates as people write them ----------------------------------------------------------

ACCEPTED_DATES = "16/11/2026 13:00, 16/11/2026, 2026-11-16 13:00 or 16 Nov 2026 13:00"
_DATES = ("%d/%m/%Y", "%d %b %Y", "%d %B %Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %b %y")
_TIMES = ("%H:%M", "%H:%M:%S", "%I:%M%p", "%I%p", "%H.%M", "%I.%M%p")
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s+", re.IGNORECASE)


@lru_cache(maxsize=1024)
def parse_when(text: str, timezone: str = "Europe/London") -> tuple[datetime, bool] | None:
    """A start as written in a spreadsheet: (local wall-clock time, whether a time was given), or
    None. UK day-first dates, ISO dates (with an offset: converted to the cohort's time), month
    names, 24-hour or am/pm times, an optional weekday and "at"."""
    text = " ".join(text.replace(",", " ").split())
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.strptime(text, "%Y-%m-%d"), False
    if re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", text):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
        return value, True
    text = _WEEKDAY.sub("", text)
    text = re.sub(r"\s+at\s+", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*([ap])\.?m\.?$", r"\1m", text, flags=re.IGNORECASE)
    for date_format in _DATES:
        try:
            return datetime.strptime(text, date_format), False
        except ValueError:
            pass
        for time_format in _TIMES:
            try:
                return datetime.strptime(text, f"{date_format} {time_format}"), True
            except ValueError:
                pass
    return None


def _cell_text(value) -> str:
    """A cell as text; a workbook's real date comes through as 2026-11-16 13:00 (or 2026-11-16)."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}" if (value.hour, value.minute) != (0, 0) else f"{value:%Y-%m-%d}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def table_text(table: list[list]) -> str:
    """An uploaded table (CSV or workbook) as CSV text, to carry from the preview to the confirmation."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in table:
        writer.writerow([_cell_text(cell) for cell in row])
    return buffer.getvalue()


# -- the preview and the import ------------------------------------------------------------------

@dataclass
class ImportRow:
    line: int  # the row's number in the spreadsheet (the header is row 1)
    email: str
    session: str
    starts: str
    status: str
    note: str | None  # None: the file has no Note column, so notes stay as they are
    outcome: str  # "change", "same", "rejected" or "duplicate"
    message: str = ""
    enrolment_id: int | None = None
    session_id: int | None = None
    new_status: AttendanceStatus | None = None
    old_status: str | None = None
    old_note: str = ""

    @property
    def is_problem(self) -> bool:
        return self.outcome in ("rejected", "duplicate")

    @property
    def status_changes(self) -> bool:
        return self.new_status is not None and self.old_status != self.new_status.value

    @property
    def new_note(self) -> str:
        return self.old_note if self.note is None else self.note

    @property
    def note_changes(self) -> bool:
        return self.new_note != self.old_note


@dataclass
class Preview:
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def changes(self) -> list[ImportRow]:
        return [r for r in self.rows if r.outcome == "change"]

    @property
    def problems(self) -> list[ImportRow]:
        return [r for r in self.rows if r.is_problem]

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.rows if r.outcome == "same")

    @property
    def fingerprint(self) -> str:
        """What confirming would write: checked again at confirmation, so the team saves what they saw."""
        changes = sorted((r.enrolment_id, r.session_id, r.new_status.value, r.new_note) for r in self.changes)
        return hashlib.sha256(repr(changes).encode()).hexdigest()[:32]


def preview_import(*, cohort: Cohort, text: str, now: datetime) -> Preview:
    """Read a register (CSV text; an Excel upload arrives as `table_text`) and say, row by row,
    what importing it would change. Writes nothing."""
    table = csv_rows(text)
    header_at = next((i for i, row in enumerate(table) if any(cell.strip() for cell in row)), None)
    headers = {h.strip().lower(): i for i, h in enumerate(table[header_at])} if header_at is not None else {}
    missing = [h for h in REQUIRED if h not in headers]
    if missing:
        raise DomainError("The file needs these columns: Email, Session, Starts, Status (and optionally Note). "
                          f"Missing: {', '.join(m.capitalize() for m in missing)}.", field="file")
    people = dict(db.session.execute(
        select(User.email, Enrolment.id).join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)).all())
    by_title: dict[str, list] = {}
    for session in db.session.execute(
            select(ProgrammeSession.id, ProgrammeSession.title, ProgrammeSession.starts_at,
                   ProgrammeSession.status).where(ProgrammeSession.cohort_id == cohort.id)):
        local = clock.to_local(session.starts_at, cohort.timezone).replace(tzinfo=None, second=0, microsecond=0)
        by_title.setdefault(session.title.strip().lower(), []).append((session, local))
    existing = {(r.enrolment_id, r.session_id): (r.status, r.note) for r in db.session.execute(
        select(Attendance.enrolment_id, Attendance.session_id, Attendance.status, Attendance.note)
        .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
        .where(ProgrammeSession.cohort_id == cohort.id))}
    has_note = "note" in headers
    seen: dict[tuple[int, int], int] = {}
    preview = Preview()
    for line, cells in enumerate(table[header_at + 1:], start=header_at + 2):
        value = {name: cells[i].strip() if i < len(cells) else "" for name, i in headers.items()}
        row = ImportRow(line, value["email"].lower(), value["session"], value["starts"], value["status"],
                        value["note"][:NOTE_LIMIT] if has_note else None, "rejected")
        if not any([row.email, row.session, row.starts, row.status, row.note]):
            continue
        preview.rows.append(row)
        _judge(row, cohort=cohort, now=now, people=people, by_title=by_title, existing=existing, seen=seen)
    return preview


def _judge(row: ImportRow, *, cohort, now, people, by_title, existing, seen) -> None:
    """Settle one row's outcome and message (it starts as rejected)."""
    enrolment_id = people.get(row.email)
    if enrolment_id is None:
        row.message = f"{row.email or 'No email'} is not a participant of {cohort.name}"
        return
    when = parse_when(row.starts, cohort.timezone)
    if when is None:
        row.message = (f"“{row.starts}” is not a date we can read: use a form such as {ACCEPTED_DATES}"
                       if row.starts else f"No start date and time: use a form such as {ACCEPTED_DATES}")
        return
    at, has_time = when
    titled = by_title.get(row.session.lower(), [])
    found = [s for s, local in titled if (local == at.replace(second=0, microsecond=0) if has_time
                                          else local.date() == at.date())]
    if not titled:
        row.message = "No session of this cohort has that title"
        return
    if not found:
        row.message = f"No session called {row.session} starts at {readable_datetime(at if has_time else at.date())}"
        return
    if len(found) > 1:
        row.message = f"More than one session called {row.session} is on that day: give the start time too"
        return
    session = found[0]
    key = (enrolment_id, session.id)
    if key in seen:
        row.outcome = "duplicate"
        row.message = f"Duplicate: row {seen[key]} is already about this person and session, and only that row is used"
        return
    seen[key] = row.line
    row.enrolment_id, row.session_id = enrolment_id, session.id
    row.old_status, row.old_note = existing.get(key, (None, ""))
    word = row.status.lower()
    if not word or _OFF_BY_WORD.get(word) == session.status:
        # No status, or the export's word for a session that did not go ahead: nothing to record,
        # unless a note is given for someone who has a status.
        if row.old_status is not None and row.note_changes:
            row.new_status = AttendanceStatus(row.old_status)
        elif row.note and row.old_status is None:
            row.message = "A note needs a status (Present, Late, Left early, Apologies or Absent)"
            return
        else:
            row.outcome = "same"
            return
    else:
        row.new_status = _BY_LABEL.get(word)
        if row.new_status is None:
            row.message = (f"{row.status} is not a status (use Present, Late, Left early, Apologies or Absent)")
            return
    if not row.status_changes and not row.note_changes:
        row.outcome = "same"
        return
    if session.status != SessionStatus.SCHEDULED:
        row.message = f"That session {'was cancelled' if session.status == SessionStatus.CANCELLED else 'did not go ahead'}"
        return
    if session.starts_at > now:
        row.message = "That session has not happened yet"
        return
    row.outcome = "change"


def apply_import(*, actor: User, cohort: Cohort, text: str, now: datetime, expected: str | None = None) -> int:
    """Write every change the preview showed, or nothing: if what the file would change is no longer
    what the team confirmed (`expected`, the preview's fingerprint), nothing is written. Rows with
    problems are skipped, as the confirmation button says. Returns how many records changed."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can import registers.")
    preview = preview_import(cohort=cohort, text=text, now=now)
    if expected is not None and preview.fingerprint != expected:
        raise Conflict("The register has changed since this preview (someone saved attendance meanwhile). "
                       "Nothing was imported: preview the file again.")
    for row in preview.changes:
        save_attendance(row.session_id, row.enrolment_id, row.new_status, row.new_note, actor, now)
    db.session.flush()
    return len(preview.changes)
