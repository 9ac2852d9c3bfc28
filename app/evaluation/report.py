"""The cohort's evaluation report: every figure computed from the data, as a page and as a PDF.

`build_report` gathers the numbers in a bounded number of queries; the same template renders
the page and (through WeasyPrint) the PDF, so the two never disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app import clock
from app.applications.models import Application
from app.attendance.models import ATTENDED, Attendance
from app.auth.models import Organisation, OrganisationKind, User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.evaluation import communities, feedback, impact
from app.evaluation.models import (
    CommunityStatus,
    ImpactStory,
    ReportNarrative,
    ValueCycle,
    ValueEvidence,
)
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionStatus

QUOTES_PER_CYCLE = 4


@dataclass
class SessionLine:
    session: ProgrammeSession
    state: str  # delivered, postponed, brought_forward, cancelled, upcoming
    planned_on: datetime | None
    attended: int
    expected: int
    registered: bool  # a register was taken (co-consulting groups run their own sessions: none)

    @property
    def attendance_percent(self) -> int | None:
        return feedback.percent(self.attended, self.expected)


@dataclass
class Report:
    cohort: Cohort
    generated_at: datetime
    narrative: ReportNarrative | None
    sessions: list[SessionLine]
    participants: int
    withdrawn: int
    by_role: list[tuple[str, int]]
    by_organisation_kind: list[tuple[str, int]]
    feedback_overall: feedback.Tally
    feedback_by_kind: dict[str, feedback.Tally]
    cycle_counts: dict[str, int]
    quotes_by_cycle: dict[str, list[str]]
    stories: list[ImpactStory]
    community_rows: list[communities.CommunityRow]
    community_status: list[tuple[str, int]] = field(default_factory=list)
    methods: list[tuple[str, int]] = field(default_factory=list)

    @property
    def delivered(self) -> list[SessionLine]:
        return [line for line in self.sessions if line.state in ("delivered", "postponed", "brought_forward")]

    @property
    def postponed(self) -> int:
        return sum(1 for line in self.sessions if line.state == "postponed")

    @property
    def cancelled(self) -> int:
        return sum(1 for line in self.sessions if line.state == "cancelled")

    @property
    def communities_recorded(self) -> int:
        return sum(1 for row in self.community_rows if row.community is not None)

    @property
    def meetings_total(self) -> int:
        return sum(row.meetings for row in self.community_rows)

    @property
    def meeting_attendance_total(self) -> int:
        return sum(row.total_attendance for row in self.community_rows)

    @property
    def met_expectation(self) -> int:
        return sum(1 for row in self.community_rows if row.progress.met_expectation)


def _state(session: ProgrammeSession, now: datetime) -> str:
    if session.status == SessionStatus.CANCELLED:
        return "cancelled"
    if session.ends_at > now:
        return "upcoming"
    planned = session.planned_starts_at or session.starts_at
    tz = session.cohort.timezone
    moved = (clock.to_local(session.starts_at, tz).date() - clock.to_local(planned, tz).date()).days
    return "postponed" if moved > 0 else "brought_forward" if moved < 0 else "delivered"


def _sessions(cohort: Cohort, now: datetime, participants: int) -> list[SessionLine]:
    sessions = list(db.session.scalars(select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort.id)
                                       .order_by(ProgrammeSession.starts_at)))
    attended: dict[int, int] = {}
    for session_id, status, count in db.session.execute(
            select(Attendance.session_id, Attendance.status, func.count())
            .join(Enrolment, Enrolment.id == Attendance.enrolment_id).where(Enrolment.cohort_id == cohort.id)
            .group_by(Attendance.session_id, Attendance.status)).all():
        attended[session_id] = attended.get(session_id, 0) + (count if status in ATTENDED else 0)
    return [SessionLine(s, _state(s, now), s.planned_starts_at, attended.get(s.id, 0), participants, s.id in attended)
            for s in sessions]


def _mix(cohort: Cohort) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Active participants by profession (from their application) and by kind of organisation."""
    application_org = aliased(Organisation)
    rows = db.session.execute(
        select(Application.profession, application_org.kind, Organisation.kind)
        .select_from(Enrolment).join(User, User.id == Enrolment.user_id)
        .outerjoin(Application, (Application.applicant_id == Enrolment.user_id) & (Application.cohort_id == cohort.id))
        .outerjoin(application_org, application_org.id == Application.organisation_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)).all()
    roles = Counter((profession or "").strip() or "Not recorded" for profession, _, _ in rows)
    kinds = Counter(OrganisationKind(kind).label if kind else "Not recorded"
                    for kind in (app_kind or user_kind for _, app_kind, user_kind in rows))
    ordered = lambda counter: sorted(counter.items(), key=lambda item: (-item[1], item[0]))  # noqa: E731
    return ordered(roles), ordered(kinds)


