"""Communities of Practice as spaces of their own: conveners invite members by email, members see only
their communities, conveners run meetings with a register and guests counted without names, members get
a calendar file and reminders."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from app import clock
from app.admin.retention import apply_retention, erase_person
from app.auth.models import User
from app.communities.jobs import plan_community_meeting_reminders
from app.communities.models import CommunityInvitation, CommunityMeeting, CommunityMembership, MeetingAttendance
from app.communities.services import meetings, spaces
from app.db import db
from app.errors import Conflict, DomainError, InvalidToken, NotFound, PermissionDenied
from app.evaluation import communities as cops
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links
from app.programme.reminder_rules import change_reminder_rule
from tests.conftest import count_queries, csrf_token
from tests.factories import make_cohort, make_participant, make_team, make_user


def convened(cohort=None, name="Safer medicines together"):
    """A participant's CoP, as they describe it on their programme page."""
    cohort = cohort or make_cohort()
    convener = make_participant(cohort, name="Connie Convener")
    community = cops.save_community(actor=convener, cohort=cohort, now=clock.now(),
                                    details=cops.CommunityDetails(title=name, status="launched"))
    return cohort, convener, community


def invitation_link(email: str) -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == email)
                                 .order_by(OutboxMessage.id.desc())).first()
    return re.search(r"http://[^/\s]+(/join/[A-Za-z0-9_\-]+)", open_links(message.body_text)).group(1)


def member_of(community, name="Mo Member", role="member"):
    person = make_user(name=name)
    spaces.add_membership(community, person, role, now=clock.now())
    return person


# -- invitations -------------------------------------------------------------------------------

def test_a_convener_invites_someone_new_who_creates_an_account_and_sees_only_their_community(
        client, login_as, frozen_now):
    cohort, convener, community = convened()
    other_cohort, _other_convener, elsewhere = convened(name="Somebody else's community")
    community_id, elsewhere_id = community.id, elsewhere.id
    login_as(convener)
    page = f"/communities/{community_id}"
    response = client.post(f"{page}/invitations", data={"csrf_token": csrf_token(client, page),
                                                        "email": "New.Member@Example.org", "role": "member"})
    assert response.status_code == 302
    invitation = db.session.scalar(select(CommunityInvitation))
    assert invitation.email == "new.member@example.org" and invitation.used_at is None
    link = invitation_link("new.member@example.org")
    assert link.split("/")[-1] not in invitation.token_hash  # only the hash is stored

    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/settings")})
    opened = client.get(link)  # opening it writes nothing (the suite fails any GET that writes)
    body = opened.get_data(as_text=True)
    assert opened.status_code == 200 and "Create my account and join" in body and "new.member@example.org" in body
    token = csrf_token(client, link)
    refused = client.post(link, data={"csrf_token": token, "name": "Nia New", "password": "short"})
    assert refused.status_code == 400 and "at least 8 characters" in refused.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "new.member@example.org")) is None
    joined = client.post(link, data={"csrf_token": token, "name": "Nia New", "password": "a long enough phrase"})
    assert joined.status_code == 302 and joined.headers["Location"] == page
    nia = db.session.scalar(select(User).where(User.email == "new.member@example.org"))
    assert nia.email_confirmed_at is not None  # the invitation confirmed the address
    assert [(m.community_id, m.role) for m in db.session.scalars(select(CommunityMembership).where(
        CommunityMembership.user_id == nia.id))] == [(community_id, "member")]

    mine = client.get("/communities").get_data(as_text=True)
    assert "Safer medicines together" in mine and "Somebody else's community" not in mine
    assert client.get(page).status_code == 200
    assert client.get(f"/communities/{elsewhere_id}").status_code == 404
    assert client.get(f"{page}/edit").status_code == 403  # a member does not manage
    assert client.get(f"/cohorts/{cohort.id}/my-community").status_code == 404  # no programme place
    assert client.get(f"/cohorts/{other_cohort.id}/schedule").status_code == 403

    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_an_invitation_link_works_once_and_expires(frozen_now):
    _cohort, convener, community = convened()
    invitation = spaces.invite(actor=convener, community=community, email="late@example.org", role="member",
                               now=clock.now())
    token = invitation_link("late@example.org").split("/")[-1]
    frozen_now.shift(spaces.INVITATION_TTL + timedelta(minutes=1))
    with pytest.raises(InvalidToken, match="expired"):
        spaces.join_with_new_account(token=token, name="Late", password="a long enough phrase", now=clock.now())
    frozen_now.shift(-spaces.INVITATION_TTL)
    user = spaces.join_with_new_account(token=token, name="On time", password="a long enough phrase", now=clock.now())
    with pytest.raises(InvalidToken, match="already been used"):
        spaces.join_with_account(token=token, user=user, now=clock.now())
    assert db.session.get(CommunityInvitation, invitation.id).used_at is not None
    with pytest.raises(InvalidToken, match="not valid"):
        spaces.open_invitation(token="not-a-token", now=clock.now())


