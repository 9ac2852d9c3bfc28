"""The cohort's evaluation report: every figure computed from the data, as a page and as a PDF.

`build_report` gathers the numbers in a bounded number of queries; the same template renders
the page and (through WeasyPrint) the PDF, so the two never disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.applications.models import Application
from app.attendance.models import ATTENDED, Attendance, AttendanceStatus
from app.auth.models import Organisation, OrganisationKind, User
from app.communities.models import CommunityStatus
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.evaluation import communities, feedback, impact
from app.evaluation.models import (
    ImpactStory,
    ReportNarrative,
    ValueCycle,
    ValueEvidence,
)
from app.groups.models import CaseRota, CoConsultingGroup, GroupMembership
from app.programme import services as programme_services
from app.programme.models import (
    Cohort,
    Enrolment,
    EnrolmentStatus,
    ProgrammeSession,
    SessionChange,
    SessionChangeKind,
    SessionKind,
    SessionStatus,
)

PARTICIPATING = (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.COMPLETED.value)

QUOTES_PER_CYCLE = 4


HELD = ("as_planned", "moved_in_advance", "postponed")
STATE_LABELS = {
    "as_planned": "Delivered as planned",
    "moved_in_advance": "Delivered, moved before it was due",
    "postponed": "Delivered, postponed after it was due",
    "cancelled": "Cancelled",
    "not_held": "Did not take place",
    "postponed_tbc": "Postponed: new date to be confirmed",
    "upcoming": "Still to come",
}


def delivery_state(session: ProgrammeSession, changes: list[SessionChange], now: datetime) -> str:
    """How a session went, from its history: a move made before the start then in force is a move in
    advance; one made on or after it (the session was due and had not happened), or a postponement
    with the date to be confirmed, is a postponement."""
    if session.status == SessionStatus.CANCELLED:
        return "cancelled"
    if session.status == SessionStatus.NOT_HELD:
        return "not_held"
    if session.status == SessionStatus.POSTPONED:
        return "postponed_tbc"
    if session.ends_at > now:
        return "upcoming"
    if _was_postponed(changes):
        return "postponed"
    if any(c.kind == SessionChangeKind.MOVED for c in changes):
        return "moved_in_advance"
    return "as_planned"


def _was_postponed(changes: list[SessionChange]) -> bool:
    return any(c.kind in (SessionChangeKind.POSTPONED, SessionChangeKind.DATED)
               or (c.kind == SessionChangeKind.MOVED and c.changed_at >= c.from_starts_at) for c in changes)


@dataclass
class SessionLine:
    session: ProgrammeSession
    state: str
    planned_on: datetime  # the first planned start, from the history
    changes: list[SessionChange]
    attended: int
    expected: int
    registered: bool  # a register was taken (apologies alone are not one)
    by_groups: bool = False  # co-consulting: who came as the groups recorded it
    groups_recorded: int = 0
    groups_total: int = 0

    @property
    def attendance_percent(self) -> int | None:
        return feedback.percent(self.attended, self.expected) if self.registered else None

    @property
    def held(self) -> bool:
        return self.state in HELD

    @property
    def moved(self) -> bool:
        return self.planned_on != self.session.starts_at

    @property
    def state_label(self) -> str:
        label = STATE_LABELS[self.state]
        if self.state == "upcoming" and self.changes:
            if _was_postponed(self.changes):
                label += ", postponed"
            elif self.moved:
                label += ", moved"
        return label

    @property
    def reason(self) -> str:
        return self.session.status_reason if self.session.is_off else ""


DESIGN_NOUNS = {"welcome": ("welcome half-day", "welcome half-days"), "module": ("module day", "module days"),
                "drop_in": ("drop-in clinic", "drop-in clinics"),
                "co_consulting": ("co-consulting session", "co-consulting sessions"),
                "celebration": ("celebration event", "celebration events")}


@dataclass
class DesignRow:
    """One kind of session in the year as planned and as it went."""

    kind: str
    label: str

    planned: int = 0
    held: int = 0
    moved_in_advance: int = 0
    postponed: int = 0
    cancelled: int = 0
    not_held: int = 0
    postponed_tbc: int = 0
    upcoming: int = 0

    @property
    def planned_phrase(self) -> str:
        """"10 module days", "1 celebration event": the kind as a reader would count it."""
        one, many = DESIGN_NOUNS.get(self.kind, (self.label.lower(), self.label.lower() + " sessions"))
        return f"{self.planned} {one if self.planned == 1 else many}"


@dataclass
class Rate:
    """A rate with its parts, so the page can state the denominator beside it."""

    part: int
    whole: int

    @property
    def percent(self) -> int | None:
        return feedback.percent(self.part, self.whole)


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
    by_region: list[tuple[str, int]]
    feedback_overall: feedback.Tally
    feedback_by_kind: dict[str, feedback.Tally]
    cycle_counts: dict[str, int]
    quotes_by_cycle: dict[str, list[str]]
    stories: list[ImpactStory]
    community_rows: list[communities.CommunityRow]
    design: list[DesignRow]
    attendance: Rate  # places taken at core sessions held with a register
    completion: Rate  # participants who attended at least the threshold of those sessions
    core_kinds: tuple[str, ...] = ()
    completion_threshold: int = 80
    community_status: list[tuple[str, int]] = field(default_factory=list)
    methods: list[tuple[str, int]] = field(default_factory=list)

    @property
    def delivered(self) -> list[SessionLine]:
        return [line for line in self.sessions if line.held]

    def count(self, state: str) -> int:
        return sum(1 for line in self.sessions if line.state == state)

    @property
    def postponed(self) -> int:
        return self.count("postponed")

    @property
    def cancelled(self) -> int:
        return self.count("cancelled")

    @property
    def first_day(self) -> datetime | None:
        return self.sessions[0].session.starts_at if self.sessions else None

    @property
    def last_day(self) -> datetime | None:
        return self.sessions[-1].session.starts_at if self.sessions else None

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


def _sessions(cohort: Cohort, now: datetime, participants: int) -> tuple[list[SessionLine], dict[int, set[int]]]:
    """Every session with its state from its history and who came (register, or groups for
    co-consulting), and each held registered session's attenders (for completion)."""
    sessions = list(db.session.scalars(select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort.id)
                                       .order_by(ProgrammeSession.starts_at)))
    history = programme_services.session_history([s.id for s in sessions])
    attenders: dict[int, set[int]] = {}
    registered: set[int] = set()
    # The register may name people who later withdrew: they count in that session's denominator, so
    # the rate is of everyone who could have been there and never passes 100%.
    leavers: dict[int, set[int]] = {}
    for session_id, enrolment_id, status, enrolment_status in db.session.execute(
            select(Attendance.session_id, Attendance.enrolment_id, Attendance.status, Enrolment.status)
            .join(Enrolment, Enrolment.id == Attendance.enrolment_id).where(Enrolment.cohort_id == cohort.id)).all():
        if status == AttendanceStatus.APOLOGIES:
            continue
        registered.add(session_id)
        if status in ATTENDED:
            attenders.setdefault(session_id, set()).add(enrolment_id)
        if enrolment_status == EnrolmentStatus.WITHDRAWN:
            leavers.setdefault(session_id, set()).add(enrolment_id)
    groups = _group_records(cohort)
    lines = []
    for s in sessions:
        state = delivery_state(s, history[s.id], now)
        planned = history[s.id][0].from_starts_at if history[s.id] else s.starts_at
        if s.kind == SessionKind.CO_CONSULTING and s.id not in registered:
            recorded, total, came, members = groups.get(s.id, (0, 0, 0, 0))
            lines.append(SessionLine(s, state, planned, history[s.id], came, members, recorded > 0, by_groups=True,
                                     groups_recorded=recorded, groups_total=total))
        else:
            lines.append(SessionLine(s, state, planned, history[s.id], len(attenders.get(s.id, ())),
                                     participants + len(leavers.get(s.id, ())), s.id in registered))
    return lines, attenders


