"""The portal, groups and celebration views read every POST through a form: what each form makes of junk,
and the views that keep their answers for it."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.celebration.forms import InviteForm, RsvpForm, RunningOrderForm, typed
from app.db import db
from app.groups import services
from app.groups.forms import AllocateForm, MeetingRecordForm, MoveForm
from app.portal.models import DirectoryEntry
from app.programme.models import Enrolment
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team
from tests.test_groups import _cohort_with_groups


def _form(app, form_class, data):
    with app.test_request_context("/", method="POST", data=MultiDict(data)):
        return form_class(meta={"csrf": False})


def test_numbers_are_read_as_before_none_for_junk_and_never_a_form_error(app):
    form = _form(app, AllocateForm, [("size", " 4 "), ("seed", "not a number")])
    assert (form.size.data, form.seed.data) == (4, None) and form.validate()
    form = _form(app, MoveForm, [("enrolment_id", "99999999999999999999"), ("to", "-1")])
    assert (form.enrolment_id.data, form.to.data) == (None, None) and form.validate()
    form = _form(app, MeetingRecordForm, [("attended", "3"), ("attended", "x"), ("attended", "²"), ("attended", "7")])
    assert form.attended.data == [3, 7] and form.note.data is None


def test_the_running_order_form_keeps_every_position_as_typed(app):
    form = _form(app, RunningOrderForm, [("position-abc", "1"), ("position-", ""), ("position-3", " 2 "),
                                         ("positions", "junk"), ("other", "x")])
    assert form.positions.data == {"abc": "1", "": "", "3": " 2 "}


def test_a_refused_form_keeps_only_what_was_posted(app):
    form = _form(app, InviteForm, [("name", "Kept Name"), ("email", "")])
    assert typed(form) == {"name": "Kept Name", "email": ""}
    form = _form(app, RsvpForm, [("access_needs", "Step-free access")])
    assert not form.validate() and form.coming.errors == ["Choose whether you will come"]
    assert typed(form) == {"access_needs": "Step-free access"}


def test_a_group_size_that_is_not_a_whole_number_is_refused_and_kept(client, login_as, frozen_now):
    cohort = make_cohort()
    for _ in range(10):
        make_participant(cohort)
    team = make_team()
    db.session.commit()
    login_as(team)
    token = csrf_token(client, f"/cohorts/{cohort.id}/groups")
    for junk in ("five", "abc", "4.5"):
        response = client.post(f"/cohorts/{cohort.id}/groups/allocate", data={"csrf_token": token, "size": junk})
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert page.count("Enter the group size as a whole number, like 5") == 2  # the summary and the field
        assert f'value="{junk}"' in page and "<title>Error:" in page
        assert services.groups_of(cohort) == []  # never silently groups of 5
    page = client.post(f"/cohorts/{cohort.id}/groups/allocate", data={"csrf_token": token, "size": "5"},
                       follow_redirects=True).get_data(as_text=True)
    assert "2 groups made" in page
    assert [len(g.memberships) for g in services.groups_of(cohort)] == [5, 5]


def test_the_arrangement_hint_does_not_promise_the_same_quality(client, login_as, frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    team = make_team()
    db.session.commit()
    login_as(team)
    page = client.get(f"/cohorts/{cohort.id}/groups").get_data(as_text=True)
    assert "same quality" not in page
    assert "may mix people more or less well" in page and "mix score" in page


def test_a_strange_digit_in_who_came_is_left_out(client, login_as, frozen_now):
    _cohort, _team, groups = _cohort_with_groups(10)
    group = groups[0]
    me = group.memberships[0]
    rota = group.rota[0]
    frozen_now.move_to(rota.session.starts_at)
    db.session.commit()
    login_as(me.enrolment.user)
    url = f"/groups/{group.id}/sessions/{rota.session_id}"
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "attended": ["²", str(me.enrolment_id)], "note": "Met"})
    assert response.status_code == 302
    db.session.expire_all()
    assert rota.attended == [me.enrolment_id] and rota.note == "Met"


def test_directory_choices_are_shown_without_a_row_and_saved_in_one(client, login_as):
    cohort = make_cohort()
    person = make_participant(cohort)
    enrolment = db.session.scalar(db.select(Enrolment).where(Enrolment.user_id == person.id))
    db.session.commit()
    login_as(person)
    page = client.get("/settings/directory").get_data(as_text=True)
    assert "checked" in page  # the defaults, though nothing is saved yet
    assert db.session.get(DirectoryEntry, enrolment.id) is None
    token = csrf_token(client, "/settings/directory")
    response = client.post("/settings/directory", data={"csrf_token": token, "show_email": "y"}, follow_redirects=True)
    assert "Your directory choices are saved." in response.get_data(as_text=True)
    db.session.expire_all()
    entry = db.session.get(DirectoryEntry, enrolment.id)
    assert (entry.is_listed, entry.show_role, entry.show_email) == (False, False, True)
