"""Participants' own Communities of Practice and the meetings they convene, as the programme sees them.

A participant's CoP is a `Community` (app/communities) of their cohort that they convene; the
meetings they log here are held meetings with a headcount (people counted without names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import audit
from app.applications.models import Application
from app.communities.models import (
    Community,
    CommunityMeeting,
    CommunityMembership,
    CommunityStatus,
    MeetingStatus,
    MembershipRole,
)
from app.communities.services.meetings import chosen_methods, figures_by_community
from app.communities.services.spaces import add_membership
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.evaluation.models import EXPECTED_MEETINGS
from app.notifications.services import cancel_pending
from app.programme.access import enrolment_in
from app.programme.models import Cohort, Enrolment, EnrolmentStatus

MAX_ATTENDANCE = 10_000
MIN_ATTENDANCE = 1  # a meeting is only a meeting if someone came: at least the convener
ATTENDANCE_TOO_LOW = "Enter how many people came: at least 1, counting yourself."


@dataclass
class CommunityDetails:
    title: str = ""
    domain: str = ""
    member_kinds: str = ""
    crosses_boundaries: bool = False
    boundaries_how: str = ""
    status: str = CommunityStatus.PLANNING.value


@dataclass
class MeetingDetails:
    held_on: date | None = None
    attendance: int | None = None
    methods: list[str] = field(default_factory=list)
    other_method: str = ""
    reflection: str = ""


def own_enrolment(user, cohort_id: int) -> Enrolment:
    enrolment = enrolment_in(user, cohort_id)
    if enrolment is None:
        raise PermissionDenied("Only participants record their community of practice.")
    return enrolment


def _convened_by(user_ids, cohort_id: int):
    """(user id, community) for communities of the cohort that these people convene, oldest first."""
    return db.session.execute(
        select(CommunityMembership.user_id, Community).join(Community, Community.id == CommunityMembership.community_id)
        .where(Community.cohort_id == cohort_id, CommunityMembership.user_id.in_(user_ids),
               CommunityMembership.role == MembershipRole.CONVENER.value)
        .order_by(Community.id)).all()


def community_of(enrolment: Enrolment) -> Community | None:
    """The community the participant convenes in their cohort (the first, if they convene several)."""
    return db.session.scalar(
        select(Community).join(CommunityMembership, CommunityMembership.community_id == Community.id)
        .where(Community.cohort_id == enrolment.cohort_id, CommunityMembership.user_id == enrolment.user_id,
               CommunityMembership.role == MembershipRole.CONVENER.value)
        .order_by(Community.id).limit(1)
        .options(selectinload(Community.meetings).selectinload(CommunityMeeting.register)))


def held_meetings(community: Community | None) -> list[CommunityMeeting]:
    return [m for m in community.meetings if m.status == MeetingStatus.HELD] if community else []


def details_from_application(enrolment: Enrolment) -> CommunityDetails:
    """What the participant told us about their CoP when they applied: the starting point."""
    application = db.session.scalar(select(Application).where(Application.applicant_id == enrolment.user_id,
                                                              Application.cohort_id == enrolment.cohort_id))
    if application is None:
        return CommunityDetails()
    return CommunityDetails(title=application.cop_title or "", domain=application.cop_domain or "",
                            member_kinds=application.cop_members or "",
                            crosses_boundaries=bool(application.crosses_boundaries),
                            boundaries_how=application.boundaries_how or "")


def save_community(*, actor, cohort: Cohort, details: CommunityDetails, now: datetime) -> Community:
    enrolment = own_enrolment(actor, cohort.id)
    title = details.title.strip()
    if not title:
        raise DomainError("Give your community of practice a name.", field="title")
    if len(title) > 200:
        raise DomainError("Keep the name to 200 characters.", field="title")
    if details.status not in {s.value for s in CommunityStatus}:
        raise DomainError("Choose where your community is now.", field="status")
    if details.crosses_boundaries and not details.boundaries_how.strip():
        raise DomainError("Say which boundaries your community crosses.", field="boundaries_how")
    community = community_of(enrolment)
    if community is None:
        community = Community(cohort_id=cohort.id, name=title)
        db.session.add(community)
        db.session.flush()
        add_membership(community, actor, MembershipRole.CONVENER.value, now=now)
        audit.record(actor=actor, action="community_created", target_type="community", target_id=community.id, now=now)
    community.name, community.domain = title, details.domain.strip()[:2000]
    community.member_kinds = details.member_kinds.strip()[:2000]
    community.crosses_boundaries = details.crosses_boundaries
    community.boundaries_how = details.boundaries_how.strip()[:2000] if details.crosses_boundaries else ""
    community.status = details.status
    db.session.flush()
    return community


def log_meeting(*, actor, cohort: Cohort, details: MeetingDetails, today: date, now: datetime) -> CommunityMeeting:
    enrolment = own_enrolment(actor, cohort.id)
    community = community_of(enrolment)
    if community is None:
        raise DomainError("Describe your community of practice first, then log its meetings.")
    if details.held_on is None:
        raise DomainError("Enter the date of the meeting, for example 14 3 2027.", field="held_on")
    if details.held_on > today:
        raise DomainError("The meeting date must be today or in the past.", field="held_on")
    if details.held_on < cohort.starts_on.replace(year=cohort.starts_on.year - 1):
        raise DomainError("That date is more than a year before the programme started.", field="held_on")
    if details.attendance is None:
        raise DomainError("Enter how many people came, as a whole number.", field="attendance")
    if details.attendance < MIN_ATTENDANCE:
        raise DomainError(ATTENDANCE_TOO_LOW, field="attendance")
    if details.attendance > MAX_ATTENDANCE:
        raise DomainError(f"Enter a number up to {MAX_ATTENDANCE:,}.", field="attendance")
    methods = chosen_methods(details.methods, details.other_method)
    # No time was asked for (none is invented) and no names: the headcount is people counted without names.
    meeting = CommunityMeeting(community_id=community.id, meets_on=details.held_on, guest_count=details.attendance,
                               methods=methods, notes=details.reflection.strip()[:4000], created_at=now,
                               status=MeetingStatus.HELD.value, created_by_id=actor.id, sequence=0)
    db.session.add(meeting)
    if community.status == CommunityStatus.PLANNING:
        community.status = CommunityStatus.LAUNCHED.value
    db.session.flush()
    cancel_pending(f"cop-meetings:{actor.id}:")
    return meeting


def delete_meeting(*, actor, meeting: CommunityMeeting) -> None:
    community = meeting.community
    if community.cohort_id is None:
        raise PermissionDenied("You can only remove meetings of your own community.")
    own_enrolment(actor, community.cohort_id)
    if not any(m.user_id == actor.id and m.role == MembershipRole.CONVENER for m in community.memberships):
        raise PermissionDenied("You can only remove meetings of your own community.")
    db.session.delete(meeting)
    db.session.flush()


@dataclass(frozen=True)
class Progress:
    meetings: int
    expected: int = EXPECTED_MEETINGS

    @property
    def met_expectation(self) -> bool:
        return self.meetings >= self.expected

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.meetings / self.expected))

    @property
    def shown(self) -> int:
        """The progress bar's value: full once the expectation is met, never beyond it."""
        return min(self.meetings, self.expected)

    @property
    def count(self) -> str:
        """For a table cell: "2 of 3", or "4 (the programme asks for 3)" once past it (never "4 of 3")."""
        if self.meetings > self.expected:
            return f"{self.meetings} (the programme asks for {self.expected})"
        return f"{self.meetings} of {self.expected}"

    @property
    def summary(self) -> str:
        """For a sentence: "2 of 3 meetings logged", or "4 meetings logged (the programme asks for 3)"."""
        if self.meetings > self.expected:
            return f"{self.meetings} meetings logged (the programme asks for {self.expected})"
        return f"{self.meetings} of {self.expected} meetings logged"


