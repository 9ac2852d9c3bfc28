"""The outbox: every email the product sends is a row here first."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TimestampMixin, db


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxMessage(TimestampMixin, db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(repr(s.value) for s in OutboxStatus) + ")", name="status_valid"
        ),
        # What send_due looks for: due rows still to send.
        Index("ix_outbox_messages_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency: writing the same reminder twice is a no-op.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(250))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    # [{"filename": ..., "content_type": ..., "content": str}] (text attachments such as ICS)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(50), default="general")
    # The cohort an email is about, when it is about one (reminders): for the team's reminder queue.
    # A plain number, not a foreign key: notifications sits below the programme in the layers.
    cohort_id: Mapped[int | None] = mapped_column(index=True)
    due_at: Mapped[datetime]
    # A reminder that is no use after this instant (its session has started) is skipped, not sent late.
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    claimed_at: Mapped[datetime | None]
    # When sending was first tried: retries go on, backing off, until OUTBOX_GIVE_UP_HOURS after it.
    first_attempted_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str] = mapped_column(String(250), default="")

    @property
    def status_label(self) -> str:
        return self.status.capitalize()
