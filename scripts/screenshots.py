"""Refresh the README's screenshots: `.venv/bin/python scripts/screenshots.py [--out docs/screenshots]`.

Writes 01-about.png ... 14-schedule-on-a-phone.png (1100 x 900, the top of each main page; the last
at 375 px wide) from the demo data, served from a throwaway SQLite database on a free loopback port
and photographed by Debian's Chromium (`/usr/bin/chromium` or CONVENE_CHROMIUM; nothing is
downloaded). This was a "test" under tests/browser that asserted nothing; it is a tool, so it is a
script. Exits 1 with one line if Chromium is missing.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_OUT = ROOT / "docs" / "screenshots"


def serve_demo(folder: Path):
    """The app on a fresh migrated database seeded with the demo, served on a free port: (app, url, stop)."""
    import flask_migrate
    from werkzeug.serving import make_server

    from app import clock, create_app
    from app.db import db
    from demo.seed import seed

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'convene.sqlite3'}",
        "MAIL_TRANSPORT": "file",
        "MAIL_FILE_DIR": folder / "mail",
        "UPLOAD_DIR": folder / "uploads",
        "TESTING": False,
    })
    with app.app_context():
        flask_migrate.upgrade()
        seed(now=clock.now())
        db.session.commit()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="convene-screenshots", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)

    return app, url, stop


def take_screenshots(page, out: Path, cohort_id: int, session_id: int) -> list[Path]:
    from tests.browser.pages import sign_in, sign_out

    written: list[Path] = []

    def shot(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(path)
        target = out / f"{name}.png"
        page.screenshot(path=str(target))
        written.append(target)

    shot("01-about", "/")
    sign_in(page, "applicant@example.org")
    page.goto("/my-applications")
    page.locator("main a[href*='/edit']").first.click()
    shot("02-application-form")
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
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write the PNGs ({DEFAULT_OUT})")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from app.db import db
    from app.programme.models import Cohort, ProgrammeSession
    from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
    from tests.browser.pages import DESKTOP

    chromium = chromium_path()
    if chromium is None:
        print("Chromium is not installed (apt-get install chromium, or set CONVENE_CHROMIUM)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="convene-screenshots-") as folder:
        app, url, stop = serve_demo(Path(folder))
        try:
            with app.app_context():
                cohort_id = db.session.scalar(select(Cohort.id).where(Cohort.status == "running").order_by(Cohort.id))
                session_id = db.session.scalar(select(ProgrammeSession.id).where(
                    ProgrammeSession.cohort_id == cohort_id, ProgrammeSession.kind == "module")
                    .order_by(ProgrammeSession.starts_at.desc()))
                db.session.remove()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                context = browser.new_context(base_url=url, viewport=DESKTOP)
                context.set_default_timeout(45_000)
                written = take_screenshots(context.new_page(), args.out, cohort_id, session_id)
                context.close()
                browser.close()
        finally:
            stop()
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
