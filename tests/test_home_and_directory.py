"""The participant's home puts the next session first; the people directory lists nobody until they choose.

The directory prompt on the home comes from portal through the home-panels registry, wired in create_app.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.db import db
from app.portal import services as portal
from app.portal.models import DirectoryEntry
from app.programme.models import Enrolment
from app.programme.services import cancel_session
from tests.conftest import count_queries, csrf_token
from tests.factories import make_cohort, make_participant, make_session, make_team, make_user

PROMPT = "Choose what the people directory shows about you"


def _home(client) -> str:
    response = client.get("/home")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _card(page: str) -> str:
    """The "Your next session" card's HTML."""
    match = re.search(r'<div class="nhsuk-card convene-next-session" id="next-session">(.*?)\n</div>', page, re.S)
    assert match, "no next-session card"
    return match.group(1)


def _listed(page: str) -> list[str]:
    """The names in the directory's table."""
    return re.findall(r'<tr class="nhsuk-table__row"><td class="nhsuk-table__cell">([^<]+)', page)


def _enrolment(user) -> Enrolment:
    return db.session.scalar(select(Enrolment).where(Enrolment.user_id == user.id))


def _save_choices(client, **choices: str) -> None:
    data = {"csrf_token": csrf_token(client, "/settings/directory"), **choices}
    assert client.post("/settings/directory", data=data).status_code == 302


# -- the next session first ------------------------------------------------------------------

