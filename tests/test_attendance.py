"""Registers, apologies, rates and risk, the matrix, exports and imports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, insert, select

from app import clock
from app.attendance import exchange, services
from app.attendance.models import Attendance, AttendanceStatus
from app.db import db
from app.errors import Conflict, PermissionDenied
from app.programme.models import Enrolment, SessionKind
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_session, make_team


def enrolment_of(user) -> int:
    return db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == user.id))


def status_of(session, user) -> str | None:
    return db.session.scalar(select(Attendance.status).where(Attendance.session_id == session.id,
                                                             Attendance.enrolment_id == enrolment_of(user)))


@pytest.fixture
def cohort():
    return make_cohort()


def test_the_register_opens_15_minutes_before_the_start(cohort, time_machine):
    team = make_team()
    person = make_participant(cohort)
    starts = datetime(2027, 2, 3, 13, 0, tzinfo=UTC)
    session = make_session(cohort, starts_at=starts)
    time_machine.move_to(starts - timedelta(minutes=16), tick=False)
    with pytest.raises(Conflict, match="opens 15 minutes before"):
        services.record_register(actor=team, session=session, entries={enrolment_of(person): ("present", "")},
                                 now=clock.now())
    time_machine.move_to(starts - timedelta(minutes=15), tick=False)
    services.record_register(actor=team, session=session, entries={enrolment_of(person): ("late", "Train")},
                             now=clock.now())
    assert status_of(session, person) == "late"


def test_saving_some_rows_leaves_the_others_and_mark_all_present_keeps_apologies(cohort, frozen_now):
    team = make_team()
    a, b, c = (make_participant(cohort) for _ in range(3))
    session = make_session(cohort, starts_at=clock.now() + timedelta(hours=2))
    services.send_apologies(actor=c, session=session, reason="Clinic", now=clock.now())
    frozen_now.shift(timedelta(hours=2))
    services.record_register(actor=team, session=session, entries={enrolment_of(a): ("absent", "")}, now=clock.now())
    services.record_register(actor=team, session=session, entries={enrolment_of(b): ("late", "")}, now=clock.now())
    assert (status_of(session, a), status_of(session, b), status_of(session, c)) == ("absent", "late", "apologies")
    services.record_register(actor=team, session=session, entries={}, now=clock.now())
    assert status_of(session, a) == "absent"
    d = make_participant(cohort)
    assert services.mark_all_present(actor=team, session=session, now=clock.now()) == 1
    assert (status_of(session, c), status_of(session, d)) == ("apologies", "present")


def test_two_people_recording_the_same_person_at_the_same_moment_both_succeed(cohort, frozen_now, monkeypatch):
    """A colleague's save lands between our look-up and our insert: ours updates their row, no error."""
    team, colleague = make_team(), make_team()
    person = make_participant(cohort)
    other = make_participant(cohort)
    session = make_session(cohort, starts_at=clock.now())
    db.session.commit()
    enrolment_id = enrolment_of(person)
    real_lookup = services._attendance_row

    def lookup_before_the_colleague_commits(session_id, enrolment):
        found = real_lookup(session_id, enrolment)
        if enrolment == enrolment_id and found is None:
            db.session.add(Attendance(session_id=session_id, enrolment_id=enrolment, status="absent", note="",
                                      recorded_by_id=colleague.id, recorded_at=clock.now()))
            db.session.flush()  # what the colleague's committed transaction would leave in the table
            return None
        return found

    monkeypatch.setattr(services, "_attendance_row", lookup_before_the_colleague_commits)
    changed = services.record_register(actor=team, session=session, now=clock.now(),
                                       entries={enrolment_id: ("late", "Train"), enrolment_of(other): ("present", "")})
    monkeypatch.undo()
    db.session.commit()

    assert changed == 2
    assert (status_of(session, person), status_of(session, other)) == ("late", "present")
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 2


def test_only_staff_take_registers_and_only_for_the_sessions_participants(cohort, frozen_now):
    person = make_participant(cohort)
    outsider = make_participant(make_cohort())
    session = make_session(cohort, starts_at=clock.now())
    with pytest.raises(PermissionDenied):
        services.record_register(actor=person, session=session, entries={}, now=clock.now())
    with pytest.raises(Exception, match="not a participant"):
        services.record_register(actor=make_facilitator(), session=session,
                                 entries={enrolment_of(outsider): ("present", "")}, now=clock.now())


