"""Programmes of other shapes (issue 22, point 7): the HIN year is the default template, not the only one.
The team defines a template, previews its year, creates a cohort from it, and deletes sessions that have
not happened, told first what that does to reminders, materials, rotas and sign-ups."""

from __future__ import annotations

from collections import Counter
from datetime import date, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import or_, select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import Conflict, FieldErrors, PermissionDenied
from app.notifications.models import OutboxMessage
from app.portal.models import Resource
from app.portal.services import ResourceDetails, share_resource
from app.programme import services
from app.programme.models import Cohort, ProgrammeSession, ProgrammeTemplate, SessionKind
from app.programme.services import templates
from app.programme.template import HIN_YEAR, WorkingDays, YearShape, plan_year
from app.scheduler import plan_reminders
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team

SHORT = templates.TemplateDetails(
    name="Six months: three one-day modules", has_welcome=False, module_count=3, days_per_module=1,
    module_starts=time(10, 0), module_ends=time(16, 0), first_module_weeks=1, module_interval_weeks=6,
    has_clinics=False, has_co_consulting=True, co_consulting_weeks=2, co_consulting_starts=time(12, 0),
    co_consulting_ends=time(13, 0), has_celebration=False)


def kinds(sessions) -> Counter:
    return Counter(SessionKind(s.kind) for s in sessions)


def test_the_default_template_is_the_hin_year_and_plans_exactly_what_it_always_did():
    template = templates.default_template()
    assert template.is_default and templates.shape_of(template) == HIN_YEAR
    start = date(2026, 9, 14)
    assert plan_year(start, "ENG", templates.shape_of(template)) == plan_year(start)
    assert templates.summary(template) == ("A welcome, 5 modules of 2 half-days (09:30-12:30), 9 weeks apart, "
                                           "4 drop-in clinics, 5 co-consulting sessions and a celebration.")


def test_a_cohort_made_from_another_template_gets_that_shape(frozen_now, app):
    team = make_team()
    short = templates.create_template(actor=team, details=SHORT, module_pages=5, now=clock.now())
    cohort = make_cohort(starts_on=date(2027, 1, 11), template=short)
    assert cohort.template_id == short.id
    assert kinds(cohort.sessions) == {SessionKind.MODULE: 3, SessionKind.CO_CONSULTING: 3}
    assert [m.number for m in cohort.modules] == [1, 2, 3]
    modules = sorted((s for s in cohort.sessions if s.kind == SessionKind.MODULE), key=lambda s: s.starts_at)
    local = [clock.to_local(s.starts_at, cohort.timezone) for s in modules]
    assert [(t.hour, t.minute) for t in local] == [(10, 0)] * 3
    assert all(s.part == 1 for s in modules)
    assert [(b.date() - a.date()).days for a, b in zip(local, local[1:], strict=False)] == [42, 42]
    # A cohort of the default shape is untouched by the other template.
    assert kinds(make_cohort().sessions)[SessionKind.MODULE] == 10


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31)),
       modules=st.integers(1, 5), days=st.integers(1, 2), interval=st.integers(1, 26), first=st.integers(0, 26),
       welcome=st.booleans(), clinics=st.booleans(), co_consulting=st.booleans(), celebration=st.booleans(),
       co_weeks=st.integers(0, 12), celebration_weeks=st.integers(0, 52))
def test_any_valid_shape_plans_the_sessions_it_promises_on_working_days(start, modules, days, interval, first,
                                                                         welcome, clinics, co_consulting, celebration,
                                                                         co_weeks, celebration_weeks):
    shape = YearShape(has_welcome=welcome, module_count=modules, days_per_module=days,
                      module_interval_weeks=interval, first_module_weeks=first, has_clinics=clinics,
                      has_co_consulting=co_consulting, co_consulting_weeks=co_weeks, has_celebration=celebration,
                      celebration_weeks=celebration_weeks)
    planned = plan_year(start, "ENG", shape)
    counted = Counter(p.kind for p in planned)
    assert counted[SessionKind.WELCOME] == int(welcome)
    assert counted[SessionKind.MODULE] == modules * days
    assert counted[SessionKind.DROP_IN] == (modules - 1 if clinics else 0)
    assert counted[SessionKind.CO_CONSULTING] == (modules if co_consulting else 0)
    assert counted[SessionKind.CELEBRATION] == int(celebration)
    working = WorkingDays(start)
    assert all(working.is_working(p.day) and p.day >= start for p in planned)
    by_module: dict[int, list[date]] = {}
    for p in planned:
        if p.kind == SessionKind.MODULE:
            by_module.setdefault(p.module_number, []).append(p.day)
    firsts = [min(d) for _, d in sorted(by_module.items())]
    assert firsts == sorted(firsts) and len(set(firsts)) == modules  # modules in order, never on the same day
    for module_days in by_module.values():  # a module's days are consecutive
        assert [(b - a).days for a, b in zip(module_days, module_days[1:], strict=False)] == [1] * (days - 1)
    assert planned == sorted(planned, key=lambda p: (p.day, p.starts))


