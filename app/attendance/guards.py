"""What attendance tells the programme's own pages and rules, through what programme announces:

- a session whose register says people came cannot be cancelled, postponed or recorded as not having
  taken place (the record would contradict itself, and its attendance would silently drop out of
  every rate): subscribed to `session_calling_off`;
- a participant sees on the session page and their home that they sent apologies: registered as a
  provider of session notes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.attendance.models import ATTENDED, Attendance, AttendanceStatus
from app.db import db
from app.errors import Conflict
from app.programme.models import Enrolment, ProgrammeSession


def on_session_calling_off(session: ProgrammeSession, *, status, now: datetime) -> None:
    came = db.session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.session_id == session.id, Attendance.status.in_([s.value for s in ATTENDED])))
    if came:
        raise Conflict(f"The register says {came} {'person' if came == 1 else 'people'} came to this session, so it "
                       "took place and stays on the record. If the register is wrong, correct it first.")


def apologies_sent(user, session_ids: list[int]) -> dict[int, str]:
    """The sessions among these for which this person has sent apologies, in words for them."""
    if not session_ids or not getattr(user, "is_authenticated", False):
        return {}
    rows = db.session.execute(
        select(Attendance.session_id, Attendance.note).join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(Enrolment.user_id == user.id, Attendance.session_id.in_(session_ids),
               Attendance.status == AttendanceStatus.APOLOGIES.value)).all()
    return {session_id: f"You sent apologies{': ' + note if note else ''}." for session_id, note in rows}


def session_deletion_notes(session: ProgrammeSession) -> list[str]:
    """For the team's page before a session is deleted (`app.programme.signals.register_deletion_notes`)."""
    apologies = db.session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.session_id == session.id, Attendance.status == AttendanceStatus.APOLOGIES.value))
    if not apologies:
        return []
    return [f"{apologies} apolog{'ies' if apologies != 1 else 'y'} sent for it {'are' if apologies != 1 else 'is'} "
            "deleted with it."]
