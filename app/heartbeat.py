"""Scheduler processes say they are alive, so /healthz can tell a stopped scheduler from a quiet one.

Each process beats on every job it runs (sending runs every minute by default); its row is keyed by
a name (host and process id), so several schedulers each have one. /healthz reads the latest beat of
any of them: stale after HEARTBEAT_STALE_MINUTES, when it answers 503 (where SCHEDULER_REQUIRED).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import String, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from app.db import db

# This process's own scheduler (app/scheduler.py keeps it up to date): off, embedded or a process.
PROCESS_STATE = {"running": False, "mode": "off", "last_run": None}


def scheduler_state() -> dict:
    return dict(PROCESS_STATE)


class Heartbeat(db.Model):
    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    beat_at: Mapped[datetime]


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def beat(now: datetime, name: str | None = None) -> None:
    """Record that this scheduler process ran a job now (an upsert, in the caller's transaction)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Heartbeat).values(name=name or process_name(), beat_at=now)
    db.session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"beat_at": now}))


def last_beat() -> datetime | None:
    return db.session.scalar(select(func.max(Heartbeat.beat_at)))


def is_stale(last: datetime | None, now: datetime, stale_after: timedelta) -> bool:
    return last is None or now - last > stale_after
