"""Communities of Practice: the community, who convenes it and who belongs, invitations, meetings and registers.

A community belongs to a participant's cohort (`cohort_id`) or to nothing yet; it lives on after the
cohort ends. It may belong to a programme of work (a nullable `programme_of_work_id` beside
`cohort_id`; the programme of work and its team are in programme_models.py). Members are people with
an account of their own and no programme enrolment.

A meeting always has a day (`meets_on`, in UK time); its start and end (`starts_at`, `ends_at`, UTC)
may be missing for meetings logged before times were recorded: "time not recorded", never an
invented time. The register names members (present, apologies, absent); people who came and are
not named (guests, and every headcount logged before registers existed) are `guest_count`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import SingleUseLink, User, _in
from app.db import TimestampMixin, db


class CommunityStatus(StrEnum):
    PLANNING = "planning"
    LAUNCHED = "launched"
    MEETING_REGULARLY = "meeting_regularly"
    PAUSED = "paused"

    @property
    def label(self) -> str:
        return {"planning": "Planning", "launched": "Launched", "meeting_regularly": "Meeting regularly",
                "paused": "Paused"}[self.value]


class MembershipRole(StrEnum):
    CONVENER = "convener"
    MEMBER = "member"

    @property
    def label(self) -> str:
        return {"convener": "Convener", "member": "Member"}[self.value]


class MeetingFormat(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    HYBRID = "hybrid"

    @property
    def label(self) -> str:
        return {"online": "Online", "in_person": "In person", "hybrid": "Hybrid"}[self.value]


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"planned": "Planned", "held": "Held", "postponed": "Postponed", "cancelled": "Cancelled"}[self.value]


class RegisterStatus(StrEnum):
    PRESENT = "present"
    APOLOGIES = "apologies"
    ABSENT = "absent"

    @property
    def label(self) -> str:
        return {"present": "Present", "apologies": "Apologies", "absent": "Absent"}[self.value]


MEETING_METHODS = (
    "Liberating Structures",
    "Appreciative inquiry",
    "Co-consulting",
    "World cafe",
    "Open space",
    "Storytelling",
    "Knowledge sharing presentations",
    "Action learning",
)


class Community(TimestampMixin, db.Model):
    """A Community of Practice: what it is about and where it is now."""

    __tablename__ = "communities"
    __table_args__ = (CheckConstraint(_in("status", CommunityStatus), name="status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(Text, default="")
    member_kinds: Mapped[str] = mapped_column(Text, default="")
    crosses_boundaries: Mapped[bool] = mapped_column(Boolean, default=False)
    boundaries_how: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=CommunityStatus.PLANNING.value)
    # The cohort of the participant who convenes it; none when the team set it up outside a cohort.
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    # The programme of work it belongs to, if any (at most one; see programme_models.py).
    programme_of_work_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes_of_work.id", ondelete="SET NULL"), index=True)

    memberships: Mapped[list[CommunityMembership]] = relationship(
        back_populates="community", cascade="all, delete-orphan", order_by="CommunityMembership.id")
    meetings: Mapped[list[CommunityMeeting]] = relationship(
        back_populates="community", cascade="all, delete-orphan",
        order_by="(CommunityMeeting.meets_on, CommunityMeeting.id)")

    @property
    def title(self) -> str:
        """The name, as the participants' pages have always called it."""
        return self.name

    @property
    def status_label(self) -> str:
        return CommunityStatus(self.status).label

    @property
    def conveners(self) -> list[User]:
        return [m.user for m in self.memberships if m.role == MembershipRole.CONVENER]

    @property
    def members(self) -> list[User]:
        return [m.user for m in self.memberships if m.role == MembershipRole.MEMBER]


class CommunityMembership(db.Model):
    """A person in a community, as a convener or a member."""

    __tablename__ = "community_memberships"
    __table_args__ = (
        UniqueConstraint("community_id", "user_id", name="uq_community_memberships_community_id_user_id"),
        CheckConstraint(_in("role", MembershipRole), name="role_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=MembershipRole.MEMBER.value)
    joined_at: Mapped[datetime]

    community: Mapped[Community] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()

    @property
    def role_label(self) -> str:
        return MembershipRole(self.role).label


class CommunityInvitation(SingleUseLink, db.Model):
    """An emailed, single-use, expiring invitation to join a community. `user_id`: the account that
    accepted it (or already had the address when invited); none until then."""

    __tablename__ = "community_invitations"
    __table_args__ = (CheckConstraint(_in("role", MembershipRole), name="role_valid"),)

    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20), default=MembershipRole.MEMBER.value)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    community: Mapped[Community] = relationship()

    @property
    def role_label(self) -> str:
        return MembershipRole(self.role).label


class CommunityMeeting(TimestampMixin, db.Model):
    """One meeting of a community: when, how, what was planned and what happened."""

    __tablename__ = "community_meetings"
    __table_args__ = (
        CheckConstraint("guest_count >= 0", name="guest_count_not_negative"),
        CheckConstraint(_in("status", MeetingStatus), name="status_valid"),
        CheckConstraint("format IS NULL OR " + _in("format", MeetingFormat), name="format_valid"),
        CheckConstraint("ends_at IS NULL OR (starts_at IS NOT NULL AND ends_at > starts_at)", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    meets_on: Mapped[date] = mapped_column(Date)  # the day in UK time, always known
    starts_at: Mapped[datetime | None]  # UTC; none when the time was not recorded
    ends_at: Mapped[datetime | None]
    format: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(500), default="")  # a venue or a joining link
    agenda: Mapped[str] = mapped_column(Text, default="")
    methods: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.PLANNED.value)
    guest_count: Mapped[int] = mapped_column(default=0)  # people who came, counted without names
    notes: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    sequence: Mapped[int] = mapped_column(default=0)  # bumped on every change: the .ics SEQUENCE
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    community: Mapped[Community] = relationship(back_populates="meetings")
    register: Mapped[list[MeetingAttendance]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="MeetingAttendance.id")

    @property
    def status_label(self) -> str:
        return MeetingStatus(self.status).label

    @property
    def format_label(self) -> str:
        return MeetingFormat(self.format).label if self.format else "Not recorded"

    @property
    def present(self) -> int:
        return sum(1 for row in self.register if row.status == RegisterStatus.PRESENT)

    @property
    def headcount(self) -> int:
        """Everyone who came: named members present and people counted without names."""
        return self.present + self.guest_count

    # The participants' pages have always called these the date, the headcount and the reflection.
    @property
    def held_on(self) -> date:
        return self.meets_on

    @property
    def attendance(self) -> int:
        return self.headcount

    @property
    def reflection(self) -> str:
        return self.notes


class MeetingAttendance(db.Model):
    """One named member on a meeting's register."""

    __tablename__ = "meeting_attendances"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", name="uq_meeting_attendances_meeting_id_user_id"),
        CheckConstraint(_in("status", RegisterStatus), name="status_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime]

    meeting: Mapped[CommunityMeeting] = relationship(back_populates="register")
    user: Mapped[User] = relationship()

    @property
    def status_label(self) -> str:
        return RegisterStatus(self.status).label