def _add_quote(quotes: list[str], text: str) -> None:
    if len(quotes) < QUOTES_PER_CYCLE and text not in quotes:
        quotes.append(text)


def _value(cohort: Cohort, responses) -> tuple[dict[str, int], dict[str, list[str]]]:
    """How often each cycle was named (feedback tags and evidence) and consented quotes for each."""
    counts = dict.fromkeys((c.value for c in ValueCycle), 0)
    quotes: dict[str, list[str]] = {c.value: [] for c in ValueCycle}
    for response in responses:
        for cycle in response.value_cycles:
            counts[cycle] += 1
            if response.quote and response.quote_consent:
                _add_quote(quotes[cycle], response.quote)
    evidence = db.session.scalars(select(ValueEvidence).where(ValueEvidence.cohort_id == cohort.id)
                                  .order_by(ValueEvidence.id))
    for item in evidence:
        for cycle in item.cycles:
            counts[cycle] += 1
            if item.consent_to_share:
                _add_quote(quotes[cycle], item.text)
    return counts, quotes


def build_report(cohort: Cohort, now: datetime) -> Report:
    statuses = dict(db.session.execute(select(Enrolment.status, func.count()).where(
        Enrolment.cohort_id == cohort.id).group_by(Enrolment.status)).all())
    participants = statuses.get(EnrolmentStatus.ACTIVE.value, 0) + statuses.get(EnrolmentStatus.COMPLETED.value, 0)
    ended = feedback.sessions_with_feedback(cohort, now)
    per_session = feedback.tallies(ended)
    overall = feedback.Tally()
    for tally in per_session.values():
        overall.add(tally)
    responses = feedback.responses_for([s.id for s in ended])
    cycle_counts, quotes = _value(cohort, responses)
    rows = communities.cohort_communities(cohort)
    status_counts = Counter(row.community.status for row in rows if row.community)
    methods = Counter(m for meeting in communities.meetings_of_cohort(cohort) for m in meeting.methods)
    by_role, by_kind = _mix(cohort)
    return Report(
        cohort=cohort, generated_at=now,
        narrative=db.session.scalar(select(ReportNarrative).where(ReportNarrative.cohort_id == cohort.id)),
        sessions=_sessions(cohort, now, participants), participants=participants,
        withdrawn=statuses.get(EnrolmentStatus.WITHDRAWN.value, 0), by_role=by_role, by_organisation_kind=by_kind,
        feedback_overall=overall, feedback_by_kind=feedback.by_kind(ended, per_session),
        cycle_counts=cycle_counts, quotes_by_cycle=quotes, stories=impact.published_stories(cohort),
        community_rows=rows,
        community_status=[(CommunityStatus(s).label, status_counts[s]) for s in CommunityStatus if status_counts[s]],
        methods=sorted(methods.items(), key=lambda item: (-item[1], item[0])))


def save_narrative(*, actor, cohort: Cohort, summary: str, next_steps: str) -> ReportNarrative:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team writes the report.")
    if len(summary) > 10_000 or len(next_steps) > 10_000:
        raise DomainError("Keep each part to 10,000 characters.")
    narrative = db.session.scalar(select(ReportNarrative).where(ReportNarrative.cohort_id == cohort.id))
    if narrative is None:
        narrative = ReportNarrative(cohort_id=cohort.id)
        db.session.add(narrative)
    narrative.summary, narrative.next_steps = summary.strip(), next_steps.strip()
    db.session.flush()
    return narrative


def render_pdf(report: Report, **context) -> bytes:
    """The report as a PDF, from the same sections as the page, with a print stylesheet."""
    from weasyprint import HTML

    html = render_template("evaluation/report_document.html", report=report, **context)
    return HTML(string=html, base_url=None).write_pdf()
