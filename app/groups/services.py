"""Co-consulting groups: allocation, moves, the case rota, swaps, meeting records, withdrawals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app import audit
from app.auth.models import Organisation, User
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.formatting import local_date, local_time
from app.groups.allocation import Member, allocate, mix_score, plan_rota
from app.groups.models import CaseRota, CoConsultingGroup, GroupMembership
from app.notifications.services import cancel_pending_to
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionKind


def _require_team(actor: User) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can change groups.")


def _members(cohort: Cohort) -> list[Member]:
    rows = db.session.execute(
        select(Enrolment.id, Organisation.kind, User.profession, Organisation.region)
        .join(User, User.id == Enrolment.user_id).outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)).all()
    return [Member(e, k or "unknown", (p or "unknown").strip().lower(), (r or "unknown").strip().lower())
            for e, k, p, r in rows]


def co_consulting_sessions(cohort_id: int) -> list[ProgrammeSession]:
    return list(db.session.scalars(select(ProgrammeSession).where(
        ProgrammeSession.cohort_id == cohort_id, ProgrammeSession.kind == SessionKind.CO_CONSULTING.value)
        .order_by(ProgrammeSession.starts_at)))


def groups_of(cohort: Cohort) -> list[CoConsultingGroup]:
    return list(db.session.scalars(select(CoConsultingGroup).where(CoConsultingGroup.cohort_id == cohort.id)
                                   .order_by(CoConsultingGroup.number)))


def current_mix(cohort: Cohort) -> int:
    by_id = {m.id: m for m in _members(cohort)}
    return mix_score([[by_id[ms.enrolment_id] for ms in g.memberships if ms.enrolment_id in by_id]
                      for g in groups_of(cohort)])


def allocate_groups(*, actor: User, cohort: Cohort, size: int, seed: int, now: datetime) -> list[CoConsultingGroup]:
    """Make the cohort's groups in one action (replacing any before the first session has happened)."""
    _require_team(actor)
    if size < 2 or size > 12:
        raise DomainError("Groups must have between 2 and 12 people.", field="size")
    sessions = co_consulting_sessions(cohort.id)
    if any(s.ends_at <= now for s in sessions) and groups_of(cohort):
        raise Conflict("A co-consulting session has already happened, so the groups cannot be made again. "
                       "Move people by hand instead.")
    members = _members(cohort)
    if len(members) < 2:
        raise DomainError("The cohort needs at least two participants to make groups.", field="size")
    for group in groups_of(cohort):
        db.session.delete(group)
    db.session.flush()
    created = []
    for number, people in enumerate(allocate(members, size, seed), start=1):
        group = CoConsultingGroup(cohort_id=cohort.id, number=number, seed=seed)
        group.memberships = [GroupMembership(enrolment_id=m.id) for m in people]
        db.session.add(group)
        created.append(group)
    db.session.flush()
    for group in created:
        replan_rota(group, now=now)
    audit.record(actor=actor, action="groups_allocated", target_type="cohort", target_id=cohort.id,
                 detail={"size": size, "seed": seed, "groups": len(created)}, now=now)
    db.session.flush()
    return created


def replan_rota(group: CoConsultingGroup, *, now: datetime) -> None:
    """Presenters and timekeepers for the sessions still to come; past sessions keep theirs."""
    sessions = co_consulting_sessions(group.cohort_id)
    existing = {r.session_id: r for r in group.rota}
    fixed = {s.id: (existing[s.id].presenter_id, existing[s.id].timekeeper_id)
             for s in sessions if s.ends_at <= now and s.id in existing}
    members = [m.enrolment_id for m in sorted(group.memberships, key=lambda m: m.id)]
    plan = plan_rota(members, [s.id for s in sessions], fixed)
    for session in sessions:
        presenter, timekeeper = plan.get(session.id, (None, None))
        row = existing.get(session.id)
        if row is None:
            group.rota.append(CaseRota(session_id=session.id, presenter_id=presenter, timekeeper_id=timekeeper,
                                       swaps=[], attended=[]))
        elif session.id not in fixed:
            row.presenter_id, row.timekeeper_id = presenter, timekeeper
    db.session.flush()


def move_member(*, actor: User, cohort: Cohort, enrolment_id: int, to_number: int, now: datetime) -> tuple[int, int]:
    """Move a person to another group by hand. Returns the mix score before and after."""
    _require_team(actor)
    groups = {g.number: g for g in groups_of(cohort)}
    target = groups.get(to_number)
    membership = db.session.scalar(select(GroupMembership).join(CoConsultingGroup)
                                   .where(GroupMembership.enrolment_id == enrolment_id,
                                          CoConsultingGroup.cohort_id == cohort.id))
    if target is None or membership is None:
        raise NotFound("That person or group is not in this cohort.")
    if membership.group_id == target.id:
        raise Conflict("They are already in that group.")
    before = current_mix(cohort)
    source = membership.group
    source.memberships.remove(membership)
    target.memberships.append(membership)  # re-parented, so it is moved rather than deleted
    db.session.flush()
    replan_rota(source, now=now)
    replan_rota(target, now=now)
    after = current_mix(cohort)
    audit.record(actor=actor, action="group_member_moved", target_type="cohort", target_id=cohort.id,
                 detail={"enrolment": enrolment_id, "to": to_number, "mix_before": before, "mix_after": after},
                 now=now)
    return before, after


