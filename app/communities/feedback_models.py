"""Feedback after community meetings: each community's questions, who answered, what was said.

The same anonymity design as the programme's feedback (app/evaluation/anonymity.py): who answered
(`CommunityFeedbackReceipt`: meeting x person, with a time) is stored apart from what was said
(`CommunityFeedbackResponse`: a person only when named, no time, a random key). An anonymous answer
is held back sealed and padded (`CommunityFeedbackSealed`) until the meeting's feedback closes
(`CommunityFeedbackClosure`); then every one of the meeting's anonymous answers is written out in one
statement, shuffled, with fresh random keys (`app.sealing.write_out_shuffled`).
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

from app.auth.models import User, _in
from app.db import db
from app.sealing import random_key


class StandardQuestion(StrEnum):
    RATING = "rating"
    WORKED = "worked"
    BETTER = "better"
    DIFFERENTLY = "differently"

    @property
    def label(self) -> str:
        return {"rating": "How worthwhile was this meeting?", "worked": "What worked well?",
                "better": "What could be better?",
                "differently": "One thing you will do differently"}[self.value]


class AnswersAre(StrEnum):
    ANONYMOUS = "anonymous"
    CHOICE = "choice"
    NAMED = "named"

    @property
    def label(self) -> str:
        return {"anonymous": "Anonymous (recommended)", "choice": "Each person chooses anonymous or named",
                "named": "Named"}[self.value]


class ResponseKind(StrEnum):
    NAMED = "named"
    ANONYMOUS = "anonymous"  # given in the app, held back and released shuffled
    PAPER = "paper"  # typed in by a convener from a paper form; its author is not known to the app


class CommunityFeedbackSetting(db.Model):
    """A community's feedback form. No row: the defaults (every standard question, anonymous)."""

    __tablename__ = "community_feedback_settings"
    __table_args__ = (CheckConstraint(_in("answers_are", AnswersAre), name="answers_are_valid"),)

    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    questions: Mapped[list] = mapped_column(JSON, default=list)  # StandardQuestion values asked
    extra_questions: Mapped[list] = mapped_column(JSON, default=list)  # the convener's own, as text
    answers_are: Mapped[str] = mapped_column(String(20), default=AnswersAre.ANONYMOUS.value)


class CommunityFeedbackReceipt(db.Model):
    """That someone gave feedback on a meeting, and when. Never what they said."""

    __tablename__ = "community_feedback_receipts"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id", name="uq_community_feedback_receipts_meeting_id_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    given_at: Mapped[datetime]


class CommunityFeedbackResponse(db.Model):
    """What was said about a meeting. `user_id` only when the person chose (or was asked) to be named."""

    __tablename__ = "community_feedback_responses"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint(_in("kind", ResponseKind), name="kind_valid"),
        CheckConstraint("user_id IS NULL OR kind = 'named'", name="only_named_has_person"),
        Index("ix_community_feedback_responses_meeting_id", "meeting_id"),
    )

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # 1 not at all worthwhile .. 5 very worthwhile
    worked: Mapped[str] = mapped_column(Text, default="")
    better: Mapped[str] = mapped_column(Text, default="")
    differently: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[list] = mapped_column(JSON, default=list)  # [[question, answer], ...]

    user: Mapped[User | None] = relationship()


class CommunityFeedbackSealed(db.Model):
    """An anonymous answer held back, encrypted and padded to one size, until the meeting's feedback
    closes. No time, no person, a random key."""

    __tablename__ = "community_feedback_sealed"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class CommunityClosureReason(StrEnum):
    WINDOW_ENDED = "window_ended"
    EVERYONE_ANSWERED = "everyone_answered"
    CLOSED_BY_CONVENER = "closed_by_convener"
    MEETING_WITHDRAWN = "meeting_withdrawn"

    @property
    def label(self) -> str:
        return {"window_ended": "the 30 days for feedback ended",
                "everyone_answered": "everyone on the register as present had answered",
                "closed_by_convener": "a convener or the programme team closed it",
                "meeting_withdrawn": "the meeting no longer stands as held"}[self.value]


class CommunityFeedbackClosure(db.Model):
    """A meeting's feedback has closed: its anonymous answers were released, together, at this time."""

    __tablename__ = "community_feedback_closures"
    __table_args__ = (CheckConstraint(_in("reason", CommunityClosureReason), name="reason_valid"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("community_meetings.id", ondelete="CASCADE"), primary_key=True)
    closed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(20))
    released: Mapped[int] = mapped_column(default=0)

    @property
    def reason_label(self) -> str:
        return CommunityClosureReason(self.reason).label