def test_a_new_invitation_replaces_the_earlier_link_to_the_same_address(frozen_now):
    _cohort, convener, community = convened()
    spaces.invite(actor=convener, community=community, email="twice@example.org", role="member", now=clock.now())
    first = invitation_link("twice@example.org").split("/")[-1]
    spaces.invite(actor=convener, community=community, email="twice@example.org", role="convener", now=clock.now())
    second = invitation_link("twice@example.org").split("/")[-1]
    with pytest.raises(InvalidToken):
        spaces.open_invitation(token=first, now=clock.now())
    assert spaces.open_invitation(token=second, now=clock.now()).role == "convener"


def test_someone_with_an_account_signs_in_with_the_invited_address_to_join(client, login_as, frozen_now):
    _cohort, convener, community = convened()
    existing = make_user(email="has.account@example.org", name="Hana Account")
    stranger = make_user(name="Not Invited")
    community_id = community.id
    spaces.invite(actor=convener, community=community, email="has.account@example.org", role="convener",
                  now=clock.now())
    db.session.commit()
    link = invitation_link("has.account@example.org")
    page = client.get(link).get_data(as_text=True)
    assert "You already have an account" in page and "/sign-in?next=" in page
    login_as(stranger)
    assert "signed in with another address" in client.get(link).get_data(as_text=True)
    with pytest.raises(PermissionDenied):
        spaces.join_with_account(token=link.split("/")[-1], user=stranger, now=clock.now())
    db.session.rollback()
    login_as(existing)
    response = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert response.status_code == 302
    membership = db.session.scalar(select(CommunityMembership).where(CommunityMembership.user_id == existing.id))
    assert (membership.community_id, membership.role) == (community_id, "convener")
    assert client.get(f"/communities/{community_id}/edit").status_code == 200  # a convener manages


def test_only_conveners_and_the_team_invite_and_bad_addresses_are_refused(frozen_now):
    _cohort, convener, community = convened()
    member = member_of(community)
    outsider = make_user()
    with pytest.raises(PermissionDenied):
        spaces.invite(actor=member, community=community, email="x@example.org", role="member", now=clock.now())
    with pytest.raises(NotFound):
        spaces.invite(actor=outsider, community=community, email="x@example.org", role="member", now=clock.now())
    with pytest.raises(DomainError, match="Enter an email address") as refused:
        spaces.invite(actor=convener, community=community, email="not an address", role="member", now=clock.now())
    assert refused.value.field == "email"
    with pytest.raises(Conflict, match="already in this community"):
        spaces.invite(actor=convener, community=community, email=member.email, role="member", now=clock.now())
    assert spaces.invite(actor=make_team(), community=community, email="y@example.org", role="convener",
                         now=clock.now()).role == "convener"


def test_removing_a_member_ends_their_access_and_the_last_convener_stays(client, login_as, frozen_now):
    _cohort, convener, community = convened()
    member = member_of(community)
    community_id = community.id
    membership_id = next(m.id for m in community.memberships if m.user_id == member.id)
    convener_membership = next(m.id for m in community.memberships if m.user_id == convener.id)
    db.session.commit()
    with pytest.raises(Conflict, match="at least one convener"):
        spaces.remove_member(actor=convener, community=community, membership_id=convener_membership, now=clock.now())
    login_as(member)
    page = f"/communities/{community_id}"
    token = csrf_token(client, page)
    assert client.post(f"{page}/members/{membership_id}/remove", data={"csrf_token": token}).status_code == 403
    login_as(convener)
    token = csrf_token(client, page)
    assert client.post(f"{page}/members/{membership_id}/remove", data={"csrf_token": token}).status_code == 302
    login_as(member)
    assert client.get(page).status_code == 404