def test_template_answers_are_checked_together_and_name_their_fields(frozen_now):
    team = make_team()
    wrong = templates.TemplateDetails(name=" ", module_count=7, days_per_module=3, module_starts=time(12, 0),
                                      module_ends=time(9, 0), module_interval_weeks=0, has_celebration=True,
                                      celebration_weeks=None)
    with pytest.raises(FieldErrors) as refused:
        templates.create_template(actor=team, details=wrong, module_pages=5, now=clock.now())
    assert set(refused.value.errors) == {"name", "module_count", "days_per_module", "module_ends",
                                         "module_interval_weeks", "celebration_weeks"}
    assert "from 1 to 5" in refused.value.errors["module_count"]
    # Fewer module pages in the content: fewer modules allowed.
    with pytest.raises(FieldErrors, match="from 1 to 3"):
        templates.create_template(actor=team, details=templates.TemplateDetails(name="Four", module_count=4),
                                  module_pages=3, now=clock.now())
    # Times of parts the year does not have are not asked for.
    templates.create_template(actor=team, details=templates.TemplateDetails(
        name="No clinics", has_clinics=False, clinic_starts=None, clinic_ends=None), module_pages=5, now=clock.now())
    with pytest.raises(Conflict, match="already a template called"):
        templates.create_template(actor=team, details=templates.TemplateDetails(name="no CLINICS"), module_pages=5,
                                  now=clock.now())
    with pytest.raises(PermissionDenied):
        templates.create_template(actor=make_participant(make_cohort()), details=SHORT, module_pages=5,
                                  now=clock.now())


def test_the_team_adds_a_template_previews_it_and_creates_a_cohort_from_it(client, login_as, frozen_now):
    login_as(make_team())
    page = client.get("/templates/new").get_data(as_text=True)
    assert 'value="09:30"' in page  # a copy of the default to change
    data = {"csrf_token": csrf_token(client, "/templates/new"), "name": "Three one-day modules",
            "module_count": "3", "days_per_module": "1", "module_starts": "10:00", "module_ends": "16:00",
            "first_module_weeks": "1", "module_interval_weeks": "6", "has_co_consulting": "y",
            "co_consulting_weeks": "2", "co_consulting_starts": "12:00", "co_consulting_ends": "13:00",
            "welcome_starts": "09:30", "welcome_ends": "12:30"}
    refused = client.post("/templates/new", data={**data, "module_count": "9", "module_ends": "08:00"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "Enter how many modules, from 1 to 5" in body
    assert "The module half-day must end after it starts" in body
    assert 'value="Three one-day modules"' in body  # what was typed is kept
    response = client.post("/templates/new", data=data)
    assert response.status_code == 302
    template = db.session.scalar(select(ProgrammeTemplate).where(ProgrammeTemplate.name == "Three one-day modules"))
    preview = client.get(f"/templates/{template.id}?starts_on=2027-01-11").get_data(as_text=True)
    assert "4 sessions" not in preview and "6 sessions from 11 January 2027" in preview
    assert "Monday 18 January 2027" in preview  # the first module, a week after the start
    assert db.session.scalar(select(Cohort.id)) is None  # a preview saves nothing

    page = client.get("/cohorts/new").get_data(as_text=True)
    assert "Three one-day modules" in page and "3 modules of half-day (10:00-16:00)" in page
    response = client.post("/cohorts/new", data={
        "csrf_token": csrf_token(client, "/cohorts/new"), "name": "Spring 2027", "starts_on": "2027-01-11",
        "capacity": "20", "template_id": str(template.id)})
    assert response.status_code == 302
    cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Spring 2027"))
    assert cohort.template_id == template.id and len(cohort.sessions) == 6
    assert client.get(f"/cohorts/{cohort.id}/modules/4").status_code == 404  # not in this cohort's year
    assert client.get(f"/cohorts/{cohort.id}/modules/3").status_code == 200


def test_changing_a_template_leaves_cohorts_already_made_alone_and_used_templates_stay(frozen_now):
    team = make_team()
    short = templates.create_template(actor=team, details=SHORT, module_pages=5, now=clock.now())
    cohort = make_cohort(starts_on=date(2027, 1, 11), template=short)
    before = [(s.starts_at, s.ends_at) for s in cohort.sessions]
    templates.update_template(actor=team, template=short, module_pages=5, now=clock.now(),
                              details=templates.TemplateDetails(**{**vars(SHORT), "module_count": 2}))
    db.session.expire_all()
    assert [(s.starts_at, s.ends_at) for s in db.session.get(Cohort, cohort.id).sessions] == before
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "template_changed")).one()
    assert event.detail["changed"] == {"module_count": ["3", "2"]}
    with pytest.raises(Conflict, match="1 cohort was planned from this template"):
        templates.delete_template(actor=team, template=short, now=clock.now())
    with pytest.raises(Conflict, match="default template cannot be deleted"):
        templates.delete_template(actor=team, template=templates.default_template(), now=clock.now())
    unused = templates.create_template(actor=team, details=templates.TemplateDetails(name="Unused"), module_pages=5,
                                       now=clock.now())
    templates.delete_template(actor=team, template=unused, now=clock.now())
    assert db.session.get(ProgrammeTemplate, unused.id) is None


