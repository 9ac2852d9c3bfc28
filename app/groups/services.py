"""Co-consulting groups: allocation, moves, the case rota, swaps, meeting records, withdrawals."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from flask import render_template
from sqlalchemy import func, select

from app import audit
from app.auth.models import Organisation, User
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.formatting import local_date, local_time
from app.groups.allocation import Member, allocate, mix_score, plan_rota
from app.groups.models import CaseRota, CoConsultingGroup, GroupMembership, RotaSwap, SwapStatus
from app.notifications.services import cancel_pending_to, queue_email
from app.programme.models import Cohort, Enrolment, EnrolmentStatus, ProgrammeSession, SessionKind
from app.urls import absolute_url


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


def future_turns(group: CoConsultingGroup, now: datetime) -> list[CaseRota]:
    """The group's turns still open to a swap: the session has not started and someone presents."""
    return [r for r in group.rota if r.session.starts_at > now and r.presenter_id is not None]


def my_enrolment(user: User, group: CoConsultingGroup) -> int | None:
    return next((m.enrolment_id for m in group.memberships if m.enrolment.user_id == user.id), None)


def _check_turns(group: CoConsultingGroup, first: CaseRota, second: CaseRota, now: datetime) -> None:
    if first.group_id != group.id or second.group_id != group.id:
        raise NotFound("That session is not in this group's rota.")
    if first.id == second.id:
        raise DomainError("Choose another session to exchange with.", field="other")
    if min(first.session.starts_at, second.session.starts_at) <= now:
        raise Conflict("One of those sessions has started, so its turn cannot be exchanged.")
    if first.presenter_id is None or second.presenter_id is None:
        raise Conflict("Nobody presents at one of those sessions, so there is no turn to exchange.")
    if first.presenter_id == second.presenter_id:
        raise DomainError("Both turns are the same person's: choose a turn someone else has.", field="other")


def _exchange(first: CaseRota, second: CaseRota, *, by: str, names: dict[int, str], now: datetime) -> None:
    """Exchange two presenters: each presents at the other's session, so nobody gains or loses a turn."""
    a, b = first.presenter_id, second.presenter_id
    for row, old, new in ((first, a, b), (second, b, a)):
        row.presenter_id = new
        if row.timekeeper_id == new:  # nobody keeps time for their own case
            row.timekeeper_id = old
        row.swaps = [*row.swaps, {"at": now.isoformat(), "by": by, "from": names.get(old, "a former member"),
                                  "to": names.get(new, "a former member")}]


def _tell(swap: RotaSwap, event: str, recipients: list[int], *, names: dict[int, str], group: CoConsultingGroup,
          now: datetime) -> None:
    """Email the people a swap concerns, once per swap, event and person."""
    enrolments = {m.enrolment_id: m.enrolment for m in group.memberships}
    cohort = db.session.get(Cohort, group.cohort_id)
    for enrolment_id in recipients:
        enrolment = enrolments.get(enrolment_id)
        if enrolment is None or enrolment.user.is_disabled:
            continue
        context = dict(name=enrolment.user.name, event=event, swap=swap, group=group, cohort=cohort,
                       first=names.get(swap.first_presenter_id, "a former member"),
                       second=names.get(swap.second_presenter_id, "a former member"),
                       first_session=_describe(swap.first_rota.session),
                       second_session=_describe(swap.second_rota.session),
                       link=absolute_url("groups.group", group_id=group.id))
        queue_email(key=f"rota-swap:{swap.id}:{event}:{enrolment_id}", recipient=enrolment.user.email,
                    subject=SWAP_SUBJECTS[event].format(group=group.name), category="general",
                    body_text=render_template("groups/email/swap.txt", **context),
                    body_html=render_template("groups/email/swap.html", **context),
                    due_at=now, cohort_id=group.cohort_id)


SWAP_SUBJECTS = {
    "requested": "{group}: can you exchange turns to present?",
    "accepted": "{group}: turns to present exchanged",
    "declined": "{group}: your request to exchange turns was declined",
    "made_by_team": "{group}: the programme team exchanged turns to present",
}


def _describe(session: ProgrammeSession) -> str:
    return f"{session.title} ({_starts(session)})"


