"""Accounts on the command line: `flask create-admin`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app import clock
from app.auth import services as accounts
from app.db import db
from app.errors import DomainError


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option()
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create a programme team account (or make an existing account team), its address confirmed."""
    try:
        user = accounts.create_admin(email=email, name=name, password=password, now=clock.now())
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"{user.email} is a programme team account.")


def register(cli: click.Group) -> None:
    cli.add_command(create_admin)