@dataclass
class CommunityRow:
    enrolment: Enrolment
    community: Community | None
    meetings: int
    total_attendance: int
    last_met: date | None

    @property
    def progress(self) -> Progress:
        return Progress(self.meetings)


def _active_enrolments(cohort: Cohort) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .options(selectinload(Enrolment.user))))


def _communities_by_user(enrolments: list[Enrolment], cohort: Cohort) -> dict[int, Community]:
    found: dict[int, Community] = {}
    for user_id, community in _convened_by([e.user_id for e in enrolments], cohort.id):
        found.setdefault(user_id, community)
    return found


def cohort_communities(cohort: Cohort) -> list[CommunityRow]:
    """Every active participant with their CoP (if recorded) and held-meeting figures: four queries."""
    enrolments = _active_enrolments(cohort)
    communities = _communities_by_user(enrolments, cohort)
    stats = figures_by_community([c.id for c in communities.values()])
    rows = []
    for enrolment in sorted(enrolments, key=lambda e: e.user.name.lower()):
        community = communities.get(enrolment.user_id)
        figures = stats.get(community.id) if community else None
        rows.append(CommunityRow(enrolment, community, figures.meetings if figures else 0,
                                 figures.headcount if figures else 0, figures.last_met if figures else None))
    return rows


def meetings_of_cohort(cohort: Cohort) -> list[CommunityMeeting]:
    """Held meetings of the CoPs the cohort's active participants convene."""
    communities = _communities_by_user(_active_enrolments(cohort), cohort)
    return list(db.session.scalars(
        select(CommunityMeeting).where(CommunityMeeting.community_id.in_({c.id for c in communities.values()}),
                                       CommunityMeeting.status == MeetingStatus.HELD.value)
        .order_by(CommunityMeeting.meets_on, CommunityMeeting.id)))


def record_export(*, actor, cohort: Cohort, fmt: str, rows: int) -> None:
    audit.record(actor=actor, action="communities_exported", target_type="cohort", target_id=cohort.id,
                 detail={"format": fmt, "rows": rows})
