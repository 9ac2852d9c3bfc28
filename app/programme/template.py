"""Programme templates: the dates of a cohort's whole year from its start date and the year's shape.

Pure date arithmetic, no database: `plan_year` returns the sessions to create. A `YearShape` says which
kinds of session the year has, how many modules of how many half-days, their times and cadence. The
default shape is the HIN year (`HIN_YEAR`):
- the welcome half-day on the first working day on or after the start date;
- five modules, each two consecutive working days 09:30-12:30, the first two weeks after the
  welcome and each next one 9-10 weeks after the previous module's first day;
- four 1-hour drop-in clinics, one half-way between each pair of modules;
- five 1-hour co-consulting sessions, three weeks after each module;
- the celebration day twelve weeks after the last module;
- never on a weekend or a bank holiday (England and Wales by default).
Other shapes change the counts, times and gaps; the rules (working days, clinics half-way between
modules, co-consulting after each module) stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache

import holidays

from app.programme.models import SessionKind

MAX_MODULES = 5  # module pages, materials and registers are numbered 1 to 5
MAX_DAYS_PER_MODULE = 2


@dataclass(frozen=True)
class YearShape:
    """The shape of a programme year. Times are UK wall-clock times; gaps are in weeks."""

    has_welcome: bool = True
    welcome: tuple[time, time] = (time(9, 30), time(12, 30))
    module_count: int = 5
    days_per_module: int = 2
    module_times: tuple[time, time] = (time(9, 30), time(12, 30))
    first_module_weeks: int = 2  # after the welcome (or the start date)
    module_interval_weeks: int = 9  # from one module's first day to the next's (then the next free days)
    has_clinics: bool = True  # one drop-in clinic half-way between each pair of modules
    clinic_times: tuple[time, time] = (time(13, 0), time(14, 0))
    has_co_consulting: bool = True  # one co-consulting session after each module
    co_consulting_weeks: int = 3  # after the module's last day
    co_consulting_times: tuple[time, time] = (time(14, 0), time(15, 0))
    has_celebration: bool = True
    celebration_weeks: int = 12  # after the last module's last day
    celebration_times: tuple[time, time] = (time(10, 0), time(16, 0))


HIN_YEAR = YearShape()


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
        return self.run_on_or_after(day, 2)

    def run_on_or_after(self, day: date, length: int) -> date:
        """The first day from `day` that starts `length` consecutive working days."""
        day = self.on_or_after(day)
        while not all(self.is_working(day + timedelta(days=n)) for n in range(1, length)):
            day = self.on_or_after(day + timedelta(days=1))
        return day


def plan_year(start: date, region: str = "ENG", shape: YearShape = HIN_YEAR) -> list[PlannedSession]:
    days = WorkingDays(start, region)
    sessions: list[PlannedSession] = []

    anchor = days.on_or_after(start)
    if shape.has_welcome:
        sessions.append(PlannedSession(SessionKind.WELCOME, anchor, *shape.welcome, "Welcome: getting to know you"))

    module_days: list[date] = []  # each module's first day
    length = shape.days_per_module
    first = days.run_on_or_after(anchor + timedelta(weeks=shape.first_module_weeks), length)
    for number in range(1, shape.module_count + 1):
        if number > 1:
            first = days.run_on_or_after(module_days[-1] + timedelta(weeks=shape.module_interval_weeks), length)
        module_days.append(first)
        for part in range(1, length + 1):
            sessions.append(PlannedSession(
                SessionKind.MODULE, first + timedelta(days=part - 1), *shape.module_times,
                f"Module {number}, day {part}", module_number=number, part=part,
            ))
    last_days = [first + timedelta(days=length - 1) for first in module_days]

    if shape.has_clinics:
        for number in range(1, shape.module_count):
            after = last_days[number - 1]
            before = module_days[number]
            midpoint = after + (before - after) / 2
            sessions.append(PlannedSession(
                SessionKind.DROP_IN, days.on_or_after(midpoint), *shape.clinic_times, f"Drop-in clinic {number}"
            ))

    if shape.has_co_consulting:
        for number in range(1, shape.module_count + 1):
            day = days.on_or_after(last_days[number - 1] + timedelta(weeks=shape.co_consulting_weeks))
            sessions.append(PlannedSession(
                SessionKind.CO_CONSULTING, day, *shape.co_consulting_times, f"Co-consulting session {number}"
            ))

    if shape.has_celebration:
        celebration = days.on_or_after(last_days[-1] + timedelta(weeks=shape.celebration_weeks))
        sessions.append(PlannedSession(SessionKind.CELEBRATION, celebration, *shape.celebration_times,
                                       "Celebration event"))

    return sorted(sessions, key=lambda s: (s.day, s.starts))