def test_apologies_in_advance_and_not_after_the_start(client, login_as, cohort, frozen_now):
    person = make_participant(cohort)
    session = make_session(cohort, starts_at=clock.now() + timedelta(days=2))
    login_as(person)
    token = csrf_token(client, f"/sessions/{session.id}/apologies")
    page = client.post(f"/sessions/{session.id}/apologies", data={"csrf_token": token, "action": "send",
                                                                  "reason": "Covering a clinic"},
                       follow_redirects=True).get_data(as_text=True)
    assert "your apologies are recorded" in page
    assert status_of(session, person) == "apologies"
    login_as(make_team())
    register = client.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert "Sent apologies" in register and "Covering a clinic" in register
    frozen_now.shift(timedelta(days=2))
    with pytest.raises(Conflict, match="already started"):
        services.send_apologies(actor=person, session=session, reason="", now=clock.now())


def test_apologies_can_be_taken_back(cohort, frozen_now):
    person = make_participant(cohort)
    session = make_session(cohort, starts_at=clock.now() + timedelta(days=2))
    services.send_apologies(actor=person, session=session, reason="", now=clock.now())
    services.withdraw_apologies(actor=person, session=session, now=clock.now())
    assert status_of(session, person) is None


def _record(team, session, person, status):
    services.save_attendance(session.id, enrolment_of(person), AttendanceStatus(status), "", team, clock.now())


def test_at_risk_after_two_core_misses_in_a_row_or_a_low_rate(frozen_now):
    cohort = make_cohort(starts_on=datetime(2026, 5, 4).date())
    team = make_team()
    steady, slipping, patchy = (make_participant(cohort) for _ in range(3))
    past = [s for s in cohort.sessions if s.ends_at <= clock.now() and s.kind in ("welcome", "module")][:5]
    assert len(past) == 5
    drop_in = next(s for s in cohort.sessions if s.kind == "drop_in" and s.ends_at <= clock.now())
    for i, session in enumerate(past):
        _record(team, session, steady, "present")
        _record(team, session, slipping, "present" if i < 3 else "absent")  # the last two missed
        _record(team, session, patchy, "apologies" if i in (0, 2) else "present")  # 3 of 5 = 60%
    _record(team, drop_in, steady, "absent")  # drop-ins are optional: no effect
    matrix = services.cohort_matrix(cohort, clock.now())
    by_name = {p.enrolment_id: p for p in matrix.people}
    assert by_name[enrolment_of(steady)].rate == 1.0 and not by_name[enrolment_of(steady)].at_risk_reasons
    assert any("two core sessions in a row" in r for r in by_name[enrolment_of(slipping)].at_risk_reasons)
    assert by_name[enrolment_of(patchy)].at_risk_reasons == ["Attendance 60% is below 80%"]
    assert {p.enrolment_id for p in matrix.at_risk} == {enrolment_of(slipping), enrolment_of(patchy)}