def _group_records(cohort: Cohort) -> dict[int, tuple[int, int, int, int]]:
    """Per co-consulting session: groups that recorded who came, groups in all, people recorded as
    there, and the members of the groups that recorded (the denominator)."""
    members = dict(db.session.execute(
        select(GroupMembership.group_id, func.count()).join(CoConsultingGroup)
        .where(CoConsultingGroup.cohort_id == cohort.id).group_by(GroupMembership.group_id)).all())
    result: dict[int, list[int]] = {}
    for session_id, group_id, attended, noted in db.session.execute(
            select(CaseRota.session_id, CaseRota.group_id, CaseRota.attended, CaseRota.note_updated_at)
            .join(CoConsultingGroup).where(CoConsultingGroup.cohort_id == cohort.id)).all():
        row = result.setdefault(session_id, [0, 0, 0, 0])
        row[1] += 1
        if attended or noted is not None:
            size = max(members.get(group_id, 0), len(attended or ()))
            row[0] += 1
            row[2] += min(len(attended or ()), size)
            row[3] += size
    return {sid: (r[0], r[1], r[2], r[3]) for sid, r in result.items()}


def _design(lines: list[SessionLine]) -> list[DesignRow]:
    rows = {kind.value: DesignRow(kind.value, kind.label) for kind in SessionKind}
    for line in lines:
        row = rows[line.session.kind]
        row.planned += 1
        row.held += line.held
        if line.state != "as_planned":  # each other outcome has its own count, named as the state
            setattr(row, line.state, getattr(row, line.state) + 1)
    return [row for row in rows.values() if row.planned]


