"""The one source of the current time. Tests freeze it with time-machine."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def local_instant(day: date, at: time, tz: str | ZoneInfo = LONDON) -> datetime:
    """The UTC instant of a wall-clock time on a day in a timezone (09:30 London -> UTC)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def to_local(instant: datetime, tz: str | ZoneInfo = LONDON) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return instant.astimezone(zone)


def local_today(tz: str | ZoneInfo = LONDON) -> date:
    """Today's date where the cohort is."""
    return to_local(now(), tz).date()
