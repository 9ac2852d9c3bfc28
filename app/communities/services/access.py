"""Who sees a community and who manages it. Members see only their own communities; to anyone else a
community does not exist (404). Conveners manage their own; the team of the programme of work a
community is in sees and manages it (and every other community of that programme, and its report); the
programme team sees and manages all."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.communities.models import (
    Community,
    CommunityMeeting,
    CommunityMembership,
    MeetingAttendance,
    MembershipRole,
)
from app.communities.programme_models import ProgrammeOfWork, ProgrammeTeamMember
from app.db import db
from app.errors import NotFound, PermissionDenied

NOT_FOUND = "We could not find that community."


def membership_of(user, community: Community) -> CommunityMembership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((m for m in community.memberships if m.user_id == user.id), None)


def programme_team_ids(programme_of_work_id: int | None) -> frozenset[int]:
    """The people on a programme of work's team (none for a community outside one): one query."""
    if programme_of_work_id is None:
        return frozenset()
    return frozenset(db.session.scalars(select(ProgrammeTeamMember.user_id).where(
        ProgrammeTeamMember.programme_of_work_id == programme_of_work_id)))


def on_programme_team(user, community: Community) -> bool:
    """On the team of the community's programme of work. Read once per community object and kept on it."""
    if not getattr(user, "is_authenticated", False) or community.programme_of_work_id is None:
        return False
    cached = community.__dict__.get("_programme_team")
    if cached is None or cached[0] != community.programme_of_work_id:
        cached = (community.programme_of_work_id, programme_team_ids(community.programme_of_work_id))
        community.__dict__["_programme_team"] = cached
    return user.id in cached[1]


def can_view(user, community: Community) -> bool:
    return bool(getattr(user, "is_team", False) or membership_of(user, community) or on_programme_team(user, community))


def can_manage(user, community: Community) -> bool:
    if getattr(user, "is_team", False):
        return True
    membership = membership_of(user, community)
    if membership is not None and membership.role == MembershipRole.CONVENER:
        return True
    return on_programme_team(user, community)


# -- programmes of work -------------------------------------------------------------------------

PROGRAMME_NOT_FOUND = "We could not find that programme of work."


def can_view_programme(user, programme: ProgrammeOfWork) -> bool:
    """The programme team and the programme of work's own team (who also manage its communities)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_team or any(member.user_id == user.id for member in programme.team))


def visible_programme(user, programme_id: int) -> ProgrammeOfWork:
    """The programme of work, with its team, if this person may see it; else NotFound."""
    programme = db.session.scalar(select(ProgrammeOfWork).where(ProgrammeOfWork.id == programme_id).options(
        selectinload(ProgrammeOfWork.team).selectinload(ProgrammeTeamMember.user)))
    if programme is None or not can_view_programme(user, programme):
        raise NotFound(PROGRAMME_NOT_FOUND)
    return programme


def programme_shown_with(user, community: Community) -> ProgrammeOfWork | None:
    """The programme of work a community is in, for those who may open it (its team and the programme team)."""
    if community.programme_of_work_id is None:
        return None
    if not (getattr(user, "is_team", False) or on_programme_team(user, community)):
        return None
    return db.session.get(ProgrammeOfWork, community.programme_of_work_id)


def programmes_of(user) -> list[ProgrammeOfWork]:
    """The programmes of work this person sees (every one, for the programme team), by name."""
    query = select(ProgrammeOfWork)
    if not getattr(user, "is_team", False):
        query = query.where(ProgrammeOfWork.id.in_(select(ProgrammeTeamMember.programme_of_work_id)
                                                   .where(ProgrammeTeamMember.user_id == user.id)))
    return sorted(db.session.scalars(query), key=lambda p: (p.name.lower(), p.id))


def visible_community(user, community_id: int) -> Community:
    """The community, with its people, if this person may see it; else NotFound (as if it did not exist)."""
    community = db.session.scalar(select(Community).where(Community.id == community_id).options(
        selectinload(Community.memberships).selectinload(CommunityMembership.user)))
    if community is None or not can_view(user, community):
        raise NotFound(NOT_FOUND)
    return community


def managed_community(user, community_id: int) -> Community:
    """The community if this person manages it: NotFound to outsiders, PermissionDenied to its members."""
    community = visible_community(user, community_id)
    if not can_manage(user, community):
        raise PermissionDenied("Only the community's conveners and the programme team can do that.")
    return community


def check_manager(actor, community: Community) -> None:
    if not can_manage(actor, community):
        if can_view(actor, community):
            raise PermissionDenied("Only the community's conveners and the programme team can do that.")
        raise NotFound(NOT_FOUND)


def visible_meeting(user, community: Community, meeting_id: int) -> CommunityMeeting:
    meeting = db.session.scalar(select(CommunityMeeting).where(
        CommunityMeeting.id == meeting_id, CommunityMeeting.community_id == community.id)
        .options(selectinload(CommunityMeeting.register).selectinload(MeetingAttendance.user)))
    if meeting is None:
        raise NotFound("We could not find that meeting.")
    return meeting


def communities_of(user) -> list[Community]:
    """The communities this person belongs to or whose programme of work's team they are on (every
    community, for the programme team), by name."""
    query = select(Community).options(selectinload(Community.memberships).selectinload(CommunityMembership.user))
    if not getattr(user, "is_team", False):
        query = query.where(or_(
            Community.id.in_(select(CommunityMembership.community_id).where(CommunityMembership.user_id == user.id)),
            Community.programme_of_work_id.in_(select(ProgrammeTeamMember.programme_of_work_id)
                                               .where(ProgrammeTeamMember.user_id == user.id))))
    return sorted(db.session.scalars(query), key=lambda c: (c.name.lower(), c.id))


def landing(user) -> str | None:
    """A home-landing provider (`app.programme.home_panels.register_landing`): someone in a community and
    with no programme place starts on their communities."""
    has_one = db.session.scalar(select(CommunityMembership.id).where(CommunityMembership.user_id == user.id).limit(1))
    if has_one is None:
        has_one = db.session.scalar(select(ProgrammeTeamMember.id).where(ProgrammeTeamMember.user_id == user.id).limit(1))
    return url_for("communities.mine") if has_one else None
