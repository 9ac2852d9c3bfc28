"""Browser journeys: a real Convene server on a free loopback port, driven by headless Chromium.

The server runs in a thread of the test process with its own SQLite database (built by the
migrations and filled with the demo, dated relative to now), the file mail transport, and the
same app object the tests use to send due email and read it back as a person would.

Chromium is Debian's (`/usr/bin/chromium`, or CONVENE_CHROMIUM); without it every test here is
skipped with one line saying why. Nothing is ever downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import flask_migrate
import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app import clock, create_app
from app.db import db as _db
from tests.browser import pages
from tests.browser.mail import Mailbox

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 45_000
expect.set_options(timeout=WAIT_MS)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    candidate = os.environ.get("CONVENE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else None


def pytest_collection_modifyitems(config, items):
    # The development server's thread serves static files to Chromium; when the browser drops a request
    # half way (a favicon as the page moves on), Werkzeug leaves that file to the garbage collector, whose
    # ResourceWarning would otherwise fail whichever journey is running. Not the app's files or code.
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))
            item.add_marker(pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"))
    if chromium_path():
        return
    skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium): browser journeys skipped")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The server's app: a file database of its own, seeded with the demo; mail written to files."""
    root = tmp_path_factory.mktemp("browser")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'convene.sqlite3'}",
        "MAIL_TRANSPORT": "file",
        "MAIL_FILE_DIR": root / "mail",
        "UPLOAD_DIR": root / "uploads",
    })
    with app.app_context():
        flask_migrate.upgrade()
        from demo.seed import seed

        seed(now=clock.now())
        _add_register_session()
        _db.session.commit()
        _db.session.remove()
    return app


def _add_register_session() -> None:
    """A drop-in starting in ten minutes, so its register is open during the run."""
    from sqlalchemy import select

    from app.programme.models import Cohort, ProgrammeSession

    cohort = _db.session.scalars(select(Cohort).order_by(Cohort.id)).first()
    starts = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=10)
    _db.session.add(ProgrammeSession(cohort=cohort, kind="drop_in", title="Drop-in clinic: measuring value",
                                     starts_at=starts, ends_at=starts + timedelta(hours=1),
                                     join_url="https://video.example.org/drop-in-value"))


@pytest.fixture(autouse=True)
def db(app):
    """The browser journeys share one seeded database for the run; nothing is emptied between them."""
    with app.app_context():
        yield _db
        _db.session.remove()


@pytest.fixture(scope="session")
def base_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url  # links in emails point at this server
    thread = threading.Thread(target=server.serve_forever, name="convene-test-server", daemon=True)
    thread.start()
    yield url
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, base_url, request):
    """A fresh browser context per test; its key pages are kept under test-artifacts/ when it fails."""
    context = browser.new_context(base_url=base_url, viewport=pages.DESKTOP, accept_downloads=True)
    # Waits are on conditions (an element, a URL, a navigation), never on time; these are only how long a
    # condition may take before the journey fails, long enough for a machine whose cores are all busy.
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    page = context.new_page()
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    page.convene_artifacts = folder  # where pages.check() keeps each page's screenshot
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    failed = any(getattr(request.node, f"report_{when}", None) and getattr(request.node, f"report_{when}").failed
                 for when in ("setup", "call"))
    if failed:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(folder / "failed-here.png"), full_page=True)
            (folder / "failed-here.html").write_text(page.content())
        except Exception:  # noqa: BLE001 - a crashed page must not hide the real failure
            pass
    else:
        shutil.rmtree(folder, ignore_errors=True)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def mailbox(app):
    return Mailbox(app)
