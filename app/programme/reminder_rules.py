"""Every reminder rule a cohort can tune: what it is, who gets it, and its default timing.

Planners read a cohort's settings with `rules_for(cohort_ids)` (or `enabled_rules(key)` for every
live cohort), one query either way; no row in `cohort_reminder_rules` means the default. The team
changes a rule with `change_reminder_rule`, which validates what was typed, records who changed
it, bumps the rule's revision (it goes into the reminders' keys through `RuleSetting.key_suffix`)
and cancels the cohort's pending reminders of that rule, so the next planning pass writes them
again with the new timing, or not at all when the rule is off.

Each domain registers its own rules (`register_rules`, wired in create_app; the programme's own
are below), so programme never imports the domains above it. A rule's pending reminders are
cancelled by its session-keyed outbox prefixes (`session_keys`) or its domain's `cancel` function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from sqlalchemy import select

from app.audit import record
from app.auth.models import User
from app.db import db
from app.errors import DomainError, FieldErrors, NotFound, PermissionDenied
from app.notifications.services import CATCH_UP, cancel_pending_any
from app.programme.models import Cohort, CohortReminderRule, CohortStatus, ProgrammeSession


@dataclass(frozen=True)
class Rule:
    """One reminder rule. Which timing fields it has follows from its default."""

    key: str
    label: str
    who: str
    days: tuple[int, ...] = ()
    at: time | None = None
    hours: int | None = None
    every_days: int | None = None
    days_text: str = ""  # what the days count from, as the form and the summary say it
    at_text: str = ""
    max_offsets: int = 3
    max_day: int = 60
    session_keys: tuple[str, ...] = ()
    # Cancels the cohort's pending reminders of a rule that changed: (cohort id, before, after) -> how many.
    cancel: Callable[[int, RuleSetting, RuleSetting], int] | None = None
    order: int = 100  # where the team's page lists it

    @property
    def default(self) -> RuleSetting:
        return RuleSetting(self.key, True, self.days, self.at, self.hours, self.every_days)


RULES: dict[str, Rule] = {}  # by key, in the order the team's page lists them


def register_rules(*rules: Rule) -> None:
    """A domain adds its rules at start-up (create_app); registering a key again replaces it."""
    found = {**RULES, **{rule.key: rule for rule in rules}}
    RULES.clear()
    RULES.update(sorted(found.items(), key=lambda item: item[1].order))

HOURS_RANGE = range(1, 73)
EVERY_DAYS_RANGE = range(7, 366)


@dataclass(frozen=True)
class RuleSetting:
    """A cohort's setting for one rule: the default, or what the team chose."""

    key: str
    enabled: bool
    days: tuple[int, ...] = ()
    at: time | None = None
    hours: int | None = None
    every_days: int | None = None
    revision: int = 0
    changed_at: datetime | None = None

    @property
    def key_suffix(self) -> str:
        """Appended to outbox keys, so a changed rule writes fresh rows instead of meeting cancelled ones."""
        return f":r{self.revision}" if self.revision else ""

    @property
    def lead(self) -> timedelta:
        """The longest offset in days, for bounding a planner's query."""
        return timedelta(days=max(self.days, default=0))

    def earliest(self, now: datetime) -> datetime:
        """How far back a planner writes what it missed: a day, never before the rule last changed
        (a reminder already sent under the old setting is not sent again)."""
        since = now - CATCH_UP
        return max(since, self.changed_at) if self.changed_at else since

    def timing(self) -> tuple:
        return self.enabled, self.days, self.at, self.hours, self.every_days