def group_of(user: User, cohort_id: int) -> CoConsultingGroup | None:
    return db.session.scalar(select(CoConsultingGroup).join(GroupMembership).join(Enrolment)
                             .where(Enrolment.user_id == user.id, CoConsultingGroup.cohort_id == cohort_id))


def is_member(user: User, group: CoConsultingGroup) -> bool:
    return any(m.enrolment.user_id == user.id for m in group.memberships)


def swap_presenter(*, actor: User, group: CoConsultingGroup, rota: CaseRota, new_presenter_id: int,
                   now: datetime) -> None:
    """Record a swap the group agreed: someone else presents at this session."""
    if not (is_member(actor, group) or actor.is_team):
        raise PermissionDenied("Only the group's members can change its rota.")
    if rota.group_id != group.id:
        raise NotFound("That session is not in this group's rota.")
    if rota.session.ends_at <= now:
        raise Conflict("That session has happened, so its presenter cannot change.")
    members = member_names(group)
    if new_presenter_id not in members:
        raise DomainError("Choose someone from the group.", field="presenter")
    if new_presenter_id == rota.presenter_id:
        raise Conflict("They are already presenting at that session.")
    rota.swaps = [*rota.swaps, {"at": now.isoformat(), "by": actor.name,
                                "from": members.get(rota.presenter_id, "nobody"), "to": members[new_presenter_id]}]
    if rota.timekeeper_id == new_presenter_id:
        rota.timekeeper_id = rota.presenter_id
    rota.presenter_id = new_presenter_id
    db.session.flush()


def member_names(group: CoConsultingGroup) -> dict[int, str]:
    """Each member's name by their enrolment id, as the rota names them."""
    return {m.enrolment_id: m.enrolment.user.name for m in group.memberships}


def next_turn(group: CoConsultingGroup, now: datetime) -> CaseRota | None:
    """The group's next meeting in its rota: the first that has not ended and is going ahead."""
    return next((r for r in group.rota if r.session.ends_at > now and not r.session.is_off), None)


def turn_at(group: CoConsultingGroup, session_id: int) -> CaseRota | None:
    """The group's rota row for one session, if the session is in its rota."""
    return next((r for r in group.rota if r.session_id == session_id), None)


def running_minutes(steps) -> int:
    """How long the session runner's steps take in all."""
    return sum(s.minutes for s in steps)


def can_record_meeting(rota: CaseRota, now: datetime) -> bool:
    """Who came can be recorded once the session has started (derived from its start, not a flag)."""
    return rota.session.starts_at <= now


def _starts(session: ProgrammeSession) -> str:
    tz = session.cohort.timezone
    return f"{local_time(session.starts_at, tz)} on {local_date(session.starts_at, tz)}"


def record_meeting(*, actor: User, group: CoConsultingGroup, rota: CaseRota, attended: list[int], note: str,
                   now: datetime) -> None:
    """The group records who came and a short note for itself (the team does not see the note).

    Both are the record of a meeting that has taken place, so they wait until the session starts.
    """
    if not is_member(actor, group):
        raise PermissionDenied("Only the group's members record its meetings.")
    if rota.group_id != group.id:
        raise NotFound("That session is not in this group's rota.")
    if not can_record_meeting(rota, now):
        raise DomainError("This session has not started yet, so who came cannot be recorded. "
                          f"You can record it once the session starts, at {_starts(rota.session)}.")
    members = {m.enrolment_id for m in group.memberships}
    rota.attended = sorted(set(attended) & members)
    rota.note = note.strip()[:2000]
    rota.note_updated_at, rota.note_updated_by = now, actor.name
    db.session.flush()


def withdraw_participant(*, actor: User, enrolment: Enrolment, reason: str, now: datetime) -> None:
    """The participant leaves the programme: their place ends and their group's rota is rebalanced."""
    _require_team(actor)
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict("They have already left the programme.")
    enrolment.status, enrolment.withdrawn_at = EnrolmentStatus.WITHDRAWN.value, now
    # Nobody is reminded about the programme after leaving it.
    cancel_pending_to(enrolment.user.email, ("reminder", "discussion"))
    membership = db.session.scalar(select(GroupMembership).where(GroupMembership.enrolment_id == enrolment.id))
    if membership is not None:
        group = membership.group
        group.memberships.remove(membership)
        db.session.flush()
        replan_rota(group, now=now)
    audit.record(actor=actor, action="participant_withdrawn", target_type="enrolment", target_id=enrolment.id,
                 detail={"reason": reason.strip()[:500]}, now=now)
    db.session.flush()
