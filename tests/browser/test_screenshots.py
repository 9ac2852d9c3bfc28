"""The README's screenshots: `CONVENE_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_screenshots.py`
writes docs/screenshots/*.png (1100 x 900, the top of each main page). Skipped otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import db
from app.programme.models import Cohort, ProgrammeSession
from tests.browser.pages import sign_in, sign_out

FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.skipif(not os.environ.get("CONVENE_SCREENSHOTS"), reason="set CONVENE_SCREENSHOTS=1 to refresh docs/")
def test_screenshots_of_the_main_pages(page):
    cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.status == "running").order_by(Cohort.id))
    session_id = db.session.scalar(select(ProgrammeSession.id).where(ProgrammeSession.cohort_id == cohort_id,
                                                                      ProgrammeSession.kind == "module")
                                   .order_by(ProgrammeSession.starts_at.desc()))
    db.session.close()
    FOLDER.mkdir(parents=True, exist_ok=True)

    def shot(name: str, path: str) -> None:
        page.goto(path)
        page.screenshot(path=str(FOLDER / f"{name}.png"))

    shot("01-about", "/")
    sign_in(page, "applicant@example.org")
    page.goto("/my-applications")
    page.locator("main a[href*='/edit']").first.click()
    page.screenshot(path=str(FOLDER / "02-application-form.png"))
    sign_out(page)
    sign_in(page, "participant@example.org")
    shot("03-participant-home", "/home")
    shot("04-session", f"/sessions/{session_id}")
    shot("05-module", f"/cohorts/{cohort_id}/modules/2")
    shot("06-library", f"/cohorts/{cohort_id}/library")
    shot("07-celebration", f"/cohorts/{cohort_id}/celebration")
    sign_out(page)
    sign_in(page, "team@example.org")
    shot("08-team-dashboard", "/team/")
    shot("09-schedule", f"/cohorts/{cohort_id}/schedule")
    shot("10-attendance", f"/cohorts/{cohort_id}/attendance")
    shot("11-groups", f"/cohorts/{cohort_id}/groups")
    shot("12-feedback-results", f"/cohorts/{cohort_id}/feedback")
    shot("13-report", f"/cohorts/{cohort_id}/report")
    page.set_viewport_size({"width": 375, "height": 800})
    shot("14-schedule-on-a-phone", f"/cohorts/{cohort_id}/schedule")