# -- deleting sessions that have not happened ------------------------------------------------

def future(cohort, kind: SessionKind) -> ProgrammeSession:
    return next(s for s in sorted(cohort.sessions, key=lambda s: s.starts_at)
                if s.kind == kind and s.starts_at > clock.now())


def test_the_team_is_told_what_deleting_a_session_does_then_it_is_done(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=date(2026, 11, 30))
    cohort.status = "running"
    make_participant(cohort, email="pat@example.org")
    team = make_team()
    session = future(cohort, SessionKind.MODULE)
    share_resource(actor=team, cohort=cohort, upload=None, now=clock.now(), details=ResourceDetails(
        title="Slides for that day", url="https://example.org/s", kind="slides", module_number=1,
        session_id=session.id))
    frozen_now.move_to(session.starts_at - timedelta(days=6, hours=20))
    plan_reminders(clock.now())  # the week-before reminder is planned
    about_it = or_(*(OutboxMessage.key.startswith(f"{prefix}:{session.id}:") for prefix in (
        "session-reminder", "preparation", "group-reminder", "feedback-request", "feedback-follow-up")))
    pending = db.session.scalars(select(OutboxMessage).where(about_it, OutboxMessage.status == "pending")).all()
    assert "session-reminder" in {m.key.split(":")[0] for m in pending}
    session_id, cohort_id = session.id, cohort.id
    db.session.commit()
    login_as(team)
    page = client.get(f"/sessions/{session_id}/delete").get_data(as_text=True)
    assert "1 person is emailed that it is cancelled" in page
    assert f"{len(pending)} reminder" in page and "withdrawn" in page
    assert "1 resource about it stays in the library, no longer tied to a session." in page
    response = client.post(f"/sessions/{session_id}/delete",
                           data={"csrf_token": csrf_token(client, f"/sessions/{session_id}/delete")},
                           follow_redirects=True)
    assert "is deleted from the schedule. 1 person was emailed that it is cancelled." in response.get_data(as_text=True)
    assert db.session.get(ProgrammeSession, session_id) is None
    assert db.session.scalar(select(Resource.session_id).where(Resource.title == "Slides for that day")) is None
    statuses = Counter(db.session.scalars(select(OutboxMessage.status).where(about_it)))
    assert statuses["pending"] == 0 and statuses["cancelled"] == len(pending)
    cancelled = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "pat@example.org",
                                                               OutboxMessage.status == "pending")).all()
    assert any("cancelled" in m.subject.lower() for m in cancelled)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "session_deleted")).one()
    assert event.detail["cohort_id"] == cohort_id
    plan_reminders(clock.now())  # and nothing plans it again
    assert not db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.key.startswith(f"session-reminder:{session_id}:"), OutboxMessage.status == "pending")).all()