def test_the_team_sets_up_a_community_without_a_cohort_and_sees_every_community(client, login_as, frozen_now):
    convened()
    team = make_team()
    login_as(team)
    token = csrf_token(client, "/communities/new")
    refused = client.post("/communities/new", data={"csrf_token": token, "name": "", "status": "planning"})
    assert refused.status_code == 400 and "Give the community a name" in refused.get_data(as_text=True)
    created = client.post("/communities/new", data={"csrf_token": token, "name": "Ultrasound Imaging",
                                                    "purpose": "Sharing scanning practice", "status": "planning"})
    assert created.status_code == 302
    listing = client.get("/communities").get_data(as_text=True)
    assert "Ultrasound Imaging" in listing and "Safer medicines together" in listing
    with pytest.raises(PermissionDenied):
        spaces.start_community(actor=make_user(), details=spaces.CommunityDetails(name="Mine"), now=clock.now())


# -- meetings ----------------------------------------------------------------------------------

def test_a_meeting_is_typed_in_uk_time_stored_in_utc_and_shown_in_uk_time(client, login_as, frozen_now):
    _cohort, convener, community = convened()
    member = member_of(community)
    community_id = community.id
    login_as(convener)
    new = f"/communities/{community_id}/meetings/new"
    token = csrf_token(client, new)
    refused = client.post(new, data={"csrf_token": token, "meets_on": "2027-06-10", "starts": "15:00",
                                     "ends": "14:00", "status": "planned", "agenda": "Kept agenda"})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "must end after it starts" in body and "Kept agenda" in body
    saved = client.post(new, data={"csrf_token": token, "meets_on": "2027-06-10", "starts": "14:30", "ends": "16:00",
                                   "format": "hybrid", "location": "Room 4 and online", "status": "planned",
                                   "agenda": "Welcome\nWhat gets in the way?",
                                   "methods": ["Liberating Structures"], "other_method": "Walk and talk"})
    assert saved.status_code == 302
    meeting = db.session.scalar(select(CommunityMeeting).where(CommunityMeeting.community_id == community_id))
    assert meeting.starts_at == datetime(2027, 6, 10, 13, 30, tzinfo=UTC)  # British Summer Time
    assert meeting.methods == ["Liberating Structures", "Walk and talk"]
    login_as(member)
    page = client.get(f"/communities/{community_id}/meetings/{meeting.id}").get_data(as_text=True)
    assert "Thursday 10 June 2027 at 2:30pm to 4pm" in page and "Hybrid" in page
    assert "Take the register" not in page  # members see the meeting, conveners run it

    ics = client.get(f"/communities/{community_id}/meetings/{meeting.id}.ics")
    assert ics.mimetype == "text/calendar"
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2027, 6, 10, 13, 30, tzinfo=UTC)
    assert event.decoded("dtend") == datetime(2027, 6, 10, 15, 0, tzinfo=UTC)
    assert str(event["location"]) == "Room 4 and online" and int(event["sequence"]) == 0


def test_changing_a_meeting_bumps_its_calendar_sequence_and_a_cancelled_one_says_so(frozen_now):
    _cohort, convener, community = convened()
    meeting = meetings.add_meeting(actor=convener, community=community, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=date(2027, 1, 12), starts=time(10, 0), format="online"))
    meetings.update_meeting(actor=convener, meeting=meeting, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=date(2027, 1, 12), starts=time(10, 0), format="online", status="cancelled"))
    (event,) = Calendar.from_ical(meetings.meeting_calendar(meeting, domain="convene.test", now=clock.now())).walk("VEVENT")
    assert int(event["sequence"]) == 1 and str(event["status"]) == "CANCELLED"
    assert event.decoded("dtstart") == datetime(2027, 1, 12, 10, 0, tzinfo=UTC)  # GMT in January


