"""The application as a whole: health check, error pages, headers, config, demo data, outbox page."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import clock, create_app
from app.applications.models import Application, ApplicationStatus
from app.auth.models import User
from app.db import db
from app.notifications.services import queue_email, send_due
from app.programme.models import Cohort, Enrolment, ProgrammeSession
from tests.factories import make_cohort, make_participant, make_team


def test_healthz_reports_database_migrations_and_outbox_to_staff(client, login_as, frozen_now):
    queue_email(key="h1", recipient="a@example.org", subject="S", body_text="B", due_at=clock.now())
    assert client.get("/healthz").get_json() == {"status": "ok"}  # the details: tests/test_healthz.py
    login_as(make_team())
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migrations"] == "at head"
    assert body["outbox"]["due_now"] == 1
    assert body["outbox"]["by_status"]["pending"] == 1
    # What a monitor acts on: one message due now is not a problem; the whole backlog, pinned.
    assert body["outbox"] == {"by_status": {"cancelled": 0, "failed": 0, "pending": 1, "sending": 0, "sent": 0},
                              "due_now": 1, "overdue": 0, "retrying": 0}
    assert body["problems"] == []
    # No scheduler has beaten in this test's database: reported as stale, which outside production
    # (SCHEDULER_REQUIRED off) is not a problem. ("running" and "last_run" are this process's state,
    # which other tests move: not pinned here.)
    assert body["scheduler"]["heartbeat"] == {"last": None, "stale": True}
    assert {"running", "mode", "last_run"} <= body["scheduler"].keys()


def test_not_found_page_is_helpful_and_has_no_stack_trace(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page and "Traceback" not in page


def test_server_errors_get_a_page_and_roll_back(app):
    fresh = create_app({**app.config, "PROPAGATE_EXCEPTIONS": False})

    @fresh.get("/__boom")
    def boom():
        db.session.add(Cohort(programme_id=1, name="half-written", starts_on=clock.now().date()))
        raise RuntimeError("boom")

    boom.access_rule = "public"
    response = fresh.test_client().get("/__boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in page and "boom" not in page
    assert db.session.scalar(select(func.count()).select_from(Cohort)) == 0


def test_every_page_sends_security_headers(client, login_as):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src 'self' 'nonce-" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.get_data(as_text=True)  # the template's inline script runs
    login_as(make_participant(make_cohort()))
    assert client.get("/home").headers["Cache-Control"] == "no-store"


def test_production_refuses_to_start_without_a_secret_key_and_base_url(monkeypatch):
    import config

    monkeypatch.delenv("BASE_URL", raising=False)
    with pytest.raises(config.ConfigurationError, match="SECRET_KEY.*BASE_URL"):
        create_app(config.ProductionConfig)

    class Configured(config.ProductionConfig):
        SECRET_KEY = "x" * 40
        RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"  # shared by every worker (tests/test_startup.py)

    monkeypatch.setenv("BASE_URL", "https://convene.example.org")
    Configured.validate()  # does not raise


def test_seed_demo_creates_a_cohort_with_past_and_upcoming_sessions(runner, frozen_now):
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "team@example.org" in result.output and "participant@example.org" in result.output
    running, upcoming = db.session.scalars(select(Cohort).order_by(Cohort.starts_on)).all()
    assert db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == running.id)) == 28
    assert upcoming.application_window(clock.now()) == "open"
    statuses = set(db.session.scalars(select(Application.status)))
    assert statuses == {s.value for s in ApplicationStatus} - {"submitted"}  # submitted is a passing step
    sessions = db.session.scalars(select(ProgrammeSession).where(ProgrammeSession.cohort_id == running.id)).all()
    now = clock.now()
    assert any(s.ends_at < now for s in sessions) and any(s.starts_at > now for s in sessions)
    participants = db.session.scalars(select(User).join(Enrolment)).all()
    assert len({p.organisation.kind for p in participants}) >= 5
    assert len({p.profession for p in participants}) >= 5
    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has data" in again.output
    assert db.session.scalar(select(func.count()).select_from(Cohort)) == 2


def test_demo_logins_work(client, runner, frozen_now):
    runner.invoke(args=["seed-demo"])
    from tests.conftest import csrf_token

    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"csrf_token": token, "email": "participant@example.org",
                                             "password": "demo-password"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Your year" in page and "Welcome, Aisha Okafor" in page


def test_outbox_page_lists_messages_and_shows_one_with_its_link(client, login_as, frozen_now):
    queue_email(key="o1", recipient="reader@example.org", subject="Reset your password",
                body_text="Follow http://convene.test/password/reset/abc",
                body_html='<p><a href="http://convene.test/password/reset/abc">Reset</a><script>x()</script></p>',
                due_at=clock.now())
    queue_email(key="o2", recipient="later@example.org", subject="Later", body_text="Later",
                due_at=clock.now() + timedelta(days=2))
    send_due(clock.now())
    login_as(make_team())
    listing = client.get("/team/outbox").get_data(as_text=True)
    assert "Reset your password" in listing and "Later" in listing
    assert "Sent (1)" in listing and "Pending (1)" in listing
    pending_only = client.get("/team/outbox?status=pending").get_data(as_text=True)
    assert "Later" in pending_only and "Reset your password" not in pending_only
    from app.notifications.models import OutboxMessage

    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.key == "o1")).one()
    shown = client.get(f"/team/outbox/{message.id}").get_data(as_text=True)
    assert 'href="http://convene.test/password/reset/abc"' in shown
    assert "<script>x()" not in shown
    assert client.get("/team/outbox?status=bogus").status_code == 404
    assert client.get("/team/outbox?page=9").status_code == 404


def test_team_dashboard_lists_cohorts_with_participant_counts(client, login_as):
    cohort = make_cohort(name="2026 to 2027")
    make_participant(cohort)
    make_participant(cohort)
    login_as(make_team())
    page = client.get("/team/").get_data(as_text=True)
    assert "2026 to 2027" in page
    assert '<td class="nhsuk-table__cell nhsuk-table__cell--numeric">2</td>' in page


def test_demo_has_attendance_with_people_falling_behind(app, runner, frozen_now):
    runner.invoke(args=["seed-demo"])
    from app.attendance.services import cohort_matrix

    running = db.session.scalars(select(Cohort).order_by(Cohort.starts_on)).first()
    matrix = cohort_matrix(running, clock.now())
    assert 1 <= len(matrix.at_risk) <= 6
    assert sum(p.counted for p in matrix.people) > 0


def test_demo_has_a_populated_portal(app, runner, frozen_now):
    runner.invoke(args=["seed-demo"])
    from app.portal.models import Resource, Thread

    assert db.session.scalar(select(func.count()).select_from(Resource)) >= 13
    assert db.session.scalar(select(func.count()).select_from(Thread)) >= 2
    assert {r.module_number for r in db.session.scalars(select(Resource).where(Resource.is_material))} >= {1, 2, 3, 4, 5}
    files = db.session.scalars(select(Resource).where(Resource.stored_name.is_not(None))).all()
    assert files and all((app.config["UPLOAD_DIR"] / r.stored_name).exists() for r in files)


def test_the_large_demo_seeds_history_libraries_applications_outbox_and_real_files(app, client, login_as, runner,
                                                                                  frozen_now, monkeypatch, tmp_path):
    """`flask seed-demo --scale large` (what the benchmarks use), at a small scale of its constants."""
    import hashlib

    from app.attendance.models import Attendance
    from app.notifications.models import OutboxMessage
    from app.portal.models import Resource
    from app.portal.uploads import path_for
    from demo import large as demo_large

    for name, value in {"COHORTS": 2, "PARTICIPANTS": 3, "RESOURCES": 8, "APPLICATIONS": 5, "OUTBOX_ROWS": 12,
                        "FILE_BYTES": 2000}.items():
        monkeypatch.setattr(demo_large, name, value)
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    result = runner.invoke(args=["seed-demo", "--scale", "large"])
    assert result.exit_code == 0, result.output

    archive = db.session.scalars(select(Cohort).where(Cohort.name.like("Archive cohort%")).order_by(Cohort.name)).all()
    assert [c.name for c in archive] == ["Archive cohort 01", "Archive cohort 02"]
    sessions = db.session.scalar(select(func.count()).select_from(ProgrammeSession)
                                 .where(ProgrammeSession.cohort_id == archive[0].id))
    registers = db.session.scalar(select(func.count()).select_from(Attendance)
                                  .join(ProgrammeSession, ProgrammeSession.id == Attendance.session_id)
                                  .where(ProgrammeSession.cohort_id == archive[0].id))
    assert registers == 3 * sessions  # every cell of the register filled in
    assert db.session.scalar(select(func.count()).select_from(Application)
                             .where(Application.cohort_id == archive[0].id)) == 5
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.key.like("archive:%"))) == 12
    files = db.session.scalars(select(Resource).where(Resource.cohort_id == archive[0].id,
                                                      Resource.stored_name.is_not(None))).all()
    assert len(files) == 2  # every fourth of 8
    for resource in files:
        data = path_for(tmp_path / "uploads", resource.stored_name).read_bytes()
        assert data.startswith(b"%PDF-") and len(data) == resource.size > 2000
        assert hashlib.sha256(data).hexdigest() == resource.sha256
    login_as(db.session.scalar(select(User).where(User.email == "team@example.org")))
    with client.get(f"/resources/{files[0].id}/download") as response:
        assert response.status_code == 200 and response.data.startswith(b"%PDF-")


def test_every_image_the_design_system_stylesheet_uses_is_served(client):
    """The NHS.UK stylesheet's icons (search box cross, sortable table arrows) load from our copy."""
    import re
    from urllib.parse import urljoin

    with client.get(stylesheet_path := "/static/nhsuk/nhsuk-frontend.min.css") as response:
        stylesheet = response.get_data(as_text=True)
    images = {url for url in re.findall(r"url\(([^)]+)\)", stylesheet) if not url.startswith(("http", "data:"))}
    assert images, "the stylesheet uses no images of its own"
    for url in images:
        with client.get(urljoin(stylesheet_path, url)) as response:
            assert response.status_code == 200, url


