"""The "no GET writes" guard in conftest.py has teeth: a read request that writes fails its test.

Row counts (tests/test_access.py) miss an UPDATE, and an INSERT and a DELETE that cancel out; the
guard watches the statements themselves. These tests give a throwaway app views that write on GET
and check each is caught, or let through only where the write is declared.
"""

from __future__ import annotations

import pytest
from flask import jsonify
from sqlalchemy import delete, select, update

from app import audit, create_app
from app.audit import AuditEvent
from app.auth.models import User
from app.db import db, write_unit
from app.extensions import csrf
from app.permissions import public
from tests import conftest
from tests.conftest import IsolatedClient, write_of
from tests.factories import make_user


@pytest.fixture
def writing_app(app):
    """The suite's app again (same database) with views that write on GET in different ways."""
    fresh = create_app({**app.config})
    fresh.test_client_class = IsolatedClient

    @public
    def rename_on_get():
        db.session.execute(update(User).values(name="Renamed by a GET"))
        db.session.commit()
        return jsonify(done=True)

    @public
    def delete_on_get():
        db.session.execute(delete(User).where(User.email == "nobody@example.org"))
        db.session.commit()
        return jsonify(done=True)

    @public
    def record_download():
        user = db.session.scalar(select(User))
        with write_unit():
            audit.record(actor=user, action="downloaded", target_type="user", target_id=user.id)
        return jsonify(done=True)

    @public
    def audit_outside_write_unit():
        audit.record(actor=None, action="downloaded", target_type="user", target_id=None)
        db.session.commit()
        return jsonify(done=True)

    @public
    def read_only():
        return jsonify(names=list(db.session.scalars(select(User.name))))

    fresh.add_url_rule("/test/rename", "rename_on_get", rename_on_get, methods=["GET", "POST"])
    fresh.add_url_rule("/test/delete", "delete_on_get", delete_on_get)
    fresh.add_url_rule("/test/download", "record_download", record_download)
    fresh.add_url_rule("/test/audit", "audit_outside_write_unit", audit_outside_write_unit)
    fresh.add_url_rule("/test/read", "read_only", read_only)
    csrf.exempt(rename_on_get)
    yield fresh
    with fresh.app_context():
        db.session.remove()
        db.engine.dispose()


def _names() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(User.name)))


def test_an_update_on_get_fails_the_test_naming_the_statement_and_the_endpoint(writing_app):
    make_user(name="Ada")
    with pytest.raises(pytest.fail.Exception) as failure:
        writing_app.test_client().get("/test/rename")
    message = str(failure.value)
    assert "GET /test/rename (endpoint rename_on_get)" in message
    assert "UPDATE users SET name=" in message
    # Row counts would not have seen it: the number of users is the same, the name is not.
    assert _names() == ["Renamed by a GET"]


def test_a_head_request_is_watched_too(writing_app):
    make_user(name="Ada")
    with pytest.raises(pytest.fail.Exception, match="HEAD /test/rename"):
        writing_app.test_client().head("/test/rename")


def test_the_same_update_on_post_is_not_the_guards_business(writing_app):
    make_user(name="Ada")
    assert writing_app.test_client().post("/test/rename").status_code == 200
    assert _names() == ["Renamed by a GET"]


def test_a_delete_on_get_is_caught_even_when_it_deletes_nothing(writing_app):
    make_user(name="Ada")
    with pytest.raises(pytest.fail.Exception, match=r"DELETE FROM users"):
        writing_app.test_client().get("/test/delete")


def test_an_insert_inside_write_unit_is_a_declared_write_and_passes(writing_app):
    user = make_user(name="Ada")
    response = writing_app.test_client().get("/test/download")
    assert response.status_code == 200
    db.session.rollback()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "downloaded")).all()
    assert event.actor_id == user.id


def test_the_audit_log_allowance_covers_refusals_only(writing_app):
    """audit_events is allowed outside write_unit() for the 403 handler's "access_denied" rows; any
    other audit row a GET writes must be in write_unit()."""
    with pytest.raises(pytest.fail.Exception, match=r"INSERT INTO audit_events"):
        writing_app.test_client().get("/test/audit")


def test_a_refused_get_may_log_the_refusal(app, client, login_as):
    login_as(make_user())
    assert client.get("/team/audit").status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(AuditEvent.action)) == "access_denied"


def test_a_read_that_only_reads_passes(writing_app):
    make_user(name="Ada")
    assert writing_app.test_client().get("/test/read").get_json() == {"names": ["Ada"]}


def test_a_plain_client_or_a_server_thread_cannot_hide_a_get_write(writing_app):
    """Requests that do not go through IsolatedClient are checked when the test ends."""
    from flask.testing import FlaskClient

    make_user(name="Ada")
    db.session.commit()
    plain = FlaskClient(writing_app)
    assert plain.get("/test/rename").status_code == 200
    found = list(conftest._stray_writes)
    conftest._stray_writes.clear()  # what the autouse fixture would fail this test with
    assert len(found) == 1 and "GET /test/rename (endpoint rename_on_get)" in found[0]


@pytest.mark.parametrize(("statement", "expected"), [
    ("INSERT INTO audit_events (at) VALUES (?)", ("INSERT", "audit_events")),
    ('  update "users" SET name=%(name)s', ("UPDATE", "users")),
    ("DELETE FROM held_forms WHERE id = ?", ("DELETE", "held_forms")),
    ("INSERT OR REPLACE INTO x VALUES (1)", ("INSERT", "x")),
    ("WITH due AS (SELECT id FROM outbox_messages) UPDATE outbox_messages SET status='sending'", ("UPDATE", "?")),
    ("CREATE TABLE t (id int)", ("CREATE", "?")),
    ("SELECT * FROM outbox_messages FOR UPDATE SKIP LOCKED", None),
    ("WITH x AS (SELECT 1) SELECT * FROM x FOR UPDATE", None),
    ("SELECT updated_at, deleted FROM users", None),
    ("BEGIN IMMEDIATE", None),
])
def test_what_counts_as_a_write(statement, expected):
    assert write_of(statement) == expected
