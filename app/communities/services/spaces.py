"""Setting up a community, its details and its people; invitations by email with a single-use link.

An invitation's link is a random token of which only the hash is stored; it works once and expires
after INVITATION_TTL. Following it, someone without an account creates one (the invited address is
thereby confirmed); someone with an account signs in with that address and joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import select, update

from app import audit
from app.auth.models import User
from app.auth.services.registration import find_user_by_email, normalise_email, register_user
from app.communities.models import (
    Community,
    CommunityInvitation,
    CommunityMembership,
    CommunityStatus,
    MembershipRole,
)
from app.communities.services.access import check_manager, programme_team_ids
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken, NotFound, PermissionDenied
from app.notifications.services import queue_email, seal_link
from app.tokens import hash_token, new_token
from app.urls import absolute_url

INVITATION_TTL = timedelta(days=14)
MAX_NAME = 200
MAX_TEXT = 2000


@dataclass
class CommunityDetails:
    name: str = ""
    purpose: str = ""
    domain: str = ""
    status: str = CommunityStatus.PLANNING.value


def _check_details(details: CommunityDetails) -> str:
    name = details.name.strip()
    if not name:
        raise DomainError("Give the community a name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"Keep the name to {MAX_NAME} characters.", field="name")
    if details.status not in {s.value for s in CommunityStatus}:
        raise DomainError("Choose where the community is now.", field="status")
    return name


def _apply(community: Community, name: str, details: CommunityDetails) -> None:
    community.name, community.status = name, details.status
    community.purpose = details.purpose.strip()[:MAX_TEXT]
    community.domain = details.domain.strip()[:MAX_TEXT]


def start_community(*, actor, details: CommunityDetails, now: datetime, cohort_id: int | None = None,
                    programme_of_work_id: int | None = None) -> Community:
    """The team sets up a community (for example one a programme of work supports); it then invites conveners.
    Inside a programme of work, its own team may set one up too."""
    if not (actor.is_team or (programme_of_work_id is not None
                              and actor.id in programme_team_ids(programme_of_work_id))):
        raise PermissionDenied("Only the programme team sets up communities here.")
    name = _check_details(details)
    community = Community(cohort_id=cohort_id, programme_of_work_id=programme_of_work_id)
    _apply(community, name, details)
    db.session.add(community)
    db.session.flush()
    audit.record(actor=actor, action="community_created", target_type="community", target_id=community.id, now=now)
    return community


def update_community(*, actor, community: Community, details: CommunityDetails, now: datetime) -> Community:
    check_manager(actor, community)
    name = _check_details(details)
    _apply(community, name, details)
    db.session.flush()
    audit.record(actor=actor, action="community_updated", target_type="community", target_id=community.id, now=now)
    return community


def add_membership(community: Community, user: User, role: str, *, now: datetime) -> CommunityMembership:
    """Join, or change role (a member invited as a convener becomes one; a convener stays one)."""
    membership = next((m for m in community.memberships if m.user_id == user.id), None)
    if membership is None:
        membership = CommunityMembership(community=community, user=user, role=role, joined_at=now)
        db.session.add(membership)
    elif role == MembershipRole.CONVENER:
        membership.role = MembershipRole.CONVENER.value
    db.session.flush()
    return membership


def remove_member(*, actor, community: Community, membership_id: int, now: datetime) -> None:
    check_manager(actor, community)
    membership = next((m for m in community.memberships if m.id == membership_id), None)
    if membership is None:
        raise DomainError("That person is not in this community.")
    conveners = [m for m in community.memberships if m.role == MembershipRole.CONVENER]
    if membership.role == MembershipRole.CONVENER and len(conveners) == 1:
        raise Conflict("A community needs at least one convener: invite another before removing the last.")
    community.memberships.remove(membership)
    db.session.delete(membership)
    db.session.flush()
    audit.record(actor=actor, action="community_member_removed", target_type="community", target_id=community.id,
                 now=now, detail={"user_id": membership.user_id, "role": membership.role})


# -- invitations ------------------------------------------------------------------------------

def is_email_address(email: str) -> bool:
    return (email.count("@") == 1 and "." in email.split("@")[1] and len(email) <= 320
            and not any(c in email for c in " ,;<>\"\r\n"))


def invite(*, actor, community: Community, email: str, role: str, now: datetime) -> CommunityInvitation:
    """Email a single-use link to join the community as a member or a convener."""
    check_manager(actor, community)
    email = normalise_email(email or "")
    if not is_email_address(email):
        raise DomainError("Enter an email address, like name@example.org.", field="email")
    if role not in {r.value for r in MembershipRole}:
        raise DomainError("Choose whether they join as a member or a convener.", field="role")
    existing = find_user_by_email(email)
    if existing is not None and any(m.user_id == existing.id and (m.role == role or m.role == MembershipRole.CONVENER)
                                    for m in community.memberships):
        raise Conflict(f"{email} is already in this community.", field="email")
    # A new invitation replaces any earlier one to the same address: only the latest link works.
    db.session.execute(update(CommunityInvitation).where(
        CommunityInvitation.community_id == community.id, CommunityInvitation.email == email,
        CommunityInvitation.used_at.is_(None)).values(used_at=now).execution_options(synchronize_session=False))
    token, token_hash = new_token()
    invitation = CommunityInvitation(community_id=community.id, email=email, role=role, token_hash=token_hash,
                                     user_id=existing.id if existing else None, invited_by_id=actor.id,
                                     created_at=now, expires_at=now + INVITATION_TTL)
    db.session.add(invitation)
    db.session.flush()
    context = dict(community=community, inviter=actor.name, role=MembershipRole(role).label.lower(),
                   link=seal_link(absolute_url("communities.join", token=token)), has_account=existing is not None,
                   days=INVITATION_TTL.days, programme_name=current_app.config["PROGRAMME_NAME"], email=email)
    queue_email(key=f"community-invitation:{invitation.id}", recipient=email,
                subject=f"{actor.name} invites you to join {community.name}", category="account",
                body_text=render_template("communities/email/invitation.txt", **context),
                body_html=render_template("communities/email/invitation.html", **context),
                due_at=now, cohort_id=community.cohort_id)
    audit.record(actor=actor, action="community_invitation_sent", target_type="community", target_id=community.id,
                 now=now, detail={"invitation_id": invitation.id, "role": role})
    return invitation


def withdraw_invitation(*, actor, community: Community, invitation_id: int, now: datetime) -> CommunityInvitation:
    """Stop an invitation's link working before anyone has used it (it then says it has expired)."""
    check_manager(actor, community)
    invitation = db.session.get(CommunityInvitation, invitation_id)
    if invitation is None or invitation.community_id != community.id:
        raise NotFound("We could not find that invitation.")
    if invitation.used_at is not None or invitation.expires_at <= now:
        raise Conflict(f"The invitation to {invitation.email} is no longer waiting for an answer.")
    invitation.expires_at = now
    audit.record(actor=actor, action="community_invitation_withdrawn", target_type="community",
                 target_id=community.id, now=now, detail={"invitation_id": invitation.id})
    db.session.flush()
    return invitation


