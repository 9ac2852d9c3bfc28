"""Journey: a convener invites a member by email, the member creates an account and sees only their
community; the convener plans a meeting and takes its register; after a meeting the member was at, the
member gives feedback and the convener reads how many answered. Every page passes axe and fits 320 px."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from app import clock
from tests.browser.pages import assert_error_summary, assert_fits, check, sign_in, sign_out


def test_a_convener_invites_a_member_and_runs_a_meeting_with_a_register(page: Page, mailbox):
    sign_in(page, "participant@example.org")
    page.goto("/communities")
    check(page, "your-communities")
    assert_fits(page)
    page.locator("main ul a").first.click()
    expect(page.locator("h1")).to_be_visible()
    community_url = page.url
    check(page, "community")
    assert_fits(page)

    page.get_by_role("button", name="Send the invitation").click()
    assert_error_summary(page)
    check(page, "invitation-refused")
    page.fill("#email", "new.member.journey@example.org")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator(".nhsuk-inset-text, .nhsuk-card, main").first).to_contain_text("new.member.journey@example.org")

    page.get_by_role("link", name="Add a meeting").click()
    check(page, "add-meeting")
    assert_fits(page)
    page.fill("#meets_on", "2027-05-12")
    page.fill("#starts", "14:30")
    page.fill("#ends", "16:00")
    page.get_by_label("Online", exact=True).check()
    page.fill("#agenda", "Welcome new members\nWhat gets in the way?")
    page.get_by_role("button", name="Save the meeting").click()
    expect(page.locator("h1")).to_contain_text("Wednesday 12 May 2027 at 2:30pm to 4pm")
    check(page, "meeting")
    assert_fits(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Add to your calendar")).click()
    assert download.value.suggested_filename.endswith(".ics")

    page.goto(community_url)
    page.get_by_role("link", name=re.compile("time not recorded|2026")).first.click()
    page.get_by_role("link", name="Take the register").click()
    check(page, "register")
    assert_fits(page)
    page.fill("#guest_count", "4")
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator("main")).to_contain_text("counted without names")
    sign_out(page)

    link = mailbox.link("new.member.journey@example.org", "invites you to join", r"/join/")
    page.goto(link)
    check(page, "join")
    assert_fits(page)
    page.fill("#name", "Jo Journey")
    page.fill("#password", "a long enough phrase")
    page.get_by_role("button", name="Create my account and join").click()
    expect(page).to_have_url(community_url)
    expect(page.get_by_role("button", name="Send the invitation")).to_have_count(0)  # a member does not manage
    page.goto("/communities")
    expect(page.locator("main ul li")).to_have_count(1)
    page.goto(link)
    check(page, "join-used")

    sign_out(page)

    # Yesterday's meeting: the convener records it as held with Jo present, Jo answers, the convener sees it.
    sign_in(page, "participant@example.org")
    page.goto(community_url)
    page.get_by_role("link", name="Add a meeting").click()
    page.fill("#meets_on", (clock.local_today() - timedelta(days=1)).isoformat())
    page.fill("#starts", "10:00")
    page.fill("#ends", "11:30")
    page.get_by_label("Online", exact=True).check()
    page.get_by_label("Held", exact=True).check()
    page.get_by_role("button", name="Save the meeting").click()
    meeting_url = re.match(r"(.*/meetings/\d+)", page.url).group(1)
    page.get_by_role("link", name="Take the register").click()
    page.get_by_role("group", name="Jo Journey").get_by_label("Present", exact=True).check()
    page.fill("#guest_count", "2")
    page.get_by_role("button", name="Save the register").click()
    expect(page.locator("main")).to_contain_text("0 of 3 people at this meeting have answered")
    sign_out(page)

    sign_in(page, "new.member.journey@example.org", "a long enough phrase")
    page.goto(meeting_url)
    page.get_by_role("link", name="Give feedback on this meeting").click()
    check(page, "give-feedback")
    assert_fits(page)
    page.locator('input[name="rating"][value="5"]').check()
    page.fill("#worked", "Hearing how another trust runs its huddles")
    page.get_by_role("button", name="Send my feedback").click()
    expect(page.locator("main")).to_contain_text("Thank you")
    check(page, "feedback-given")
    sign_out(page)

    sign_in(page, "participant@example.org")
    page.goto(meeting_url)
    expect(page.locator("main")).to_contain_text("1 of 3 people at this meeting have answered")
    page.get_by_role("link", name=re.compile("See the feedback")).click()
    check(page, "feedback-results")
    assert_fits(page)
