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

    # The team takes the register: the apologies are there, everyone else is marked present.
    sign_in(page, "team@example.org")
    page.goto(f"/sessions/{clinic_id}/register")
    check(page, "register")
    assert_fits(page)
    enrolment_id = page.locator("input[value=apologies]:checked").first.get_attribute("name").split("-")[1]
    page.get_by_role("button", name="Mark everyone not yet recorded as present").click()
    check(page, "register-marked")
    expect(page.locator(f"#status-{enrolment_id}-apologies")).to_be_checked()
    late = page.locator("input[value=late]").nth(1)
    late.check()
    page.get_by_role("button", name="Save register").click()
    check(page, "register-saved")
    page.goto(f"/cohorts/{cohort_id}/attendance")
    check(page, "attendance")