def pending_invitations(community: Community, now: datetime) -> list[CommunityInvitation]:
    return list(db.session.scalars(select(CommunityInvitation).where(
        CommunityInvitation.community_id == community.id, CommunityInvitation.used_at.is_(None),
        CommunityInvitation.expires_at > now).order_by(CommunityInvitation.created_at)))


def open_invitation(*, token: str, now: datetime) -> CommunityInvitation:
    """The invitation behind a link, if it still works; reading it changes nothing."""
    invitation = db.session.scalar(select(CommunityInvitation).where(CommunityInvitation.token_hash == hash_token(token)))
    if invitation is None:
        raise InvalidToken("This invitation link is not valid. Ask the community's convener for a new one.")
    if invitation.used_at is not None:
        raise InvalidToken("This invitation link has already been used. If you joined, sign in to see your "
                           "communities; otherwise ask the convener for a new one.")
    if invitation.expires_at <= now:
        raise InvalidToken("This invitation link has expired. Ask the community's convener for a new one.")
    return invitation


def _claim(invitation: CommunityInvitation, now: datetime, user: User) -> None:
    """Spend the link with one conditional update, so two submissions cannot both use it."""
    claimed = db.session.execute(update(CommunityInvitation).where(
        CommunityInvitation.id == invitation.id, CommunityInvitation.used_at.is_(None))
        .values(used_at=now, user_id=user.id).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise InvalidToken("This invitation link has already been used.")
    db.session.expire(invitation, ["used_at", "user_id"])


def join_with_account(*, token: str, user: User, now: datetime) -> Community:
    """Someone signed in with the invited address joins."""
    invitation = open_invitation(token=token, now=now)
    if user.email != invitation.email:
        raise PermissionDenied(f"This invitation is for {invitation.email}. Sign out, then sign in with that "
                               "address to join.")
    _claim(invitation, now, user)
    add_membership(invitation.community, user, invitation.role, now=now)
    audit.record(actor=user, action="community_joined", target_type="community", target_id=invitation.community_id,
                 now=now, detail={"role": invitation.role})
    return invitation.community


def join_with_new_account(*, token: str, name: str, password: str, now: datetime) -> User:
    """Someone without an account creates one with the invited address (confirmed by the link) and joins."""
    invitation = open_invitation(token=token, now=now)
    if find_user_by_email(invitation.email) is not None:
        raise Conflict("An account with this address already exists: sign in to join.")
    user = register_user(email=invitation.email, name=(name or "")[:200], password=password or "",
                         email_confirmed_at=now)
    user.last_login_at = now
    _claim(invitation, now, user)
    add_membership(invitation.community, user, invitation.role, now=now)
    audit.record(actor=user, action="community_joined", target_type="community", target_id=invitation.community_id,
                 now=now, detail={"role": invitation.role, "new_account": True})
    return user
