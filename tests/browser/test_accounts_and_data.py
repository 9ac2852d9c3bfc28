"""Journey 7: a participant logs a CoP meeting, writes an impact story, turns on two-step sign-in
and signs in with a code, and asks for their account to be deleted; the team reviews the story,
changes a feedback form and a reminder rule, finds the person, downloads their data and searches
the audit log. Every page is scanned like the others."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pyotp
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.models import User
from app.db import db
from app.programme.models import Cohort, Enrolment
from tests.browser.pages import assert_error_summary, check, follow, press_with_keyboard, sign_in, sign_out


def test_accounts_data_protection_and_the_rest_of_evaluation(page):
    cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.status == "running").order_by(Cohort.id))
    # Another participant than the one the other journeys use: this one turns on two-step sign-in.
    email = db.session.scalar(select(User.email).join(Enrolment, Enrolment.user_id == User.id).where(
        Enrolment.cohort_id == cohort_id, Enrolment.status == "active", User.email != "participant@example.org")
        .order_by(User.id).limit(1))
    db.session.close()
    sign_in(page, email)
    page.goto(f"/cohorts/{cohort_id}/my-community")
    check(page, "my-community")
    page.fill("#meeting-held_on", "2099-01-01")
    page.fill("#meeting-attendance", "12")
    page.get_by_role("button", name="Log meeting").click()
    assert_error_summary(page)
    check(page, "meeting-error")
    page.fill("#meeting-held_on", time.strftime("%Y-%m-%d"))
    press_with_keyboard(page, page.get_by_role("button", name="Log meeting"))
    expect(page.locator("main")).to_contain_text("Meeting logged")

    page.goto(f"/cohorts/{cohort_id}/stories/new")
    check(page, "story-form")
    page.fill("#title", "Check-ins changed our meetings")
    page.get_by_role("button", name="Send for review").click()
    assert_error_summary(page)
    for field, text in (("#once_upon_a_time", "Meetings started cold."), ("#every_day", "People waited."),
                        ("#one_day", "I tried a check-in round."), ("#because_of_that", "Everyone spoke."),
                        ("#until_finally", "Members run it themselves.")):
        page.fill(field, text)
    page.check("#consent_to_publish")
    page.get_by_role("button", name="Send for review").click()
    check(page, "story-sent")
    story_url = page.url

    page.goto("/settings")
    check(page, "settings")
    follow(page, "Turn on two-step sign-in")
    check(page, "two-step-setup")
    secret = page.locator(".convene-key").inner_text().strip()
    page.fill("#password", "demo-password")  # turning it on asks for the password
    page.fill("#code", "000000")
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    assert_error_summary(page)
    page.fill("#password", "demo-password")  # a password field is never filled in again for you
    totp = pyotp.TOTP(secret)
    used_step = totp.timecode(datetime.now())
    page.fill("#code", totp.now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    expect(page.locator("main")).to_contain_text("Two-step sign-in")
    sign_out(page)
    while totp.timecode(datetime.now()) <= used_step:  # a code is accepted once: wait for the next one
        time.sleep(0.5)
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", "demo-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("/sign-in/code$"))
    check(page, "two-step-code")
    page.fill("#code", pyotp.TOTP(secret).now())
    press_with_keyboard(page, page.get_by_role("button", name="Continue"))
    expect(page).to_have_url(re.compile("/home$"))
    page.goto("/settings")
    page.get_by_role("button", name="Ask to delete my account").click()
    check(page, "deletion-requested")
    page.goto("/privacy")
    check(page, "privacy")
    sign_out(page)

    sign_in(page, "team@example.org")
    page.goto(story_url)
    check(page, "story-review")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("main")).to_contain_text("Published")
    page.goto(f"/cohorts/{cohort_id}/feedback/settings?kind=drop_in")
    check(page, "feedback-settings")
    page.get_by_role("button", name="Save").click()
    page.goto(f"/cohorts/{cohort_id}/reminder-rules")
    check(page, "reminder-rules")
    page.goto(f"/cohorts/{cohort_id}/reminder-rules/feedback_request")
    page.fill("input[name=hours]", "0")
    page.locator("main form button[type=submit]").last.click()
    assert_error_summary(page)
    check(page, "reminder-rule-error")
    page.goto("/team/reminders")
    check(page, "reminder-queue")
    page.goto("/team/outbox")
    page.locator("main table a").first.click()
    check(page, "outbox-message")

    page.goto("/team/people")
    check(page, "people")
    expect(page.locator("main")).to_contain_text("asked for their account to be deleted")
    page.fill("#q", email)
    page.get_by_role("button", name="Search").click()
    page.locator("main table a").first.click()
    check(page, "person")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download their data").click()
    assert download.value.suggested_filename.endswith(".zip")
    page.goto("/team/audit?action=two_step_enabled")
    check(page, "audit-log")
    expect(page.locator("main table")).to_contain_text("two step enabled")