def test_the_web_entry_point_keeps_start_up_objects_out_of_the_garbage_collectors_way(tmp_path):
    """A full collection over everything start-up made took 85-95 ms, in the middle of some request."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "CONVENE_ENV": "development", "SCHEDULER_EMBEDDED": "false",
           "CONVENE_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/convene.sqlite3"}
    env.pop("TEST_DATABASE_URL", None)
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=root, env=env,
                   capture_output=True, timeout=120, check=True)  # the entry point refuses an unmigrated database
    # gc.get_objects() lists only what collections still examine; frozen objects are not in it.
    script = (
        "import gc, json, wsgi\n"
        "from app.db import db\n"
        "startup = {'app': wsgi.app, 'url_map': wsgi.app.url_map, 'view_functions': wsgi.app.view_functions,\n"
        "           'config': wsgi.app.config, 'jinja_env': wsgi.app.jinja_env, 'metadata': db.metadata}\n"
        "examined = {id(o) for o in gc.get_objects()}\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'examined': len(examined),\n"
        "                  'startup_examined': sorted(n for n, o in startup.items() if id(o) in examined),\n"
        "                  'startup_tracked': all(gc.is_tracked(o) for o in startup.values())}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script],
                          cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    import json

    found = json.loads(done.stdout.splitlines()[-1])
    assert found["frozen"] > 50_000
    # The long-lived start-up objects are ones the collector would otherwise examine (tracked), and none
    # of them is examined any more: a full collection walks what requests made, not what start-up made.
    assert found["startup_tracked"] is True and found["startup_examined"] == []
    assert found["examined"] * 100 < found["frozen"], found
