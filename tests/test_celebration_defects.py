"""Defects reported in "Portal, co-consulting and the celebration" (points 7 and 8), each played as the
person who met it: drop-in clinics, the running order, guest invitations and guests' access needs."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.celebration import services
from app.celebration.models import ClinicSignup, Guest
from app.db import db
from app.errors import Conflict, DomainError, FieldErrors
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team
from tests.test_celebration import invite, token_for


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _clinic(cohort):
    return next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())


# -- 7. drop-in clinics ----------------------------------------------------------------------

def test_a_past_clinic_offers_no_sign_up_and_a_sign_up_posted_for_it_is_refused(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    clinic = _clinic(cohort)
    db.session.commit()
    frozen_now.move_to(clinic.ends_at + timedelta(hours=1))
    login_as(person)
    path = f"/sessions/{clinic.id}/clinic"
    token = csrf_token(client, f"/cohorts/{cohort.id}/celebration")  # a POST made without the page's form
    page = _text(client.get(path))
    assert "I plan to come" not in page and 'name="action"' not in page and "<textarea" not in page
    assert "This clinic has taken place." in page
    response = client.post(path, data={"csrf_token": token, "action": "signup", "topic": "Too late"},
                           follow_redirects=True)
    assert "This clinic has already taken place, so you can no longer say you will come." in _text(response)
    assert "will see your topic" not in _text(response)
    assert db.session.scalar(select(func.count()).select_from(ClinicSignup)) == 0
    with pytest.raises(Conflict, match="already taken place"):
        services.sign_up_for_clinic(actor=person, session=clinic, topic="", now=clock.now())


def test_the_session_page_offers_a_clinic_sign_up_only_before_the_clinic(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    clinic = _clinic(cohort)
    db.session.commit()
    login_as(person)
    assert "Say you will come and bring a topic" in _text(client.get(f"/sessions/{clinic.id}"))
    frozen_now.move_to(clinic.ends_at + timedelta(hours=1))
    login_as(person)  # a sign-in does not last that long
    page = _text(client.get(f"/sessions/{clinic.id}"))
    assert "Say you will come" not in page and "The clinic and what you said" in page


def test_a_clinic_that_has_started_refuses_sign_ups_and_changes_with_a_clear_message(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    clinic = _clinic(cohort)
    services.sign_up_for_clinic(actor=person, session=clinic, topic="Mine", now=clock.now())
    frozen_now.move_to(clinic.starts_at + timedelta(minutes=5))
    with pytest.raises(Conflict, match="has already started"):
        services.sign_up_for_clinic(actor=person, session=clinic, topic="Changed", now=clock.now())
    with pytest.raises(Conflict, match="has already started"):
        services.cancel_clinic_signup(actor=person, session=clinic, now=clock.now())
    assert [s.topic for s in services.clinic_signups(clinic)] == ["Mine"]


def test_the_thanks_for_a_clinic_sign_up_mentions_a_topic_only_when_there_is_one(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    clinic = _clinic(cohort)
    db.session.commit()
    login_as(person)
    path = f"/sessions/{clinic.id}/clinic"
    token = csrf_token(client, path)
    page = _text(client.post(path, data={"csrf_token": token, "action": "signup", "topic": "  "},
                             follow_redirects=True))
    assert "topic" not in page.split("Thank you:")[1].split("</p>")[0]
    assert "Thank you: the facilitator will see that you plan to come." in page
    page = _text(client.post(path, data={"csrf_token": token, "action": "signup", "topic": "Engagement"},
                             follow_redirects=True))
    assert "Thank you: the facilitator will see your topic before the clinic." in page


# -- 7. the running order --------------------------------------------------------------------

def _two_showcases():
    cohort = make_cohort()
    first = services.propose_showcase(actor=make_participant(cohort), cohort=cohort, title="Our story",
                                      description="", format="")
    second = services.propose_showcase(actor=make_participant(cohort), cohort=cohort, title="Poster",
                                       description="", format="")
    return cohort, first, second


def _input(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_a_place_that_is_not_a_number_is_refused_against_that_showcase_keeping_what_was_typed(client, login_as,
                                                                                              frozen_now):
    cohort, first, second = _two_showcases()
    services.set_running_order(actor=make_team(), cohort=cohort, positions={first.id: 1, second.id: 2})
    with pytest.raises(FieldErrors) as refused:
        services.set_running_order(actor=make_team(), cohort=cohort, positions={first.id: "x", second.id: "3"})
    assert list(refused.value.errors) == [f"position-{first.id}"]
    assert "Our story" in refused.value.errors[f"position-{first.id}"]
    db.session.commit()
    login_as(make_team())
    path = f"/cohorts/{cohort.id}/celebration"
    response = client.post(f"{path}/running-order", data={"csrf_token": csrf_token(client, path),
                                                          f"position-{first.id}": "x",
                                                          f"position-{second.id}": "3"})
    page = _text(response)
    assert response.status_code == 200 and "<title>Error:" in page and "There is a problem" in page
    message = f"Enter the place of “Our story” as a whole number from 1 to {services.MAX_POSITION}, or leave it blank."
    assert f'<a href="#position-{first.id}">{message}</a>' in page
    assert f'id="position-{first.id}-error"' in page
    field = _input(page, f"position-{first.id}")
    assert 'value="x"' in field and "nhsuk-input--error" in field and f'aria-describedby="position-{first.id}-error"' in field
    assert 'value="3"' in _input(page, f"position-{second.id}")
    assert "Running order saved" not in page
    db.session.expire_all()
    assert (first.position, second.position) == (1, 2)  # nothing unplaced, nothing moved


def test_duplicate_places_are_listed_in_the_error_summary_against_each_showcase(client, login_as, frozen_now):
    cohort, first, second = _two_showcases()
    third = services.propose_showcase(actor=make_participant(cohort), cohort=cohort, title="Film", description="",
                                      format="")
    with pytest.raises(FieldErrors) as refused:
        services.set_running_order(actor=make_team(), cohort=cohort,
                                   positions={first.id: "1", second.id: "1", third.id: "2"})
    assert set(refused.value.errors) == {f"position-{first.id}", f"position-{second.id}"}
    assert "same place" in refused.value.errors[f"position-{first.id}"]
    db.session.commit()
    login_as(make_team())
    path = f"/cohorts/{cohort.id}/celebration"
    response = client.post(f"{path}/running-order", data={"csrf_token": csrf_token(client, path),
                                                          f"position-{first.id}": "1",
                                                          f"position-{second.id}": " 1",
                                                          f"position-{third.id}": "2"})
    page = _text(response)
    summary = page.split('class="nhsuk-error-summary"')[1].split("</ul>")[0]
    assert f'href="#position-{first.id}"' in summary and f'href="#position-{second.id}"' in summary
    assert f'href="#position-{third.id}"' not in summary
    assert "“Our story” has the same place (1) as “Poster”." in summary
    assert "“Poster” has the same place (1) as “Our story”." in summary
    for showcase, kept in ((first, "1"), (second, " 1")):
        field = _input(page, f"position-{showcase.id}")
        assert f'value="{kept}"' in field and "nhsuk-input--error" in field
    assert "nhsuk-input--error" not in _input(page, f"position-{third.id}")
    assert 'value="2"' in _input(page, f"position-{third.id}")
    db.session.expire_all()
    assert [s.position for s in (first, second, third)] == [None, None, None]


def test_an_unknown_showcase_in_the_running_order_is_still_refused_as_a_whole(frozen_now):
    cohort, first, _second = _two_showcases()
    with pytest.raises(DomainError, match="not in this cohort") as refused:
        services.set_running_order(actor=make_team(), cohort=cohort, positions={first.id: "1", "9999999": "2"})
    assert not isinstance(refused.value, FieldErrors)


# -- 8. guests' email addresses --------------------------------------------------------------

@pytest.mark.parametrize("typed", ["not an email", "name@", "@example.org", "name@localhost", "a b@example.org",
                                   "name@example..org"])
def test_something_typed_that_is_not_an_email_address_is_called_a_wrong_format(typed, frozen_now):
    cohort = make_cohort()
    with pytest.raises(DomainError) as refused:
        services.invite_guest(actor=make_participant(cohort), cohort=cohort, name="Guest", email=typed,
                              relationship="colleague", now=clock.now())
    assert refused.value.field == "email"
    assert refused.value.message == "Enter an email address in the correct format, like name@example.com"


@pytest.mark.parametrize("typed", ["", "   "])
def test_an_empty_guest_email_is_asked_for(typed, frozen_now):
    cohort = make_cohort()
    with pytest.raises(DomainError, match="Enter your guest's email address") as refused:
        services.invite_guest(actor=make_participant(cohort), cohort=cohort, name="Guest", email=typed,
                              relationship="colleague", now=clock.now())
    assert refused.value.field == "email"


def test_the_invite_form_shows_the_format_message_beside_the_email_keeping_what_was_typed(client, login_as):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    path = f"/cohorts/{cohort.id}/celebration"
    page = _text(client.post(f"{path}/guests", data={"csrf_token": csrf_token(client, path), "name": "Kept Name",
                                                     "email": "kept@nowhere", "relationship": "colleague"}))
    message = "Enter an email address in the correct format, like name@example.com"
    assert f'<a href="#email">{message}</a>' in page and 'id="email-error"' in page
    assert 'value="kept@nowhere"' in _input(page, "email") and 'value="Kept Name"' in _input(page, "name")
    assert db.session.scalar(select(func.count()).select_from(Guest)) == 0


def test_a_well_formed_guest_email_is_still_taken_and_stored_case_folded(frozen_now):
    cohort = make_cohort()
    guest = services.invite_guest(actor=make_participant(cohort), cohort=cohort, name="Guest",
                                  email=" Guest.One@Example.ORG ", relationship="colleague", now=clock.now())
    assert guest.email == "guest.one@example.org"


# -- 8. guests' access and dietary needs -----------------------------------------------------

def _textarea(page: str, name: str) -> str:
    return re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S).group(1)


def _answer_as_a_browser_would(client, token: str, coming: str) -> str:
    """Open the RSVP page, leave the needs as the page shows them, choose an answer and send it."""
    path = f"/rsvp/{token}"
    page = _text(client.get(path))
    form = csrf_token(client, path)
    return _text(client.post(path, data={"csrf_token": form, "coming": coming,
                                         "access_needs": _textarea(page, "access_needs"),
                                         "dietary_needs": _textarea(page, "dietary_needs")},
                             follow_redirects=True))


def test_saying_no_keeps_a_guests_needs_so_saying_yes_again_needs_no_retyping(client, frozen_now):
    cohort = make_cohort()
    guest = invite(cohort)
    token = token_for(guest)
    db.session.commit()
    path = f"/rsvp/{token}"
    client.post(path, data={"csrf_token": csrf_token(client, path), "coming": "yes",
                            "access_needs": "Step-free access", "dietary_needs": "Vegetarian"})
    page = _answer_as_a_browser_would(client, token, "no")
    db.session.expire_all()
    assert guest.rsvp == "no"
    assert (guest.access_needs, guest.dietary_needs) == ("Step-free access", "Vegetarian")
    assert _textarea(page, "access_needs") == "Step-free access"
    page = _answer_as_a_browser_would(client, token, "yes")
    db.session.expire_all()
    assert guest.rsvp == "yes" and (guest.access_needs, guest.dietary_needs) == ("Step-free access", "Vegetarian")
    assert _textarea(page, "dietary_needs") == "Vegetarian"


def test_the_service_keeps_needs_given_with_a_no(frozen_now):
    cohort = make_cohort()
    guest = invite(cohort)
    services.answer_rsvp(token=token_for(guest), coming=False, access_needs=" Hearing loop ", dietary_needs="",
                         now=clock.now())
    assert (guest.rsvp, guest.access_needs, guest.dietary_needs) == ("no", "Hearing loop", "")


def test_the_team_sees_needs_only_of_guests_who_are_coming(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    coming = invite(cohort, person, "Coming Guest", "coming@example.org")
    away = invite(cohort, person, "Away Guest", "away@example.org")
    services.answer_rsvp(token=token_for(coming), coming=True, access_needs="Wheelchair space",
                         dietary_needs="Halal", now=clock.now())
    services.answer_rsvp(token=token_for(away), coming=False, access_needs="British Sign Language interpreter",
                         dietary_needs="Nut allergy", now=clock.now())
    db.session.commit()
    login_as(make_team())
    page = _text(client.get(f"/cohorts/{cohort.id}/celebration"))
    assert "Wheelchair space" in page and "Halal" in page
    assert "British Sign Language interpreter" not in page and "Nut allergy" not in page
    rows = {row["Name"]: row for row in csv.DictReader(io.StringIO(
        client.get(f"/cohorts/{cohort.id}/celebration/guests.csv").get_data(as_text=True).lstrip("\ufeff")))}
    assert (rows["Coming Guest"]["Access needs"], rows["Coming Guest"]["Dietary needs"]) == ("Wheelchair space", "Halal")
    assert (rows["Away Guest"]["Access needs"], rows["Away Guest"]["Dietary needs"]) == ("", "")
    assert rows["Away Guest"]["RSVP"] == "no"


def test_the_rsvp_page_says_needs_are_kept_and_a_guest_can_clear_them(client, frozen_now):
    cohort = make_cohort()
    guest = invite(cohort)
    token = token_for(guest)
    services.answer_rsvp(token=token, coming=False, access_needs="Quiet room", dietary_needs="", now=clock.now())
    db.session.commit()
    page = _text(client.get(f"/rsvp/{token}"))
    assert "we keep what you write here in case you change your answer" in page
    assert "The organisers see it only while you are coming" in page
    path = f"/rsvp/{token}"
    client.post(path, data={"csrf_token": csrf_token(client, path), "coming": "no", "access_needs": "",
                            "dietary_needs": ""})
    db.session.expire_all()
    assert (guest.rsvp, guest.access_needs, guest.dietary_needs) == ("no", "", "")
