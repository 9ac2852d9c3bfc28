"""The programme template: a whole year of sessions from a start date."""

from collections import Counter
from datetime import date, time, timedelta

import holidays
import pytest

from app import clock
from app.programme.models import SessionKind
from app.programme.template import plan_year

BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG", years=range(2025, 2030))

STARTS = [date(2026, 9, 14), date(2026, 12, 21), date(2027, 3, 1), date(2026, 7, 20), date(2027, 1, 1)]


@pytest.mark.parametrize("start", STARTS)
def test_the_year_has_every_part_of_the_programme(start):
    sessions = plan_year(start)
    counts = Counter(s.kind for s in sessions)
    assert counts == {SessionKind.WELCOME: 1, SessionKind.MODULE: 10, SessionKind.DROP_IN: 4,
                      SessionKind.CO_CONSULTING: 5, SessionKind.CELEBRATION: 1}
    assert sessions[0].kind == SessionKind.WELCOME
    assert sessions[-1].kind == SessionKind.CELEBRATION


@pytest.mark.parametrize("start", STARTS)
def test_no_session_falls_on_a_weekend_or_bank_holiday(start):
    for s in plan_year(start):
        assert s.day.weekday() < 5, f"{s.title} on a weekend: {s.day}"
        assert s.day not in BANK_HOLIDAYS, f"{s.title} on {BANK_HOLIDAYS.get(s.day)}"


@pytest.mark.parametrize("start", STARTS)
def test_modules_are_two_consecutive_half_days_nine_to_ten_weeks_apart(start):
    modules = [s for s in plan_year(start) if s.kind == SessionKind.MODULE]
    firsts = []
    for number in range(1, 6):
        day1, day2 = [s for s in modules if s.module_number == number]
        assert (day1.part, day2.part) == (1, 2)
        assert day2.day - day1.day == timedelta(days=1)
        assert (day1.starts, day1.ends) == (time(9, 30), time(12, 30))
        assert (day2.starts, day2.ends) == (time(9, 30), time(12, 30))
        firsts.append(day1.day)
    gaps = [(b - a).days for a, b in zip(firsts, firsts[1:], strict=False)]
    assert all(63 <= gap <= 70 for gap in gaps), gaps


@pytest.mark.parametrize("start", STARTS)
def test_clinics_fall_between_modules_and_co_consulting_follows_each_module(start):
    sessions = plan_year(start)
    module_days = {s.module_number: s.day for s in sessions if s.kind == SessionKind.MODULE and s.part == 2}
    module_firsts = {s.module_number: s.day for s in sessions if s.kind == SessionKind.MODULE and s.part == 1}
    clinics = [s for s in sessions if s.kind == SessionKind.DROP_IN]
    for number, clinic in enumerate(clinics, start=1):
        assert module_days[number] < clinic.day < module_firsts[number + 1]
        assert (clinic.starts, clinic.ends) == (time(13, 0), time(14, 0))
    co_consulting = [s for s in sessions if s.kind == SessionKind.CO_CONSULTING]
    for number, meeting in enumerate(co_consulting, start=1):
        assert meeting.day > module_days[number]
        if number < 5:
            assert meeting.day < module_firsts[number + 1]
        assert (meeting.ends.hour - meeting.starts.hour) == 1


def test_christmas_and_new_year_are_avoided():
    # Welcome on the Monday before Christmas: the first module would land on the bank holidays.
    sessions = plan_year(date(2026, 12, 14))
    days = {s.day for s in sessions}
    assert not days & {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1)}


def test_a_start_on_a_bank_holiday_moves_the_welcome_to_the_next_working_day():
    sessions = plan_year(date(2026, 8, 31))  # summer bank holiday, a Monday
    assert sessions[0].kind == SessionKind.WELCOME
    assert sessions[0].day == date(2026, 9, 1)


def test_half_day_times_stay_09_30_london_across_the_clock_change():
    # Module 1 in September (BST, UTC+1) and module 2 in November (GMT, UTC+0).
    sessions = [s for s in plan_year(date(2026, 9, 1)) if s.kind == SessionKind.MODULE]
    september = next(s for s in sessions if s.day.month == 9)
    november = next(s for s in sessions if s.day.month == 11)
    assert clock.local_instant(september.day, september.starts).strftime("%H:%M") == "08:30"  # UTC
    assert clock.local_instant(november.day, november.starts).strftime("%H:%M") == "09:30"  # UTC
    # And in March, after the spring change, back to BST.
    later = [s for s in plan_year(date(2026, 11, 2)) if s.kind == SessionKind.MODULE]
    winter = [s for s in later if s.day < date(2027, 3, 28)]
    summer = [s for s in later if s.day > date(2027, 3, 28)]
    assert winter and summer
    assert {clock.local_instant(s.day, s.starts).strftime("%H:%M") for s in winter} == {"09:30"}
    assert {clock.local_instant(s.day, s.starts).strftime("%H:%M") for s in summer} == {"08:30"}
