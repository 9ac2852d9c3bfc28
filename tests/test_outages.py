"""When the database cannot be reached, pages say so with a 503 and a retry hint, never a 500."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from app import clock
from app.db import db
from tests.factories import make_team


def test_a_database_that_cannot_be_reached_answers_503_with_retry_after(client, login_as, monkeypatch):
    login_as(make_team())
    assert client.get("/team/").status_code == 200

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("could not connect to server: Connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    monkeypatch.setattr(db.session, "scalars", unreachable)
    monkeypatch.setattr(db.session, "scalar", unreachable)
    response = client.get("/team/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "unavailable for a moment" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert client.get("/team/").status_code == 200  # back by itself


def test_a_form_on_a_page_that_sends_no_referrer_works_behind_tls(app, client, monkeypatch, frozen_now):
    """Behind nginx with TLS (PROXY_HOPS=1) the reset page's form is posted without a Referer (the page
    says no-referrer so its secret address goes nowhere): it must not be refused as a forged form."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app.auth.services import request_password_reset
    from app.notifications.models import OutboxMessage
    from app.notifications.services import open_links
    from tests.factories import make_user

    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1))
    user = make_user(email="tls.reset@example.org")
    request_password_reset(email=user.email, now=clock.now())
    db.session.commit()
    import re

    body = db.session.query(OutboxMessage).filter_by(recipient=user.email).one().body_text
    path = re.search(r"/password/reset/[A-Za-z0-9_\-]+", open_links(body)).group(0)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.77.0.51"}
    page = client.get(path, headers=https)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.get_data(as_text=True)).group(1)
    done = client.post(path, headers=https, data={"csrf_token": token, "password": "a fresh long phrase",
                                                  "confirm": "a fresh long phrase"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/sign-in")
