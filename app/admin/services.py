"""Reads for the team's pages."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db import db
from app.notifications.models import OutboxMessage

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
