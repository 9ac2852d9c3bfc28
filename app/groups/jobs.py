"""Co-consulting reminders: the morning of each session, the process and who presents."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app, render_template
from sqlalchemy import select

from app import clock
from app.db import db
from app.groups.models import CaseRota, CoConsultingGroup
from app.notifications.services import CATCH_UP, queue_email
from app.programme.models import Cohort, ProgrammeSession, SessionStatus
from app.urls import absolute_url

MORNING = time(8, 0)
HORIZON = timedelta(days=8)


def plan_group_reminders(now: datetime) -> int:
    rows = db.session.execute(
        select(CaseRota, CoConsultingGroup, ProgrammeSession, Cohort)
        .join(CoConsultingGroup, CoConsultingGroup.id == CaseRota.group_id)
        .join(ProgrammeSession, ProgrammeSession.id == CaseRota.session_id)
        .join(Cohort, Cohort.id == CoConsultingGroup.cohort_id)
        .where(ProgrammeSession.status == SessionStatus.SCHEDULED.value, ProgrammeSession.starts_at > now,
               ProgrammeSession.starts_at <= now + HORIZON + timedelta(days=1))).all()
    steps = current_app.extensions["convene_content"].co_consulting_steps
    written = 0
    for rota, group, session, cohort in rows:
        due = clock.local_instant(clock.to_local(session.starts_at, cohort.timezone).date(), MORNING, cohort.timezone)
        if due >= session.starts_at or not (now - CATCH_UP <= due <= now + HORIZON):
            continue
        names = {m.enrolment_id: m.enrolment.user.name for m in group.memberships}
        for membership in group.memberships:
            user = membership.enrolment.user
            if not user.wants_reminders or user.is_disabled:
                continue
            context = dict(name=user.name, group=group, session=session, cohort=cohort, steps=steps,
                           presenter=names.get(rota.presenter_id, "to be agreed"),
                           timekeeper=names.get(rota.timekeeper_id, "to be agreed"),
                           link=absolute_url("groups.runner", group_id=group.id, session_id=session.id),
                           settings=absolute_url("auth.settings"), programme_name=current_app.config["PROGRAMME_NAME"])
            written += queue_email(
                key=f"group-reminder:{session.id}:{session.sequence}:{group.id}:{membership.enrolment_id}",
                recipient=user.email, subject=f"Today: {session.title} with {group.name}", category="reminder",
                body_text=render_template("groups/email/morning.txt", **context),
                body_html=render_template("groups/email/morning.html", **context),
                due_at=max(due, now), expires_at=session.starts_at)
    return written
