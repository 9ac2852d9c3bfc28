"""Cohorts and the schedule: services and the pages that use them."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from app.programme import services
from app.programme.models import ProgrammeSession, SessionKind
from tests.conftest import FROZEN_AT, csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_session, make_team, make_user


def _details(**overrides):
    values = dict(title="Extra clinic", kind="drop_in", day=date(2027, 2, 3), starts=time(13, 0), ends=time(14, 0),
                  join_url="https://video.example.org/extra")
    values.update(overrides)
    return services.SessionDetails(**values)


# -- services --------------------------------------------------------------------------------

def test_create_cohort_builds_the_whole_year_in_london_time():
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    assert len(cohort.sessions) == 21
    assert [m.number for m in cohort.modules] == [1, 2, 3, 4, 5]
    module_days = [s for s in cohort.sessions if s.kind == "module"]
    assert {clock.to_local(s.starts_at).strftime("%H:%M") for s in module_days} == {"09:30"}
    assert {clock.to_local(s.ends_at).strftime("%H:%M") for s in module_days} == {"12:30"}
    assert module_days[0].title.startswith("Module 1: Planning and launching")
    assert all(s.sequence == 0 and s.status == "scheduled" for s in cohort.sessions)


def test_only_the_team_can_create_a_cohort():
    with pytest.raises(PermissionDenied):
        make_cohort(actor=make_facilitator())


def test_cohort_names_are_unique_within_the_programme():
    make_cohort(name="2026 to 2027")
    with pytest.raises(Conflict):
        make_cohort(name="2026 to 2027")


def test_application_deadline_must_follow_opening():
    opens = datetime(2026, 5, 1, 8, tzinfo=UTC)
    with pytest.raises(DomainError, match="deadline"):
        make_cohort(applications_open_at=opens, application_deadline_at=opens - timedelta(days=1))


def test_update_bumps_the_sequence_only_when_something_changed():
    cohort = make_cohort(starts_on=date(2027, 1, 11))
    team = make_team()
    session = next(s for s in cohort.sessions if s.kind == "drop_in")
    local = clock.to_local(session.starts_at)
    same = _details(title=session.title, day=local.date(), starts=time(13, 0), ends=time(14, 0), join_url="")
    assert services.update_session(actor=team, session=session, details=same) is False
    assert session.sequence == 0
    moved = _details(title=session.title, day=local.date() + timedelta(days=1), join_url="", keep_date=True)
    assert services.update_session(actor=team, session=session, details=moved) is True
    assert session.sequence == 1
    assert clock.to_local(session.starts_at).date() == local.date() + timedelta(days=1)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"ends": time(12, 0)}, "ends"),
    ({"title": "  "}, "title"),
    ({"join_url": "http://insecure.example.org"}, "join_url"),
    ({"kind": "module", "module_number": None, "part": 1}, "module_number"),
    ({"kind": "module", "module_number": 2, "part": 3}, "part"),
    ({"kind": "party"}, "kind"),
])
def test_a_broken_rule_names_the_field_and_writes_nothing(overrides, field):
    cohort = make_cohort()
    team = make_team()
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(ProgrammeSession))
    with pytest.raises(DomainError) as raised:
        services.add_session(actor=team, cohort=cohort, details=_details(**overrides))
    assert raised.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ProgrammeSession)) == before


def test_cancel_and_reinstate_each_bump_the_sequence():
    cohort = make_cohort()
    team = make_team()
    session = next(s for s in cohort.sessions if s.starts_at > clock.now())
    services.cancel_session(actor=team, session=session)
    assert session.is_cancelled and session.sequence == 1
    with pytest.raises(Conflict):
        services.cancel_session(actor=team, session=session)
    services.reinstate_session(actor=team, session=session)
    assert not session.is_cancelled and session.sequence == 2


def test_module_day_shape_is_held_by_the_database():
    cohort = make_cohort()
    from sqlalchemy.exc import IntegrityError

    start = datetime(2027, 1, 5, 9, 30, tzinfo=UTC)
    db.session.add(ProgrammeSession(cohort=cohort, kind="module", title="No module", starts_at=start,
                                    ends_at=start + timedelta(hours=3)))
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_timestamps_come_back_aware_in_utc():
    cohort = make_cohort()
    session_id = cohort.sessions[0].id
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(ProgrammeSession, session_id)
    assert loaded.starts_at.tzinfo is not None
    assert loaded.starts_at.utcoffset() == timedelta(0)


# -- pages -----------------------------------------------------------------------------------

def test_participant_home_shows_next_sessions_and_the_whole_year(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    login_as(make_participant(cohort))
    page = client.get("/home").get_data(as_text=True)
    assert "Coming up" in page and "Your year" in page
    assert page.count('class="convene-timeline__item') == 21
    assert "Happened" in page  # the welcome and module 1 are in the past on 23 November 2026
    assert "9:30am to 12:30pm" in page


def test_join_link_appears_only_from_30_minutes_before_the_start(client, login_as, time_machine):
    cohort = make_cohort()
    user = make_participant(cohort)
    starts = datetime(2027, 3, 3, 13, 0, tzinfo=UTC)
    session = make_session(cohort, starts_at=starts, join_url="https://video.example.org/secret-room")
    time_machine.move_to(starts - timedelta(minutes=31), tick=False)
    login_as(user)
    early = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "secret-room" not in early
    assert "appears here from 12:30pm" in early
    time_machine.move_to(starts - timedelta(minutes=30), tick=False)
    assert "secret-room" in client.get(f"/sessions/{session.id}").get_data(as_text=True)


def test_a_participant_cannot_open_another_cohorts_session(client, login_as, frozen_now):
    mine, theirs = make_cohort(), make_cohort()
    login_as(make_participant(mine))
    other = theirs.sessions[0]
    response = client.get(f"/sessions/{other.id}")
    assert response.status_code == 404
    assert other.title not in response.get_data(as_text=True)


def test_someone_without_a_place_is_told_so(client, login_as):
    login_as(make_user())
    page = client.get("/home", follow_redirects=True).get_data(as_text=True)
    assert "You do not have a place" in page


def test_team_creates_a_cohort_from_a_start_date(client, login_as, frozen_now):
    login_as(make_team())
    token = csrf_token(client, "/cohorts/new")
    response = client.post("/cohorts/new", data={
        "csrf_token": token, "name": "2027 to 2028", "starts_on": "2027-09-13", "capacity": "28",
        "applications_open": "2027-04-01", "application_deadline": "2027-07-02",
    }, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2027 to 2028 created with 21 sessions" in page
    assert "Module 5: Growing and sustaining" in page


def test_cohort_form_keeps_what_was_typed_and_names_each_problem(client, login_as):
    login_as(make_team())
    token = csrf_token(client, "/cohorts/new")
    response = client.post("/cohorts/new", data={
        "csrf_token": token, "name": "My cohort", "starts_on": "", "capacity": "lots",
        "applications_open": "2027-07-01", "application_deadline": "2027-06-01",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: Create a cohort" in page
    assert 'value="My cohort"' in page and 'value="2027-07-01"' in page
    assert "Enter the date of the welcome session" in page
    assert "The application deadline must be after applications open" in page
    assert 'href="#starts_on"' in page  # the error summary links to the field


def test_team_edits_a_session_and_the_schedule_shows_the_change(client, login_as, frozen_now):
    cohort = make_cohort()
    login_as(make_team())
    session = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > FROZEN_AT)
    db.session.commit()
    token = csrf_token(client, f"/sessions/{session.id}/edit")
    response = client.post(f"/sessions/{session.id}/edit", data={
        "csrf_token": token, "title": "Drop-in clinic (moved)", "kind": "drop_in", "module_number": "",
        "day": "2027-02-10", "starts": "15:00", "ends": "16:00", "join_url": "https://video.example.org/dropin",
        "venue": "", "access_info": "", "description": "Bring a question.",
    }, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Drop-in clinic (moved) updated" in page
    assert "3pm to 4pm" in page
    assert "Changed 1 time" in page
    db.session.expire_all()
    assert db.session.get(ProgrammeSession, session.id).sequence == 1


def test_edit_form_with_bad_input_keeps_values(client, login_as):
    cohort = make_cohort()
    login_as(make_team())
    session = cohort.sessions[2]
    db.session.commit()
    token = csrf_token(client, f"/sessions/{session.id}/edit")
    response = client.post(f"/sessions/{session.id}/edit", data={
        "csrf_token": token, "title": "Renamed", "kind": "module", "module_number": "", "day": "2027-02-10",
        "starts": "15:00", "ends": "14:00", "join_url": "not a link",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Renamed"' in page and 'value="not a link"' in page
    assert "The end time must be after the start time" in page
    assert "Choose which module this day belongs to" in page
    assert "Enter a full web address" in page


def test_team_cancels_a_session_by_post(client, login_as, frozen_now):
    cohort = make_cohort()
    login_as(make_team())
    session = cohort.sessions[-1]
    db.session.commit()
    confirm = client.get(f"/sessions/{session.id}/cancel").get_data(as_text=True)
    assert "Cancel Celebration event?" in confirm
    assert not session.is_cancelled  # opening the page changes nothing
    token = csrf_token(client, f"/sessions/{session.id}/cancel")
    page = client.post(f"/sessions/{session.id}/cancel", data={"csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "Celebration event is cancelled" in page
    again = client.post(f"/sessions/{session.id}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "already cancelled" in again.get_data(as_text=True)


def test_a_post_without_a_csrf_token_is_refused(client, login_as):
    cohort = make_cohort()
    login_as(make_team())
    session = cohort.sessions[-1]
    db.session.commit()
    response = client.post(f"/sessions/{session.id}/cancel")
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(ProgrammeSession, session.id).is_cancelled


def test_facilitator_sees_the_schedule_but_cannot_change_it(client, login_as):
    cohort = make_cohort()
    login_as(make_facilitator())
    page = client.get(f"/cohorts/{cohort.id}/schedule").get_data(as_text=True)
    assert "Every session of" in page
    assert "Add a session" not in page and ">Cancel<" not in page
    assert client.get(f"/sessions/{cohort.sessions[0].id}/edit").status_code == 403


def test_public_page_describes_the_programme_and_current_cohort(client, frozen_now):
    make_cohort(name="2026 to 2027", starts_on=date(2026, 9, 14))
    page = client.get("/").get_data(as_text=True)
    assert "2026 to 2027" in page
    assert "Planning and launching" in page
    assert "Create an account" in page
    assert "nhsuk-header__logo" not in page  # no NHS logo unless configured


def test_session_kinds_have_labels():
    assert {k.label for k in SessionKind} == {"Welcome", "Module day", "Drop-in clinic", "Co-consulting",
                                             "Celebration event"}


def test_team_adds_a_module_day(client, login_as):
    cohort = make_cohort()
    login_as(make_team())
    token = csrf_token(client, f"/cohorts/{cohort.id}/sessions/new")
    page = client.post(f"/cohorts/{cohort.id}/sessions/new", data={
        "csrf_token": token, "title": "Module 5 extra day", "kind": "module", "module_number": "5", "part": "2",
        "day": "2027-03-10", "starts": "09:30", "ends": "12:30", "join_url": "", "venue": "Room 4, Civic Centre",
        "access_info": "Lift to the fourth floor", "description": "",
    }, follow_redirects=True).get_data(as_text=True)
    assert "Module 5 extra day added to the schedule" in page
    added = db.session.scalars(select(ProgrammeSession).where(ProgrammeSession.title == "Module 5 extra day")).one()
    assert added.module.number == 5 and added.part == 2
    assert clock.to_local(added.starts_at).strftime("%Y-%m-%d %H:%M") == "2027-03-10 09:30"
    assert added.starts_at.hour == 9  # GMT in March before the clock change: UTC equals London
