"""What every journey does on every page: scan it with axe (desktop and phone width), keep a
screenshot for the failure report, and small helpers for signing in, keyboard use and layout."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

DESKTOP = {"width": 1100, "height": 900}
PHONE = {"width": 375, "height": 800}
NARROW = {"width": 320, "height": 700}
PASSWORD = "demo-password"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_axe = Axe()


def axe_violations(page: Page) -> list[str]:
    result = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}})
    return [f"{v['id']} ({v['help']}): {[n['target'] for n in v['nodes'][:3]]}" for v in result.response["violations"]]


def check(page: Page, name: str) -> None:
    """The page just reached: no axe violations at desktop and at 375 px, and a screenshot kept."""
    page.wait_for_load_state("load")
    folder = page.convene_artifacts
    folder.mkdir(parents=True, exist_ok=True)
    count = len(list(folder.glob("*.png")))
    page.screenshot(path=str(folder / f"{count + 1:02d}-{name}.png"))
    problems = {"desktop": axe_violations(page)}
    page.set_viewport_size(PHONE)
    problems["375 px"] = axe_violations(page)
    page.set_viewport_size(DESKTOP)
    problems = {width: found for width, found in problems.items() if found}
    assert not problems, f"axe found problems on {name} ({page.url}): {problems}"


_WIDE_ELEMENTS = """inner => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > inner + 1 && el.getClientRects().length)
    .slice(0, 8).map(el => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().right)})`)"""


def assert_fits(page: Page, width: int = 320) -> None:
    """No horizontal scrolling at this width."""
    page.set_viewport_size({"width": width, "height": 700})
    try:
        # The header's script re-lays out its navigation after a resize, so give the page a moment to settle.
        page.wait_for_function("() => document.scrollingElement.scrollWidth <= window.innerWidth", timeout=15_000)
    except PlaywrightTimeout:
        scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        wide = page.evaluate(_WIDE_ELEMENTS, inner)
        raise AssertionError(f"{page.url} scrolls sideways at {width} px ({scroll} > {inner}): {wide}") from None
    finally:
        page.set_viewport_size(DESKTOP)


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#email")).to_have_count(0)


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("load")


def _focus_style(page: Page) -> str:
    return page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.color,
                s.textDecorationLine].join('|'); }""")


def assert_focus_visible(page: Page) -> None:
    """The focused element looks different from when it is not focused (NHS.UK: yellow and black)."""
    focused = _focus_style(page)
    handle = page.evaluate_handle("document.activeElement")
    page.evaluate("el => el.blur()", handle)
    unfocused = page.evaluate("el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth, "
                              "s.outlineColor, s.boxShadow, s.backgroundColor, s.color, s.textDecorationLine]"
                              ".join('|'); }", handle)
    page.evaluate("el => el.focus()", handle)
    assert focused != unfocused, f"no visible focus on {page.evaluate('document.activeElement.outerHTML')[:120]}"


def tab_to(page: Page, locator, limit: int = 120) -> None:
    """Press Tab until the locator's element has the focus, and check the focus can be seen."""
    target = locator.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => el === document.activeElement", target):
            assert_focus_visible(page)
            return
    raise AssertionError(f"Tab never reached {locator} on {page.url}")


def use_skip_link(page: Page) -> None:
    """The first Tab lands on a visible skip link; Enter moves the focus to the main content."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    skip = page.locator(".nhsuk-skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "maincontent", "the skip link did not move the focus"


def assert_error_summary(page: Page) -> list[str]:
    """The NHS.UK error summary: 'Error:' in the title, and every link goes to a field on the page."""
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: "))
    links = summary.locator("a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert targets, "the error summary links to nothing"
    for href in targets:
        assert href.startswith("#"), href
        assert page.locator(f"[id='{href[1:]}']").count() == 1, f"the error summary links to missing {href}"
    links.first.click()
    assert page.evaluate("document.activeElement.id") == targets[0][1:] or page.evaluate(
        "document.activeElement.closest('fieldset') !== null"), "following the error link did not reach the field"
    return targets


def follow(page: Page, text: str) -> None:
    """Follow the first link (plain or styled as a button) with this text."""
    with page.expect_navigation():
        page.locator("a").filter(has_text=text).first.click()
    page.wait_for_load_state("load")


def press_with_keyboard(page: Page, locator) -> None:
    """Reach a button or link with Tab alone and press Enter, waiting for the page it leads to."""
    tab_to(page, locator)
    with page.expect_navigation():
        page.keyboard.press("Enter")
