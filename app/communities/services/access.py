"""Who sees a community and who manages it. Members see only their own communities; to anyone else a
community does not exist (404). Conveners manage their own; the programme team sees and manages all."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.communities.models import (
    Community,
    CommunityMeeting,
    CommunityMembership,
    MeetingAttendance,
    MembershipRole,
)
from app.db import db
from app.errors import NotFound, PermissionDenied

NOT_FOUND = "We could not find that community."


def membership_of(user, community: Community) -> CommunityMembership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((m for m in community.memberships if m.user_id == user.id), None)


def can_view(user, community: Community) -> bool:
    return bool(getattr(user, "is_team", False) or membership_of(user, community))


def can_manage(user, community: Community) -> bool:
    if getattr(user, "is_team", False):
        return True
    membership = membership_of(user, community)
    return membership is not None and membership.role == MembershipRole.CONVENER


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
    """The communities this person belongs to (every community, for the team), by name."""
    query = select(Community).options(selectinload(Community.memberships).selectinload(CommunityMembership.user))
    if not getattr(user, "is_team", False):
        query = query.where(Community.id.in_(select(CommunityMembership.community_id)
                                             .where(CommunityMembership.user_id == user.id)))
    return sorted(db.session.scalars(query), key=lambda c: (c.name.lower(), c.id))


def landing(user) -> str | None:
    """A home-landing provider (`app.programme.home_panels.register_landing`): someone in a community and
    with no programme place starts on their communities."""
    has_one = db.session.scalar(select(CommunityMembership.id).where(CommunityMembership.user_id == user.id).limit(1))
    return url_for("communities.mine") if has_one else None
