"""Journey 2: the team builds a cohort's schedule and moves a module; a participant's calendar feed
shows the new dates; the participant sends apologies; the team takes the register."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.db import db
from app.programme.models import Cohort, ProgrammeSession
from tests.browser.pages import (
    assert_error_summary,
    assert_fits,
    check,
    follow,
    press_with_keyboard,
    sign_in,
    sign_out,
)


def running_cohort() -> Cohort:
    return db.session.scalars(select(Cohort).where(Cohort.status == "running").order_by(Cohort.id)).first()


def next_module_day(cohort: Cohort) -> ProgrammeSession:
    return db.session.scalars(
        select(ProgrammeSession).where(ProgrammeSession.cohort_id == cohort.id, ProgrammeSession.kind == "module",
                                       ProgrammeSession.part == 1, ProgrammeSession.starts_at > clock.now() + timedelta(days=3))
        .order_by(ProgrammeSession.starts_at)).first()


def test_schedule_calendar_apologies_and_register(page, app):
    cohort = running_cohort()
    day_one = next_module_day(cohort)
    number = day_one.module.number
    moved_to = clock.to_local(day_one.starts_at).date() + timedelta(days=7)
    clinic = db.session.scalars(select(ProgrammeSession).where(ProgrammeSession.title == "Drop-in clinic: measuring value")).one()
    cohort_id, clinic_id = cohort.id, clinic.id
    db.session.close()  # end the read transaction: SQLite would hold the server's writes back

    # The participant subscribes to their calendar before anything changes.
    sign_in(page, "participant@example.org")
    page.goto("/settings")
    check(page, "settings")
    page.get_by_role("button", name="Create my calendar link").click()
    check(page, "calendar-link")
    feed_url = page.locator("#feed-url").input_value()
    sign_out(page)

    # The team generates a new cohort's whole schedule.
    sign_in(page, "team@example.org")
    page.goto("/team/")
    follow(page, "Create a cohort")
    check(page, "new-cohort")
    page.get_by_role("button", name="Create cohort and schedule").click()
    assert_error_summary(page)
    check(page, "new-cohort-errors")
    page.fill("#name", "Autumn pilot")
    page.fill("#starts_on", (clock.local_today() + timedelta(days=200)).isoformat())
    page.get_by_role("button", name="Create cohort and schedule").click()
    expect(page.locator("main")).to_contain_text("Autumn pilot")
    check(page, "new-schedule")

    # ...and moves a module of the running cohort by a week.
    page.goto(f"/cohorts/{cohort_id}/schedule")
    check(page, "schedule")
    assert_fits(page)
    follow(page, f"Move both days of module {number}")
    check(page, "move-module")
    page.fill("#first_day", moved_to.isoformat())
    move = page.get_by_role("button", name="Move both days")
    press_with_keyboard(page, move)
    expect(page.locator(".nhsuk-error-summary")).to_have_count(0)
    check(page, "schedule-after-move")
    sign_out(page)

    # The participant's calendar app fetches the feed and sees the new date.
    feed = page.request.get(feed_url)
    assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
    assert f"DTSTART;TZID=Europe/London:{moved_to:%Y%m%d}T" in feed.text() or f"DTSTART:{moved_to:%Y%m%d}T" in feed.text()

    # The participant cannot come to the clinic and says so in advance.
    sign_in(page, "participant@example.org")
    page.goto(f"/sessions/{clinic_id}")
    check(page, "session")
    follow(page, "Cannot come? Send apologies")
    check(page, "apologies")
    page.fill("#reason", "Clinic cover that afternoon.")
    page.get_by_role("button", name="Send apologies").click()
    check(page, "apologies-sent")
    page.goto("/my-attendance")
    check(page, "my-attendance")
    sign_out(page)

    # The team takes the register in one form: they record the exceptions and one press saves them
    # and marks everyone else present, keeping the participant's apologies.
    sign_in(page, "team@example.org")
    page.goto(f"/sessions/{clinic_id}/register")
    check(page, "register")
    assert_fits(page, 375)
    sent = page.locator("input[value=apologies]:checked").first.get_attribute("name").split("-")[1]
    unrecorded = [name.split("-")[1] for name in page.locator("input[value=present]").evaluate_all(
        "els => els.filter(el => !el.closest('tr').querySelector('input:checked')).map(el => el.name)")]
    away, sorry = unrecorded[:2]
    long_note = "Rang at 9:40 to say the ward is short-staffed; " * 6 + "will catch up from the recording"
    page.check(f"#status-{away}-absent")
    page.fill(f"#note-{away}", long_note)
    page.check(f"#status-{sorry}-apologies")
    page.fill(f"#note-{sorry}", "Covering a colleague's clinic")
    page.get_by_role("button", name="Save, and mark everyone else present").click()
    check(page, "register-marked")
    expect(page.locator(f"#status-{away}-absent")).to_be_checked()
    expect(page.locator(f"#note-{away}")).to_have_value(long_note)
    expect(page.locator(f"#status-{sorry}-apologies")).to_be_checked()
    expect(page.locator(f"#note-{sorry}")).to_have_value("Covering a colleague's clinic")
    expect(page.locator(f"#status-{sent}-apologies")).to_be_checked()
    rows = page.locator(".convene-register tbody tr").count()
    expect(page.locator("input[value=present]:checked")).to_have_count(rows - 3)
    expect(page.locator(".convene-register tbody tr:not(:has(input:checked))")).to_have_count(0)

    # The register fits a phone, and its printed sign-in sheet shows every note in full.
    assert_fits(page, 375)
    page.emulate_media(media="print")
    clipped = page.locator(".convene-register tbody .convene-register__note, .convene-register__note-text").evaluate_all(
        "cells => cells.filter(c => c.scrollWidth > c.clientWidth || c.scrollHeight > c.clientHeight)"
        ".map(c => c.textContent.trim().slice(0, 40))")
    assert not clipped, f"notes cut off on the printed register: {clipped}"
    expect(page.locator(f"#note-{away}")).to_be_hidden()
    printed = page.locator(f"#note-{away} ~ .convene-register__note-text")
    expect(printed).to_be_visible()
    expect(printed).to_have_text(long_note)
    page.emulate_media(media="screen")

    # A later correction with the plain Save button.
    page.check(f"#status-{away}-late")
    page.get_by_role("button", name="Save", exact=True).click()
    check(page, "register-saved")
    expect(page.locator(f"#status-{away}-late")).to_be_checked()
    expect(page.locator(f"#note-{away}")).to_have_value(long_note)
    page.goto(f"/cohorts/{cohort_id}/attendance")
    check(page, "attendance")
