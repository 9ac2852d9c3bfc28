"""Journey 1: an applicant registers (proving their address), applies to two open cohorts, one line
manager declines and a second approves; reviewers score blind; the team decides in bulk, previews
the outcome emails with its own words and releases them; the applicant accepts and lands on their
home. Every page is scanned with axe at desktop and phone widths."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from app import clock
from tests.browser.pages import (
    assert_error_summary,
    assert_fits,
    check,
    follow,
    press_with_keyboard,
    sign_in,
    sign_out,
    use_skip_link,
)

APPLICANT = "robin.newcomer@example.org"
PASSWORD = "a long enough phrase"
FIRST_MANAGER = "dana.supervisor@example.org"
SECOND_MANAGER = "lee.director@example.org"
SPRING_MANAGER = "sol.head@example.org"
SPRING = "Spring intake"


def _fill_application(page, manager_name: str, manager_email: str) -> None:
    page.fill("#job_title", "Dietitian")
    page.fill("#profession", "Dietetics")
    page.select_option("#organisation_id", label="Oakleigh Care Homes")
    page.check("#leads_network_cop")
    page.fill("#cop_title", "Nutrition in care homes")
    page.fill("#cop_domain", "Good nutrition and hydration for residents")
    page.fill("#cop_members", "Care staff, cooks, dietitians, speech and language therapists")
    page.check("#crosses_boundaries")
    page.fill("#boundaries_how", "Care homes, NHS community teams and the council")
    page.check("#cop_status-2")
    page.fill("#hopes", "Skills to keep members involved")
    page.fill("#sponsor_name", manager_name)
    page.fill("#sponsor_email", manager_email)
    page.fill("#sponsor_job_title", "Head of dietetics")


def _line_manager_answers(page, mailbox, email: str, *, approve: bool, comment: str, name: str) -> None:
    page.goto(mailbox.link(email, "confirm support", r"/sponsor/"))
    check(page, f"line-manager-{name}")
    expect(page.get_by_role("link", name=re.compile(r"@"))).to_have_count(1)  # the team's contact address
    if approve:
        page.check("#decision")
        page.check("#confirms_release")
    else:
        page.check("#decision-2")
    page.fill("#comment", comment)
    page.get_by_role("button", name="Send my answer").click()
    check(page, f"line-manager-{name}-done")


def test_two_cohorts_a_declined_line_manager_blind_review_and_a_bulk_release(page, mailbox):
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
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    check(page, "register-check-email")
    page.goto(mailbox.link(APPLICANT, "confirm your email", r"/register/confirm/"))
    check(page, "register-confirm")
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    sign_out(page)

    # The team opens a second intake, taking applications from today.
    sign_in(page, "team@example.org")
    page.goto("/cohorts/new")
    today = clock.local_today()
    page.fill("#name", SPRING)
    page.fill("#starts_on", (today + timedelta(days=150)).isoformat())
    page.fill("#capacity", "24")
    page.fill("#applications_open", today.isoformat())
    page.fill("#application_deadline", (today + timedelta(days=45)).isoformat())
    page.get_by_role("button", name="Create cohort and schedule").click()
    expect(page.get_by_text(f"{SPRING} created")).to_be_visible()
    page.goto("/team/")
    page.get_by_role("link", name=f"Settings for {SPRING}").click()
    check(page, "cohort-settings")
    page.fill("#offer_response_days", "x")
    page.get_by_role("button", name="Save settings").click()
    assert_error_summary(page)
    check(page, "cohort-settings-errors")
    page.fill("#offer_response_days", "10")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved: days to answer an offer.")).to_be_visible()
    sign_out(page)

    # Two cohorts take applications: the applicant applies to both.
    sign_in(page, APPLICANT, PASSWORD)
    page.goto("/apply")
    check(page, "apply-choose")
    expect(page.get_by_text("2 cohorts are taking applications")).to_be_visible()
    assert_fits(page)
    cohorts = page.locator("main .nhsuk-card__heading").all_inner_texts()
    first_cohort = next(name for name in cohorts if name != SPRING)
    follow(page, f"Apply to {first_cohort}")
    check(page, "apply")
    page.get_by_role("button", name="Start your application").click()
    check(page, "application-form")
    page.fill("#cop_title", "Nutrition in care homes")
    page.get_by_role("button", name="Submit application").click()
    fields = assert_error_summary(page)
    assert "#cop_domain" in fields
    check(page, "application-errors")
    expect(page.locator("#cop_title")).to_have_value("Nutrition in care homes")  # what was typed is kept
    expect(page.get_by_text("You can enter up to 3,000 characters", exact=False).first).to_be_attached()
    _fill_application(page, "Dana Supervisor", FIRST_MANAGER)
    page.get_by_role("button", name="Save and come back later").click()
    check(page, "draft-saved")
    submit = page.get_by_role("button", name="Submit application")
    press_with_keyboard(page, submit)
    check(page, "application-submitted")
    follow(page, "See the answers you submitted")
    check(page, "application-answers")
    expect(page.get_by_text("Good nutrition and hydration for residents")).to_be_visible()

    page.goto("/apply")
    follow(page, f"Apply to {SPRING}")
    page.get_by_role("button", name="Start your application").click()
    _fill_application(page, "Sol Head", SPRING_MANAGER)
    page.get_by_role("button", name="Submit application").click()
    expect(page.get_by_text("We have emailed your line manager", exact=False)).to_be_visible()
    page.goto("/my-applications")
    check(page, "my-applications")
    expect(page.locator("main").get_by_text("Waiting for line manager")).to_have_count(2)
    sign_out(page)

    # The first line manager declines; the applicant reads why and asks someone else, who approves.
    _line_manager_answers(page, mailbox, FIRST_MANAGER, approve=False, name="declines",
                          comment="We cannot release Robin during the ward move.")
    _line_manager_answers(page, mailbox, SPRING_MANAGER, approve=True, name="spring-approves",
                          comment="Robin has my support.")
    sign_in(page, APPLICANT, PASSWORD)
    page.goto("/my-applications")
    page.get_by_role("link", name=f"View your application to {first_cohort}").click()
    check(page, "application-declined")
    expect(page.get_by_text("We cannot release Robin during the ward move.")).to_be_visible()
    follow(page, "Ask a different line manager")
    check(page, "ask-another-line-manager")
    page.fill("#sponsor_name", "Lee Director")
    page.fill("#sponsor_email", SECOND_MANAGER)
    page.fill("#sponsor_job_title", "Director of nursing")
    page.get_by_role("button", name="Send to this line manager").click()
    expect(page.get_by_text("We have emailed Lee Director")).to_be_visible()
    sign_out(page)
    _line_manager_answers(page, mailbox, SECOND_MANAGER, approve=True, name="approves",
                          comment="Robin has my full support.")

    # The team asks the facilitator and itself to review, in each cohort.
    sign_in(page, "team@example.org")
    for cohort_name in (first_cohort, SPRING):
        page.goto("/team/")
        page.get_by_role("link", name=f"Applications for {cohort_name}").click()
        follow(page, "Robin Newcomer")
        check(page, f"application-review-{'spring' if cohort_name == SPRING else 'first'}")
        page.locator("summary", has_text="Choose reviewers").click()
        page.get_by_label(re.compile(r"Ffion Facilitator")).check()
        page.get_by_label(re.compile(r"Morgan Team-Lead")).check()
        page.get_by_role("button", name="Save reviewers").click()
        expect(page.get_by_text("Reviewers saved.")).to_be_visible()
        # Reviewing it too, the team member sees no score until giving their own.
        expect(page.get_by_text("you see the other reviewers' scores once you have saved yours")).to_be_visible()
    sign_out(page)

    # The facilitator scores blind, then sees the other scores.
    sign_in(page, "facilitator@example.org")
    page.goto("/team/")
    follow(page, "Applications for you to review")
    check(page, "my-reviews")
    page.get_by_role("link", name="Robin Newcomer").first.click()
    check(page, "review-blind")
    expect(page.get_by_text("This cohort reviews blind")).to_be_visible()
    page.fill("#boundary", "9")
    page.get_by_role("button", name="Save my scores").click()
    assert_error_summary(page)
    page.fill("#boundary", "4")
    page.fill("#ambition", "5")
    page.fill("#readiness", "4")
    page.fill("#comment", "Clear about who the community brings together.")
    page.get_by_role("button", name="Save my scores").click()
    expect(page.get_by_text("Your scores are saved.")).to_be_visible()
    check(page, "review-scored")
    sign_out(page)

    # The team scores, decides in bulk, previews the emails with its own words and releases them.
    sign_in(page, "team@example.org")
    for cohort_name in (first_cohort, SPRING):
        page.goto("/team/")
        page.get_by_role("link", name=f"Applications for {cohort_name}").click()
        follow(page, "Robin Newcomer")
        page.fill("#boundary", "5")
        page.fill("#ambition", "4")
        page.fill("#readiness", "4")
        page.get_by_role("button", name="Save my scores").click()
        expect(page.get_by_text("Your scores are saved.")).to_be_visible()
        page.goto("/team/")
        page.get_by_role("link", name=f"Selection for {cohort_name}").click()
        check(page, "selection")
        page.get_by_role("button", name="Save decision for ticked applications").click()
        assert_error_summary(page)
        check(page, "selection-errors")
        page.get_by_label("Robin Newcomer", exact=True).check()
        page.select_option("#decision", "offer")
        page.get_by_role("button", name="Save decision for ticked applications").click()
        expect(page.get_by_text("saved (offer a place)")).to_be_visible()
        follow(page, "Release outcomes")
        check(page, "release-preview")
        page.fill("#offer_message", "Questions about your place? Reply to this email.")
        page.get_by_role("button", name="Update the previews").click()
        expect(page.locator(".convene-pre", has_text="Questions about your place? Reply to this email.")
               .first).to_be_visible()
        page.get_by_role("button", name=re.compile(r"Release outcomes and send")).click()
        expect(page.get_by_text("Outcomes released:")).to_be_visible()
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
    offer = mailbox.latest(APPLICANT, "offered a place")
    assert "Questions about your place? Reply to this email." in str(offer.get_body(preferencelist=("plain",)).get_content())
