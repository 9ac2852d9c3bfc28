"""The programme template: the dates of a cohort's whole year from its start date.

Pure date arithmetic, no database: `plan_year` returns the sessions to create. The rules:
- the welcome half-day on the first working day on or after the start date;
- five modules, each two consecutive working days 09:30-12:30, the first two weeks after the
  welcome and each next one 9-10 weeks after the previous module's first day;
- four 1-hour drop-in clinics, one half-way between each pair of modules;
- five 1-hour co-consulting sessions, three weeks after each module;
- the celebration day twelve weeks after the last module;
- never on a weekend or a bank holiday (England and Wales by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache

import holidays

from app.programme.models import SessionKind

HALF_DAY = (time(9, 30), time(12, 30))
WELCOME = (time(9, 30), time(12, 30))
DROP_IN = (time(13, 0), time(14, 0))
CO_CONSULTING = (time(14, 0), time(15, 0))
CELEBRATION = (time(10, 0), time(16, 0))

FIRST_MODULE_AFTER_WELCOME = timedelta(weeks=2)
MODULE_INTERVAL = timedelta(weeks=9)  # then moved forward to the next free pair: 9-10 weeks
CO_CONSULTING_AFTER_MODULE = timedelta(weeks=3)
CELEBRATION_AFTER_LAST_MODULE = timedelta(weeks=12)
MODULE_COUNT = 5


@dataclass(frozen=True)
class PlannedSession:
    kind: SessionKind
    day: date
    starts: time
    ends: time
    title: str
    module_number: int | None = None
    part: int | None = None


@lru_cache(maxsize=8)
def _bank_holidays(region: str, years: tuple[int, ...]) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv=region, years=years).keys())


class WorkingDays:
    def __init__(self, start: date, region: str = "ENG"):
        years = tuple(range(start.year - 1, start.year + 3))
        self.bank_holidays = _bank_holidays(region, years)

    def is_working(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.bank_holidays

    def on_or_after(self, day: date) -> date:
        while not self.is_working(day):
            day += timedelta(days=1)
        return day

    def pair_on_or_after(self, day: date) -> date:
        """The first day from `day` that is a working day followed by another working day."""
        day = self.on_or_after(day)
        while not self.is_working(day + timedelta(days=1)):
            day = self.on_or_after(day + timedelta(days=1))
        return day


def plan_year(start: date, region: str = "ENG") -> list[PlannedSession]:
    days = WorkingDays(start, region)
    sessions: list[PlannedSession] = []

    welcome = days.on_or_after(start)
    sessions.append(PlannedSession(SessionKind.WELCOME, welcome, *WELCOME, "Welcome: getting to know you"))

    module_days: list[date] = []
    first = days.pair_on_or_after(welcome + FIRST_MODULE_AFTER_WELCOME)
    for number in range(1, MODULE_COUNT + 1):
        if number > 1:
            first = days.pair_on_or_after(module_days[-1] + MODULE_INTERVAL)
        module_days.append(first)
        for part, day in ((1, first), (2, first + timedelta(days=1))):
            sessions.append(PlannedSession(
                SessionKind.MODULE, day, *HALF_DAY, f"Module {number}, day {part}",
                module_number=number, part=part,
            ))

    for number in range(1, MODULE_COUNT):
        after = module_days[number - 1] + timedelta(days=1)
        before = module_days[number]
        midpoint = after + (before - after) / 2
        sessions.append(PlannedSession(
            SessionKind.DROP_IN, days.on_or_after(midpoint), *DROP_IN, f"Drop-in clinic {number}"
        ))

    for number in range(1, MODULE_COUNT + 1):
        day = days.on_or_after(module_days[number - 1] + timedelta(days=1) + CO_CONSULTING_AFTER_MODULE)
        sessions.append(PlannedSession(
            SessionKind.CO_CONSULTING, day, *CO_CONSULTING, f"Co-consulting session {number}"
        ))

    celebration = days.on_or_after(module_days[-1] + timedelta(days=1) + CELEBRATION_AFTER_LAST_MODULE)
    sessions.append(PlannedSession(SessionKind.CELEBRATION, celebration, *CELEBRATION, "Celebration event"))

    return sorted(sessions, key=lambda s: (s.day, s.starts))
