"""Applications to a cohort, the line manager's sign-off, reviews and the status history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import Organisation, User, _in
from app.db import TimestampMixin, db
from app.programme.models import Cohort


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AWAITING_SPONSOR = "awaiting_sponsor"
    SPONSOR_APPROVED = "sponsor_approved"
    SPONSOR_DECLINED = "sponsor_declined"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WAITLISTED = "waitlisted"
    UNSUCCESSFUL = "unsuccessful"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    ApplicationStatus.DRAFT: "Draft",
    ApplicationStatus.SUBMITTED: "Submitted",
    ApplicationStatus.AWAITING_SPONSOR: "Waiting for line manager",
    ApplicationStatus.SPONSOR_APPROVED: "Line manager approved",
    ApplicationStatus.SPONSOR_DECLINED: "Line manager declined",
    ApplicationStatus.OFFERED: "Offered a place",
    ApplicationStatus.ACCEPTED: "Accepted",
    ApplicationStatus.DECLINED: "Declined the offer",
    ApplicationStatus.WAITLISTED: "Waiting list",
    ApplicationStatus.UNSUCCESSFUL: "Unsuccessful",
    ApplicationStatus.WITHDRAWN: "Withdrawn",
}


class Decision(StrEnum):
    """The team's selection decision, held back until outcomes are released."""

    OFFER = "offer"
    WAITLIST = "waitlist"
    UNSUCCESSFUL = "unsuccessful"

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]


DECISION_LABELS = {"offer": "Offer a place", "waitlist": "Waiting list", "unsuccessful": "Unsuccessful"}


class CopStatus(StrEnum):
    PLANNING = "planning"
    RUNNING = "running"


class SponsorDecision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    SUPERSEDED = "superseded"


class Application(TimestampMixin, db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(_in("status", ApplicationStatus), name="status_valid"),
        CheckConstraint("decision IS NULL OR " + _in("decision", Decision), name="decision_valid"),
        CheckConstraint("cop_status IS NULL OR " + _in("cop_status", CopStatus), name="cop_status_valid"),
        UniqueConstraint("cohort_id", "applicant_id", name="uq_applications_cohort_id_applicant_id"),
        Index("ix_applications_cohort_id_status", "cohort_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(30), default=ApplicationStatus.DRAFT.value)

    # About you
    job_title: Mapped[str] = mapped_column(String(120), default="")
    profession: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"),
                                                        index=True)
    # Eligibility
    is_improvement_community_member: Mapped[bool] = mapped_column(default=False)
    leads_network_cop: Mapped[bool] = mapped_column(default=False)
    # The community of practice
    cop_title: Mapped[str] = mapped_column(String(200), default="")
    cop_domain: Mapped[str] = mapped_column(Text, default="")
    cop_members: Mapped[str] = mapped_column(Text, default="")
    crosses_boundaries: Mapped[bool | None]
    boundaries_how: Mapped[str] = mapped_column(Text, default="")
    cop_status: Mapped[str | None] = mapped_column(String(20))
    hopes: Mapped[str] = mapped_column(Text, default="")
    # Line manager
    sponsor_name: Mapped[str] = mapped_column(String(120), default="")
    sponsor_email: Mapped[str] = mapped_column(String(254), default="")
    sponsor_job_title: Mapped[str] = mapped_column(String(120), default="")

    submitted_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))
    waitlist_rank: Mapped[int | None]
    outcome_released_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]

    cohort: Mapped[Cohort] = relationship()
    applicant: Mapped[User] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", order_by="ApplicationEvent.at, ApplicationEvent.id",
        cascade="all, delete-orphan")
    approvals: Mapped[list[SponsorApproval]] = relationship(
        back_populates="application", order_by="SponsorApproval.id", cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(back_populates="application", cascade="all, delete-orphan")
    assignments: Mapped[list[ReviewAssignment]] = relationship(back_populates="application",
                                                               cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return ApplicationStatus(self.status).label

    @property
    def current_approval(self) -> SponsorApproval | None:
        live = [a for a in self.approvals if a.decision != SponsorDecision.SUPERSEDED]
        return live[-1] if live else None

    @property
    def mean_score(self) -> float | None:
        totals = [r.total for r in self.reviews]
        return round(sum(totals) / len(totals), 2) if totals else None


class ApplicationEvent(db.Model):
    """One step of an application's history: a status change, with who and when."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @property
    def label(self) -> str:
        return ApplicationStatus(self.to_status).label


class SponsorApproval(TimestampMixin, db.Model):
    """A request to the line manager. Only the link token's SHA-256 is stored."""

    __tablename__ = "sponsor_approvals"
    __table_args__ = (
        CheckConstraint(_in("decision", SponsorDecision), name="decision_valid"),
        CheckConstraint("decision <> 'approved' OR confirms_release", name="approval_confirms_release"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    sponsor_name: Mapped[str] = mapped_column(String(120))
    sponsor_email: Mapped[str] = mapped_column(String(254))
    sponsor_role: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decision: Mapped[str] = mapped_column(String(20), default=SponsorDecision.PENDING.value)
    confirms_release: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None]
    # Set when the team records the decision on the line manager's behalf.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_reason: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship(back_populates="approvals")
    recorded_by: Mapped[User | None] = relationship()

    @property
    def is_pending(self) -> bool:
        return self.decision == SponsorDecision.PENDING

    def is_expired(self, now: datetime) -> bool:
        return self.is_pending and self.expires_at <= now


class Review(TimestampMixin, db.Model):
    """One reviewer's scores against the rubric, 1-5 each."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_reviews_application_id_reviewer_id"),
        CheckConstraint("boundary_score BETWEEN 1 AND 5", name="boundary_score_range"),
        CheckConstraint("ambition_score BETWEEN 1 AND 5", name="ambition_score_range"),
        CheckConstraint("readiness_score BETWEEN 1 AND 5", name="readiness_score_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    boundary_score: Mapped[int]
    ambition_score: Mapped[int]
    readiness_score: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()

    @property
    def total(self) -> int:
        return self.boundary_score + self.ambition_score + self.readiness_score


class ReviewAssignment(db.Model):
    """A reviewer asked by the team to score an application."""

    __tablename__ = "review_assignments"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_review_assignments_application_id_reviewer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    application: Mapped[Application] = relationship(back_populates="assignments")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
