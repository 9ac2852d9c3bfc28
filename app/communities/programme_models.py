"""Programmes of work and communities' value: a programme of work (a regional alliance's "Communities of
Practice" programme, say) groups communities and has a team of named people who see and manage all of
them; value evidence tagged by the value-creation cycles, and value stories told in convener interviews.

A community belongs to at most one programme of work (`communities.programme_of_work_id`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User, _in
from app.communities.models import Community
from app.communities.value_cycles import EvidenceKind
from app.db import TimestampMixin, db

# The questions a value story interview starts from; a programme of work may change them.
DEFAULT_STORY_QUESTIONS = (
    "What was happening before the community?",
    "What has changed because of it?",
    "What difference has that made, and to whom?",
    "What next?",
)


class ProgrammeOfWork(TimestampMixin, db.Model):
    """A programme of work grouping communities, run by someone, with its own team and report."""

    __tablename__ = "programmes_of_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    run_by: Mapped[str] = mapped_column(String(200), default="")  # the organisation that runs it
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    story_questions: Mapped[list] = mapped_column(JSON, default=list)  # empty: DEFAULT_STORY_QUESTIONS
    next_steps: Mapped[str] = mapped_column(Text, default="")  # the team's words at the end of the report
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    team: Mapped[list[ProgrammeTeamMember]] = relationship(
        back_populates="programme_of_work", cascade="all, delete-orphan", order_by="ProgrammeTeamMember.id")
    communities: Mapped[list[Community]] = relationship(
        primaryjoin="ProgrammeOfWork.id == foreign(Community.programme_of_work_id)",
        order_by="(Community.name, Community.id)", viewonly=True)

    @property
    def questions(self) -> list[str]:
        return list(self.story_questions or DEFAULT_STORY_QUESTIONS)


class ProgrammeTeamMember(db.Model):
    """Someone on a programme of work's team: they see and manage all of its communities and its report."""

    __tablename__ = "programme_team_members"
    __table_args__ = (UniqueConstraint("programme_of_work_id", "user_id",
                                       name="uq_programme_team_members_programme_of_work_id_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_of_work_id: Mapped[int] = mapped_column(ForeignKey("programmes_of_work.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime]

    programme_of_work: Mapped[ProgrammeOfWork] = relationship(back_populates="team")
    user: Mapped[User] = relationship()


class CommunityValueEvidence(TimestampMixin, db.Model):
    """A quote, reflection or change in a community, tagged with the value cycles it shows."""

    __tablename__ = "community_value_evidence"
    __table_args__ = (CheckConstraint(_in("kind", EvidenceKind), name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    cycles: Mapped[list] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    recorded_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return EvidenceKind(self.kind).label


class CommunityValueStory(TimestampMixin, db.Model):
    """A value story from an interview with a convener: the questions asked and the answers, who was
    interviewed, and whether they agreed to share it (only then is it in the programme's report)."""

    __tablename__ = "community_value_stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    interviewee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    interviewee_name: Mapped[str] = mapped_column(String(200), default="")  # as said in the interview
    interviewed_on: Mapped[date | None] = mapped_column(Date)
    answers: Mapped[list] = mapped_column(JSON, default=list)  # [{"question": ..., "answer": ...}, ...]
    cycles: Mapped[list] = mapped_column(JSON, default=list)
    consent_to_share: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    interviewee: Mapped[User | None] = relationship(foreign_keys=[interviewee_id])
