"""The programme, its cohorts, who is enrolled, and the year's sessions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.auth.models import User, _in
from app.db import TimestampMixin, db


class CohortStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    SELECTING = "selecting"
    RUNNING = "running"
    COMPLETED = "completed"


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


class SessionKind(StrEnum):
    WELCOME = "welcome"
    MODULE = "module"
    DROP_IN = "drop_in"
    CO_CONSULTING = "co_consulting"
    CELEBRATION = "celebration"

    @property
    def label(self) -> str:
        return SESSION_KIND_LABELS[self]


SESSION_KIND_LABELS = {
    SessionKind.WELCOME: "Welcome",
    SessionKind.MODULE: "Module day",
    SessionKind.DROP_IN: "Drop-in clinic",
    SessionKind.CO_CONSULTING: "Co-consulting",
    SessionKind.CELEBRATION: "Celebration event",
}


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"  # postponed, the new date to be confirmed
    NOT_HELD = "not_held"  # its time came and it did not take place

    @property
    def label(self) -> str:
        return {"scheduled": "Scheduled", "cancelled": "Cancelled",
                "postponed": "Postponed: new date to be confirmed", "not_held": "Did not take place"}[self.value]


class SessionChangeKind(StrEnum):
    """What happened to a session's date or status; the report reads the year from these."""

    MOVED = "moved"  # its date or time changed
    POSTPONED = "postponed"  # put off with the new date to be confirmed
    DATED = "dated"  # a postponed session given its new date
    CANCELLED = "cancelled"
    REINSTATED = "reinstated"
    NOT_HELD = "not_held"


class Programme(TimestampMixin, db.Model):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)

    cohorts: Mapped[list[Cohort]] = relationship(back_populates="programme", order_by="Cohort.starts_on")


