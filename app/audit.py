"""AuditEvent: who did what to which record, when, from where. Append-only.

Services call record(); where the request came from is supplied by a request hook through a
context variable, so services never read the request themselves.

Events anyone can cause without signing in (a refused CSRF check) go through record_repeated():
one row per kind, person and address each hour, counting the repeats, so a scan cannot fill the log.
Its count is the one thing ever changed in a written row.
"""

from __future__ import annotations

import contextvars
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, event, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.db import db

_origin: contextvars.ContextVar[str] = contextvars.ContextVar("convene_audit_origin", default="system")


def set_origin(origin: str) -> contextvars.Token:
    return _origin.set(origin)


def reset_origin(token: contextvars.Token) -> None:
    _origin.reset(token)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    origin: Mapped[str] = mapped_column(String(100), default="system")


@event.listens_for(AuditEvent, "before_update")
def _append_only(_mapper, _connection, _target):
    raise RuntimeError("audit events are append-only")


def record(*, actor, action: str, target_type: str, target_id: int | None, detail: dict | None = None,
           now: datetime | None = None) -> AuditEvent:
    """Write an audit event in the caller's transaction. Never pass passwords or tokens in detail."""
    entry = AuditEvent(at=now or clock.now(), actor_id=getattr(actor, "id", None), action=action,
                       target_type=target_type, target_id=target_id, detail=detail or {}, origin=_origin.get())
    db.session.add(entry)
    return entry


def record_repeated(*, actor, action: str, target_type: str, detail: dict | None = None,
                    now: datetime | None = None) -> None:
    """Record an event that may repeat many times: the first in each clock hour for this actor (or
    nobody) and address writes a row; later ones add to its detail's "count" and keep the latest detail.
    Never pass passwords or tokens in detail."""
    now = now or clock.now()
    window_start = now.replace(minute=0, second=0, microsecond=0)
    actor_id = getattr(actor, "id", None)
    query = select(AuditEvent.id, AuditEvent.detail).where(
        AuditEvent.action == action, AuditEvent.origin == _origin.get(), AuditEvent.at >= window_start,
        AuditEvent.actor_id.is_(None) if actor_id is None else AuditEvent.actor_id == actor_id)
    existing = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(1)).first()
    if existing is None:
        record(actor=actor, action=action, target_type=target_type, target_id=None, now=now,
               detail={**(detail or {}), "count": 1})
        return
    count = int((existing.detail or {}).get("count", 1)) + 1
    # A Core update (the ORM flush is refused by the append-only guard): only this row's detail changes.
    db.session.execute(update(AuditEvent).where(AuditEvent.id == existing.id)
                       .values(detail={**(detail or {}), "count": count})
                       .execution_options(synchronize_session=False))
