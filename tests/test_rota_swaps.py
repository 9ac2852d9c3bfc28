"""Exchanging turns to present on the co-consulting rota: a swap exchanges two turns (nobody gains or
loses one), with the other member's agreement or by the programme team, and both people are told."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.auth.models import OrganisationKind
from app.db import db
from app.errors import Conflict, PermissionDenied
from app.groups import services
from app.groups.models import RotaSwap
from app.notifications.models import OutboxMessage
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_organisation, make_participant, make_team


def _groups(n: int = 10, size: int = 5):
    # Starts after the frozen clock, so all five co-consulting sessions are still to come.
    cohort = make_cohort(starts_on=date(2027, 1, 11))
    kinds = list(OrganisationKind)
    for i in range(n):
        make_participant(cohort, organisation=make_organisation(kind=kinds[i % len(kinds)], region=f"R{i % 3}"),
                         profession=["Nursing", "Pharmacy", "Social work"][i % 3])
    team = make_team()
    groups = services.allocate_groups(actor=team, cohort=cohort, size=size, seed=1, now=clock.now())
    return cohort, team, groups


def _user(group, enrolment_id):
    return next(m.enrolment.user for m in group.memberships if m.enrolment_id == enrolment_id)


def _turns(group):
    return Counter(r.presenter_id for r in group.rota)


def _mail(prefix):
    return {m.recipient: m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.like(prefix)))}


def test_asking_and_accepting_through_the_page_exchanges_two_turns_and_tells_both(client, login_as, frozen_now):
    _cohort, _team, groups = _groups()
    group = groups[0]
    mine, theirs = group.rota[0], group.rota[3]
    me, them = _user(group, mine.presenter_id), _user(group, theirs.presenter_id)
    a, b = mine.presenter_id, theirs.presenter_id
    before = _turns(group)
    db.session.commit()

    login_as(me)
    token = csrf_token(client, f"/groups/{group.id}")
    page = client.post(f"/groups/{group.id}/rota/{mine.id}/swap", data={"csrf_token": token, "other": theirs.id},
                       follow_redirects=True).get_data(as_text=True)
    assert "Your request is sent" in page
    db.session.expire_all()
    assert (mine.presenter_id, theirs.presenter_id) == (a, b)  # nothing moves without their agreement
    asked = _mail("rota-swap:%:requested:%")
    assert list(asked) == [them.email] and "exchange turns" in asked[them.email].subject

    login_as(them)
    page = client.get(f"/groups/{group.id}").get_data(as_text=True)
    assert "Requests to exchange turns with you" in page
    swap = db.session.scalar(select(RotaSwap))
    token = csrf_token(client, f"/groups/{group.id}")
    page = client.post(f"/groups/{group.id}/swaps/{swap.id}", data={"csrf_token": token, "answer": "accept"},
                       follow_redirects=True).get_data(as_text=True)
    assert "the turns are exchanged" in page
    db.session.expire_all()
    assert (mine.presenter_id, theirs.presenter_id) == (b, a)
    assert _turns(group) == before  # nobody presents more or less often
    assert set(_mail("rota-swap:%:accepted:%")) == {me.email, them.email}
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"rota_swap_requested", "rota_swap_accepted"} <= actions


def test_a_declined_request_changes_nothing_and_tells_the_one_who_asked(frozen_now):
    _cohort, _team, groups = _groups()
    group = groups[0]
    mine, theirs = group.rota[1], group.rota[2]
    a, b = mine.presenter_id, theirs.presenter_id
    swap = services.swap_turns(actor=_user(group, a), group=group, rota=mine, other=theirs, now=clock.now())
    services.answer_swap(actor=_user(group, b), group=group, swap=swap, accept=False, now=clock.now())
    assert (mine.presenter_id, theirs.presenter_id) == (a, b) and swap.status == "declined"
    assert list(_mail("rota-swap:%:declined:%")) == [_user(group, a).email]
    with pytest.raises(Conflict):
        services.answer_swap(actor=_user(group, b), group=group, swap=swap, accept=True, now=clock.now())


def test_only_the_presenter_asks_and_only_the_one_asked_answers(frozen_now):
    _cohort, _team, groups = _groups()
    group = groups[0]
    mine, theirs = group.rota[0], group.rota[1]
    bystander = next(m.enrolment.user for m in group.memberships
                     if m.enrolment_id not in (mine.presenter_id, theirs.presenter_id))
    with pytest.raises(PermissionDenied):  # someone else's turn cannot be given away
        services.swap_turns(actor=bystander, group=group, rota=mine, other=theirs, now=clock.now())
    swap = services.swap_turns(actor=_user(group, mine.presenter_id), group=group, rota=mine, other=theirs,
                               now=clock.now())
    for wrong in (bystander, _user(group, mine.presenter_id), groups[1].memberships[0].enrolment.user):
        with pytest.raises(PermissionDenied):
            services.answer_swap(actor=wrong, group=group, swap=swap, accept=True, now=clock.now())


def test_a_request_expires_when_the_earlier_session_starts(frozen_now):
    _cohort, _team, groups = _groups()
    group = groups[0]
    early, late = group.rota[0], group.rota[4]
    swap = services.swap_turns(actor=_user(group, late.presenter_id), group=group, rota=late, other=early,
                               now=clock.now())
    assert swap.expires_at == early.session.starts_at
    assert services.pending_swaps(group, clock.now()) == [swap]
    frozen_now.move_to(early.session.starts_at)
    assert services.pending_swaps(group, clock.now()) == []
    with pytest.raises(Conflict, match="expired"):
        services.answer_swap(actor=_user(group, early.presenter_id), group=group, swap=swap, accept=True,
                             now=clock.now())


def test_the_team_exchanges_at_once_and_both_are_told(frozen_now):
    _cohort, team, groups = _groups()
    group = groups[1]
    one, two = group.rota[0], group.rota[2]
    a, b = one.presenter_id, two.presenter_id
    services.swap_turns(actor=team, group=group, rota=one, other=two, now=clock.now())
    assert (one.presenter_id, two.presenter_id) == (b, a)
    assert all(r.presenter_id != r.timekeeper_id for r in group.rota)
    assert set(_mail("rota-swap:%:made_by_team:%")) == {_user(group, a).email, _user(group, b).email}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rota_swap_made")) is not None


def test_a_leaver_hands_over_only_their_own_turns_and_their_requests_lapse(frozen_now):
    _cohort, team, groups = _groups()
    group = groups[0]
    one, two = group.rota[0], group.rota[1]
    agreed = services.swap_turns(actor=team, group=group, rota=one, other=two, now=clock.now())
    leaving = group.rota[4].presenter_id
    asked = services.swap_turns(actor=_user(group, group.rota[3].presenter_id), group=group, rota=group.rota[3],
                                other=group.rota[4], now=clock.now())
    kept = {r.session_id: r.presenter_id for r in group.rota if r.presenter_id != leaving}
    enrolment = next(m.enrolment for m in group.memberships if m.enrolment_id == leaving)
    services.withdraw_participant(actor=team, enrolment=enrolment, reason="", now=clock.now())
    assert agreed.status == "made_by_team" and asked.status == "cancelled"
    assert {r.session_id: r.presenter_id for r in group.rota if r.session_id in kept} == kept
    assert leaving not in {r.presenter_id for r in group.rota} | {r.timekeeper_id for r in group.rota}


OPERATIONS = st.lists(st.tuples(st.sampled_from(["accept", "decline", "team", "leave"]),
                                st.integers(0, 1), st.integers(0, 20), st.integers(0, 20)), max_size=12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, size=st.sampled_from([3, 4, 5]))
def test_over_any_swaps_and_leavers_turns_stay_within_one_of_each_other(frozen_now, operations, size):
    try:
        cohort, team, groups = _groups(9, size)
        for kind, which, x, y in operations:
            group = groups[which % len(groups)]
            members = [m.enrolment_id for m in group.memberships]
            if kind == "leave":
                if len(members) > 1:
                    enrolment = next(m.enrolment for m in group.memberships if m.enrolment_id == members[x % len(members)])
                    services.withdraw_participant(actor=team, enrolment=enrolment, reason="", now=clock.now())
            else:
                turns = services.future_turns(group, clock.now())
                first = turns[x % len(turns)]
                others = [r for r in turns if r.presenter_id != first.presenter_id]
                if not others:
                    continue
                second = others[y % len(others)]
                if kind == "team":
                    services.swap_turns(actor=team, group=group, rota=first, other=second, now=clock.now())
                else:
                    swap = services.swap_turns(actor=_user(group, first.presenter_id), group=group, rota=first,
                                               other=second, now=clock.now())
                    services.answer_swap(actor=_user(group, second.presenter_id), group=group, swap=swap,
                                         accept=kind == "accept", now=clock.now())
            for each in groups:
                members = {m.enrolment_id for m in each.memberships}
                counts = Counter({m: 0 for m in members})
                counts.update(r.presenter_id for r in each.rota if r.presenter_id in members)
                assert max(counts.values()) - min(counts.values()) <= 1, (each.name, counts)
                assert all(r.presenter_id in members for r in each.rota)
    finally:
        db.session.rollback()
