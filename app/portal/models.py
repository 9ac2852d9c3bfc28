"""The portal: materials and shared resources, discussion threads and the people directory."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User, _in
from app.db import TimestampMixin, db


class ResourceKind(StrEnum):
    SLIDES = "slides"
    READING = "reading"
    RECORDING = "recording"
    TEMPLATE = "template"
    TOOL = "tool"
    OTHER = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    ResourceKind.SLIDES: "Slides",
    ResourceKind.READING: "Reading",
    ResourceKind.RECORDING: "Recording",
    ResourceKind.TEMPLATE: "Template",
    ResourceKind.TOOL: "Tool",
    ResourceKind.OTHER: "Other",
}


class Resource(TimestampMixin, db.Model):
    """A file or link. cohort_id NULL means every cohort's library (programme-wide)."""

    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint(_in("kind", ResourceKind), name="kind_valid"),
        CheckConstraint("(url <> '') <> (stored_name IS NOT NULL)", name="file_or_link"),
        CheckConstraint("module_number IS NULL OR module_number BETWEEN 1 AND 5", name="module_number_range"),
        Index("ix_resources_cohort_id_created_at", "cohort_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    module_number: Mapped[int | None]
    session_id: Mapped[int | None] = mapped_column(ForeignKey("programme_sessions.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(20), default=ResourceKind.OTHER.value)
    url: Mapped[str] = mapped_column(String(500), default="")
    stored_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200), default="")
    mimetype: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Material from the programme team (rather than shared by a participant).
    is_material: Mapped[bool] = mapped_column(default=False)
    # Hidden from participants until then; early release is a change of this date.
    release_at: Mapped[datetime | None]

    uploaded_by: Mapped[User | None] = relationship()

    @property
    def kind_label(self) -> str:
        return ResourceKind(self.kind).label

    @property
    def is_file(self) -> bool:
        return self.stored_name is not None

    @property
    def tag_list(self) -> list[str]:
        return [t for t in (t.strip() for t in self.tags.split(",")) if t]

    def is_released(self, now: datetime) -> bool:
        return self.release_at is None or self.release_at <= now


class Thread(TimestampMixin, db.Model):
    __tablename__ = "threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    module_number: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_post_at: Mapped[datetime]
    # Moderation: a locked thread takes no new posts; pinned threads are listed first.
    is_locked: Mapped[bool] = mapped_column(default=False)
    is_pinned: Mapped[bool] = mapped_column(default=False)

    author: Mapped[User | None] = relationship()
    posts: Mapped[list[Post]] = relationship(back_populates="thread", order_by="Post.created_at, Post.id",
                                             cascade="all, delete-orphan")


class Post(TimestampMixin, db.Model):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    edited_at: Mapped[datetime | None]
    is_hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(Text, default="")
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    thread: Mapped[Thread] = relationship(back_populates="posts")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    hidden_by: Mapped[User | None] = relationship(foreign_keys=[hidden_by_id])


class SubscriptionState(StrEnum):
    FOLLOWING = "following"  # emailed about new posts, whether or not they have posted
    MUTED = "muted"  # never emailed about this thread, even after posting in it


class ThreadSubscription(db.Model):
    """Someone's choice to follow or mute one thread (no row: emailed only once they have posted)."""

    __tablename__ = "thread_subscriptions"
    __table_args__ = (CheckConstraint(_in("state", SubscriptionState), name="state_valid"),)

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    state: Mapped[str] = mapped_column(String(20))
    chosen_at: Mapped[datetime]


class ResourceProgress(db.Model):
    """A participant has marked a resource as done (their own checklist; no row: not done)."""

    __tablename__ = "resource_progress"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    done_at: Mapped[datetime]


class DirectoryEntry(db.Model):
    """What a participant chooses to show in their cohort's people directory."""

    __tablename__ = "directory_entries"

    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"), primary_key=True)
    is_listed: Mapped[bool] = mapped_column(default=True)
    show_role: Mapped[bool] = mapped_column(default=True)
    show_organisation: Mapped[bool] = mapped_column(default=True)
    show_cop: Mapped[bool] = mapped_column(default=True)
    show_email: Mapped[bool] = mapped_column(default=False)