def test_the_register_names_members_and_counts_guests_without_names(client, login_as, frozen_now):
    _cohort, convener, community = convened()
    came, sorry = member_of(community, "Cal Came"), member_of(community, "Sol Sorry")
    meeting = meetings.add_meeting(actor=convener, community=community, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=clock.local_today() - timedelta(days=2), starts=time(18, 0), format="in_person"))
    ids = (community.id, meeting.id)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        meetings.record_register(actor=came, meeting=meeting, statuses={came.id: "present"}, guest_count=0,
                                 now=clock.now())
    with pytest.raises(DomainError):
        meetings.record_register(actor=convener, meeting=meeting, statuses={make_user().id: "present"},
                                 guest_count=0, now=clock.now())
    login_as(convener)
    url = "/communities/{}/meetings/{}/register".format(*ids)
    token = csrf_token(client, url)
    refused = client.post(url, data={"csrf_token": token, "guest_count": "-2"})
    assert refused.status_code == 400 and "whole number" in refused.get_data(as_text=True)
    saved = client.post(url, data={"csrf_token": token, f"person_{came.id}": "present",
                                   f"person_{sorry.id}": "apologies", f"person_{convener.id}": "present",
                                   "guest_count": "5"})
    assert saved.status_code == 302
    meeting = db.session.get(CommunityMeeting, ids[1])
    assert {(r.user_id, r.status) for r in meeting.register} == {(came.id, "present"), (sorry.id, "apologies"),
                                                                 (convener.id, "present")}
    assert (meeting.guest_count, meeting.headcount, meeting.status) == (5, 7, "held")
    page = client.get("/communities/{}/meetings/{}".format(*ids)).get_data(as_text=True)
    assert "7 (2 named, 5 counted without names)" in page and "Sol Sorry" in page


def test_only_apologies_before_a_meeting_happens(frozen_now):
    _cohort, convener, community = convened()
    member = member_of(community)
    meeting = meetings.add_meeting(actor=convener, community=community, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=clock.local_today() + timedelta(days=5), starts=time(9, 0)))
    with pytest.raises(DomainError, match="not happened yet"):
        meetings.record_register(actor=convener, meeting=meeting, statuses={member.id: "present"}, guest_count=0,
                                 now=clock.now())
    meetings.record_register(actor=convener, meeting=meeting, statuses={member.id: "apologies"}, guest_count=0,
                             now=clock.now())
    assert meeting.status == "planned"


def test_a_meeting_logged_on_the_programme_page_shows_its_date_and_no_invented_time(client, login_as, frozen_now):
    cohort, convener, community = convened()
    cops.log_meeting(actor=convener, cohort=cohort, today=clock.local_today(), now=clock.now(),
                     details=cops.MeetingDetails(held_on=date(2026, 11, 2), attendance=12))
    meeting = db.session.scalar(select(CommunityMeeting))
    assert (meeting.starts_at, meeting.guest_count, meeting.status) == (None, 12, "held")
    community_id = community.id
    login_as(convener)
    page = client.get(f"/communities/{community_id}/meetings/{meeting.id}").get_data(as_text=True)
    assert "Monday 2 November 2026 (time not recorded)" in page
    (event,) = Calendar.from_ical(client.get(f"/communities/{community_id}/meetings/{meeting.id}.ics").data).walk("VEVENT")
    assert event.decoded("dtstart") == date(2026, 11, 2)  # an all-day entry, not a made-up hour


def test_another_communitys_meeting_is_not_found_through_this_community(client, login_as, frozen_now):
    _cohort, convener, community = convened()
    _c, other_convener, elsewhere = convened(name="Elsewhere")
    theirs = meetings.add_meeting(actor=other_convener, community=elsewhere, now=clock.now(),
                                  details=meetings.MeetingDetails(meets_on=date(2027, 2, 1)))
    community_id, theirs_id = community.id, theirs.id
    login_as(convener)
    assert client.get(f"/communities/{community_id}/meetings/{theirs_id}").status_code == 404
    assert client.get(f"/communities/{community_id}/meetings/{theirs_id}.ics").status_code == 404


