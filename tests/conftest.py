"""Shared fixtures: app, db, client, runner, login_as, a frozen clock, mail and SMTP guards.

The database comes from TEST_DATABASE_URL (PostgreSQL in `make test`'s second pass) or a
SQLite file in a temporary folder. Tables are created once per run; each test starts empty.
"""

from __future__ import annotations

import os
import smtplib
from datetime import UTC, datetime

import flask_migrate
import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.db import db as _db


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


class IsolatedClient(FlaskClient):
    """Each request runs as it does in production: its own app context, g and database session.

    What the test has written so far is committed first, so the request sees it; afterwards the
    test's objects reload from the database. A view that forgets to commit fails its test.
    """

    def open(self, *args, **kwargs):
        _db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        _db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_FILE_DIR": tmp_path_factory.mktemp("mail"),
        "UPLOAD_DIR": tmp_path_factory.mktemp("uploads"),
    })
    with app.app_context():
        # Start from nothing and build the schema with the migrations, as production does.
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        else:
            _db.drop_all()
        flask_migrate.upgrade()
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def db(app):
    """The database, emptied after each test (every table, in dependency order)."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as connection:
            for table in reversed(_db.metadata.sorted_tables):
                connection.execute(table.delete())
        app.extensions["convene_mail"].sent.clear()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login_as(client):
    """Sign a user in on the test client without a password check (scrypt is slow)."""

    def _login(user):
        return sign_in_client(client, user)

    return _login


@pytest.fixture
def scratch_database_url(app, tmp_path):
    """An empty database of the suite's kind, for tests that migrate one of their own."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    name = "convene_scratch_test"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def sign_in_client(client, user):
    """Give the test client a live signed-in session for this user (as the sign-in form would)."""
    from app import clock
    from app.auth.sessions import start_session

    token = start_session(user, now=clock.now())
    _db.session.commit()
    with client.application.app_context(), client.session_transaction() as session:
        session.clear()
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["sid"] = token
        session["seen"] = clock.now().timestamp()
    return client


@pytest.fixture
def mailbox(app):
    """Messages the memory transport has sent in this test."""
    return app.extensions["convene_mail"].sent


FROZEN_AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def frozen_now():
    """The clock stopped at a known instant (a Monday, GMT)."""
    with time_machine.travel(FROZEN_AT, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def no_smtp(monkeypatch):
    """No test opens a real SMTP connection unless it says so explicitly."""

    class _Blocked:
        def __init__(self, *args, **kwargs):
            raise AssertionError("a test tried to open an SMTP connection")

    monkeypatch.setattr(smtplib, "SMTP", _Blocked)
    monkeypatch.setattr(smtplib, "SMTP_SSL", _Blocked)


def csrf_token(client, path: str) -> str:
    """Load a page and return the CSRF token from its form."""
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)
