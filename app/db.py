"""The declarative base, a UTC datetime type and the timestamp mixin."""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

from app import clock

# Named constraints: Alembic's batch migrations on SQLite need them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always gives back aware UTC datetimes.

    SQLite has no time zone support, so naive values read back are taken as UTC; a naive
    value written is refused, because it is a bug in the caller.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use app.clock.now() or attach a tzinfo")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    updated_at: Mapped[datetime] = mapped_column(
        default=lambda: clock.now(), onupdate=lambda: clock.now()
    )


# --- SQLite: WAL, busy timeout, and BEGIN IMMEDIATE for units of work that write -------------
# Measured: SQLAlchemy's default transaction handling lost updates under several workers and
# plain BEGIN gave "database is locked"; BEGIN IMMEDIATE gave neither. Reads (GET requests)
# keep a deferred BEGIN so they never wait for the write lock.
_write_unit: contextvars.ContextVar[bool] = contextvars.ContextVar("convene_write_unit", default=True)


@contextmanager
def read_only_unit():
    """Mark the current unit of work as read-only (a GET request): deferred BEGIN on SQLite."""
    token = _write_unit.set(False)
    try:
        yield
    finally:
        _write_unit.reset(token)


@contextmanager
def write_unit():
    """A write at the end of a read-only unit (a GET that records a download in the audit log).

    On SQLite a deferred transaction that has read cannot start writing once another connection
    has committed since: it fails at once with "database is locked", whatever the busy timeout.
    So what was read is committed first, and the write gets a transaction of its own that takes
    the write lock at BEGIN and waits its turn for it; it is committed when the block ends.
    """
    db.session.commit()
    token = _write_unit.set(True)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _write_unit.reset(token)


def set_write_unit(is_write: bool) -> contextvars.Token:
    return _write_unit.set(is_write)


def reset_write_unit(token: contextvars.Token) -> None:
    _write_unit.reset(token)


def configure_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_unit.get() else "BEGIN")


def migration_script():
    """The app's Alembic script directory (Flask-Migrate's migrations/): its heads and revisions."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    migrate_ext = current_app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate_ext.migrate.get_config(migrate_ext.directory))


def database_heads(connection) -> set[str]:
    """The migration revisions the database on `connection` is at (empty when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())
