"""Who came to each session: one row per session × enrolment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User, _in
from app.db import db
from app.programme.models import Enrolment, ProgrammeSession


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    LATE = "late"
    LEFT_EARLY = "left_early"
    APOLOGIES = "apologies"
    ABSENT = "absent"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def attended(self) -> bool:
        return self in ATTENDED


STATUS_LABELS = {
    AttendanceStatus.PRESENT: "Present",
    AttendanceStatus.LATE: "Late",
    AttendanceStatus.LEFT_EARLY: "Left early",
    AttendanceStatus.APOLOGIES: "Apologies",
    AttendanceStatus.ABSENT: "Absent",
}
ATTENDED = {AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY}


class Attendance(db.Model):
    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("session_id", "enrolment_id", name="uq_attendances_session_id_enrolment_id"),
        CheckConstraint(_in("status", AttendanceStatus), name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime]

    session: Mapped[ProgrammeSession] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return AttendanceStatus(self.status).label