def test_the_community_page_runs_a_bounded_number_of_queries(app, client, login_as, frozen_now):
    _cohort, convener, community = convened()
    community_id = community.id
    login_as(convener)
    for n in range(3):
        member_of(community, f"Member {n}")
        meetings.add_meeting(actor=convener, community=community, now=clock.now(),
                             details=meetings.MeetingDetails(meets_on=date(2027, 1, 5 + n), starts=time(10, 0)))
    db.session.commit()
    few = count_queries(app, client, f"/communities/{community_id}")
    for n in range(3, 12):
        member_of(community, f"Member {n}")
        meetings.add_meeting(actor=convener, community=community, now=clock.now(),
                             details=meetings.MeetingDetails(meets_on=date(2027, 2, 1 + n), starts=time(10, 0)))
    db.session.commit()
    assert count_queries(app, client, f"/communities/{community_id}") == few
    assert count_queries(app, client, "/communities") <= few


# -- reminders ---------------------------------------------------------------------------------

def _reminders():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.key.startswith("community-meeting:"))
                              .order_by(OutboxMessage.recipient)).all()


def test_members_are_reminded_before_a_planned_meeting_unless_they_turned_reminders_off(frozen_now):
    cohort, convener, community = convened()
    keen, quiet, gone = member_of(community, "Keen"), member_of(community, "Quiet"), member_of(community, "Gone")
    quiet.wants_reminders, gone.is_disabled = False, True
    meeting = meetings.add_meeting(actor=convener, community=community, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=date(2026, 11, 27), starts=time(14, 0), format="online"))
    written = plan_community_meeting_reminders(clock.now())
    assert written == 2 and plan_community_meeting_reminders(clock.now()) == 0  # idempotent
    sent = _reminders()
    assert sorted(m.recipient for m in sent) == sorted([convener.email, keen.email])
    assert all(m.category == "reminder" and m.expires_at == meeting.starts_at for m in sent)
    # Two days before, at 09:00 UK time.
    assert sent[0].due_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert "Friday 27 November 2026 at 2pm" in sent[0].body_text

    # A new time cancels what was written; the next pass writes reminders for the new time.
    meetings.update_meeting(actor=convener, meeting=meeting, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=date(2026, 11, 28), starts=time(10, 0), format="online"))
    assert {m.status for m in _reminders()} == {"cancelled"}
    assert plan_community_meeting_reminders(clock.now()) == 2
    # Nothing for meetings that are not planned, or that have no time.
    meetings.update_meeting(actor=convener, meeting=meeting, now=clock.now(), details=meetings.MeetingDetails(
        meets_on=date(2026, 11, 28), starts=time(10, 0), status="postponed"))
    assert plan_community_meeting_reminders(clock.now()) == 0
    del cohort


def test_the_cohorts_rule_governs_its_communities_and_the_default_the_others(frozen_now):
    cohort, convener, community = convened()
    team = make_team()
    standalone = spaces.start_community(actor=team, details=spaces.CommunityDetails(name="Outside any cohort"),
                                        now=clock.now())
    lone = member_of(standalone, "Lone Member")
    for where, who in ((community, convener), (standalone, team)):
        meetings.add_meeting(actor=who, community=where, now=clock.now(), details=meetings.MeetingDetails(
            meets_on=date(2026, 11, 27), starts=time(14, 0)))
    change_reminder_rule(actor=team, cohort=cohort, key="community_meeting", enabled=False, days="2", at="09:00",
                         now=clock.now())
    plan_community_meeting_reminders(clock.now())
    assert [m.recipient for m in _reminders()] == [lone.email]


def test_a_meeting_page_with_a_long_register_runs_as_many_queries_as_a_short_one(app, client, login_as, frozen_now):
    _cohort, convener, community = convened()
    meeting = meetings.add_meeting(actor=convener, community=community, now=clock.now(),
                                   details=meetings.MeetingDetails(meets_on=date(2026, 11, 20), starts=time(10, 0)))
    url = f"/communities/{community.id}/meetings/{meeting.id}"
    login_as(convener)
    people = [member_of(community, f"Member {n}") for n in range(2)]
    meetings.record_register(actor=convener, meeting=meeting, statuses={p.id: "present" for p in people},
                             guest_count=0, now=clock.now())
    db.session.commit()
    few = count_queries(app, client, url)
    people += [member_of(community, f"Member {n}") for n in range(2, 10)]
    meetings.record_register(actor=convener, meeting=meeting, statuses={p.id: "present" for p in people},
                             guest_count=0, now=clock.now())
    db.session.commit()
    assert count_queries(app, client, url) == few
    assert count_queries(app, client, url + "/register") <= few + 1


