"""Reads for the team's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app import audit
from app.db import db
from app.errors import Conflict
from app.formatting import local_date
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import retry_failed

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
    "feedback-request": "Feedback request",
    "feedback-follow-up": "Feedback reminder",
    "cop-meetings": "Community meetings to log",
    "community-meeting": "Community meeting coming up",
}


QUEUE_STATUSES = {"pending": "Waiting", "sent": "Sent", "cancelled": "Cancelled", "failed": "Failed"}
QUEUE_DAYS = 14  # how far ahead (waiting) or back (sent, cancelled, failed) the queue looks


@dataclass
class QueuedReminder:
    """One reminder as a person would name it ("Tomorrow: Module 2, day 1", due 08:30): every copy of it,
    to however many people."""

    sample_id: int
    kind: str
    subject: str
    due_at: datetime
    cohort_id: int | None
    category: str
    status: str
    recipients: int


def reminder_queue(now: datetime, *, cohort_id: int | None = None, kind: str | None = None,
                   status: str = "pending", limit: int = 300) -> list[tuple[str, list[QueuedReminder]]]:
    """Reminders, one row each with its recipients counted, grouped by UK day (soonest first for those
    waiting, latest first otherwise); filtered by cohort, kind (the key's first part) and status."""
    table = OutboxMessage
    query = select(func.min(table.id), func.min(table.key), table.subject, table.due_at, table.cohort_id,
                   table.category, func.count()).where(table.status == status)
    if status == OutboxStatus.PENDING:
        query = query.where(table.due_at <= now + timedelta(days=QUEUE_DAYS))
    else:
        query = query.where(table.due_at >= now - timedelta(days=QUEUE_DAYS), table.due_at <= now + timedelta(days=1))
    if cohort_id is not None:
        query = query.where(table.cohort_id == cohort_id)
    if kind:
        query = query.where(func.substr(table.key, 1, len(kind) + 1) == kind + ":")
    query = (query.group_by(table.subject, table.due_at, table.cohort_id, table.category)
             .order_by(table.due_at if status == OutboxStatus.PENDING else table.due_at.desc(), func.min(table.id))
             .limit(limit))
    groups: dict[str, list[QueuedReminder]] = {}
    for sample_id, key, subject, due_at, cohort, category, count in db.session.execute(query).all():
        row = QueuedReminder(sample_id, reminder_kind_of(key, category), subject, due_at, cohort, category, status,
                             count)
        groups.setdefault(local_date(due_at), []).append(row)
    return list(groups.items())


def reminder_kind_of(key: str, category: str) -> str:
    return REMINDER_KINDS.get(key.split(":", 1)[0], category.replace("_", " ").capitalize())


def reminder_kind(message: OutboxMessage) -> str:
    return reminder_kind_of(message.key, message.category)


def cancel_for_everyone(*, actor, sample: OutboxMessage, now: datetime) -> int:
    """Cancel every copy still waiting of the reminder `sample` belongs to (same subject, time, cohort and
    kind of email). Audited; returns how many."""
    table = OutboxMessage
    cancelled = db.session.execute(
        update(table).where(table.status == OutboxStatus.PENDING.value, table.subject == sample.subject,
                            table.due_at == sample.due_at, table.category == sample.category,
                            table.cohort_id.is_(None) if sample.cohort_id is None else table.cohort_id == sample.cohort_id)
        .values(status=OutboxStatus.CANCELLED.value, last_error=f"Cancelled for everyone by {actor.name}")
        .execution_options(synchronize_session=False)).rowcount
    if not cancelled:
        raise Conflict("Nothing of this reminder is waiting to be sent any more.")
    audit.record(actor=actor, action="reminder_cancelled", target_type="outbox_message", target_id=sample.id, now=now,
                 detail={"subject": sample.subject, "due_at": sample.due_at.isoformat(), "emails": cancelled})
    db.session.flush()
    return cancelled


def cancel_message(*, actor, message: OutboxMessage, now: datetime) -> None:
    if message.status != OutboxStatus.PENDING:
        raise Conflict("Only a message waiting to be sent can be cancelled.")
    message.status, message.last_error = OutboxStatus.CANCELLED.value, f"Cancelled by {actor.name}"
    audit.record(actor=actor, action="email_cancelled", target_type="outbox_message", target_id=message.id, now=now)
    db.session.flush()


def retry_failed_email(*, actor, now: datetime, message: OutboxMessage | None = None) -> int:
    """Send one failed email again, or every failed one (audited). Returns how many."""
    if message is not None and message.status != OutboxStatus.FAILED:
        raise Conflict("Only an email that failed can be tried again.")
    count = retry_failed(now=now, message_id=message.id if message is not None else None)
    audit.record(actor=actor, action="email_retried", target_type="outbox_message",
                 target_id=message.id if message is not None else None, detail={"count": count}, now=now)
    db.session.flush()
    return count


def send_message_now(*, actor, message: OutboxMessage, now: datetime) -> None:
    if message.status != OutboxStatus.PENDING:
        raise Conflict("Only a message waiting to be sent can be sent now.")
    message.due_at = now
    db.session.flush()
