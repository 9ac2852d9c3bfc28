"""The unit of work every changing view uses: all or nothing, and the user told which."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from sqlalchemy import func, select

from app.auth.models import Organisation
from app.db import db
from app.errors import DomainError
from app.unit_of_work import unit_of_work


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Organisation))


def test_a_block_that_ends_is_committed_and_its_message_flashed(app):
    with app.test_request_context("/", method="POST"):
        before = _count()
        with unit_of_work("Saved.") as work:
            db.session.add(Organisation(name="Commit Trust"))
            db.session.flush()
        db.session.rollback()  # nothing left to roll back: it was committed
        assert _count() == before + 1 and not work.failed
        assert get_flashed_messages(with_categories=True) == [("success", "Saved.")]


def test_a_broken_rule_rolls_back_every_write_and_is_flashed(app):
    with app.test_request_context("/", method="POST"):
        before = _count()
        with unit_of_work("Saved.") as work:
            db.session.add(Organisation(name="Half Written Trust"))
            db.session.flush()
            raise DomainError("Choose a date after the welcome.")
        assert _count() == before and work.failed and work.error.message == "Choose a date after the welcome."
        assert get_flashed_messages(with_categories=True) == [("error", "Choose a date after the welcome.")]


def test_a_form_view_keeps_the_error_for_its_page_and_flashes_nothing(app):
    with app.test_request_context("/", method="POST"):
        with unit_of_work(flash_error=False) as work:
            raise DomainError("Enter a name.", field="name")
        assert work.error.field == "name" and get_flashed_messages() == []


def test_a_message_set_inside_the_block_is_the_one_flashed(app):
    with app.test_request_context("/", method="POST"):
        with unit_of_work() as work:
            work.success = "Invitation sent to Ada."
        assert get_flashed_messages() == ["Invitation sent to Ada."]


def test_any_other_error_rolls_back_and_propagates(app):
    with app.test_request_context("/", method="POST"):
        before = _count()
        with pytest.raises(RuntimeError), unit_of_work("Saved."):
            db.session.add(Organisation(name="Crashing Trust"))
            db.session.flush()
            raise RuntimeError("boom")
        assert _count() == before and get_flashed_messages() == []
