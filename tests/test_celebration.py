"""Celebration guests and RSVPs, showcases and running order, drop-in clinic sign-ups."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.celebration import services
from app.celebration.models import Guest
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from tests.conftest import csrf_token
from tests.factories import make_application, make_cohort, make_facilitator, make_participant, make_team, open_cohort


def token_for(guest: Guest) -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(f"guest-invitation:{guest.id}:"))
                                 .order_by(OutboxMessage.id.desc())).first()
    return re.search(r"/rsvp/([A-Za-z0-9_\-]+)", open_links(message.body_text)).group(1)


def invite(cohort, person=None, name="Guest One", email="guest.one@example.org"):
    person = person or make_participant(cohort)
    return services.invite_guest(actor=person, cohort=cohort, name=name, email=email, relationship="cop_member",
                                 now=clock.now())


def test_an_invitation_emails_a_link_and_reminders_are_planned_before_the_day(frozen_now):
    from app.celebration.jobs import plan_guest_reminders

    cohort = make_cohort()
    guest = invite(cohort)
    keys = sorted(m.key.split(":")[0] for m in db.session.scalars(select(OutboxMessage)))
    assert keys == ["guest-invitation"]
    event = services.celebration_session(cohort.id)
    frozen_now.move_to(event.starts_at - timedelta(days=7, hours=12))
    plan_guest_reminders(clock.now())
    assert plan_guest_reminders(clock.now()) == 0
    frozen_now.move_to(event.starts_at - timedelta(days=1, hours=12))
    plan_guest_reminders(clock.now())
    reminders = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("guest-reminder"))).all()
    assert sorted(event.starts_at - m.due_at for m in reminders) == [timedelta(days=1), timedelta(days=7)]
    assert guest.token_hash and token_for(guest) not in guest.token_hash


def test_rsvp_page_changes_nothing_on_open_and_answers_can_change_until_the_day(client, frozen_now):
    cohort = make_cohort()
    guest = invite(cohort)
    token = token_for(guest)
    page = client.get(f"/rsvp/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert guest.rsvp == "pending"
    form = csrf_token(client, f"/rsvp/{token}")
    bad = client.post(f"/rsvp/{token}", data={"csrf_token": form, "access_needs": "Step-free access"})
    assert "Choose whether you will come" in bad.get_data(as_text=True)
    assert "Step-free access" in bad.get_data(as_text=True)
    client.post(f"/rsvp/{token}", data={"csrf_token": form, "coming": "yes", "dietary_needs": "Vegetarian"})
    assert (guest.rsvp, guest.dietary_needs) == ("yes", "Vegetarian")
    event = services.celebration_session(cohort.id)
    from app.celebration.jobs import plan_guest_reminders

    frozen_now.move_to(event.starts_at - timedelta(days=7, hours=12))
    plan_guest_reminders(clock.now())
    form = csrf_token(client, f"/rsvp/{token}")  # a new visit, days later
    client.post(f"/rsvp/{token}", data={"csrf_token": form, "coming": "no"})
    assert guest.rsvp == "no" and guest.dietary_needs == ""
    db.session.expire_all()
    reminders = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("guest-reminder"))).all()
    assert reminders and {m.status for m in reminders} == {"cancelled"}
    frozen_now.move_to(event.starts_at - timedelta(days=1, hours=12))
    assert plan_guest_reminders(clock.now()) == 0  # nobody who said no is reminded
    frozen_now.move_to(event.starts_at + timedelta(minutes=1))
    with pytest.raises(Conflict, match="started"):
        services.answer_rsvp(token=token, coming=True, access_needs="", dietary_needs="", now=clock.now())


def test_unknown_tokens_show_nothing(client):
    response = client.get("/rsvp/made-up-token")
    assert response.status_code == 404 and "not valid" in response.get_data(as_text=True)
    with pytest.raises(InvalidToken):
        services.open_rsvp(token="made-up-token", now=clock.now())


def test_the_last_place_goes_to_one_guest_and_the_next_is_told_it_is_full(frozen_now):
    cohort = make_cohort()
    cohort.guest_capacity = 1
    person = make_participant(cohort)
    first = invite(cohort, person, "First", "first@example.org")
    second = invite(cohort, person, "Second", "second@example.org")
    services.answer_rsvp(token=token_for(first), coming=True, access_needs="", dietary_needs="", now=clock.now())
    with pytest.raises(Conflict, match="the event is full"):
        services.answer_rsvp(token=token_for(second), coming=True, access_needs="", dietary_needs="", now=clock.now())
    services.answer_rsvp(token=token_for(second), coming=False, access_needs="", dietary_needs="", now=clock.now())
    assert (first.rsvp, second.rsvp) == ("yes", "no")


def test_two_guests_racing_for_the_last_place_get_one_place(app, frozen_now):
    cohort = make_cohort()
    cohort.guest_capacity = 1
    person = make_participant(cohort)
    tokens = [token_for(invite(cohort, person, f"G{i}", f"g{i}@example.org")) for i in range(2)]
    db.session.commit()
    barrier, outcomes, arrivals = threading.Barrier(2), [], []

    def answer(token):
        with app.app_context():
            arrivals.append(barrier.wait(timeout=30))  # a thread that never arrives fails, not hangs
            try:
                services.answer_rsvp(token=token, coming=True, access_needs="", dietary_needs="", now=clock.now())
                db.session.commit()
                outcomes.append("in")
            except Conflict:
                db.session.rollback()
                outcomes.append("full")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(arrivals) == [0, 1] and not barrier.broken  # both threads were at the start line together
    assert sorted(outcomes) == ["full", "in"]


def test_line_managers_are_proposed_and_participants_can_stop_theirs(frozen_now):
    from app.applications import services as applications
    from app.applications.models import Decision

    cohort = open_cohort()
    team = make_team()
    people = []
    for i in range(2):
        application = make_application(cohort, submit=True, sponsor_email=f"boss{i}@example.org")
        approval = application.current_approval
        message = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.key.startswith(f"sponsor-request:{approval.id}:"))).one()
        token = re.search(r"/sponsor/([A-Za-z0-9_\-]+)", open_links(message.body_text)).group(1)
        applications.record_sponsor_decision(token=token, approve=True, confirms_release=True, comment="",
                                             now=clock.now())
        applications.set_decision(actor=team, application=application, decision=Decision.OFFER, now=clock.now())
        people.append(application)
    applications.release_outcomes(actor=team, cohort=cohort, now=clock.now())
    for application in people:
        applications.respond_to_offer(actor=application.applicant, application=application, accept=True,
                                      now=clock.now())
    assert services.propose_sponsor_invitations(cohort=cohort, now=clock.now()) == 2
    assert services.propose_sponsor_invitations(cohort=cohort, now=clock.now()) == 0  # once only
    stopped = db.session.scalars(select(Guest).where(Guest.email == "boss0@example.org")).one()
    services.stop_proposed_invitation(actor=people[0].applicant, guest=stopped)
    assert services.send_proposed_invitations(actor=team, cohort=cohort, now=clock.now()) == 1
    sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("guest-invitation"))).all()
    assert [m.recipient for m in sent] == ["boss1@example.org"]


def test_showcases_and_the_running_order(frozen_now):
    cohort = make_cohort()
    a, b = make_participant(cohort), make_participant(cohort)
    first = services.propose_showcase(actor=a, cohort=cohort, title="Our story", description="", format="Talk")
    second = services.propose_showcase(actor=b, cohort=cohort, title="Poster", description="", format="Poster")
    team = make_team()
    with pytest.raises(DomainError, match="same place"):
        services.set_running_order(actor=team, cohort=cohort, positions={first.id: 1, second.id: 1})
    services.set_running_order(actor=team, cohort=cohort, positions={first.id: 2, second.id: 1})
    assert [s.title for s in services.showcases_of(cohort)] == ["Poster", "Our story"]


def test_guest_list_export_for_the_team(client, login_as, frozen_now):
    cohort = make_cohort()
    guest = invite(cohort, name="=Formula Guest")
    services.answer_rsvp(token=token_for(guest), coming=True, access_needs="Wheelchair user", dietary_needs="",
                         now=clock.now())
    login_as(make_team())
    rows = list(csv.DictReader(io.StringIO(client.get(f"/cohorts/{cohort.id}/celebration/guests.csv")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["Name"] == "'=Formula Guest" and rows[0]["RSVP"] == "yes"
    assert rows[0]["Access needs"] == "Wheelchair user"


def test_participants_see_only_their_own_guests(client, login_as, frozen_now):
    cohort = make_cohort()
    invite(cohort, name="Someone Else's Guest")
    login_as(make_participant(cohort))
    assert "Someone Else's Guest" not in client.get(f"/cohorts/{cohort.id}/celebration").get_data(as_text=True)


def test_clinic_sign_up_with_a_topic_the_facilitator_sees(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort, name="Topic Bringer")
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())
    login_as(person)
    token = csrf_token(client, f"/sessions/{clinic.id}/clinic")
    client.post(f"/sessions/{clinic.id}/clinic", data={"csrf_token": token, "action": "signup",
                                                       "topic": "Keeping members engaged"})
    login_as(make_facilitator())
    page = client.get(f"/sessions/{clinic.id}/clinic").get_data(as_text=True)
    assert "Topic Bringer" in page and "Keeping members engaged" in page
    with pytest.raises(Conflict):
        services.sign_up_for_clinic(actor=person, session=cohort.sessions[0], topic="", now=clock.now())


def test_refused_invitations_and_showcases_keep_what_was_typed(client, login_as):
    cohort = make_cohort()
    login_as(make_participant(cohort))
    path = f"/cohorts/{cohort.id}/celebration"
    token = csrf_token(client, path)
    page = client.post(f"{path}/guests", data={"csrf_token": token, "name": "Kept Name", "email": "not an email",
                                               "relationship": "colleague"}).get_data(as_text=True)
    # Something typed that is not an address is called a wrong format (issue point 8); empty is asked for.
    assert "<title>Error:" in page and "Enter an email address in the correct format, like name@example.com" in page
    assert 'value="Kept Name"' in page and 'href="#email"' in page
    page = client.post(f"{path}/guests", data={"csrf_token": token, "name": "Kept Name", "email": "",
                                               "relationship": "colleague"}).get_data(as_text=True)
    assert "<title>Error:" in page and "Enter your guest&#39;s email address." in page
    assert 'value="Kept Name"' in page and 'href="#email"' in page
    page = client.post(f"{path}/showcases", data={"csrf_token": token, "title": "", "description": "Kept text",
                                                  "format": "Poster"}).get_data(as_text=True)
    assert "Give your showcase a title." in page and "Kept text" in page and 'value="Poster"' in page
    assert db.session.scalar(select(func.count()).select_from(Guest)) == 0


def _move(event, days: int):
    from app.programme.services import SessionDetails

    starts, ends = clock.to_local(event.starts_at), clock.to_local(event.ends_at)
    return SessionDetails(title=event.title, kind=event.kind, day=starts.date() + timedelta(days=days),
                          starts=starts.time(), ends=ends.time(), venue=event.venue, join_url=event.join_url,
                          access_info=event.access_info, description=event.description, keep_date=True)


def _told(prefix="guest-event-changed:") -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))
                                   .order_by(OutboxMessage.id)))


def test_guests_are_told_the_new_time_when_the_celebration_moves_and_their_reminders_follow(frozen_now):
    from app.celebration.jobs import plan_guest_reminders
    from app.programme.services import update_session

    cohort = make_cohort()
    coming = invite(cohort)
    declined = invite(cohort, name="Guest Two", email="guest.two@example.org")
    services.answer_rsvp(token=token_for(declined), coming=False, access_needs="", dietary_needs="", now=clock.now())
    proposed = Guest(cohort_id=cohort.id, name="Not Sent", email="not.sent@example.org", relationship_kind="sponsor",
                     status="proposed", rsvp="pending")
    db.session.add(proposed)
    event = services.celebration_session(cohort.id)
    frozen_now.move_to(event.starts_at - timedelta(days=7, hours=12))
    plan_guest_reminders(clock.now())
    old_reminders = _told("guest-reminder:")
    assert len(old_reminders) == 2  # 7 days and 1 day before, both within the planning horizon

    update_session(actor=make_team(), session=event, details=_move(event, 2), now=clock.now())
    [told] = _told()
    assert told.recipient == coming.email and told.subject == f"{event.title} has been changed"
    from app.formatting import local_date, local_time

    assert f"It is now on {local_date(event.starts_at)}, {local_time(event.starts_at)} to" in told.body_text
    assert "use the link in your invitation email" in told.body_text and "/rsvp/" not in told.body_text
    assert "instead of" in told.body_text and "(UK time)" in told.body_html
    assert told.category == "celebration" and told.due_at == clock.now()

    for reminder in old_reminders:
        db.session.refresh(reminder)
        assert reminder.status == "cancelled"
    plan_guest_reminders(clock.now())
    fresh = [m for m in _told("guest-reminder:") if m.status == "pending"]
    # The new 7-day reminder is within the planning horizon; the 1-day one comes in a later pass.
    assert [event.starts_at - m.due_at for m in fresh] == [timedelta(days=7)]
    assert all(f":{event.sequence}:" in m.key and m.recipient == coming.email for m in fresh)


def test_guests_are_told_when_the_celebration_is_cancelled_and_get_no_more_reminders(frozen_now):
    from app.celebration.jobs import plan_guest_reminders
    from app.programme.services import cancel_session

    cohort = make_cohort()
    guest = invite(cohort)
    event = services.celebration_session(cohort.id)
    frozen_now.move_to(event.starts_at - timedelta(days=7, hours=12))
    plan_guest_reminders(clock.now())
    cancel_session(actor=make_team(), session=event, now=clock.now())
    [told] = _told()
    assert told.recipient == guest.email and told.subject == f"{event.title} has been cancelled"
    assert "has been cancelled" in told.body_text and "has been cancelled" in told.body_html
    assert plan_guest_reminders(clock.now()) == 0
    assert all(m.status == "cancelled" for m in _told("guest-reminder:"))


def test_other_sessions_changing_tell_no_guests(frozen_now):
    from app.programme.services import cancel_session

    cohort = make_cohort()
    invite(cohort)
    module_day = next(s for s in cohort.sessions if s.kind == "module" and s.starts_at > clock.now())
    cancel_session(actor=make_team(), session=module_day, now=clock.now())
    assert _told() == []


def test_a_participant_may_propose_only_a_few_showcases(client, login_as, frozen_now):
    cohort = open_cohort()
    person = make_participant(cohort)
    for n in range(services.SHOWCASES_PER_PARTICIPANT):
        services.propose_showcase(actor=person, cohort=cohort, title=f"Idea {n}", description="", format="")
    with pytest.raises(DomainError, match="the most one participant can"):
        services.propose_showcase(actor=person, cohort=cohort, title="One too many", description="", format="")
    db.session.commit()
    login_as(person)
    path = f"/cohorts/{cohort.id}/celebration"
    page = client.post(f"{path}/showcases", data={"csrf_token": csrf_token(client, path), "title": "Again"})
    assert page.status_code == 409 or "the most one participant can" in page.get_data(as_text=True)
    assert "the most one participant can" in page.get_data(as_text=True)
    assert len(services.showcases_of(cohort)) == services.SHOWCASES_PER_PARTICIPANT


def test_the_running_order_form_takes_only_this_cohorts_showcases_and_small_places(client, login_as, frozen_now):
    cohort, other = open_cohort(), open_cohort()
    mine = services.propose_showcase(actor=make_participant(cohort), cohort=cohort, title="Mine", description="",
                                     format="")
    theirs = services.propose_showcase(actor=make_participant(other), cohort=other, title="Theirs", description="",
                                       format="")
    participant = make_participant(cohort)
    db.session.commit()
    login_as(participant)
    page = client.get(f"/cohorts/{cohort.id}/celebration").get_data(as_text=True)
    assert "running-order" not in page and "Save running order" not in page  # the team's form only
    login_as(make_team())
    path = f"/cohorts/{cohort.id}/celebration"
    token = csrf_token(client, path)
    for junk in ({"position-abc": "1"}, {f"position-{theirs.id}": "1"}, {"position-99999999999999999999": "1"},
                 {f"position-{mine.id}": "99999999999999999999"}, {f"position-{mine.id}": "-3"},
                 {f"position-{mine.id}": "²"}, {"position-": ""}):
        response = client.post(f"{path}/running-order", data={"csrf_token": token, **junk}, follow_redirects=True)
        assert response.status_code == 200, junk
        assert "There is a problem" in response.get_data(as_text=True) or "not in this cohort" in \
            response.get_data(as_text=True) or "whole number" in response.get_data(as_text=True), junk
    db.session.expire_all()
    assert (mine.position, theirs.position) == (None, None)
    client.post(f"{path}/running-order", data={"csrf_token": token, f"position-{mine.id}": " 2 "})
    db.session.expire_all()
    assert mine.position == 2


def test_guests_calendars_follow_a_moved_or_cancelled_celebration(frozen_now):
    """A guest who added the invitation to their calendar was told of a move or cancellation by email only:
    their calendar kept the old time. The change emails now carry an update with the invitation's UID."""
    from icalendar import Calendar

    from app.programme.services import cancel_session, update_session

    cohort = make_cohort()
    guest = invite(cohort)
    event = services.celebration_session(cohort.id)
    [invitation] = _told("guest-invitation:")
    original = Calendar.from_ical(invitation.attachments[0]["content"]).walk("VEVENT")[0]

    update_session(actor=make_team(), session=event, details=_move(event, 2), now=clock.now())
    [moved] = _told()
    [attachment] = moved.attachments
    assert 'method="REQUEST"' in attachment["content_type"] or "method=REQUEST" in attachment["content_type"]
    update = Calendar.from_ical(attachment["content"])
    entry = update.walk("VEVENT")[0]
    assert str(update["method"]) == "REQUEST" and str(entry["uid"]) == str(original["uid"])
    assert entry.decoded("dtstart") == event.starts_at and int(entry["sequence"]) > int(original["sequence"])
    assert str(entry["attendee"]).lower() == f"mailto:{guest.email}"

    cancel_session(actor=make_team(), session=event, now=clock.now())
    cancelled = _told()[-1]
    calendar = Calendar.from_ical(cancelled.attachments[0]["content"])
    entry = calendar.walk("VEVENT")[0]
    assert str(calendar["method"]) == "CANCEL" and str(entry["status"]) == "CANCELLED"
    assert str(entry["uid"]) == str(original["uid"])