def test_a_session_whose_time_has_come_is_not_deleted(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=date(2026, 9, 14))
    past = next(s for s in cohort.sessions if s.starts_at < clock.now())
    with pytest.raises(Conflict, match="time has come"):
        services.delete_session(actor=make_team(), session=past, now=clock.now())
    past_id = past.id
    db.session.commit()
    login_as(make_team())
    page = client.get(f"/sessions/{past_id}/delete").get_data(as_text=True)
    assert "record that from its status page" in page and "Delete this session</button>" not in page
    client.post(f"/sessions/{past_id}/delete", data={"csrf_token": csrf_token(client, "/settings")})
    assert db.session.get(ProgrammeSession, past_id) is not None


def test_only_the_team_deletes_sessions(client, login_as, frozen_now):
    cohort = make_cohort(starts_on=date(2026, 12, 7))
    person = make_participant(cohort)
    session = future(cohort, SessionKind.DROP_IN)
    with pytest.raises(PermissionDenied):
        services.delete_session(actor=person, session=session, now=clock.now())
    session_id = session.id
    db.session.commit()
    login_as(person)
    assert client.post(f"/sessions/{session_id}/delete",
                       data={"csrf_token": csrf_token(client, "/settings")}).status_code == 403
    assert db.session.get(ProgrammeSession, session_id) is not None


def test_a_draft_cohorts_session_is_deleted_without_telling_anyone(frozen_now):
    cohort = make_cohort(starts_on=date(2027, 3, 1))
    session = future(cohort, SessionKind.DROP_IN)
    preview = services.deletion_preview(session, clock.now())
    assert (preview.refusal, preview.told, preview.reminders) == (None, 0, 0)
    assert services.delete_session(actor=make_team(), session=session, now=clock.now()) == 0
    assert db.session.scalars(select(OutboxMessage)).all() == []
    assert kinds(db.session.get(Cohort, cohort.id).sessions)[SessionKind.DROP_IN] == 3


def test_deleting_the_celebration_tells_the_guests(frozen_now):
    from app.celebration.services import invite_guest

    cohort = make_cohort(starts_on=date(2026, 9, 14))
    person = make_participant(cohort)
    invite_guest(actor=person, cohort=cohort, name="A Guest", email="guest@example.org", relationship="colleague",
                 now=clock.now())
    celebration = future(cohort, SessionKind.CELEBRATION)
    assert "1 invited guest who have not said no is emailed" in " ".join(
        services.deletion_preview(celebration, clock.now()).notes)
    services.delete_session(actor=make_team(), session=celebration, now=clock.now())
    told = db.session.scalars(select(OutboxMessage.subject).where(OutboxMessage.recipient == "guest@example.org")).all()
    assert any("cancel" in subject.lower() for subject in told), told


def test_existing_cohorts_are_recorded_as_planned_from_the_hin_year_by_the_migration():
    # The migration's default row is the HIN year: the application's own default agrees with it.
    from importlib import import_module

    migration = import_module("migrations.versions.b5d2e8f41a63_programme_templates")
    details = templates.TemplateDetails.of(templates.default_template())
    assert {k: v for k, v in migration.HIN_YEAR.items() if k != "is_default"} == vars(details)


def test_the_year_shape_keeps_module_times_across_the_clock_change(frozen_now):
    team = make_team()
    short = templates.create_template(actor=team, details=SHORT, module_pages=5, now=clock.now())
    cohort = make_cohort(starts_on=date(2027, 2, 1), template=short)  # modules in February, March and April
    modules = [s for s in cohort.sessions if s.kind == SessionKind.MODULE]
    assert {clock.to_local(s.starts_at, cohort.timezone).time() for s in modules} == {time(10, 0)}
    assert len({s.starts_at.utcoffset() for s in modules}) == 1
    assert any(clock.to_local(s.starts_at, cohort.timezone).utcoffset() for s in modules)  # one in summer time



def test_a_template_that_is_not_listed_is_refused_beside_the_field_and_nothing_is_made(client, login_as, frozen_now):
    login_as(make_team())
    response = client.post("/cohorts/new", data={
        "csrf_token": csrf_token(client, "/cohorts/new"), "name": "Spring 2027", "starts_on": "2027-01-11",
        "capacity": "20", "template_id": "999"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Choose one of the templates listed" in page
    assert 'value="Spring 2027"' in page
    assert db.session.scalar(select(Cohort.id)) is None
