"""Journey: the programme of work's lead (not staff) opens the programme, one of its communities' value
page and a value story form, then the report with attendance per community and meeting; the programme
team opens the same report. Every page passes axe and fits 320 px."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.pages import assert_error_summary, assert_fits, check, sign_in, sign_out


def test_the_programme_of_work_team_opens_its_communities_and_its_report(page: Page):
    sign_in(page, "alliance@example.org")
    page.goto("/programmes-of-work")
    check(page, "programmes-of-work")
    assert_fits(page)
    page.get_by_role("link", name="Northshire Cancer Alliance Communities of Practice").click()
    expect(page.locator("h1")).to_contain_text("Northshire Cancer Alliance")
    check(page, "programme-of-work")
    assert_fits(page)

    page.get_by_role("link", name="Ultrasound Imaging").click()
    page.get_by_role("link", name="Value evidence and stories").click()
    check(page, "community-value")
    assert_fits(page)
    page.get_by_role("button", name="Add evidence").click()
    assert_error_summary(page)
    check(page, "community-value-refused")
    page.get_by_role("link", name="Record a value story").click()
    check(page, "value-story-form")
    assert_fits(page)

    page.goto("/programmes-of-work")
    page.get_by_role("link", name="Northshire Cancer Alliance Communities of Practice").click()
    page.get_by_role("link", name="Open the report").click()
    expect(page.locator("h1")).to_contain_text("Programme of work report")
    expect(page.locator("main")).to_contain_text("Postponed")
    check(page, "programme-of-work-report")
    assert_fits(page)
    sign_out(page)

    sign_in(page, "team@example.org")
    page.goto("/programmes-of-work")
    page.get_by_role("link", name="Northshire Cancer Alliance Communities of Practice").click()
    check(page, "programme-of-work-as-team")
    assert_fits(page)
    page.get_by_role("link", name="Open the report").click()
    check(page, "programme-of-work-report-as-team")
