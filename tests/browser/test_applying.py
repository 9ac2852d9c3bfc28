"""Journey 1: an applicant registers, drafts, resumes and submits; the line manager approves from
the emailed link; the team scores and offers; the applicant accepts and lands on their home."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.pages import (
    assert_error_summary,
    check,
    follow,
    press_with_keyboard,
    sign_in,
    sign_out,
    use_skip_link,
)

APPLICANT = "robin.newcomer@example.org"
PASSWORD = "a long enough phrase"
LINE_MANAGER = "dana.supervisor@example.org"


def test_from_application_to_participant_home(page, mailbox):
    page.goto("/")
    check(page, "public-home")
    use_skip_link(page)
    follow(page, "Apply for a place")
    check(page, "apply-signed-out")
    follow(page, "Create an account to apply")
    check(page, "register")
    page.get_by_role("button", name="Create account").click()
    assert_error_summary(page)
    check(page, "register-errors")
    page.fill("#name", "Robin Newcomer")
    page.fill("#email", APPLICANT)
    page.fill("#job_title", "Dietitian")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.get_by_role("button", name="Create account").click()

    page.goto("/apply")
    check(page, "apply")
    page.get_by_role("button", name="Start your application").click()
    check(page, "application-form")
    page.fill("#cop_title", "Nutrition in care homes")
    page.get_by_role("button", name="Submit application").click()
    fields = assert_error_summary(page)
    assert "#cop_domain" in fields
    check(page, "application-errors")
    expect(page.locator("#cop_title")).to_have_value("Nutrition in care homes")  # what was typed is kept
    page.fill("#job_title", "Dietitian")
    page.fill("#profession", "Dietetics")
    page.select_option("#organisation_id", label="Oakleigh Care Homes")
    page.check("#leads_network_cop")
    page.fill("#cop_domain", "Good nutrition and hydration for residents")
    page.get_by_role("button", name="Save and come back later").click()
    check(page, "draft-saved")

    # Resume the draft in a later visit.
    sign_out(page)
    sign_in(page, APPLICANT, PASSWORD)
    page.goto("/my-applications")
    check(page, "my-applications")
    follow(page, "Continue your application")
    expect(page.locator("#cop_domain")).to_have_value("Good nutrition and hydration for residents")
    page.fill("#cop_members", "Care staff, cooks, dietitians, speech and language therapists")
    page.check("#crosses_boundaries")
    page.fill("#boundaries_how", "Care homes, NHS community teams and the council")
    page.check("#cop_status-2")
    page.fill("#hopes", "Skills to keep members involved")
    page.fill("#sponsor_name", "Dana Supervisor")
    page.fill("#sponsor_email", LINE_MANAGER)
    page.fill("#sponsor_job_title", "Head of dietetics")
    submit = page.get_by_role("button", name="Submit application")
    press_with_keyboard(page, submit)
    expect(page.get_by_text("line manager", exact=False).first).to_be_visible()
    check(page, "application-submitted")
    sign_out(page)

    # The line manager follows the link in their email; no account needed.
    page.goto(mailbox.link(LINE_MANAGER, "confirm support", r"/sponsor/"))
    check(page, "line-manager")
    page.check("#decision")
    page.get_by_role("button", name="Send my answer").click()
    assert_error_summary(page)
    check(page, "line-manager-errors")
    page.check("#confirms_release")
    page.fill("#comment", "Robin has my full support.")
    page.get_by_role("button", name="Send my answer").click()
    check(page, "line-manager-done")

    # The team scores, offers and releases the outcomes.
    sign_in(page, "team@example.org")
    page.goto("/team/")
    check(page, "team-dashboard")
    follow(page, "Applications")
    check(page, "applications")
    follow(page, "Robin Newcomer")
    check(page, "application-review")
    page.fill("#boundary", "5")
    page.fill("#ambition", "4")
    page.fill("#readiness", "4")
    page.get_by_role("button", name="Save my scores").click()
    check(page, "scored")
    page.check("#decision")
    page.get_by_role("button", name="Save decision").click()
    page.goto("/team/")
    follow(page, "Selection")
    check(page, "selection")
    follow(page, "Release outcomes")
    check(page, "release-confirm")
    page.get_by_role("button", name="Release outcomes and send emails").click()
    check(page, "released")
    sign_out(page)

    # The applicant follows the offer email, accepts, and is a participant.
    page.goto(mailbox.link(APPLICANT, "offer", r"/applications/\d+"))
    page.fill("#email", APPLICANT)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    check(page, "offer")
    page.check("#response")
    accept = page.get_by_role("button", name="Send my answer")
    press_with_keyboard(page, accept)
    expect(page).to_have_url(re.compile(r"/home$"))
    check(page, "participant-home")