def test_sessions_not_yet_happened_or_not_recorded_do_not_count(frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    future = next(s for s in cohort.sessions if s.starts_at > clock.now() and s.kind == "module")
    services.send_apologies(actor=person, session=future, reason="", now=clock.now())
    record = next(p for p in services.cohort_matrix(cohort, clock.now()).people)
    assert record.counted == 0 and record.rate is None and not record.at_risk_reasons


def count_queries(app, callable_):
    statements = []

    def before(*args, **kwargs):
        if not args[2].startswith("BEGIN"):
            statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        callable_()
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return len(statements)


def test_the_matrix_page_makes_the_same_number_of_queries_for_1_or_40_participants(app, client, login_as,
                                                                                   frozen_now):
    small, big = make_cohort(), make_cohort()
    make_participant(small)
    team = make_team()
    people = [make_participant(big) for _ in range(40)]
    for session in big.sessions[:8]:
        for person in people:
            _record(team, session, person, "present")
    login_as(team)
    ids = [small.id, big.id]
    db.session.commit()
    counts = [count_queries(app, lambda i=i: client.get(f"/cohorts/{i}/attendance")) for i in ids]
    assert counts[0] == counts[1], counts
    assert counts[0] <= 10
    page = client.get(f"/cohorts/{ids[1]}/attendance").get_data(as_text=True)
    assert "<svg" in page and "figures" in page and "40 of 40" in page


def test_export_has_one_row_per_participant_and_session_in_london_time(client, login_as, frozen_now):
    cohort = make_cohort()
    a, _b = make_participant(cohort, name="Ann Able"), make_participant(cohort, name="Bea Best")
    welcome = cohort.sessions[0]
    _record(make_team(), welcome, a, "late")
    login_as(make_team())
    response = client.get(f"/cohorts/{cohort.id}/attendance.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 * 21
    first = rows[0]
    assert first["Name"] == "Ann Able" and first["Status"] == "Late" and first["Kind"] == "Welcome"
    assert first["Starts"] == "14 Sep 2026 09:30"  # September: BST, the wall-clock time in London
    assert first["Attendance rate"] == "100%" and rows[-1]["Attendance rate"] == ""  # Bea: nothing counted yet


def test_import_previews_row_by_row_and_applies_only_on_confirm(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort, email="ann@example.org")
    past = cohort.sessions[1]
    future = cohort.sessions[-1]
    starts = clock.to_local(past.starts_at).isoformat()
    text = "\n".join([
        "Email,Session,Starts,Status,Note",
        f"ann@example.org,{past.title},{starts},Absent,Unwell",
        f"stranger@example.org,{past.title},{starts},Present,",
        f"ann@example.org,No such session,{starts},Present,",
        f"ann@example.org,{future.title},{clock.to_local(future.starts_at).isoformat()},Present,",
        f"ann@example.org,{past.title},{starts},Sleeping,",
    ])
    preview = exchange.preview_import(cohort=cohort, text=text, now=clock.now())
    assert [r.outcome for r in preview.rows] == ["change", "rejected", "rejected", "rejected", "duplicate"]
    assert "not a participant" in preview.rows[1].message and "has not happened yet" in preview.rows[3].message
    assert "row 2" in preview.rows[4].message
    assert status_of(past, person) is None  # the preview wrote nothing

    login_as(make_team())
    token = csrf_token(client, f"/cohorts/{cohort.id}/attendance/import")
    page = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "preview", "file": (io.BytesIO(text.encode()), "register.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "1 change</strong>, 0 unchanged, 4 problems" in page
    assert "Note: “Unwell”" in page
    assert status_of(past, person) is None
    done = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "confirm", "csv_text": text, "fingerprint": preview.fingerprint},
        follow_redirects=True).get_data(as_text=True)
    assert "1 record changed" in done
    assert status_of(past, person) == "absent"


def test_a_file_without_the_right_columns_says_which_are_missing(client, login_as):
    cohort = make_cohort()
    login_as(make_team())
    token = csrf_token(client, f"/cohorts/{cohort.id}/attendance/import")
    page = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "preview", "file": (io.BytesIO(b"Name,Email\nA,a@example.org\n"), "x.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    assert "Missing: Session, Starts, Status" in page


def test_participants_see_only_their_own_record(client, login_as, frozen_now):
    cohort = make_cohort()
    me, _other = make_participant(cohort, name="Me Myself"), make_participant(cohort, name="Other Person")
    _record(make_team(), cohort.sessions[0], me, "present")
    login_as(me)
    page = client.get("/my-attendance").get_data(as_text=True)
    assert "You have attended 1 of 1 core sessions" in page
    assert "Other Person" not in page
    assert client.get(f"/cohorts/{cohort.id}/attendance").status_code == 403
    assert client.get(f"/sessions/{cohort.sessions[0].id}/register").status_code == 403


def test_team_takes_the_register_through_the_page(client, login_as, frozen_now):
    cohort = make_cohort()
    a, b = make_participant(cohort), make_participant(cohort)
    session = make_session(cohort, starts_at=clock.now() - timedelta(minutes=5), kind=SessionKind.DROP_IN)
    login_as(make_team())
    token = csrf_token(client, f"/sessions/{session.id}/register")
    page = client.post(f"/sessions/{session.id}/register", data={
        "csrf_token": token, "action": "save", f"status-{enrolment_of(a)}": "present",
        f"note-{enrolment_of(a)}": "Joined by phone"}, follow_redirects=True).get_data(as_text=True)
    assert "Register saved (1 person updated)" in page
    client.post(f"/sessions/{session.id}/register", data={"csrf_token": token, "action": "save_rest_present"})
    assert (status_of(session, a), status_of(session, b)) == ("present", "present")
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 2


def test_excel_export_matches_the_csv(client, login_as, frozen_now):
    import openpyxl

    cohort = make_cohort()
    person = make_participant(cohort, name="=cmd|' /C calc'!A0")
    _record(make_team(), cohort.sessions[0], person, "present")
    login_as(make_team())
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/cohorts/{cohort.id}/attendance.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0] == tuple(exchange.EXPORT_HEADERS)
    assert len(rows) == 1 + 21
    assert rows[1][0] == "=cmd|' /C calc'!A0" and rows[1][7] == "Present"


# -- one register form: the exceptions and "everyone else present" in one press ------------------

def test_one_press_saves_the_exceptions_and_marks_everyone_else_present(client, login_as, frozen_now):
    cohort = make_cohort()
    away, sorry, late, rest = (make_participant(cohort) for _ in range(4))
    recorded_meanwhile = make_participant(cohort)
    session = make_session(cohort, starts_at=clock.now() - timedelta(minutes=5))
    team = make_team()
    login_as(team)
    token = csrf_token(client, f"/sessions/{session.id}/register")
    # A colleague records someone after this page was loaded: the press must not overwrite them.
    services.record_register(actor=make_facilitator(), session=session,
                             entries={enrolment_of(recorded_meanwhile): ("left_early", "Had to go")}, now=clock.now())
    db.session.commit()
    page = client.post(f"/sessions/{session.id}/register", data={
        "csrf_token": token, "action": "save_rest_present",
        f"status-{enrolment_of(away)}": "absent", f"note-{enrolment_of(away)}": "No word",
        f"status-{enrolment_of(sorry)}": "apologies", f"note-{enrolment_of(sorry)}": "Ward cover",
        f"note-{enrolment_of(late)}": "Joined by phone",  # a note with no status: present, note kept
        f"note-{enrolment_of(rest)}": "", f"note-{enrolment_of(recorded_meanwhile)}": "",
    }, follow_redirects=True).get_data(as_text=True)
    assert "Register saved (4 people updated)" in page
    notes = dict(db.session.execute(select(Attendance.enrolment_id, Attendance.note)).all())
    assert [status_of(session, p) for p in (away, sorry, late, rest, recorded_meanwhile)] == [
        "absent", "apologies", "present", "present", "left_early"]
    assert notes[enrolment_of(away)] == "No word" and notes[enrolment_of(sorry)] == "Ward cover"
    assert notes[enrolment_of(late)] == "Joined by phone" and notes[enrolment_of(recorded_meanwhile)] == "Had to go"


def test_a_note_without_a_status_is_shown_again_not_lost(client, login_as, frozen_now):
    cohort = make_cohort()
    a, b = make_participant(cohort, name="Ann Able"), make_participant(cohort, name="Bea Best")
    session = make_session(cohort, starts_at=clock.now() - timedelta(minutes=5))
    login_as(make_team())
    token = csrf_token(client, f"/sessions/{session.id}/register")
    response = client.post(f"/sessions/{session.id}/register", data={
        "csrf_token": token, "action": "save", f"status-{enrolment_of(a)}": "absent",
        f"note-{enrolment_of(a)}": "Unwell", f"note-{enrolment_of(b)}": "Typed but no status"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose a status for Bea Best" in page and "<title>Error:" in page
    assert f'href="#status-{enrolment_of(b)}-present"' in page
    assert 'value="Typed but no status"' in page and 'value="Unwell"' in page
    assert f'id="status-{enrolment_of(a)}-absent" name="status-{enrolment_of(a)}" type="radio" value="absent" checked' in page
    assert status_of(session, a) is None  # all or nothing


def test_the_register_is_one_form_with_both_buttons_and_a_printable_sheet(client, login_as, frozen_now):
    cohort = make_cohort()
    make_participant(cohort)
    session = make_session(cohort, starts_at=clock.now() - timedelta(minutes=5))
    login_as(make_team())
    page = client.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert page.count('<form method="post" novalidate>') == 1  # statuses, notes and both buttons together
    assert 'value="save"' in page and 'value="save_rest_present"' in page
    assert "Save, and mark everyone else present" in page and "Signature" in page


# -- apologies excused or not, per cohort ---------------------------------------------------------

def test_excused_apologies_are_left_out_of_the_rate_and_the_streak(frozen_now):
    cohort = make_cohort(starts_on=datetime(2026, 5, 4).date())
    team = make_team()
    person = make_participant(cohort)
    past = [s for s in cohort.sessions if s.ends_at <= clock.now() and s.kind in ("welcome", "module")][:4]
    for session, status in zip(past, ["present", "apologies", "absent", "apologies"], strict=True):
        _record(team, session, person, status)
    counted = services.cohort_matrix(cohort, clock.now()).people[0]
    assert (counted.attended, counted.counted) == (1, 4)
    assert any("two core sessions in a row" in r for r in counted.at_risk_reasons)
    cohort.apologies_excused = True
    excused = services.cohort_matrix(cohort, clock.now()).people[0]
    assert (excused.attended, excused.counted, excused.excused) == (1, 2, 2)
    assert not any("in a row" in r for r in excused.at_risk_reasons)  # absent, apologies: not two misses


def test_the_attendance_page_says_which_rule_applies_and_links_to_the_settings(client, login_as):
    cohort = make_cohort()
    login_as(make_team())
    page = client.get(f"/cohorts/{cohort.id}/attendance").get_data(as_text=True)
    assert "Apologies count as a missed session" in page
    assert f'href="/cohorts/{cohort.id}/settings"' in page
    cohort.apologies_excused = True
    db.session.commit()
    assert "Apologies are excused: left out of the rate" in client.get(f"/cohorts/{cohort.id}/attendance").get_data(
        as_text=True)


@pytest.fixture
def register_cohort(frozen_now):
    cohort = make_cohort(starts_on=datetime(2026, 5, 4).date())
    people = [enrolment_of(make_participant(cohort)) for _ in range(3)]
    past = [s.id for s in cohort.sessions if s.ends_at <= clock.now() and s.kind in ("welcome", "module")][:6]
    return cohort, people, past, make_team()


def _rates_for(cohort, registers, team, *, excused):
    db.session.execute(delete(Attendance))
    rows = [dict(session_id=s, enrolment_id=e, status=st, note="", recorded_by_id=team.id, recorded_at=clock.now())
            for (e, s), st in registers.items() if st is not None]
    if rows:
        db.session.execute(insert(Attendance), rows)
    cohort.apologies_excused = excused
    return {p.enrolment_id: (p.rate, p.at_risk_reasons) for p in services.cohort_matrix(cohort, clock.now()).people}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rates_under_either_rule_stay_in_range_and_treat_apologies_as_the_rule_says(register_cohort, data):
    cohort, people, past, team = register_cohort
    statuses = st.one_of(st.none(), st.sampled_from([s.value for s in AttendanceStatus]))
    register = {(e, s): data.draw(statuses) for e in people for s in past}
    counted = _rates_for(cohort, register, team, excused=False)
    excused = _rates_for(cohort, register, team, excused=True)
    as_absent = _rates_for(cohort, {k: "absent" if v == "apologies" else v for k, v in register.items()}, team,
                           excused=False)
    left_out = _rates_for(cohort, {k: None if v == "apologies" else v for k, v in register.items()}, team,
                          excused=False)
    for e in people:
        for rate, _ in (counted[e], excused[e]):
            assert rate is None or 0 <= rate <= 1
        # Not excused: an apology is a missed session, exactly like an absence (rate and risk alike).
        assert counted[e] == as_absent[e]
        # Excused: as if the apology were not there, so it never lowers a rate.
        assert excused[e] == left_out[e]
        if counted[e][0] is not None and excused[e][0] is not None:
            assert excused[e][0] >= counted[e][0]


# -- exports: real dates, rates, the state of sessions that did not go ahead ----------------------

def test_the_workbook_has_real_dates_rates_status_words_widths_and_a_filter(client, login_as, frozen_now):
    import openpyxl

    cohort = make_cohort()
    person = make_participant(cohort, name="Ann Able")
    team = make_team()
    _record(team, cohort.sessions[0], person, "present")
    _record(team, cohort.sessions[1], person, "absent")
    cancelled, postponed, not_held = cohort.sessions[-3:]
    cancelled.status, postponed.status, not_held.status = "cancelled", "postponed", "not_held"
    login_as(team)
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/cohorts/{cohort.id}/attendance.xlsx").data))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert first["Starts"].value == datetime(2026, 9, 14, 9, 30) and first["Starts"].number_format == "d mmm yyyy hh:mm"
    assert first["Attendance rate"].value == 0.5 and first["Attendance rate"].number_format == "0%"
    assert [row[7].value for row in sheet.iter_rows(min_row=sheet.max_row - 2)] == ["Cancelled", "Postponed",
                                                                                   "Not held"]
    assert sheet.auto_filter.ref == f"A1:I{1 + 21}"
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["D"].width  # session titles are long
    matrix_page = client.get(f"/cohorts/{cohort.id}/attendance").get_data(as_text=True)
    assert "Postponed" in matrix_page and "Not held" in matrix_page