def swap_turns(*, actor: User, group: CoConsultingGroup, rota: CaseRota, other: CaseRota,
               now: datetime) -> RotaSwap:
    """Exchange two turns to present. A member asks for their own turn and the other presenter decides
    (`answer_swap`); the programme team exchanges any two turns at once. Both people are emailed."""
    names = member_names(group)
    if actor.is_team:
        _check_turns(group, rota, other, now)
        swap = RotaSwap(group_id=group.id, first_rota_id=rota.id, second_rota_id=other.id,
                        first_presenter_id=rota.presenter_id, second_presenter_id=other.presenter_id,
                        requested_by_id=actor.id, status=SwapStatus.MADE_BY_TEAM.value, created_at=now,
                        decided_at=now, expires_at=min(rota.session.starts_at, other.session.starts_at))
        db.session.add(swap)
        _exchange(rota, other, by=actor.name, names=names, now=now)
        db.session.flush()
        _tell(swap, "made_by_team", [swap.first_presenter_id, swap.second_presenter_id], names=names, group=group,
              now=now)
        audit.record(actor=actor, action="rota_swap_made", target_type="co_consulting_group", target_id=group.id,
                     detail={"swap": swap.id, "sessions": [rota.session_id, other.session_id]}, now=now)
        return swap
    mine = my_enrolment(actor, group)
    if mine is None:
        raise PermissionDenied("Only the group's members and the programme team can change its rota.")
    _check_turns(group, rota, other, now)
    if rota.presenter_id != mine:
        raise PermissionDenied("You can ask to exchange only your own turn to present.")
    if any(s.is_pending(now) and {s.first_rota_id, s.second_rota_id} == {rota.id, other.id}
           for s in db.session.scalars(select(RotaSwap).where(RotaSwap.group_id == group.id))):
        raise Conflict("There is already a request to exchange those two turns.")
    swap = RotaSwap(group_id=group.id, first_rota_id=rota.id, second_rota_id=other.id, first_presenter_id=mine,
                    second_presenter_id=other.presenter_id, requested_by_id=actor.id, created_at=now,
                    status=SwapStatus.PENDING.value, expires_at=min(rota.session.starts_at, other.session.starts_at))
    db.session.add(swap)
    db.session.flush()
    _tell(swap, "requested", [swap.second_presenter_id], names=names, group=group, now=now)
    audit.record(actor=actor, action="rota_swap_requested", target_type="co_consulting_group", target_id=group.id,
                 detail={"swap": swap.id, "sessions": [rota.session_id, other.session_id]}, now=now)
    return swap


def answer_swap(*, actor: User, group: CoConsultingGroup, swap: RotaSwap, accept: bool, now: datetime) -> None:
    """The member asked to exchange turns accepts (the turns are exchanged) or declines."""
    if swap.group_id != group.id:
        raise NotFound("That request is not for this group.")
    if my_enrolment(actor, group) != swap.second_presenter_id or swap.second_presenter_id is None:
        raise PermissionDenied("Only the person asked can answer this request.")
    if not swap.is_pending(now):
        raise Conflict("This request has been answered or has expired (requests end when the earlier session "
                       "starts).")
    first, second = swap.first_rota, swap.second_rota
    if (first.presenter_id, second.presenter_id) != (swap.first_presenter_id, swap.second_presenter_id):
        raise Conflict("The rota has changed since this was asked, so these turns cannot be exchanged. "
                       "Ask again if you still want to.")
    names = member_names(group)
    swap.decided_at = now
    if accept:
        swap.status = SwapStatus.ACCEPTED.value
        _exchange(first, second, by=actor.name, names=names, now=now)
        _tell(swap, "accepted", [swap.first_presenter_id, swap.second_presenter_id], names=names, group=group,
              now=now)
    else:
        swap.status = SwapStatus.DECLINED.value
        _tell(swap, "declined", [swap.first_presenter_id], names=names, group=group, now=now)
    audit.record(actor=actor, action="rota_swap_accepted" if accept else "rota_swap_declined",
                 target_type="co_consulting_group", target_id=group.id, detail={"swap": swap.id}, now=now)
    db.session.flush()


def pending_swaps(group: CoConsultingGroup, now: datetime) -> list[RotaSwap]:
    """Requests to exchange turns still waiting for an answer, oldest first."""
    return [s for s in db.session.scalars(select(RotaSwap).where(
        RotaSwap.group_id == group.id, RotaSwap.status == SwapStatus.PENDING.value, RotaSwap.expires_at > now)
        .order_by(RotaSwap.id))]


def _hand_over_turns(group: CoConsultingGroup, leaver_id: int, now: datetime) -> None:
    """A leaver's turns still to come go one by one to whoever presents least (member order breaks ties),
    so everyone's number of turns stays within one of everyone else's; every other turn, including
    exchanges the group agreed, stays as it is. Requests involving the leaver are cancelled."""
    members = [m.enrolment_id for m in sorted(group.memberships, key=lambda m: m.id)]
    for swap in pending_swaps(group, now):
        if leaver_id in (swap.first_presenter_id, swap.second_presenter_id):
            swap.status, swap.decided_at = SwapStatus.CANCELLED.value, now
    if not members:
        return
    turns = Counter(r.presenter_id for r in group.rota if r.presenter_id in members)
    for row in group.rota:
        if row.session.starts_at <= now:
            continue
        if row.presenter_id == leaver_id or row.presenter_id is None:
            row.presenter_id = min(members, key=lambda m: (turns[m], members.index(m)))
            turns[row.presenter_id] += 1
        if row.timekeeper_id not in members or row.timekeeper_id == row.presenter_id:
            index = members.index(row.presenter_id)
            row.timekeeper_id = members[(index + 1) % len(members)] if len(members) > 1 else None
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
        _hand_over_turns(group, enrolment.id, now)
    audit.record(actor=actor, action="participant_withdrawn", target_type="enrolment", target_id=enrolment.id,
                 detail={"reason": reason.strip()[:500]}, now=now)
    db.session.flush()


def session_deletion_notes(session: ProgrammeSession) -> list[str]:
    """For the team's page before a session is deleted (`app.programme.signals.register_deletion_notes`)."""
    turns = db.session.scalar(select(func.count()).select_from(CaseRota).where(CaseRota.session_id == session.id))
    if not turns:
        return []
    return [f"The co-consulting rota's turns for it ({turns} group{'s' if turns != 1 else ''}: who presents and "
            "who keeps time) are deleted; nobody's other turns move."]