def test_erasing_a_member_takes_them_out_and_keeps_the_community_and_its_counts(frozen_now):
    _cohort, convener, community = convened()
    member = member_of(community, "Erin Erased")
    meeting = meetings.add_meeting(actor=convener, community=community, now=clock.now(),
                                   details=meetings.MeetingDetails(meets_on=date(2026, 11, 20), starts=time(10, 0)))
    meetings.record_register(actor=convener, meeting=meeting, statuses={member.id: "present"}, guest_count=2,
                             now=clock.now())
    spaces.invite(actor=convener, community=community, email=member.email, role="convener", now=clock.now())
    spaces.invite(actor=convener, community=community, email="never.answered@example.org", role="member",
                  now=clock.now())
    erase_person(actor=make_team(), person=member, now=clock.now(), reason="asked")
    db.session.commit()
    db.session.expire_all()
    assert [m.user_id for m in db.session.scalars(select(CommunityMembership))] == [convener.id]
    assert db.session.get(CommunityMeeting, meeting.id).headcount == 3  # the count stays, the name does not
    assert db.session.get(User, member.id).name == "Deleted person"
    assert db.session.scalars(select(CommunityInvitation.email)).all() == ["never.answered@example.org"]
    frozen_now.shift(spaces.INVITATION_TTL + timedelta(days=31))
    assert apply_retention(clock.now())["community_invitations"] == 1
    assert db.session.get(MeetingAttendance, meeting.register[0].id) is not None


def test_a_member_without_a_programme_place_lands_on_their_communities(client, login_as, frozen_now):
    """Members signed in to "My applications", a page about a programme they never applied to."""
    _cohort, _convener, community = convened()
    member = member_of(community)
    login_as(member)
    response = client.get("/home")
    assert response.status_code == 302 and response.headers["Location"].endswith("/communities")
    login_as(make_user())  # someone with neither: their applications, as before
    assert client.get("/home").headers["Location"].endswith("/my-applications")


def test_a_convener_withdraws_an_invitation_and_its_link_stops_working(client, login_as, frozen_now):
    _cohort, convener, community = convened()
    spaces.invite(actor=convener, community=community, email="wrong.person@example.org", role="member",
                  now=clock.now())
    link = invitation_link("wrong.person@example.org")
    invitation = db.session.scalar(select(CommunityInvitation))
    community_id, invitation_id = community.id, invitation.id
    db.session.commit()
    login_as(convener)
    page = client.get(f"/communities/{community_id}").get_data(as_text=True)
    assert "wrong.person@example.org" in page and "Withdraw" in page
    response = client.post(f"/communities/{community_id}/invitations/{invitation_id}/withdraw",
                           data={"csrf_token": csrf_token(client, f"/communities/{community_id}")},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The invitation to wrong.person@example.org is withdrawn" in page
    assert "Invitations waiting for an answer" not in page
    client.post("/sign-out", data={"csrf_token": csrf_token(client, f"/communities/{community_id}")})
    assert "has expired" in client.get(link).get_data(as_text=True)
    with pytest.raises(InvalidToken):
        spaces.open_invitation(token=link.rsplit("/", 1)[1], now=clock.now())


def test_a_member_cannot_withdraw_invitations_and_another_communitys_invitation_is_not_found(frozen_now):
    _cohort, convener, community = convened()
    invitation = spaces.invite(actor=convener, community=community, email="x@example.org", role="member",
                               now=clock.now())
    with pytest.raises(PermissionDenied):
        spaces.withdraw_invitation(actor=member_of(community), community=community, invitation_id=invitation.id,
                                   now=clock.now())
    _other_cohort, other_convener, other = convened(name="Another community")
    with pytest.raises(NotFound):
        spaces.withdraw_invitation(actor=other_convener, community=other, invitation_id=invitation.id,
                                   now=clock.now())
    spaces.withdraw_invitation(actor=convener, community=community, invitation_id=invitation.id, now=clock.now())
    with pytest.raises(Conflict, match="no longer waiting"):
        spaces.withdraw_invitation(actor=convener, community=community, invitation_id=invitation.id, now=clock.now())
