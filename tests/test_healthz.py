"""/healthz: anyone learns only ok or not ok; which check failed, and the counts, are for signed-in staff
and for a monitor holding HEALTHZ_TOKEN. A scheduler that has stopped beating makes it 503."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import clock, heartbeat, scheduler
from app.db import db
from app.notifications.services import queue_email
from tests.factories import make_cohort, make_facilitator, make_participant, make_team

TOKEN = "monitor-token-" + "x" * 24


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config, "HEALTHZ_TOKEN", TOKEN)
    return TOKEN


def overdue_mail() -> None:
    queue_email(key="late", recipient="a@example.org", subject="S", body_text="B",
                due_at=clock.now() - timedelta(minutes=20))
    db.session.commit()


def test_the_public_answer_is_only_ok_or_error(client, token, frozen_now):
    healthy = client.get("/healthz")
    assert (healthy.status_code, healthy.get_json()) == (200, {"status": "ok"})
    assert healthy.headers["Cache-Control"] == "no-store"
    overdue_mail()
    unhealthy = client.get("/healthz")
    assert (unhealthy.status_code, unhealthy.get_json()) == (503, {"status": "error"})
    assert "overdue" not in unhealthy.get_data(as_text=True)


@pytest.mark.parametrize("sent", [
    {"headers": {"Authorization": f"Bearer {TOKEN}"}},
    {"headers": {"Authorization": f"bearer  {TOKEN} "}},
    {"query_string": {"token": TOKEN}},
])
def test_the_token_shows_the_details(client, token, frozen_now, sent):
    overdue_mail()
    response = client.get("/healthz", **sent)
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "error"
    assert "overdue" in " ".join(body["problems"]) and body["outbox"]["overdue"] == 1


@pytest.mark.parametrize("sent", [
    {"headers": {"Authorization": "Bearer wrong-token-of-the-same-sort-xxxxxx"}},
    {"headers": {"Authorization": f"Basic {TOKEN}"}},
    {"headers": {"Authorization": f"Bearer {TOKEN[:-1]}"}},
    {"query_string": {"token": ""}},
])
def test_a_wrong_token_gets_the_public_answer(client, token, frozen_now, sent):
    assert client.get("/healthz", **sent).get_json() == {"status": "ok"}


def test_without_a_configured_token_no_token_works(client, app, monkeypatch, frozen_now):
    monkeypatch.setitem(app.config, "HEALTHZ_TOKEN", "")
    assert client.get("/healthz", headers={"Authorization": "Bearer "}).get_json() == {"status": "ok"}
    assert client.get("/healthz", query_string={"token": ""}).get_json() == {"status": "ok"}


@pytest.mark.parametrize(("make", "details"), [
    (make_team, True),
    (make_facilitator, True),
    (lambda: make_participant(make_cohort()), False),
])
def test_signed_in_staff_see_the_details_participants_do_not(client, login_as, frozen_now, make, details):
    login_as(make())
    body = client.get("/healthz").get_json()
    assert ("outbox" in body and "scheduler" in body and body["database"] == "ok") is details
    assert body["status"] == "ok"
    if details:  # the values staff rely on, not only the keys
        assert (body["database"], body["migrations"], body["problems"]) == ("ok", "at head", [])
        assert body["outbox"]["due_now"] == 0 and body["outbox"]["by_status"]["pending"] == 0
        assert body["scheduler"]["heartbeat"] == {"last": None, "stale": True}
    else:  # a participant learns ok or not ok, and nothing else
        assert body == {"status": "ok"}


def test_each_scheduler_run_beats_and_a_silent_scheduler_is_503(app, client, token, monkeypatch, frozen_now):
    monkeypatch.setitem(app.config, "SCHEDULER_REQUIRED", True)
    auth = {"Authorization": f"Bearer {token}"}
    never = client.get("/healthz", headers=auth)
    assert never.status_code == 503 and never.get_json()["scheduler"]["heartbeat"]["last"] is None
    assert "no scheduler has run" in " ".join(never.get_json()["problems"])
    assert client.get("/healthz").get_json() == {"status": "error"}

    scheduler._use(app)  # the job store calls the job with no arguments; it finds this app
    scheduler.send_due_job()
    assert heartbeat.last_beat() == clock.now()
    alive = client.get("/healthz", headers=auth)
    assert alive.status_code == 200 and alive.get_json()["scheduler"]["heartbeat"]["stale"] is False

    frozen_now.move_to(clock.now() + timedelta(minutes=app.config["HEARTBEAT_STALE_MINUTES"], seconds=1))
    stale = client.get("/healthz", headers=auth)
    assert stale.status_code == 503 and stale.get_json()["scheduler"]["heartbeat"]["stale"] is True
    assert client.get("/healthz").get_json() == {"status": "error"}


def test_the_scheduler_is_not_required_outside_production_by_default(client, token, frozen_now):
    body = client.get("/healthz", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["status"] == "ok" and body["scheduler"]["heartbeat"]["stale"] is True
