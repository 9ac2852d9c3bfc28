"""Shared fixtures: app, db, client, runner, login_as, a frozen clock, mail and SMTP guards, and the
"no GET writes" guard.

The database comes from TEST_DATABASE_URL (PostgreSQL in `make test`'s second pass) or a
SQLite file in a temporary folder. Tables are created once per run; each test starts empty.
"""

from __future__ import annotations

import contextvars
import os
import re
import smtplib
import threading
from datetime import UTC, datetime

import flask_migrate
import pytest
import time_machine
from flask import has_request_context, request, request_started
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from app import create_app
from app.db import _write_unit
from app.db import db as _db
from app.programme.models import ProgrammeTemplate
from app.programme.services.templates import hin_details


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


# -- No GET writes ------------------------------------------------------------------------------
# A link in an email must never change anything on GET (mail scanners open links), and a page view
# must not take the write lock. Every GET, HEAD or OPTIONS request any test makes (through any app's
# test client, or a live server in the browser tests) is watched at the cursor: an INSERT, UPDATE,
# DELETE or DDL statement fails the test, naming the statement and the endpoint, unless it is declared
# below. Row counts cannot see an UPDATE, or an INSERT and a DELETE that cancel out; this can.

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # as app/__init__.py's READ_METHODS
_READ_REQUEST = "convene.tests.read_request"  # set in the request's environ when a read is dispatched

# Writes a read request may make outside `write_unit()`: (verb, table) -> (a value the statement's
# parameters must hold, the reason). Writes inside `app.db.write_unit()` are allowed whatever the
# table: that block is how a GET declares "this view records something" (an export or download in
# the audit log, a held form given back once), and it takes the write lock for it.
ALLOWED_GET_WRITES: dict[tuple[str, str], tuple[str, str]] = {
    ("INSERT", "audit_events"): (
        "access_denied",
        "a refused GET (403) is logged by the 403 error handler (app/__init__.py _record_denial): one "
        "append-only row per refusal, so the team can see who tried to open what"),
}

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|UPSERT|CREATE|DROP|ALTER|TRUNCATE)\b", re.I)
_TABLE = re.compile(r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM|REPLACE\s+INTO|"
                    r"MERGE\s+INTO|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?\"?(\w+)\"?", re.I)
_WITH_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b(?!\s+(?:NOWAIT|SKIP|OF)\b)", re.I)


def write_of(statement: str) -> tuple[str, str] | None:
    """(verb, table) if this SQL statement writes, else None. `SELECT ... FOR UPDATE` only locks."""
    text_ = statement.lstrip()
    if text_[:4].upper() == "WITH":  # a CTE that writes (Postgres): look for a data-changing verb
        body = re.sub(r"\bFOR\s+UPDATE\b", "", text_, flags=re.I)
        found = _WITH_WRITE.search(body)
        return (found.group(1).upper(), "?") if found else None
    verb = _WRITE.match(text_)
    if verb is None:
        return None
    table = _TABLE.match(text_)
    return verb.group(1).upper(), (table.group(1).lower() if table else "?")


# The GET writes found so far: per request made through IsolatedClient (checked when it returns),
# and, for anything else (another app's plain client, a live server's thread), for the whole test.
_request_writes: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("get_writes", default=None)
_stray_writes: list[str] = []


def _declared(write: tuple[str, str], parameters) -> bool:
    allowed = ALLOWED_GET_WRITES.get(write)
    return allowed is not None and allowed[0] in repr(parameters)


def _mark_read_request(sender, **_extra):
    if request.method in READ_METHODS:
        request.environ[_READ_REQUEST] = True


def _watch_for_get_writes(_connection, _cursor, statement, _parameters, _context, _executemany):
    if not has_request_context() or not request.environ.get(_READ_REQUEST):
        return
    if _write_unit.get():  # inside write_unit(): a declared write
        return
    write = write_of(statement)
    if write is None or _declared(write, _parameters):
        return
    found = _request_writes.get()
    (found if found is not None else _stray_writes).append(
        f"{request.method} {request.path} (endpoint {request.endpoint}) wrote outside write_unit(): "
        f"{' '.join(statement.split())[:300]}")


@pytest.fixture(scope="session", autouse=True)
def no_get_writes_guard():
    """Watch every engine (the suite's and any a test builds) for writes during a read request."""
    request_started.connect(_mark_read_request)
    event.listen(Engine, "before_cursor_execute", _watch_for_get_writes)
    yield
    event.remove(Engine, "before_cursor_execute", _watch_for_get_writes)
    request_started.disconnect(_mark_read_request)


@pytest.fixture(autouse=True)
def no_stray_get_writes(no_get_writes_guard):
    """Fail a test whose GETs wrote where IsolatedClient could not say so at once."""
    _stray_writes.clear()
    yield
    found, _stray_writes[:] = list(_stray_writes), []
    if found:
        pytest.fail("a read request wrote to the database:\n" + "\n".join(found), pytrace=False)


class IsolatedClient(FlaskClient):
    """Each request runs as it does in production: its own app context, g and database session.

    What the test has written so far is committed first, so the request sees it; afterwards the
    test's objects reload from the database. A view that forgets to commit fails its test.
    """

    def open(self, *args, **kwargs):
        _db.session.commit()
        found: list[str] = []
        token = _request_writes.set(found)
        try:
            with self.application.app_context():
                response = super().open(*args, **kwargs)
        finally:
            _request_writes.reset(token)
        _db.session.expire_all()
        if found:
            if threading.current_thread() is not threading.main_thread():
                _stray_writes.extend(found)  # a thread may swallow the failure: the test's teardown will not
            pytest.fail("a read request wrote to the database:\n" + "\n".join(found), pytrace=False)
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


DEFAULT_TEMPLATE_ROW = {**vars(hin_details()), "id": 1, "is_default": True,
                        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "updated_at": datetime(2026, 1, 1, tzinfo=UTC)}


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
            # As after the migrations: the default programme template (the HIN year) is always there.
            connection.execute(ProgrammeTemplate.__table__.insert().values(DEFAULT_TEMPLATE_ROW))
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


def count_queries(app, client, path: str) -> int:
    """How many SQL statements a GET of `path` runs (transaction control left out); it must answer 200."""
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200, path
    return len(statements)
