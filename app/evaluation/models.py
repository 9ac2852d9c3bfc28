"""Feedback after sessions, value evidence, impact stories (participants' CoPs are in app/communities).

Anonymity by design: who gave feedback (`FeedbackReceipt`: session x enrolment, with a time)
is stored apart from what was said (`FeedbackResponse`: no enrolment when anonymous, no
timestamp, a random key rather than a counting id). An anonymous answer is first held back
encrypted (`SealedFeedback`), and all of a session's anonymous answers are written out together,
in a shuffled order, when its feedback closes (`FeedbackClosure`), so neither the order of the
rows nor the transaction that wrote them points back to a receipt (see `anonymity.py`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import _in
from app.communities.value_cycles import VALUE_CYCLE_HINTS, EvidenceKind, ValueCycle, cycles_in  # noqa: F401
from app.db import TimestampMixin, db
from app.programme.models import Enrolment, ProgrammeSession
from app.sealing import random_key


class RecommendScale(StrEnum):
    YES_NO = "yes_no"
    ZERO_TEN = "zero_ten"


class FeedbackSetting(db.Model):
    """How a cohort asks for feedback after one kind of session. No row: the defaults."""

    __tablename__ = "feedback_settings"
    __table_args__ = (
        UniqueConstraint("cohort_id", "kind", name="uq_feedback_settings_cohort_id_kind"),
        CheckConstraint(_in("recommend_scale", RecommendScale), name="recommend_scale_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    recommend_scale: Mapped[str] = mapped_column(String(10), default=RecommendScale.YES_NO.value)
    ask_free_text: Mapped[bool] = mapped_column(Boolean, default=True)
    ask_quote: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)


class FeedbackReceipt(db.Model):
    """That a participant has given feedback on a session, and when. Never what they said."""

    __tablename__ = "feedback_receipts"
    __table_args__ = (UniqueConstraint("session_id", "enrolment_id", name="uq_feedback_receipts_session_id_enrolment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    given_at: Mapped[datetime]


def _random_key() -> str:
    return random_key()  # says nothing of when or in what order a row was written (app/sealing.py)


class FeedbackResponse(db.Model):
    """What was said about a session. `enrolment_id` is set only when the person chose to be named."""

    __tablename__ = "feedback_responses"
    __table_args__ = (
        CheckConstraint("worthwhile IS NULL OR worthwhile BETWEEN 1 AND 5", name="worthwhile_range"),
        CheckConstraint("recommend_score IS NULL OR recommend_score BETWEEN 0 AND 10", name="recommend_score_range"),
        Index("ix_feedback_responses_session_id", "session_id"),
    )

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=_random_key)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="SET NULL"))
    worthwhile: Mapped[int | None] = mapped_column(SmallInteger)  # 1 strongly disagree .. 5 strongly agree
    recommend_scale: Mapped[str] = mapped_column(String(10))
    recommend_yes: Mapped[bool | None] = mapped_column(Boolean)
    recommend_score: Mapped[int | None] = mapped_column(SmallInteger)
    what_worked: Mapped[str] = mapped_column(Text, default="")
    what_to_change: Mapped[str] = mapped_column(Text, default="")
    quote: Mapped[str] = mapped_column(Text, default="")
    quote_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    value_cycles: Mapped[list] = mapped_column(JSON, default=list)

    session: Mapped[ProgrammeSession] = relationship()
    enrolment: Mapped[Enrolment | None] = relationship()

    @property
    def is_anonymous(self) -> bool:
        return self.enrolment_id is None


class SealedFeedback(db.Model):
    """An anonymous answer held back, encrypted and padded to one size, until the session's feedback
    closes. No time, no person, a random key: what it says cannot be read from the database."""

    __tablename__ = "feedback_sealed"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=_random_key)
    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class ClosureReason(StrEnum):
    WINDOW_ENDED = "window_ended"
    EVERYONE_ANSWERED = "everyone_answered"
    CLOSED_BY_TEAM = "closed_by_team"
    SESSION_WITHDRAWN = "session_withdrawn"
    IMPORTED = "imported"

    @property
    def label(self) -> str:
        return {"window_ended": "the 30 days for feedback ended",
                "everyone_answered": "everyone who could answer had answered",
                "closed_by_team": "the programme team closed it",
                "session_withdrawn": "the session no longer stands as held",
                "imported": "its feedback was imported from a spreadsheet"}[self.value]


class FeedbackClosure(db.Model):
    """A session's feedback has closed: its anonymous answers were released, together, at this time."""

    __tablename__ = "feedback_closures"
    __table_args__ = (CheckConstraint(_in("reason", ClosureReason), name="reason_valid"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("programme_sessions.id", ondelete="CASCADE"),
                                            primary_key=True)
    closed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(20))
    released: Mapped[int] = mapped_column(default=0)
    # Answers imported from a spreadsheet without a name: who gave them is unknown, so they have no
    # receipts; they count as responses (never more than the people who could answer and did not).
    imported_unnamed: Mapped[int] = mapped_column(default=0)


# The programme expects each participant's community to meet three or four times during the year.
EXPECTED_MEETINGS = 3


class ValueEvidence(TimestampMixin, db.Model):
    """A quote, reflection or change tagged with the value cycles it shows."""

    __tablename__ = "value_evidence"
    __table_args__ = (CheckConstraint(_in("kind", EvidenceKind), name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    cycles: Mapped[list] = mapped_column(JSON, default=list)
    # Whose evidence it is (a participant), or none: the team's own observation or an anonymous quote.
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    consent_to_share: Mapped[bool] = mapped_column(Boolean, default=False)

    enrolment: Mapped[Enrolment | None] = relationship()


class StoryStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "submitted": "Waiting for review", "published": "Published"}[self.value]


class ImpactStory(TimestampMixin, db.Model):
    """A participant's story of change, told with the story spine."""

    __tablename__ = "impact_stories"
    __table_args__ = (CheckConstraint(_in("status", StoryStatus), name="status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    once_upon_a_time: Mapped[str] = mapped_column(Text, default="")
    every_day: Mapped[str] = mapped_column(Text, default="")
    one_day: Mapped[str] = mapped_column(Text, default="")
    because_of_that: Mapped[list] = mapped_column(JSON, default=list)
    until_finally: Mapped[str] = mapped_column(Text, default="")
    cycles: Mapped[list] = mapped_column(JSON, default=list)
    consent_to_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=StoryStatus.DRAFT.value)
    review_note: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]

    enrolment: Mapped[Enrolment] = relationship()

    @property
    def status_label(self) -> str:
        return StoryStatus(self.status).label


class ReportNarrative(TimestampMixin, db.Model):
    """The team's own words in the cohort's evaluation report: a summary and next steps."""

    __tablename__ = "report_narratives"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
