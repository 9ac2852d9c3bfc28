"""Journey 5: a participant gives feedback; the team views the results and builds the report.
Also: charts have a text alternative and a data table, and the printed pages carry no chrome."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.db import db
from app.programme.models import Cohort
from tests.browser.pages import assert_error_summary, assert_fits, check, press_with_keyboard, sign_in, sign_out


def assert_charts_described(page: Page) -> None:
    """Every chart has a name for screen readers, and the page has the data as a table."""
    charts = page.locator("main svg:not([aria-hidden=true])")
    for i in range(charts.count()):
        chart = charts.nth(i)
        named = chart.evaluate("el => el.getAttribute('role') === 'img' && !!(el.getAttribute('aria-label') || "
                               "el.getAttribute('aria-labelledby') || el.querySelector('title'))")
        assert named, f"a chart on {page.url} has no text alternative"
    assert charts.count() == 0 or page.locator("main table").count(), f"charts on {page.url} without a data table"


def assert_prints_cleanly(page: Page) -> None:
    """In print: no header, footer, navigation or buttons; the content is there and fits the paper."""
    page.emulate_media(media="print")
    try:
        for chrome in (".nhsuk-header", ".nhsuk-footer", ".nhsuk-skip-link", ".nhsuk-breadcrumb", "main .nhsuk-button"):
            hidden = page.locator(chrome)
            for i in range(hidden.count()):
                expect(hidden.nth(i)).to_be_hidden()
        expect(page.locator("main h1")).to_be_visible()
        page.set_viewport_size({"width": 700, "height": 900})  # about A4 at 96 dpi, less margins
        scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{page.url} is wider than the paper in print ({scroll} > {inner})"
        assert page.pdf(format="A4")[:4] == b"%PDF"
    finally:
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 1100, "height": 900})


def test_feedback_results_and_report(page):
    cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.status == "running").order_by(Cohort.id))
    db.session.close()
    sign_in(page, "participant@example.org")
    feedback = page.locator("main a[href$='/feedback']").first
    feedback_path = feedback.get_attribute("href")
    feedback.click()
    check(page, "feedback-form")
    page.fill("#what_worked", "The breakout rooms")
    page.get_by_role("button", name="Send feedback").click()
    assert_error_summary(page)
    check(page, "feedback-errors")
    expect(page.locator("#what_worked")).to_have_value("The breakout rooms")
    page.check("#worthwhile")
    page.locator("input[name=recommend]").first.check()
    page.check("#anonymous")
    press_with_keyboard(page, page.get_by_role("button", name="Send feedback"))
    check(page, "feedback-sent")
    page.goto("/my-attendance")
    assert_fits(page)
    sign_out(page)

    sign_in(page, "team@example.org")
    page.goto(f"/cohorts/{cohort_id}/feedback")
    check(page, "feedback-results")
    assert_charts_described(page)
    page.locator("main table a").first.click()
    check(page, "session-results")

    # The anonymous answer is held back, counted but unread, until the team closes the session's feedback.
    page.goto(re.sub(r"^https?://[^/]+", "", feedback_path) + "/results")
    expect(page.locator("main")).to_contain_text("held back until feedback on this session closes")
    expect(page.locator("main")).not_to_contain_text("The breakout rooms")
    check(page, "session-results-held")
    press_with_keyboard(page, page.get_by_role("button", name="Close feedback now and add the anonymous answers"))
    expect(page.locator("main")).to_contain_text("The breakout rooms")
    expect(page.locator("main")).to_contain_text("Feedback on this session closed")
    check(page, "session-results-closed")

    # A session that cannot go ahead is postponed with its new date to be confirmed, then given one.
    # (The last module day: earlier sessions belong to the other journeys, which share this database.)
    page.goto(f"/cohorts/{cohort_id}/schedule")
    page.get_by_role("link", name=re.compile(r"^Postpone Module 5.*day 2")).click()
    check(page, "postpone")
    page.get_by_role("button", name="Postpone the session").click()
    assert_error_summary(page)
    page.fill("#reason", "The facilitator is unwell")
    press_with_keyboard(page, page.get_by_role("button", name="Postpone the session"))
    expect(page.locator("main")).to_contain_text("Postponed: new date to be confirmed")
    page.get_by_role("link", name=re.compile(r"^Give a new date for Module 5.*day 2")).click()
    check(page, "new-date")
    page.fill("#day", "2030-01-15")
    press_with_keyboard(page, page.get_by_role("button", name="Set the new date"))
    expect(page.get_by_role("alert")).to_contain_text("has its new date")
    page.goto(f"/cohorts/{cohort_id}/communities")
    check(page, "communities")
    page.goto(f"/cohorts/{cohort_id}/value")
    check(page, "value-board")
    page.goto(f"/cohorts/{cohort_id}/stories")
    check(page, "stories")

    page.goto(f"/cohorts/{cohort_id}/attendance")
    check(page, "attendance")
    assert_charts_described(page)
    statuses = page.locator("main table td").all_inner_texts()
    assert any(re.search(r"Present|Absent|Apologies|Late", s) for s in statuses), "statuses are not written out"

    page.goto(f"/cohorts/{cohort_id}/report")
    check(page, "report")
    assert_charts_described(page)
    assert_fits(page)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("PDF")).first.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert_prints_cleanly(page)

    page.goto(f"/cohorts/{cohort_id}/schedule")
    assert_prints_cleanly(page)
    page.goto(f"/cohorts/{cohort_id}/attendance")
    assert_prints_cleanly(page)
    register = page.locator("main a[href$='/register']").first
    if register.count():
        register.click()
        assert_prints_cleanly(page)