def _setting(row: CohortReminderRule | None, rule: Rule) -> RuleSetting:
    if row is None:
        return rule.default
    at = time(row.at_minute // 60, row.at_minute % 60) if row.at_minute is not None else rule.at
    return RuleSetting(rule.key, row.is_enabled, tuple(row.days) if row.days else rule.days, at,
                       row.hours if row.hours is not None else rule.hours,
                       row.every_days if row.every_days is not None else rule.every_days,
                       row.revision, row.updated_at)


def rules_for(cohort_ids: Iterable[int]) -> dict[int, dict[str, RuleSetting]]:
    """Every rule's setting for these cohorts, in one query: {cohort_id: {rule key: RuleSetting}}."""
    ids = sorted(set(cohort_ids))
    found: dict[tuple[int, str], CohortReminderRule] = {}
    if ids:
        for row in db.session.scalars(select(CohortReminderRule).where(CohortReminderRule.cohort_id.in_(ids))):
            found[row.cohort_id, row.rule_key] = row
    return {cohort_id: {key: _setting(found.get((cohort_id, key)), rule) for key, rule in RULES.items()}
            for cohort_id in ids}


def enabled_rules(key: str) -> dict[int, RuleSetting]:
    """One rule's setting for every cohort that has not finished, where it is on: one query."""
    rule = RULES[key]
    rows = db.session.execute(
        select(Cohort.id, CohortReminderRule).outerjoin(
            CohortReminderRule, (CohortReminderRule.cohort_id == Cohort.id) & (CohortReminderRule.rule_key == key))
        .where(Cohort.status != CohortStatus.COMPLETED.value)).all()
    settings = {cohort_id: _setting(row, rule) for cohort_id, row in rows}
    return {cohort_id: setting for cohort_id, setting in settings.items() if setting.enabled}


def describe(setting: RuleSetting) -> str:
    """The timing in words, as the team's page shows it."""
    rule = RULES[setting.key]
    if not setting.enabled:
        return "Off"
    parts = []
    if setting.hours is not None:
        parts.append(f"{setting.hours} hour{'s' if setting.hours != 1 else ''} after the session ends")
    if setting.every_days is not None:
        parts.append(f"every {setting.every_days} days")
    if setting.days:
        counts = [f"{d} day{'s' if d != 1 else ''}" for d in setting.days]
        joined = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
        parts.append(f"{joined} {rule.days_text}")
    if setting.at is not None:
        parts.append(f"{rule.at_text} {setting.at:%H:%M}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


# -- changing a rule -------------------------------------------------------------------------

def parse_days(text: str, rule: Rule) -> tuple[int, ...]:
    pieces = [p for p in re.split(r"[\s,;]+|\band\b", text.strip()) if p]
    if not pieces:
        raise DomainError("Enter at least one number of days.", field="days")
    numbers = []
    for piece in pieces:
        if not re.fullmatch(r"-?\d+", piece):
            raise DomainError(f"Enter whole numbers of days separated by commas, like {_example(rule)}.", field="days")
        numbers.append(int(piece))
    if any(n < 1 for n in numbers):
        raise DomainError("Each number of days must be 1 or more.", field="days")
    if any(n > rule.max_day for n in numbers):
        raise DomainError(f"Each number of days must be {rule.max_day} or fewer.", field="days")
    if len(set(numbers)) != len(numbers):
        raise DomainError("Enter each number of days only once.", field="days")
    if len(numbers) > rule.max_offsets:
        raise DomainError("Enter one number of days." if rule.max_offsets == 1
                          else f"Enter no more than {rule.max_offsets} numbers of days.", field="days")
    return tuple(sorted(numbers, reverse=True))


def _example(rule: Rule) -> str:
    return ", ".join(str(d) for d in rule.days)


def parse_time(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise DomainError("Enter a time between 00:00 and 23:59, like 08:30.", field="at")
    return time(int(match[1]), int(match[2]))


def _parse_whole(text: str, allowed: range, field: str, unit: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"-?\d+", text) or int(text) not in allowed:
        raise DomainError(f"Enter a whole number of {unit} from {allowed.start} to {allowed.stop - 1}.", field=field)
    return int(text)


def change_reminder_rule(*, actor: User, cohort: Cohort, key: str, enabled: bool, days: str = "", at: str = "",
                         hours: str = "", every_days: str = "", now: datetime) -> RuleSetting:
    """Turn a cohort's rule on or off or change its timing; pending reminders that no longer fit are
    cancelled and the next planning pass writes the new ones. Returns the new setting."""
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can change reminder rules.")
    rule = RULES.get(key)
    if rule is None:
        raise NotFound("There is no such reminder rule.")
    errors: dict[str, str] = {}

    def parsed(parse, *args):
        try:
            return parse(*args)
        except DomainError as error:  # every answer is checked, so the form can say all that is wrong at once
            errors[error.field] = error.message
            return None

    wanted = RuleSetting(
        key, enabled,
        (parsed(parse_days, days, rule) or ()) if rule.days else (),
        parsed(parse_time, at) if rule.at is not None else None,
        parsed(_parse_whole, hours, HOURS_RANGE, "hours", "hours") if rule.hours is not None else None,
        parsed(_parse_whole, every_days, EVERY_DAYS_RANGE, "every_days", "days") if rule.every_days is not None
        else None)
    if errors:
        raise FieldErrors(errors)
    before = rules_for([cohort.id])[cohort.id][key]
    if wanted.timing() == before.timing():
        return before
    row = db.session.scalar(select(CohortReminderRule).where(CohortReminderRule.cohort_id == cohort.id,
                                                             CohortReminderRule.rule_key == key))
    if row is None:
        row = CohortReminderRule(cohort_id=cohort.id, rule_key=key, revision=0)
        db.session.add(row)
    row.is_enabled = enabled
    row.days = list(wanted.days) or None
    row.at_minute = wanted.at.hour * 60 + wanted.at.minute if wanted.at is not None else None
    row.hours, row.every_days = wanted.hours, wanted.every_days
    row.revision += 1
    row.updated_by_id = actor.id
    row.updated_at = now
    db.session.flush()
    after = replace(wanted, revision=row.revision, changed_at=now)
    cancelled = cancel_rule_reminders(cohort.id, before, after)
    record(actor=actor, action="reminder_rule.changed", target_type="cohort", target_id=cohort.id, now=now,
           detail={"rule": key, "before": describe(before), "after": describe(after), "cancelled": cancelled})
    return after


def cancel_rule_reminders(cohort_id: int, before: RuleSetting, after: RuleSetting) -> int:
    """Cancel a cohort's pending reminders of a rule that changed. Returns how many."""
    rule = RULES[before.key]
    cancelled = 0
    if rule.session_keys:
        session_ids = db.session.scalars(select(ProgrammeSession.id).where(ProgrammeSession.cohort_id == cohort_id))
        cancelled += cancel_pending_any([f"{prefix}:{sid}:" for sid in session_ids for prefix in rule.session_keys])
    if rule.cancel:
        cancelled += rule.cancel(cohort_id, before, after)
    return cancelled


# The programme's own rules; the other domains register theirs at start-up.
register_rules(
    Rule("session_reminders", "Session coming up", "Participants",
         days=(7, 1), at=time(8, 30), days_text="before each session",
         at_text="on the morning of module days, at", max_day=30, session_keys=("session-reminder",), order=40),
    Rule("module_preparation", "Preparation for a module", "Participants",
         days=(14,), days_text="before the module's first day", max_offsets=1, max_day=42,
         session_keys=("preparation",), order=50),
)
