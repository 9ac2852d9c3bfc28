"""Programmes of work: the programme team sets one up, names its team and puts communities in it; the
programme of work's own team sees and manages its communities, sets up new ones inside it and writes the
next steps in its report. A community belongs to at most one programme of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from app import audit
from app.auth.services.registration import find_user_by_email, normalise_email
from app.communities.models import Community
from app.communities.programme_models import DEFAULT_STORY_QUESTIONS, ProgrammeOfWork, ProgrammeTeamMember
from app.communities.services.access import can_view_programme
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied

MAX_NAME = 200
MAX_TEXT = 4000
MAX_QUESTIONS = 8


@dataclass
class ProgrammeDetails:
    name: str = ""
    description: str = ""
    run_by: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    story_questions: str = ""  # one a line; empty: the default questions


def _check_team(actor) -> None:
    if not getattr(actor, "is_team", False):
        raise PermissionDenied("Only the programme team can do that.")


def _questions(text: str) -> list[str]:
    questions = [line.strip()[:300] for line in (text or "").splitlines() if line.strip()]
    if len(questions) > MAX_QUESTIONS:
        raise DomainError(f"Keep to {MAX_QUESTIONS} questions.", field="story_questions")
    return [] if questions == list(DEFAULT_STORY_QUESTIONS) else questions


def _apply(programme: ProgrammeOfWork, details: ProgrammeDetails) -> None:
    name = (details.name or "").strip()
    if not name:
        raise DomainError("Give the programme of work a name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"Keep the name to {MAX_NAME} characters.", field="name")
    if details.starts_on and details.ends_on and details.ends_on < details.starts_on:
        raise DomainError("The end date must be on or after the start date.", field="ends_on")
    programme.name = name
    programme.description = (details.description or "").strip()[:MAX_TEXT]
    programme.run_by = (details.run_by or "").strip()[:MAX_NAME]
    programme.starts_on, programme.ends_on = details.starts_on, details.ends_on
    programme.story_questions = _questions(details.story_questions)


def create_programme(*, actor, details: ProgrammeDetails, now: datetime) -> ProgrammeOfWork:
    _check_team(actor)
    programme = ProgrammeOfWork(created_by_id=actor.id, next_steps="")
    _apply(programme, details)
    db.session.add(programme)
    db.session.flush()
    audit.record(actor=actor, action="programme_of_work_created", target_type="programme_of_work",
                 target_id=programme.id, now=now)
    return programme


def update_programme(*, actor, programme: ProgrammeOfWork, details: ProgrammeDetails, now: datetime) -> ProgrammeOfWork:
    _check_team(actor)
    _apply(programme, details)
    db.session.flush()
    audit.record(actor=actor, action="programme_of_work_updated", target_type="programme_of_work",
                 target_id=programme.id, now=now)
    return programme


def add_team_member(*, actor, programme: ProgrammeOfWork, email: str, now: datetime) -> ProgrammeTeamMember:
    """Someone with an account (staff or not) joins the programme of work's team."""
    _check_team(actor)
    email = normalise_email(email or "")
    if not email:
        raise DomainError("Enter the email address of their account.", field="email")
    person = find_user_by_email(email)
    if person is None or person.is_disabled:
        raise DomainError(f"No one has an account with {email}: invite them to one of the programme's "
                          "communities first, or ask them to register.", field="email")
    if any(member.user_id == person.id for member in programme.team):
        raise Conflict(f"{person.name} is already on the team.", field="email")
    member = ProgrammeTeamMember(user=person, added_at=now)
    programme.team.append(member)
    db.session.flush()
    audit.record(actor=actor, action="programme_team_member_added", target_type="programme_of_work",
                 target_id=programme.id, now=now, detail={"user_id": person.id})
    return member


def remove_team_member(*, actor, programme: ProgrammeOfWork, member_id: int, now: datetime) -> None:
    _check_team(actor)
    member = next((m for m in programme.team if m.id == member_id), None)
    if member is None:
        raise DomainError("That person is not on the team.")
    programme.team.remove(member)
    db.session.flush()
    audit.record(actor=actor, action="programme_team_member_removed", target_type="programme_of_work",
                 target_id=programme.id, now=now, detail={"user_id": member.user_id})


def communities_outside_programmes() -> list[Community]:
    """Communities the programme team could put into a programme of work."""
    return list(db.session.scalars(select(Community).where(Community.programme_of_work_id.is_(None))
                                   .order_by(Community.name, Community.id)))


def add_community(*, actor, programme: ProgrammeOfWork, community_id: int | None, now: datetime) -> Community:
    _check_team(actor)
    community = db.session.get(Community, community_id) if community_id else None
    if community is None:
        raise DomainError("Choose a community.", field="community_id")
    if community.programme_of_work_id == programme.id:
        raise Conflict(f"{community.name} is already in this programme of work.", field="community_id")
    if community.programme_of_work_id is not None:
        raise Conflict(f"{community.name} is in another programme of work: take it out of that one first.",
                       field="community_id")
    community.programme_of_work_id = programme.id
    db.session.flush()
    audit.record(actor=actor, action="programme_community_added", target_type="programme_of_work",
                 target_id=programme.id, now=now, detail={"community_id": community.id})
    return community


def remove_community(*, actor, programme: ProgrammeOfWork, community_id: int, now: datetime) -> None:
    """The community carries on, outside the programme of work; its team no longer sees it."""
    _check_team(actor)
    community = db.session.get(Community, community_id)
    if community is None or community.programme_of_work_id != programme.id:
        raise NotFound("That community is not in this programme of work.")
    community.programme_of_work_id = None
    db.session.flush()
    audit.record(actor=actor, action="programme_community_removed", target_type="programme_of_work",
                 target_id=programme.id, now=now, detail={"community_id": community.id})


def save_next_steps(*, actor, programme: ProgrammeOfWork, next_steps: str, now: datetime) -> ProgrammeOfWork:
    """The team's words at the end of the report: the programme team or the programme of work's team."""
    if not can_view_programme(actor, programme):
        raise NotFound("We could not find that programme of work.")
    programme.next_steps = (next_steps or "").strip()[:MAX_TEXT]
    db.session.flush()
    audit.record(actor=actor, action="programme_next_steps_saved", target_type="programme_of_work",
                 target_id=programme.id, now=now)
    return programme
