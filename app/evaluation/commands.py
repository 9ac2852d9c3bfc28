"""Feedback on the command line: `flask feedback release`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import clock
from app.db import db
from app.evaluation.jobs import release_all_feedback

feedback = AppGroup("feedback", help="Feedback after sessions and community meetings.")


@feedback.command("release")
def feedback_release() -> None:
    """Release the held-back anonymous answers of sessions and community meetings whose feedback has
    closed (the scheduler does this every 15 minutes)."""
    released = release_all_feedback(clock.now())
    db.session.commit()
    click.echo(f"Released {released} anonymous answer(s).")


def register(cli: click.Group) -> None:
    cli.add_command(feedback)
