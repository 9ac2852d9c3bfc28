"""Telling participants that material for a module has been released (the "material_released" rule).

On the day material is released (at 08:00 UK time by default, per cohort), each active participant of
the cohort who wants reminders gets one email per module listing what was released that day. Material
released without a date is announced an hour after it was added, so a team adding several items at once
sends one email. Nothing is planned ahead: the email is written once the material is out, so a release
date moved later never announces material that is still hidden.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import func, or_, select

from app import clock
from app.auth.models import User
from app.db import db
from app.notifications.services import cancel_pending_any, queue_email
from app.portal.models import Resource
from app.programme.models import Cohort, Enrolment, EnrolmentStatus
from app.programme.reminder_rules import Rule, RuleSetting, enabled_rules
from app.urls import absolute_url

RULE_KEY = "material_released"
SETTLE = timedelta(hours=1)  # material added without a release date is announced this long after
STALE = timedelta(days=2)  # an announcement not sent by then is dropped: it would no longer be news


def announcement_due(resource: Resource, setting: RuleSetting, tz: str) -> datetime:
    """When the release of this material is announced to a cohort."""
    if resource.release_at is None:
        return resource.created_at + SETTLE
    release_day = clock.to_local(resource.release_at, tz).date()
    return max(resource.release_at, clock.local_instant(release_day, setting.at, tz))


def plan_material_notices(now: datetime) -> int:
    """Write the announcements due since the rule's catch-up window began, never ahead of time."""
    rules = enabled_rules(RULE_KEY)
    if not rules:
        return 0
    earliest = min(setting.earliest(now) for setting in rules.values())
    released = func.coalesce(Resource.release_at, Resource.created_at)
    resources = db.session.scalars(
        select(Resource).where(Resource.is_material.is_(True), Resource.module_number.is_not(None),
                               or_(Resource.cohort_id.is_(None), Resource.cohort_id.in_(rules)),
                               released > earliest - timedelta(days=1), released <= now)
        .order_by(Resource.module_number, Resource.title)).all()
    if not resources:
        return 0
    cohorts = {c.id: c for c in db.session.scalars(select(Cohort).where(Cohort.id.in_(rules)))}
    news: dict[tuple[int, int, str], list[Resource]] = defaultdict(list)  # (cohort, module, local day)
    due_at: dict[tuple[int, int, str], datetime] = {}
    for resource in resources:
        for cohort_id in ([resource.cohort_id] if resource.cohort_id else list(rules)):
            setting, cohort = rules[cohort_id], cohorts[cohort_id]
            due = announcement_due(resource, setting, cohort.timezone)
            if not setting.earliest(now) <= due <= now:
                continue
            key = (cohort_id, resource.module_number, f"{clock.to_local(due, cohort.timezone):%Y%m%d}")
            news[key].append(resource)
            due_at[key] = min(due, due_at.get(key, due))
    if not news:
        return 0
    people: dict[int, list] = defaultdict(list)
    for cohort_id, user_id, name, email in db.session.execute(
            select(Enrolment.cohort_id, User.id, User.name, User.email).join(User, User.id == Enrolment.user_id)
            .where(Enrolment.cohort_id.in_({key[0] for key in news}),
                   Enrolment.status == EnrolmentStatus.ACTIVE.value,
                   User.is_disabled.is_(False), User.wants_reminders.is_(True))):
        people[cohort_id].append((user_id, name, email))
    content = current_app.extensions["convene_content"]
    written = 0
    for (cohort_id, number, day), items in sorted(news.items()):
        cohort, setting = cohorts[cohort_id], rules[cohort_id]
        module = content.modules.get(number)
        title = f"Module {number}: {module.title}" if module else f"Module {number}"
        for user_id, name, email in people[cohort_id]:
            context = dict(name=name, cohort=cohort, title=title, items=items, number=number,
                           link=absolute_url("portal.module", cohort_id=cohort.id, number=number),
                           settings=absolute_url("auth.settings"), programme_name=current_app.config["PROGRAMME_NAME"])
            written += queue_email(
                key=f"material-released:{cohort_id}:{number}:{day}:{user_id}{setting.key_suffix}", recipient=email,
                category="reminder", subject=f"New material for {title}",
                body_text=render_template("portal/email/material_released.txt", **context),
                body_html=render_template("portal/email/material_released.html", **context),
                due_at=max(due_at[cohort_id, number, day], now), expires_at=due_at[cohort_id, number, day] + STALE,
                cohort_id=cohort_id)
    return written


def cancel_material_notices(cohort_id: int, before: RuleSetting, after: RuleSetting) -> int:
    return cancel_pending_any([f"material-released:{cohort_id}:"])


# This domain's reminder rules, registered with the programme's at start-up (create_app).
REMINDER_RULES = (
    Rule("material_released", "Material released for a module", "Participants",
         at=time(8, 0), at_text="on the day material is released, at", cancel=cancel_material_notices, order=55),
)
