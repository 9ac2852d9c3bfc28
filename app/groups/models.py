"""Co-consulting groups: who is in which group, and who presents and keeps time at each session."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin, db
from app.programme.models import Enrolment, ProgrammeSession


class CoConsultingGroup(TimestampMixin, db.Model):
    __tablename__ = "co_consulting_groups"
    __table_args__ = (UniqueConstraint("cohort_id", "number", name="uq_co_consulting_groups_cohort_id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    seed: Mapped[int] = mapped_column(default=0)

    memberships: Mapped[list[GroupMembership]] = relationship(back_populates="group", cascade="all, delete-orphan",
                                                              order_by="GroupMembership.id")
    rota: Mapped[list[CaseRota]] = relationship(back_populates="group", cascade="all, delete-orphan",
                                                order_by="CaseRota.session_id")

    @property
    def name(self) -> str:
        return f"Group {self.number}"


class GroupMembership(db.Model):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("enrolment_id", name="uq_group_memberships_enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("co_consulting_groups.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))

    group: Mapped[CoConsultingGroup] = relationship(back_populates="memberships")
    enrolment: Mapped[Enrolment] = relationship()


class CaseRota(db.Model):
    """Who presents a case and who keeps time at one co-consulting session, and what the group noted."""

    __tablename__ = "case_rotas"
    __table_args__ = (UniqueConstraint("group_id", "session_id", name="uq_case_rotas_group_id_session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("co_consulting_groups.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True)
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    timekeeper_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    # Swaps agreed by the group, newest last: [{"at": iso, "by": name, "from": name, "to": name}]
    swaps: Mapped[list] = mapped_column(JSON, default=list)
    attended: Mapped[list] = mapped_column(JSON, default=list)  # enrolment ids the group recorded
    note: Mapped[str] = mapped_column(Text, default="")  # private to the group
    note_updated_at: Mapped[datetime | None]
    note_updated_by: Mapped[str] = mapped_column(String(120), default="")

    group: Mapped[CoConsultingGroup] = relationship(back_populates="rota")
    session: Mapped[ProgrammeSession] = relationship()
    presenter: Mapped[Enrolment | None] = relationship(foreign_keys=[presenter_id])
    timekeeper: Mapped[Enrolment | None] = relationship(foreign_keys=[timekeeper_id])


class SwapStatus(StrEnum):
    PENDING = "pending"  # asked, waiting for the other member (expires when the earlier session starts)
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # a turn it named changed hands, or one of the two left the group
    MADE_BY_TEAM = "made_by_team"


class RotaSwap(db.Model):
    """Two turns to present, exchanged: asked by one presenter and accepted by the other, or made by the team.

    A pending request is live until `expires_at` (the earlier of the two sessions' starts): expiry is derived
    from the time, not a flag a job flips.
    """

    __tablename__ = "rota_swaps"
    __table_args__ = (CheckConstraint("first_rota_id <> second_rota_id", name="different_turns"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("co_consulting_groups.id", ondelete="CASCADE"), index=True)
    first_rota_id: Mapped[int] = mapped_column(ForeignKey("case_rotas.id", ondelete="CASCADE"), index=True)
    second_rota_id: Mapped[int] = mapped_column(ForeignKey("case_rotas.id", ondelete="CASCADE"), index=True)
    # Who presented each turn when the swap was asked for (the first asked the second).
    first_presenter_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"),
                                                           index=True)
    second_presenter_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"),
                                                            index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default=SwapStatus.PENDING.value)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]

    first_rota: Mapped[CaseRota] = relationship(foreign_keys=[first_rota_id])
    second_rota: Mapped[CaseRota] = relationship(foreign_keys=[second_rota_id])

    def is_pending(self, now: datetime) -> bool:
        return self.status == SwapStatus.PENDING and now < self.expires_at
