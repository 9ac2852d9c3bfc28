"""Reads for the team's pages."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select

from app import audit, clock
from app.auth.models import StaffRole, User
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


# -- people and the audit log -------------------------------------------------------------------

def people_page(*, q: str, role: str, deletion_requested: bool, page: int,
                page_size: int) -> tuple[list[User], int, int]:
    """One page of accounts matching a name or email and a role; the total; how many asked for deletion."""
    query = select(User)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if role in {r.value for r in StaffRole}:
        query = query.where(User.staff_role == role)
    if deletion_requested:
        query = query.where(User.deletion_requested_at.is_not(None), User.erased_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(func.lower(User.name), User.id)
                              .limit(page_size).offset((page - 1) * page_size)).all()
    requests = db.session.scalar(select(func.count()).select_from(User).where(
        User.deletion_requested_at.is_not(None), User.erased_at.is_(None)))
    return list(rows), total, requests


def audit_page(*, action: str, who: str, start: datetime | None, end: datetime | None,
               target: tuple[str, int] | None, page: int, page_size: int) -> tuple[list, int]:
    """One page of audit events (newest first) with their actors, and the total for the filters."""
    query = select(audit.AuditEvent, User).outerjoin(User, User.id == audit.AuditEvent.actor_id)
    if action:
        query = query.where(audit.AuditEvent.action == action)
    if who:
        like = f"%{who.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like)))
    if start:
        query = query.where(audit.AuditEvent.at >= clock.local_instant(start.date(), time(0, 0)))
    if end:
        query = query.where(audit.AuditEvent.at <= clock.local_instant(end.date(), time(23, 59, 59)))
    if target:
        query = query.where(audit.AuditEvent.target_type == target[0], audit.AuditEvent.target_id == target[1])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(audit.AuditEvent.at.desc(), audit.AuditEvent.id.desc())
                              .limit(page_size).offset((page - 1) * page_size)).all()
    return list(rows), total


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(audit.AuditEvent.action).distinct().order_by(audit.AuditEvent.action)))
