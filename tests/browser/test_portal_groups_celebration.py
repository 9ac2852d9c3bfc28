"""Journeys 3, 4 and 6: the portal (module, material, sharing, discussion), co-consulting groups
(allocation and the session runner), and the celebration (a guest invited and answering)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from app import clock
from app.db import db
from app.programme.models import Cohort
from tests import factories
from tests.browser.pages import assert_error_summary, assert_fits, check, follow, press_with_keyboard, sign_in, sign_out


def running_cohort_id() -> int:
    cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.status == "running").order_by(Cohort.id))
    db.session.close()  # end the read transaction: SQLite would hold the server's writes back
    return cohort_id


def test_module_material_sharing_and_discussion(page, tmp_path):
    cohort_id = running_cohort_id()
    sign_in(page, "participant@example.org")
    check(page, "participant-home")
    assert_fits(page)
    # The next session comes first: the first heading in main after the h1 is its card.
    headings = page.locator("main h1, main h2, main h3").all_inner_texts()
    assert headings[0].startswith("Welcome") and headings[1].strip() == "Your next session", headings[:3]
    expect(page.locator("#next-session")).to_contain_text("UK time")
    page.goto(f"/cohorts/{cohort_id}/modules/1")
    check(page, "module")
    assert_fits(page)
    # The participant's own checklist: mark the first resource done and see the module's progress move.
    progress = page.locator("#module-progress")
    before = progress.inner_text()
    page.get_by_role("button", name=re.compile("^Mark as done")).first.click()
    expect(page.locator(".nhsuk-tag--green", has_text="Done").first).to_be_visible()
    assert progress.inner_text() != before, before
    check(page, "module-progress")
    assert_fits(page)
    page.locator("main h3 a").first.click()
    check(page, "material")
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download")).click()
    assert download.value.suggested_filename

    page.goto(f"/cohorts/{cohort_id}/library")
    check(page, "library")
    assert_fits(page)
    follow(page, "Share a resource")
    check(page, "share")
    page.get_by_role("button", name=re.compile("Share")).last.click()
    assert_error_summary(page)
    check(page, "share-errors")
    notes = tmp_path / "check-in-questions.txt"
    notes.write_text("What is on your mind today?\nWhat would make this hour worth it?\n")
    page.fill("#title", "Check-in questions that work")
    page.fill("#description", "Openers our CoP uses at the start of every meeting.")
    page.set_input_files("#file", str(notes))
    page.get_by_role("button", name=re.compile("Share")).last.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check-in questions that work")
    check(page, "shared")

    page.goto(f"/cohorts/{cohort_id}/discussion")
    check(page, "discussion")
    page.locator("main h2 a").first.click()
    check(page, "thread")
    page.fill("#body", "Thanks, **this** helped me plan my next meeting.")
    post = page.get_by_role("button", name=re.compile("Post"))
    press_with_keyboard(page, post)
    expect(page.locator("main strong", has_text="this")).to_be_visible()
    check(page, "thread-after-post")
    thread_url = page.url.split("#")[0]
    page.get_by_label("Follow: email me about new posts").check()
    page.get_by_role("button", name="Save my choice").click()
    expect(page.locator("main")).to_contain_text("You are emailed about new posts here")
    check(page, "thread-following")
    sign_out(page)

    # A facilitator moderates: hides the post with a reason, locks and pins the thread; still reads it.
    sign_in(page, "facilitator@example.org")
    page.goto(thread_url)
    page.get_by_role("link", name=re.compile("Hide")).last.click()
    check(page, "hide-post")
    page.fill("#reason", "Off topic for this thread")
    page.get_by_role("button", name="Hide the post").click()
    expect(page.locator("main")).to_contain_text("Hidden by")
    page.get_by_role("button", name="Lock: no new posts").click()
    page.get_by_role("button", name="Pin to the top of the list").click()
    expect(page.locator("main")).to_contain_text("Off topic for this thread")
    check(page, "thread-moderated")
    assert_fits(page)
    sign_out(page)

    sign_in(page, "participant@example.org")
    page.goto(thread_url)
    expect(page.locator("main")).to_contain_text("This post was hidden by the programme team.")
    expect(page.locator("main")).to_contain_text("This discussion is locked")
    expect(page.locator("main")).not_to_contain_text("Off topic for this thread")
    assert page.get_by_role("button", name="Post reply").count() == 0
    check(page, "thread-locked")
    assert_fits(page)


def test_groups_allocated_and_session_runner(page, app):
    with app.app_context():
        team = db.session.scalar(select(factories.User).where(factories.User.email == "team@example.org"))
        cohort = factories.make_cohort(actor=team, name="Spring pilot", starts_on=clock.local_today() + timedelta(days=30))
        cohort.status = "running"
        kinds = list(factories.OrganisationKind)
        for n in range(7):
            person = factories.make_participant(cohort, email=f"spring{n}@example.org", name=f"Spring Person {n}",
                                                organisation=factories.make_organisation(kind=kinds[n % 3]))
            if n == 0:
                person.set_password("demo-password")
        db.session.commit()
        cohort_id = cohort.id
        db.session.remove()

    sign_in(page, "team@example.org")
    page.goto(f"/cohorts/{cohort_id}/groups")
    check(page, "groups-empty")
    if not page.locator("#size").is_visible():
        page.locator("summary").first.click()
    page.fill("#size", "abc")
    page.get_by_role("button", name="Make groups").click()
    assert_error_summary(page)
    expect(page.locator("#size")).to_have_value("abc")
    expect(page.locator("#size-error")).to_contain_text("Enter the group size as a whole number, like 5")
    page.fill("#size", "4")
    make = page.get_by_role("button", name="Make groups")
    press_with_keyboard(page, make)
    expect(page.locator("main .nhsuk-card")).to_have_count(2)
    check(page, "groups")
    sign_out(page)

    sign_in(page, "spring0@example.org")
    page.goto(f"/cohorts/{cohort_id}/groups")
    check(page, "my-group")
    expect(page.locator("main form select").first).to_be_visible()  # the member's swap form is on the page
    assert_fits(page, 320)
    assert_fits(page, 375)
    follow(page, "Open the session runner")
    check(page, "runner")
    expect(page.locator("main")).to_contain_text("minutes")
    assert_fits(page, 320)
    # Only the step is a live region; the ticking clock is a timer screen readers do not read out every second.
    expect(page.locator("[aria-live=polite]")).to_have_count(1)
    expect(page.locator("#timer-clock")).to_have_attribute("aria-live", "off")
    start = page.locator("#timer-start")
    start.click()
    expect(start).to_have_text("Pause")
    expect(page.locator("#timer-clock")).not_to_have_text(re.compile(r"^5:00$|^0:00$"), timeout=3000)
    start.click()
    expect(start).to_have_text("Resume")
    paused = page.locator("#timer-clock").text_content()
    page.wait_for_timeout(1500)
    expect(page.locator("#timer-clock")).to_have_text(paused)
    start.click()
    expect(page.locator("#timer-clock")).not_to_have_text(paused, timeout=3000)


def test_guest_invited_and_answers(page, mailbox):
    cohort_id = running_cohort_id()
    sign_in(page, "participant@example.org")
    page.goto(f"/cohorts/{cohort_id}/celebration")
    check(page, "celebration")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    assert_error_summary(page)
    check(page, "invite-errors")
    page.fill("#name", "Sam Guest")
    page.fill("#email", "sam.guest@example.org")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("main")).to_contain_text("Sam Guest")
    check(page, "invited")
    sign_out(page)

    page.goto(mailbox.link("sam.guest@example.org", "", r"/rsvp/"))
    check(page, "rsvp")
    assert_fits(page)
    page.get_by_role("button", name="Send my answer").click()
    assert_error_summary(page)
    check(page, "rsvp-errors")
    page.check("#coming")
    page.fill("#access_needs", "A seat near the front, please.")
    answer = page.get_by_role("button", name="Send my answer")
    press_with_keyboard(page, answer)
    check(page, "rsvp-done")
