"""Dates and times as people read them, in the cohort's timezone (NHS.UK style: 9:30am)."""

from __future__ import annotations

from datetime import datetime

from app.clock import LONDON, to_local


def _zone(tz):
    return tz or LONDON


def local_date(instant: datetime | None, tz=None) -> str:
    if instant is None:
        return ""
    value = to_local(instant, _zone(tz))
    return f"{value:%A} {value.day} {value:%B %Y}"


def short_date(instant: datetime | None, tz=None) -> str:
    if instant is None:
        return ""
    value = to_local(instant, _zone(tz))
    return f"{value:%a} {value.day} {value:%b %Y}"


def local_time(instant: datetime | None, tz=None) -> str:
    if instant is None:
        return ""
    value = to_local(instant, _zone(tz))
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    if value.hour == 12 and value.minute == 0:
        return "midday"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def local_datetime(instant: datetime | None, tz=None) -> str:
    if instant is None:
        return ""
    return f"{local_date(instant, tz)} at {local_time(instant, tz)}"


FILTERS = {
    "local_date": local_date,
    "short_date": short_date,
    "local_time": local_time,
    "local_datetime": local_datetime,
}
