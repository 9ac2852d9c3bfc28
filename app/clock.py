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


def wall_clock_problem(day: date, at: time, tz: str | ZoneInfo = LONDON) -> str | None:
    """"missing" when the clocks jump over this time that day (01:30 on the last Sunday in March in
    London), "ambiguous" when it happens twice (01:30 on the last Sunday in October), else None."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    first = datetime.combine(day, at, tzinfo=zone)
    second = first.replace(fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return "missing" if back != first.replace(tzinfo=None) else "ambiguous"


def to_local(instant: datetime, tz: str | ZoneInfo = LONDON) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return instant.astimezone(zone)


def local_today(tz: str | ZoneInfo = LONDON) -> date:
    """Today's date where the cohort is."""
    return to_local(now(), tz).date()
