"""The commands that wire several domains together or serve the whole application.

Each domain registers its own commands (`app/<domain>/commands.py`); `register_commands` in
app/__init__.py wires them and these. Here: `seed-demo` (the demo package), `backup` and `restore`
(every table and file), `content check`, `scheduler run` and `reminders plan` (every domain's jobs),
and the guard on `flask db downgrade base`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app import clock
from app.db import db


def guard_downgrade_to_base() -> None:
    """`flask db downgrade base` drops every table: on a database that holds people, ask first."""
    from flask_migrate.cli import db as migrate_group

    command = migrate_group.commands["downgrade"]
    if getattr(command.callback, "convene_guarded", False):
        return
    original = command.callback

    @with_appcontext
    def guarded(directory, sql, tag, x_arg, revision):
        if revision == "base" and not sql:
            from sqlalchemy import inspect, text

            people = 0
            if "users" in inspect(db.engine).get_table_names():
                people = db.session.scalar(text("SELECT COUNT(*) FROM users")) or 0
            db.session.remove()
            if people and not click.confirm(f"This removes every table and all the data in them, including "
                                            f"{people} account(s). There is no undo without a backup. Go on?",
                                            default=False):
                raise click.ClickException("Nothing was changed.")
        return original(directory, sql, tag, x_arg, revision)

    guarded.convene_guarded = True
    command.callback = guarded


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has people in it.")
@click.option("--scale", type=click.Choice(["normal", "large"]), default="normal",
              help="large adds 20 cohorts of 30 with attendance, 2,000 resources, 500 applications and "
                   "10,000 outbox rows (for benchmarks).")
@with_appcontext
def seed_demo(if_empty: bool, scale: str) -> None:
    """Fill the database with a fictional demo cohort."""
    # The demo lives outside the application package (demo/ beside app/): only this command loads it.
    from demo.large import seed_large
    from demo.seed import DEMO_LOGINS, database_is_empty, seed

    if if_empty and not database_is_empty():
        click.echo("The database already has data: demo not seeded.")
    else:
        (seed_large if scale == "large" else seed)(now=clock.now())
        db.session.commit()
        click.echo("Large demo data created." if scale == "large" else "Demo data created.")
    click.echo(f"Demo logins (password for each: {DEMO_LOGINS['password']}):")
    for role, email in DEMO_LOGINS["accounts"]:
        click.echo(f"  {role:<28} {email}")


content = AppGroup("content", help="The programme's content in modules_content/.")


@content.command("check")
def content_check() -> None:
    """Validate every content file; report problems with file and line."""
    from app.content import ContentError, load_content

    try:
        loaded = load_content(current_app.config["CONTENT_DIR"])
    except ContentError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(f"Content is valid: {len(loaded.modules)} modules, {len(loaded.pages)} pages.")


@click.command("plan")
@with_appcontext
def plan_reminders_command() -> None:
    """Write the reminders that fall due in the next days to the outbox (idempotent)."""
    from app.scheduler import plan_reminders

    planned = plan_reminders(clock.now())
    db.session.commit()
    click.echo(f"Planned {planned} reminder(s).")


scheduler = AppGroup("scheduler", help="The scheduler that sends reminders.")


@scheduler.command("run")
def scheduler_run() -> None:
    """Run the scheduler in the foreground (the production scheduler process)."""
    import logging

    from app.scheduler import run_blocking

    # What it sent, planned and any failure go to stderr, for systemd's journal or the container log.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_blocking(current_app._get_current_object())


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(target: Path) -> None:
    """Write the database and uploaded files to TARGET (a .tar.gz)."""
    from app.backup import BackupError, backup

    try:
        manifest = backup(target, now=clock.now())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up the {manifest['database']} database (revision {manifest['revision']}) and "
               f"{manifest['files']} file(s) to {target}.")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database and uploaded files with those in SOURCE."""
    from app.backup import BackupError, restore

    def confirm(plan: list[str]) -> bool:
        for line in plan:
            click.echo(line)
        return yes or click.confirm("Go on?", default=False)

    try:
        manifest = restore(source, confirm=confirm)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except click.Abort:
        raise click.ClickException("Nothing was restored.") from None
    click.echo(f"Restored the backup made {manifest['created_at']}.")


def register(cli: click.Group) -> None:
    """Add these commands to `cli` (the app's), after the domains have added theirs."""
    guard_downgrade_to_base()
    for command in (seed_demo, content, scheduler, backup_command, restore_command):
        cli.add_command(command)
    # notifications owns the `reminders` group but cannot see the domains that plan reminders.
    cli.commands["reminders"].add_command(plan_reminders_command)
