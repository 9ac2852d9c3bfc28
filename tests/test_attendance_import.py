"""Importing a register: what counts as a change, duplicates, dates as people write them, Excel
files, the app's own download read back, a preview that lists what matters, all or nothing."""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from app import clock
from app.attendance import exchange, services
from app.attendance.models import Attendance, AttendanceStatus
from app.db import db
from app.programme.models import Enrolment
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_participant, make_team


def enrolment_of(user) -> int:
    return db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == user.id))


def record_of(session, user) -> tuple[str, str] | None:
    row = db.session.execute(select(Attendance.status, Attendance.note).where(
        Attendance.session_id == session.id, Attendance.enrolment_id == enrolment_of(user))).first()
    return tuple(row) if row else None


@pytest.fixture
def setting(frozen_now):
    cohort = make_cohort()
    team = make_team()
    ann = make_participant(cohort, email="ann@example.org", name="Ann Able")
    past = [s for s in cohort.sessions if s.ends_at <= clock.now()]
    return cohort, team, ann, past


def preview(cohort, text):
    return exchange.preview_import(cohort=cohort, text=text, now=clock.now())


def test_a_row_that_changes_only_the_note_is_a_change_and_is_applied(setting):
    cohort, team, ann, past = setting
    services.save_attendance(past[0].id, enrolment_of(ann), AttendanceStatus.LATE, "Train", team, clock.now())
    text = f"Email,Session,Starts,Status,Note\nann@example.org,{past[0].title},{clock.to_local(past[0].starts_at):%d/%m/%Y %H:%M},Late,Train cancelled\n"
    result = preview(cohort, text)
    assert [r.outcome for r in result.rows] == ["change"]
    assert result.rows[0].note_changes and not result.rows[0].status_changes
    assert exchange.apply_import(actor=team, cohort=cohort, text=text, now=clock.now()) == 1
    assert record_of(past[0], ann) == ("late", "Train cancelled")


def test_a_second_row_for_the_same_person_and_session_is_a_duplicate_and_only_the_first_counts(setting):
    cohort, team, ann, past = setting
    when = f"{clock.to_local(past[0].starts_at):%d %b %Y %H:%M}"
    text = "\n".join(["Email,Session,Starts,Status", f"ann@example.org,{past[0].title},{when},Absent",
                      f"ANN@example.org,{past[0].title},{when},Present"])
    result = preview(cohort, text)
    assert [r.outcome for r in result.rows] == ["change", "duplicate"]
    assert result.rows[1].line == 3 and "row 2" in result.rows[1].message
    assert exchange.apply_import(actor=team, cohort=cohort, text=text, now=clock.now()) == 1
    assert record_of(past[0], ann) == ("absent", "")


@pytest.mark.parametrize("written", ["{:%d/%m/%Y %H:%M}", "{:%d/%m/%Y}", "{:%Y-%m-%d %H:%M}", "{:%d %b %Y %H:%M}",
                                     "{:%d %B %Y, %H:%M}", "{:%A %d %B %Y at %H:%M}", "{:%d/%m/%y %H:%M}",
                                     "{:%Y-%m-%dT%H:%M:%S%z}"])
def test_the_usual_uk_ways_of_writing_a_start_are_read(setting, written):
    cohort, _team, _ann, past = setting
    text = f'Email,Session,Starts,Status\nann@example.org,{past[0].title},"{written.format(clock.to_local(past[0].starts_at))}",Present\n'
    assert [(r.outcome, r.message) for r in preview(cohort, text).rows] == [("change", "")]


def test_a_start_that_cannot_be_read_says_which_forms_are_accepted(setting):
    cohort, _team, _ann, past = setting
    text = f"Email,Session,Starts,Status\nann@example.org,{past[0].title},next Tuesday,Present\n"
    [row] = preview(cohort, text).rows
    assert row.outcome == "rejected"
    assert "“next Tuesday” is not a date" in row.message and "16/11/2026 13:00" in row.message
    assert "16 Nov 2026 13:00" in row.message


def _download(client, cohort, fmt):
    return client.get(f"/cohorts/{cohort.id}/attendance.{fmt}").data


def _upload(client, cohort, body, name, **extra):
    token = csrf_token(client, f"/cohorts/{cohort.id}/attendance/import")
    return client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "preview", "file": (io.BytesIO(body), name), **extra},
        content_type="multipart/form-data")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_apps_own_download_reads_back_as_no_change(client, login_as, setting, fmt):
    cohort, team, ann, past = setting
    other = make_participant(cohort)
    services.save_attendance(past[0].id, enrolment_of(ann), AttendanceStatus.LATE, "=1+1 train", team, clock.now())
    services.save_attendance(past[1].id, enrolment_of(other), AttendanceStatus.APOLOGIES, "", team, clock.now())
    future = cohort.sessions[-1]
    services.send_apologies(actor=ann, session=future, reason="Leave", now=clock.now())
    cohort.sessions[-2].status = "cancelled"
    login_as(team)
    page = _upload(client, cohort, _download(client, cohort, fmt), f"attendance.{fmt}").get_data(as_text=True)
    assert "0 changes</strong>, 42 unchanged, 0 problems" in page, re.sub(r"\s+", " ", page)[:3000]
    assert "There is nothing to save" in page