def test_the_next_session_card_comes_before_the_community_and_the_modules(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    login_as(make_participant(cohort))
    page = _home(client)
    card = page.index("Your next session")
    assert page.index("<h1") < card < page.index("<h2>My community of practice</h2>") < page.index("<h2>Modules</h2>")
    assert card < page.index("<h2>Coming up</h2>") < page.index("<h2>Your year</h2>")  # the rest is kept
    following = next(s for s in cohort.sessions if s.ends_at > clock.now() and not s.is_off)
    body = _card(page)
    assert following.title in body and f"/sessions/{following.id}\"" in body
    assert following.starts_at.strftime("%Y") in body and "(UK time)" in body
    assert f"/sessions/{following.id}.ics\"" in body
    assert f"/sessions/{following.id}/apologies" in body


def test_the_card_shows_the_time_in_london_in_summer(client, login_as, time_machine):
    cohort = make_cohort(starts_on=date(2027, 9, 13))
    starts = datetime(2027, 6, 2, 12, 0, tzinfo=UTC)  # 1pm in London (BST)
    make_session(cohort, starts_at=starts, title="Summer clinic")
    time_machine.move_to(starts - timedelta(days=2), tick=False)
    login_as(make_participant(cohort))
    body = _card(_home(client))
    assert "Summer clinic" in body and "1pm to 2pm" in body


def test_the_join_link_shows_on_the_home_only_when_the_session_page_would_show_it(client, login_as, time_machine):
    cohort = make_cohort(starts_on=date(2027, 9, 13))  # its own schedule starts after this extra session
    starts = datetime(2027, 3, 3, 13, 0, tzinfo=UTC)
    session = make_session(cohort, starts_at=starts, join_url="https://video.example.org/secret-room")
    person = make_participant(cohort)
    time_machine.move_to(starts - timedelta(minutes=31), tick=False)
    login_as(person)
    early = _card(_home(client))
    assert "Extra clinic" in early
    assert "secret-room" not in early and "appears here from 12:30pm" in early
    assert "secret-room" not in client.get(f"/sessions/{session.id}").get_data(as_text=True)
    time_machine.move_to(starts - timedelta(minutes=30), tick=False)
    body = _card(_home(client))
    assert 'href="https://video.example.org/secret-room"' in body and "Join the video call" in body
    time_machine.move_to(starts + timedelta(minutes=59), tick=False)
    during = _card(_home(client))
    assert "secret-room" in during
    assert "/apologies" not in during  # it has started: no apologies any more
    time_machine.move_to(starts + timedelta(minutes=60), tick=False)
    assert "secret-room" not in _home(client)  # ended: the card moves on


def test_a_cancelled_session_is_not_the_next_and_its_link_never_shows(client, login_as, time_machine):
    team = make_team()
    cohort = make_cohort(starts_on=date(2027, 9, 13), actor=team)
    starts = datetime(2027, 3, 3, 13, 0, tzinfo=UTC)
    off = make_session(cohort, starts_at=starts, title="Called-off clinic", join_url="https://video.example.org/off")
    make_session(cohort, starts_at=starts + timedelta(days=7), title="Next clinic",
                 join_url="https://video.example.org/later")
    cancel_session(actor=team, session=off, reason="Facilitator unwell", now=starts - timedelta(days=1))
    db.session.commit()
    person = make_participant(cohort)
    time_machine.move_to(starts - timedelta(minutes=5), tick=False)
    login_as(person)
    page = _home(client)
    body = _card(page)
    assert "Next clinic" in body and "Called-off clinic" not in body
    assert "video.example.org" not in page


def test_a_person_of_another_cohort_sees_only_their_own_next_session(client, login_as, time_machine):
    mine, theirs = make_cohort(starts_on=date(2027, 9, 13)), make_cohort(starts_on=date(2027, 9, 13))
    starts = datetime(2027, 3, 3, 13, 0, tzinfo=UTC)
    make_session(theirs, starts_at=starts, title="Their clinic", join_url="https://video.example.org/theirs")
    person = make_participant(mine)
    time_machine.move_to(starts, tick=False)
    login_as(person)
    page = _home(client)
    assert "Their clinic" not in page and "video.example.org/theirs" not in page


def test_with_no_next_session_the_card_says_so(client, login_as, time_machine):
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    person = make_participant(cohort)
    time_machine.move_to(max(s.ends_at for s in cohort.sessions) + timedelta(days=1), tick=False)
    login_as(person)
    body = _card(_home(client))
    assert "There are no more sessions this year." in body
    assert "/apologies" not in body and ".ics" not in body


# -- the directory asks first ----------------------------------------------------------------

def test_the_home_asks_for_directory_choices_until_they_are_saved(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    db.session.commit()
    login_as(person)
    page = _home(client)
    assert PROMPT in page and 'href="/settings/directory"' in page
    assert page.index("Your next session") < page.index(PROMPT) < page.index("<h2>Modules</h2>")
    _save_choices(client)  # saving "not listed" is a choice too
    assert PROMPT not in _home(client)
    assert db.session.get(DirectoryEntry, _enrolment(person).id).is_listed is False


def test_an_unchosen_participant_is_not_listed_and_only_counted(client, login_as, frozen_now):
    cohort = make_cohort()
    chooser = make_participant(cohort, name="Chosen Person", job_title="Pharmacist")
    quiet = make_participant(cohort, name="Quiet Person", job_title="Secret role")
    other = make_participant(cohort, name="Other Quiet")
    db.session.commit()
    login_as(chooser)
    page = client.get(f"/cohorts/{cohort.id}/people").get_data(as_text=True)
    assert _listed(page) == [] and "Nobody is listed yet." in page
    assert "3 people have not chosen what to show yet" in page
    _save_choices(client, is_listed="y", show_role="y")
    login_as(make_team())
    page = client.get(f"/cohorts/{cohort.id}/people").get_data(as_text=True)
    assert _listed(page) == ["Chosen Person"] and "Pharmacist" in page
    assert "2 people have not chosen what to show yet" in page
    for unseen in (quiet.name, quiet.email, "Secret role", other.name, other.email):
        assert unseen not in page
    assert [p.name for p in portal.directory(cohort).people] == ["Chosen Person"]


def test_the_choices_form_starts_unlisted(client, login_as, frozen_now):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    page = client.get("/settings/directory").get_data(as_text=True)
    listed = re.search(r'<input[^>]*name="is_listed"[^>]*>', page).group(0)
    assert "checked" not in listed
    assert "You are not listed until you save your choices" in page


def test_saved_choices_are_listed_as_chosen(client, login_as, frozen_now):
    cohort = make_cohort()
    emailer = make_participant(cohort, name="Email Shower", job_title="GP")
    hidden = make_participant(cohort, name="Chose Hidden")
    db.session.commit()
    login_as(emailer)
    _save_choices(client, is_listed="y", show_email="y")
    login_as(hidden)
    _save_choices(client, show_role="y")
    page = client.get(f"/cohorts/{cohort.id}/people").get_data(as_text=True)
    assert _listed(page) == ["Email Shower"] and emailer.email in page and ">GP<" not in page
    assert "have not chosen" not in page and "has not chosen" not in page


def test_choices_saved_before_this_change_are_kept(client, login_as, frozen_now):
    cohort = make_cohort()
    old = make_participant(cohort, name="Early Chooser", job_title="Matron")
    db.session.add(DirectoryEntry(enrolment_id=_enrolment(old).id, is_listed=True, show_role=True,
                                  show_organisation=True, show_cop=True, show_email=False))
    db.session.commit()
    login_as(old)
    assert PROMPT not in _home(client)
    page = client.get(f"/cohorts/{cohort.id}/people").get_data(as_text=True)
    assert _listed(page) == ["Early Chooser"] and "Matron" in page and old.email not in page


# -- queries ---------------------------------------------------------------------------------

HOME_QUERIES = 15  # 13 before the next-session card and directory prompt; +2 for progress through each module


@pytest.mark.parametrize("chosen", [False, True])
def test_the_home_makes_no_more_queries_for_a_bigger_cohort_or_the_new_parts(app, client, login_as, frozen_now,
                                                                             chosen):
    small, big = make_cohort(), make_cohort()
    me_small, me_big = make_participant(small), make_participant(big)
    for _ in range(12):
        make_participant(big)
    for person in (me_small, me_big):
        if chosen:
            portal.save_directory_choices(enrolment=_enrolment(person), is_listed=True, show_role=True,
                                          show_organisation=True, show_cop=True, show_email=False)
    db.session.commit()
    counts = []
    for person in (me_small, me_big):
        login_as(person)
        client.get("/home")  # warm caches
        counts.append(count_queries(app, client, "/home"))
    assert counts[0] == counts[1] <= HOME_QUERIES, counts


def test_the_people_page_makes_as_many_queries_whoever_has_chosen(app, client, login_as, frozen_now):
    cohort = make_cohort()
    people = [make_participant(cohort) for _ in range(6)]
    db.session.commit()
    login_as(make_user())
    login_as(people[0])
    client.get(f"/cohorts/{cohort.id}/people")
    before = count_queries(app, client, f"/cohorts/{cohort.id}/people")
    for person in people[:4]:
        portal.save_directory_choices(enrolment=_enrolment(person), is_listed=True, show_role=True,
                                      show_organisation=True, show_cop=True, show_email=False)
    db.session.commit()
    assert count_queries(app, client, f"/cohorts/{cohort.id}/people") == before