class ProgrammeTemplate(TimestampMixin, db.Model):
    """The shape of a programme year, from which cohorts are created (`app.programme.template.YearShape`).

    One template is the default (the HIN year). Changing a template changes only cohorts created after."""

    __tablename__ = "programme_templates"
    __table_args__ = (
        CheckConstraint("module_count BETWEEN 1 AND 5", name="module_count_range"),
        CheckConstraint("days_per_module BETWEEN 1 AND 2", name="days_per_module_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    has_welcome: Mapped[bool] = mapped_column(default=True)
    welcome_starts: Mapped[time]
    welcome_ends: Mapped[time]
    module_count: Mapped[int]
    days_per_module: Mapped[int]
    module_starts: Mapped[time]
    module_ends: Mapped[time]
    first_module_weeks: Mapped[int]
    module_interval_weeks: Mapped[int]
    has_clinics: Mapped[bool] = mapped_column(default=True)
    clinic_starts: Mapped[time]
    clinic_ends: Mapped[time]
    has_co_consulting: Mapped[bool] = mapped_column(default=True)
    co_consulting_weeks: Mapped[int]
    co_consulting_starts: Mapped[time]
    co_consulting_ends: Mapped[time]
    has_celebration: Mapped[bool] = mapped_column(default=True)
    celebration_weeks: Mapped[int]
    celebration_starts: Mapped[time]
    celebration_ends: Mapped[time]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Cohort(TimestampMixin, db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint(_in("status", CohortStatus), name="status_valid"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        UniqueConstraint("programme_id", "name", name="uq_cohorts_programme_id_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    capacity: Mapped[int] = mapped_column(default=28)
    starts_on: Mapped[date]
    applications_open_at: Mapped[datetime | None]
    application_deadline_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default=CohortStatus.DRAFT.value)
    # How long an offered applicant has to accept their place.
    offer_response_days: Mapped[int] = mapped_column(default=14, server_default="14")
    # How many guests the celebration event can take.
    guest_capacity: Mapped[int] = mapped_column(default=60, server_default="60")
    # Blind review: a reviewer sees other reviewers' scores only once they have scored themselves.
    blind_review: Mapped[bool] = mapped_column(default=True, server_default="1")
    # Whether "apologies" are excused (left out of a person's attendance rate, like Moodle's
    # "Excused") or count as a session missed.
    apologies_excused: Mapped[bool] = mapped_column(default=False, server_default="0")
    # The template the cohort's year was planned from (none: planned before templates existed).
    template_id: Mapped[int | None] = mapped_column(ForeignKey("programme_templates.id", ondelete="SET NULL"))

    programme: Mapped[Programme] = relationship(back_populates="cohorts")
    template: Mapped[ProgrammeTemplate | None] = relationship()
    modules: Mapped[list[ProgrammeModule]] = relationship(
        back_populates="cohort", order_by="ProgrammeModule.number", cascade="all, delete-orphan"
    )
    sessions: Mapped[list[ProgrammeSession]] = relationship(
        back_populates="cohort", order_by="ProgrammeSession.starts_at", cascade="all, delete-orphan"
    )
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="cohort", cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return self.status.capitalize()

    def application_window(self, now: datetime) -> str:
        """'unscheduled', 'not_open', 'open' or 'closed', from the opening and deadline instants."""
        if self.applications_open_at is None or self.application_deadline_at is None:
            return "unscheduled"
        if now < self.applications_open_at:
            return "not_open"
        if now > self.application_deadline_at:
            return "closed"
        return "open"


class Enrolment(TimestampMixin, db.Model):
    """A person's place in a cohort. Participants are users with an active enrolment."""

    __tablename__ = "enrolments"
    __table_args__ = (
        CheckConstraint(_in("status", EnrolmentStatus), name="status_valid"),
        UniqueConstraint("cohort_id", "user_id", name="uq_enrolments_cohort_id_user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=EnrolmentStatus.ACTIVE.value)
    enrolled_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    withdrawn_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship(back_populates="enrolments")
    user: Mapped[User] = relationship()


class ProgrammeModule(TimestampMixin, db.Model):
    __tablename__ = "programme_modules"
    __table_args__ = (
        CheckConstraint("number BETWEEN 1 AND 5", name="number_range"),
        UniqueConstraint("cohort_id", "number", name="uq_programme_modules_cohort_id_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    content_slug: Mapped[str] = mapped_column(String(120))

    cohort: Mapped[Cohort] = relationship(back_populates="modules")
    sessions: Mapped[list[ProgrammeSession]] = relationship(
        back_populates="module", order_by="ProgrammeSession.part"
    )


class ProgrammeSession(TimestampMixin, db.Model):
    """One meeting of the cohort: the welcome, a module day, a clinic, co-consulting, the celebration."""

    __tablename__ = "programme_sessions"
    __table_args__ = (
        CheckConstraint(_in("kind", SessionKind), name="kind_valid"),
        CheckConstraint(_in("status", SessionStatus), name="status_valid"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint(
            "(kind = 'module' AND module_id IS NOT NULL AND part IN (1, 2))"
            " OR (kind <> 'module' AND module_id IS NULL AND part IS NULL)",
            name="module_day_shape",
        ),
        Index("ix_programme_sessions_cohort_id_starts_at", "cohort_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("programme_modules.id", ondelete="CASCADE"))
    part: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    join_url: Mapped[str] = mapped_column(String(500), default="")
    venue: Mapped[str] = mapped_column(String(300), default="")
    access_info: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.SCHEDULED.value)
    # Bumped on every change: the ICS SEQUENCE that tells calendars an event was updated.
    sequence: Mapped[int] = mapped_column(default=0)
    # Why it was cancelled, postponed or did not take place (the team's words, shown in the report).
    status_reason: Mapped[str] = mapped_column(Text, default="")

    cohort: Mapped[Cohort] = relationship(back_populates="sessions")
    module: Mapped[ProgrammeModule | None] = relationship(back_populates="sessions")
    facilitators: Mapped[list[SessionFacilitator]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionFacilitator.id")

    # How long before the start a virtual session's join link is shown.
    JOIN_LINK_LEAD = timedelta(minutes=30)

    @property
    def kind_label(self) -> str:
        return SessionKind(self.kind).label

    @property
    def is_off(self) -> bool:
        """Not going ahead as scheduled: cancelled, postponed without a date, or it did not take place."""
        return self.status != SessionStatus.SCHEDULED

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    @property
    def status_label(self) -> str:
        return SessionStatus(self.status).label

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now

    def join_link_open(self, now: datetime) -> bool:
        return (not self.is_cancelled and bool(self.join_url)
                and self.starts_at - self.JOIN_LINK_LEAD <= now < self.ends_at)

    @property
    def join_link_opens_at(self) -> datetime:
        return self.starts_at - self.JOIN_LINK_LEAD


class SessionChange(db.Model):
    """One change to a session's date or status, with the start in force before it and when it was made.

    "Moved before it was due" and "postponed after it was due" are told apart by comparing
    `changed_at` with `from_starts_at`; the first planned start is the earliest change's
    `from_starts_at` (or the session's start when it never changed).
    """

    __tablename__ = "session_changes"
    __table_args__ = (CheckConstraint(_in("kind", SessionChangeKind), name="kind_valid"),
                      Index("ix_session_changes_session_id_changed_at", "session_id", "changed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime]
    from_starts_at: Mapped[datetime]
    to_starts_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CohortReminderRule(TimestampMixin, db.Model):
    """A cohort's own setting for one reminder rule of app.programme.reminder_rules.

    No row means the rule's default. A timing column left empty takes the default too. Every
    change bumps `revision`, which goes into the reminders' keys, so a re-plan writes fresh rows.
    """

    __tablename__ = "cohort_reminder_rules"
    __table_args__ = (
        UniqueConstraint("cohort_id", "rule_key", name="uq_cohort_reminder_rules_cohort_id_rule_key"),
        CheckConstraint("at_minute IS NULL OR (at_minute >= 0 AND at_minute < 1440)", name="at_minute_range"),
        CheckConstraint("hours IS NULL OR hours > 0", name="hours_positive"),
        CheckConstraint("every_days IS NULL OR every_days > 0", name="every_days_positive"),
        CheckConstraint("revision > 0", name="revision_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    rule_key: Mapped[str] = mapped_column(String(40))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Whole days before or after the event, largest first.
    days: Mapped[list[int] | None] = mapped_column(JSON)
    # A time of day in the cohort's timezone, as minutes after midnight.
    at_minute: Mapped[int | None]
    hours: Mapped[int | None]
    every_days: Mapped[int | None]
    revision: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SessionFacilitator(db.Model):
    """A facilitator (or team member) leading a session: they see it among their sessions and are told
    of its changes."""

    __tablename__ = "session_facilitators"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_session_facilitators_session_id_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime]

    session: Mapped[ProgrammeSession] = relationship(back_populates="facilitators")
    user: Mapped[User] = relationship()