def test_an_excel_file_is_imported(client, login_as, setting):
    cohort, team, ann, past = setting
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Email", "Session", "Starts", "Status", "Note"])
    sheet.append(["ann@example.org", past[0].title, clock.to_local(past[0].starts_at).replace(tzinfo=None), "Absent",
                  "Unwell"])
    buffer = io.BytesIO()
    book.save(buffer)
    login_as(team)
    page = _upload(client, cohort, buffer.getvalue(), "register.xlsx").get_data(as_text=True)
    assert "1 change</strong>" in page and "Note: “Unwell”" in page
    text = re.search(r'name="csv_text" value="([^"]*)"', page).group(1)
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', page).group(1)
    token = csrf_token(client, f"/cohorts/{cohort.id}/attendance/import")
    done = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "confirm", "csv_text": html.unescape(text), "fingerprint": fingerprint},
        follow_redirects=True).get_data(as_text=True)
    assert "1 record changed" in done
    assert record_of(past[0], ann) == ("absent", "Unwell")


def test_the_preview_lists_problems_and_changes_and_only_counts_the_rest(client, login_as, frozen_now):
    cohort = make_cohort()
    team = make_team()
    people = [make_participant(cohort) for _ in range(28)]
    past = [s for s in cohort.sessions if s.ends_at <= clock.now()]
    for person in people:
        for session in past:
            services.save_attendance(session.id, enrolment_of(person), AttendanceStatus.PRESENT, "", team,
                                     clock.now())
    login_as(team)
    body = _download(client, cohort, "csv").decode("utf-8-sig")
    lines = body.splitlines()
    assert len(lines) == 1 + 28 * 21  # 588 rows, as in the issue
    first_person_row = lines[1].split(",")
    lines[1] = ",".join([*first_person_row[:7], "Absent", "Overslept"])
    lines.append(lines[2])  # a duplicate
    page = _upload(client, cohort, "\n".join(lines).encode(), "attendance.csv").get_data(as_text=True)
    assert "1 change</strong>, 587 unchanged, 1 problem" in page
    listed = page.count('<tr class="nhsuk-table__row">')
    assert listed == 2  # the duplicate and the change; the 587 unchanged rows are only counted
    table = page[page.index("<table"):]
    assert table.index("Duplicate") < table.index("Overslept")  # problems first
    text = re.search(r'name="csv_text" value="([^"]*)"', page).group(1)
    token = csrf_token(client, f"/cohorts/{cohort.id}/attendance/import")
    every = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "filter", "show": "all", "csv_text": html.unescape(text)}).get_data(as_text=True)
    assert every.count('<tr class="nhsuk-table__row">') == 589
    problems = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "filter", "show": "problems",
        "csv_text": html.unescape(text)}).get_data(as_text=True)
    assert problems.count('<tr class="nhsuk-table__row">') == 1


def test_confirming_writes_all_or_nothing(client, login_as, setting, monkeypatch):
    cohort, team, ann, past = setting
    bea = make_participant(cohort, email="bea@example.org")
    when = f"{clock.to_local(past[0].starts_at):%d/%m/%Y %H:%M}"
    text = "\n".join(["Email,Session,Starts,Status", f"ann@example.org,{past[0].title},{when},Absent",
                      f"bea@example.org,{past[0].title},{when},Late"])
    fingerprint = preview(cohort, text).fingerprint
    # Someone records Bea after the preview: what the file would change is not what was confirmed.
    services.save_attendance(past[0].id, enrolment_of(bea), AttendanceStatus.LATE, "", team, clock.now())
    db.session.commit()
    login_as(team)
    token = csrf_token(client, f"/cohorts/{cohort.id}/attendance/import")
    page = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "confirm", "csv_text": text, "fingerprint": fingerprint}).get_data(as_text=True)
    assert "has changed since this preview" in page and "1 change</strong>" in page
    assert record_of(past[0], ann) is None
    # A failure part-way leaves nothing written either.
    fingerprint = preview(cohort, text).fingerprint
    real = exchange.save_attendance
    calls = []

    def fail_on_the_second(*args):
        calls.append(args)
        if len(calls) == 2:
            raise exchange.DomainError("Disk full")
        return real(*args)

    text = text.replace("Late", "Present")
    fingerprint = preview(cohort, text).fingerprint
    monkeypatch.setattr(exchange, "save_attendance", fail_on_the_second)
    page = client.post(f"/cohorts/{cohort.id}/attendance/import", data={
        "csrf_token": token, "action": "confirm", "csv_text": text, "fingerprint": fingerprint}).get_data(as_text=True)
    assert "Disk full" in page and len(calls) == 2
    assert record_of(past[0], ann) is None and record_of(past[0], bea) == ("late", "")
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1
