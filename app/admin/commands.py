"""Data retention on the command line: `flask retention apply`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import clock
from app.admin.retention import apply_retention
from app.db import db

retention = AppGroup("retention", help="The data retention schedule.")


@retention.command("apply")
def retention_apply() -> None:
    """Apply the retention schedule now (the scheduler does this every night)."""
    done = apply_retention(clock.now())
    db.session.commit()
    click.echo("Retention applied: " + ", ".join(f"{count} {what}" for what, count in done.items()) + ".")


def register(cli: click.Group) -> None:
    cli.add_command(retention)
