"""The celebration event's guests and showcases, and drop-in clinic sign-ups."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import _in
from app.db import TimestampMixin, db
from app.programme.models import Enrolment


class Relationship(StrEnum):
    SPONSOR = "sponsor"
    COP_MEMBER = "cop_member"
    COLLEAGUE = "colleague"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"sponsor": "Line manager or sponsor", "cop_member": "Member of their community of practice",
                "colleague": "Colleague", "other": "Other"}[self.value]


class GuestStatus(StrEnum):
    PROPOSED = "proposed"  # a sponsor invitation waiting to go (the participant can stop it)
    INVITED = "invited"
    NOT_SENT = "not_sent"  # the participant chose not to send it


class Rsvp(StrEnum):
    PENDING = "pending"
    YES = "yes"
    NO = "no"


class Guest(TimestampMixin, db.Model):
    __tablename__ = "guests"
    __table_args__ = (
        CheckConstraint(_in("relationship_kind", Relationship), name="relationship_kind_valid"),
        CheckConstraint(_in("status", GuestStatus), name="status_valid"),
        CheckConstraint(_in("rsvp", Rsvp), name="rsvp_valid"),
        UniqueConstraint("cohort_id", "email", name="uq_guests_cohort_id_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    relationship_kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=GuestStatus.INVITED.value)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_at: Mapped[datetime | None]
    rsvp: Mapped[str] = mapped_column(String(10), default=Rsvp.PENDING.value)
    access_needs: Mapped[str] = mapped_column(Text, default="")
    dietary_needs: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime | None]

    invited_by: Mapped[Enrolment | None] = relationship()

    @property
    def relationship_label(self) -> str:
        return Relationship(self.relationship_kind).label


class Showcase(TimestampMixin, db.Model):
    """What a participant proposes to show at the celebration; the team sets the running order."""

    __tablename__ = "showcases"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(60), default="")
    position: Mapped[int | None]

    enrolment: Mapped[Enrolment] = relationship()


class ClinicSignup(db.Model):
    """A participant says they will come to a drop-in clinic, with the topic they bring."""

    __tablename__ = "clinic_signups"
    __table_args__ = (UniqueConstraint("session_id", "enrolment_id", name="uq_clinic_signups_session_id_enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]

    enrolment: Mapped[Enrolment] = relationship()


class CelebrationParticipant(TimestampMixin, db.Model):
    """A participant's own answer for the celebration: coming or not, with their needs. No row: not answered.

    The needs are kept whatever the answer (as guests' are), so saying no and then yes needs no retyping;
    the team sees them only while the participant is coming."""

    __tablename__ = "celebration_participants"
    __table_args__ = (UniqueConstraint("enrolment_id", name="uq_celebration_participants_enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    is_coming: Mapped[bool]
    access_needs: Mapped[str] = mapped_column(Text, default="")
    dietary_needs: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime]

    enrolment: Mapped[Enrolment] = relationship()
