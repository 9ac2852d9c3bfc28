"""Reads for the team's pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app import audit
from app.db import db
from app.errors import Conflict
from app.formatting import local_date
from app.notifications.models import OutboxMessage, OutboxStatus

OUTBOX_PAGE_SIZE = 50


def outbox_page(page: int, status: str | None = None) -> tuple[list[OutboxMessage], int]:
    """One page of the outbox, newest due first, and the total count for the filter."""
    query = select(OutboxMessage)
    count = select(func.count()).select_from(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
        count = count.where(OutboxMessage.status == status)
    rows = db.session.scalars(
        query.order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
        .limit(OUTBOX_PAGE_SIZE).offset((page - 1) * OUTBOX_PAGE_SIZE)
    ).all()
    return list(rows), db.session.scalar(count)


REMINDER_KINDS = {
    "session-reminder": "Session coming up",
    "preparation": "Module preparation",
    "group-reminder": "Co-consulting morning",
    "deadline-reminder": "Application deadline",
    "offer-reminder": "Offer about to lapse",
    "sponsor-chaser": "Line manager chaser",
    "sponsor-expired": "Line manager link expired",
    "guest-reminder": "Celebration guest",
    "thread-digest": "Discussion posts",
}


def reminder_queue(now: datetime, days: int = 14, limit: int = 500) -> list[tuple[str, list[OutboxMessage]]]:
    """Pending emails due in the next days, grouped by UK day, soonest first."""
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING.value,
                                    OutboxMessage.due_at <= now + timedelta(days=days))
        .order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)).all()
    groups: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        groups.setdefault(local_date(row.due_at), []).append(row)
    return list(groups.items())


def reminder_kind(message: OutboxMessage) -> str:
    return REMINDER_KINDS.get(message.key.split(":", 1)[0], message.category.replace("_", " ").capitalize())


def cancel_message(*, actor, message: OutboxMessage, now: datetime) -> None:
    if message.status != OutboxStatus.PENDING:
        raise Conflict("Only a message waiting to be sent can be cancelled.")
    message.status, message.last_error = OutboxStatus.CANCELLED.value, f"Cancelled by {actor.name}"
    audit.record(actor=actor, action="email_cancelled", target_type="outbox_message", target_id=message.id, now=now)
    db.session.flush()


def send_message_now(*, actor, message: OutboxMessage, now: datetime) -> None:
    if message.status != OutboxStatus.PENDING:
        raise Conflict("Only a message waiting to be sent can be sent now.")
    message.due_at = now
    db.session.flush()
