"""A programme of work's report: for each community, each meeting with its date and attendance (named
people present and people counted without names), postponed and cancelled meetings shown as such and not
counted; totals; value evidence counted by cycle; consented value stories; and the team's next steps.

Built in a fixed number of queries whatever the number of communities and meetings. Feedback figures per
meeting are a later column: `MeetingLine.feedback` is empty until a source of figures is given
(`build_programme_report(..., feedback_figures=...)`, a function of the meeting ids returning a mapping
from meeting id to that meeting's figures), and the template shows the column only when there are any.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.communities.models import (
    Community,
    CommunityMeeting,
    CommunityMembership,
    MeetingAttendance,
    MeetingStatus,
    RegisterStatus,
)
from app.communities.programme_models import CommunityValueEvidence, CommunityValueStory, ProgrammeOfWork
from app.communities.value_cycles import ValueCycle
from app.db import db

# Meetings that happened count; a planned one has not happened (or was not recorded), postponed and
# cancelled ones did not.
COUNTED = MeetingStatus.HELD.value


@dataclass
class MeetingLine:
    meeting: CommunityMeeting
    named: int  # members the register shows present
    feedback: object | None = None  # figures from the feedback source, when there is one

    @property
    def counted(self) -> bool:
        return self.meeting.status == COUNTED

    @property
    def guests(self) -> int:
        return self.meeting.guest_count

    @property
    def total(self) -> int:
        return self.named + self.meeting.guest_count

    @property
    def status_label(self) -> str:
        return self.meeting.status_label


@dataclass
class CommunityLine:
    community: Community
    meetings: list[MeetingLine]
    evidence: int = 0
    stories: int = 0

    @property
    def held(self) -> list[MeetingLine]:
        return [line for line in self.meetings if line.counted]

    @property
    def named(self) -> int:
        return sum(line.named for line in self.held)

    @property
    def guests(self) -> int:
        return sum(line.guests for line in self.held)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.held)

    def count(self, status: str) -> int:
        return sum(1 for line in self.meetings if line.meeting.status == status)


@dataclass
class ProgrammeReport:
    programme: ProgrammeOfWork
    generated_at: datetime
    communities: list[CommunityLine]
    cycle_counts: dict[str, int]
    stories: list[CommunityValueStory]
    evidence_total: int
    has_feedback: bool = False
    community_names: dict[int, str] = field(default_factory=dict)

    @property
    def meetings_held(self) -> int:
        return sum(len(c.held) for c in self.communities)

    @property
    def attendance_total(self) -> int:
        return sum(c.total for c in self.communities)

    def count(self, status: str) -> int:
        return sum(c.count(status) for c in self.communities)


def build_programme_report(programme: ProgrammeOfWork, now: datetime, *,
                           feedback_figures: Callable[[list[int]], Mapping[int, object]] | None = None
                           ) -> ProgrammeReport:
    communities = list(db.session.scalars(
        select(Community).where(Community.programme_of_work_id == programme.id)
        .options(selectinload(Community.memberships).selectinload(CommunityMembership.user))
        .order_by(Community.name, Community.id)))
    ids = [c.id for c in communities]
    meetings = list(db.session.scalars(select(CommunityMeeting).where(CommunityMeeting.community_id.in_(ids))
                                       .order_by(CommunityMeeting.meets_on, CommunityMeeting.starts_at,
                                                 CommunityMeeting.id))) if ids else []
    meeting_ids = [m.id for m in meetings]
    named = dict(db.session.execute(
        select(MeetingAttendance.meeting_id, func.count()).where(
            MeetingAttendance.meeting_id.in_(meeting_ids), MeetingAttendance.status == RegisterStatus.PRESENT.value)
        .group_by(MeetingAttendance.meeting_id)).all()) if meeting_ids else {}
    figures = dict(feedback_figures(meeting_ids)) if feedback_figures and meeting_ids else {}
    by_community: dict[int, list[MeetingLine]] = {cid: [] for cid in ids}
    for meeting in meetings:
        by_community[meeting.community_id].append(MeetingLine(meeting, named.get(meeting.id, 0),
                                                              figures.get(meeting.id)))
    lines = {c.id: CommunityLine(c, by_community[c.id]) for c in communities}

    counts = dict.fromkeys((c.value for c in ValueCycle), 0)
    evidence_total = 0
    if ids:
        for community_id, cycles in db.session.execute(select(
                CommunityValueEvidence.community_id, CommunityValueEvidence.cycles)
                .where(CommunityValueEvidence.community_id.in_(ids))).all():
            evidence_total += 1
            lines[community_id].evidence += 1
            for cycle in cycles or ():
                if cycle in counts:
                    counts[cycle] += 1
    stories = list(db.session.scalars(select(CommunityValueStory).where(
        CommunityValueStory.community_id.in_(ids), CommunityValueStory.consent_to_share.is_(True))
        .order_by(CommunityValueStory.community_id, CommunityValueStory.id))) if ids else []
    for story in stories:
        lines[story.community_id].stories += 1
    return ProgrammeReport(programme=programme, generated_at=now, communities=list(lines.values()),
                           cycle_counts=counts, stories=stories, evidence_total=evidence_total,
                           has_feedback=bool(figures), community_names={c.id: c.name for c in communities})


def render_pdf(report: ProgrammeReport, **context) -> bytes:
    """The report as a PDF, from the same sections as the page, with a print stylesheet."""
    from weasyprint import HTML

    html = render_template("communities/programme_report_document.html", report=report, **context)
    return HTML(string=html, base_url=None).write_pdf()