def _attendance_and_completion(lines: list[SessionLine], attenders: dict[int, set[int]], people: set[int],
                               core: tuple[str, ...], threshold: float) -> tuple[Rate, Rate]:
    """Overall attendance: places taken at core sessions held with a register, of the places there
    were. Completion: of everyone who started, those who attended at least the threshold of them."""
    counted = [line for line in lines if line.held and line.registered and not line.by_groups
               and line.session.kind in core]
    attendance = Rate(sum(line.attended for line in counted), sum(line.expected for line in counted))
    if not counted:
        return attendance, Rate(0, len(people))
    came = Counter(e for line in counted for e in attenders.get(line.session.id, ()))
    completed = sum(1 for e in people if came[e] >= threshold * len(counted))
    return attendance, Rate(completed, len(people))


def _mix(cohort: Cohort) -> tuple[list[tuple[str, int]], list[tuple[str, int]], list[tuple[str, int]]]:
    """Active participants by profession (from their application), kind of organisation and region."""
    application_org = aliased(Organisation)
    rows = db.session.execute(
        select(Application.profession, application_org.kind, Organisation.kind, application_org.region,
               Organisation.region)
        .select_from(Enrolment).join(User, User.id == Enrolment.user_id)
        .outerjoin(Application, (Application.applicant_id == Enrolment.user_id) & (Application.cohort_id == cohort.id))
        .outerjoin(application_org, application_org.id == Application.organisation_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status.in_(PARTICIPATING))).all()
    roles = Counter((profession or "").strip() or "Not recorded" for profession, *_ in rows)
    kinds = Counter(OrganisationKind(kind).label if kind else "Not recorded"
                    for kind in (app_kind or user_kind for _, app_kind, user_kind, _r1, _r2 in rows))
    regions = Counter(((app_region if app_kind else user_region) or "").strip() or "Not recorded"
                      for _, app_kind, _k, app_region, user_region in rows)
    ordered = lambda counter: sorted(counter.items(), key=lambda item: (-item[1], item[0]))  # noqa: E731
    return ordered(roles), ordered(kinds), ordered(regions)


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
    by_role, by_kind, by_region = _mix(cohort)
    lines, attenders = _sessions(cohort, now, participants)
    core = tuple(current_app.config["ATTENDANCE_CORE_KINDS"])
    threshold = current_app.config["ATTENDANCE_AT_RISK_RATE"]
    started = set(db.session.scalars(select(Enrolment.id).where(Enrolment.cohort_id == cohort.id)))
    attendance, completion = _attendance_and_completion(lines, attenders, started, core, threshold)
    return Report(
        cohort=cohort, generated_at=now,
        narrative=db.session.scalar(select(ReportNarrative).where(ReportNarrative.cohort_id == cohort.id)),
        sessions=lines, participants=participants,
        withdrawn=statuses.get(EnrolmentStatus.WITHDRAWN.value, 0), by_role=by_role, by_organisation_kind=by_kind,
        by_region=by_region, feedback_overall=overall, feedback_by_kind=feedback.by_kind(ended, per_session),
        cycle_counts=cycle_counts, quotes_by_cycle=quotes, stories=impact.published_stories(cohort),
        community_rows=rows, design=_design(lines), attendance=attendance, completion=completion,
        core_kinds=core, completion_threshold=round(threshold * 100),
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
