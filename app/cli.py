"""Command-line interface: `flask --app wsgi <command>`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app import clock
from app.db import db


def guard_downgrade_to_base() -> None:
    """`flask db downgrade base` drops every table: on a database that holds people, ask first."""
    from flask.cli import with_appcontext
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


def register(app: Flask) -> None:
    guard_downgrade_to_base()

    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt=True)
    @click.password_option()
    def create_admin(email: str, name: str, password: str) -> None:
        """Create a programme team account (or make an existing account team), its address confirmed."""
        from app.auth.services import create_admin as create
        from app.errors import DomainError

        try:
            user = create(email=email, name=name, password=password, now=clock.now())
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
        click.echo(f"{user.email} is a programme team account.")

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when the database already has people in it.")
    @click.option("--scale", type=click.Choice(["normal", "large"]), default="normal",
                  help="large adds 20 cohorts of 30 with attendance, 2,000 resources, 500 applications and "
                       "10,000 outbox rows (for benchmarks).")
    def seed_demo(if_empty: bool, scale: str) -> None:
        """Fill the database with a fictional demo cohort."""
        from app.demo import DEMO_LOGINS, database_is_empty, seed
        from app.demo_large import seed_large

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

    app.cli.add_command(content)

    reminders = AppGroup("reminders", help="The outbox of emails and reminders.")

    @reminders.command("send-due")
    def send_due_command() -> None:
        """Send every email that is due now. Exits 1 when the mail server refused or could not be reached."""
        from app.notifications.services import send_due_report

        report = send_due_report(clock.now())
        db.session.commit()
        click.echo(f"Sent {report.sent} message(s).")
        if report.deferred or report.failed:
            problem = "; ".join(report.errors[:3]) or "no reason given"
            click.echo(f"{report.deferred + report.failed} message(s) could not be sent: the mail server at "
                       f"{current_app.config['SMTP_HOST']}:{current_app.config['SMTP_PORT']} said or did: {problem}. "
                       f"{report.deferred} will be tried again later; {report.failed} failed for good "
                       "(retry them with `flask reminders retry-failed`).", err=True)
            raise SystemExit(1)

    @reminders.command("retry-failed")
    @click.option("--id", "message_id", type=int, default=None, help="Only this outbox message.")
    def retry_failed_command(message_id: int | None) -> None:
        """Send failed email again: every failed message, or one (audited)."""
        from app.audit import record
        from app.notifications.services import retry_failed

        count = retry_failed(now=clock.now(), message_id=message_id)
        record(actor=None, action="outbox_retried", target_type="outbox_message", target_id=message_id,
               detail={"count": count, "via": "command line"})
        db.session.commit()
        click.echo(f"{count} failed message(s) will be sent again on the next run.")

    @reminders.command("plan")
    def plan_command() -> None:
        """Write the reminders that fall due in the next days to the outbox (idempotent)."""
        from app.scheduler import plan_reminders

        planned = plan_reminders(clock.now())
        db.session.commit()
        click.echo(f"Planned {planned} reminder(s).")

    app.cli.add_command(reminders)

    scheduler = AppGroup("scheduler", help="The scheduler that sends reminders.")

    @scheduler.command("run")
    def scheduler_run() -> None:
        """Run the scheduler in the foreground (the production scheduler process)."""
        import logging

        from app.scheduler import run_blocking

        # What it sent, planned and any failure go to stderr, for systemd's journal or the container log.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run_blocking(current_app._get_current_object())

    app.cli.add_command(scheduler)

    @app.cli.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(target: Path) -> None:
        """Write the database and uploaded files to TARGET (a .tar.gz)."""
        from app.backup import BackupError, backup

        try:
            manifest = backup(target, now=clock.now())
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Backed up the {manifest['database']} database (revision {manifest['revision']}) and "
                   f"{manifest['files']} file(s) to {target}.")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
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

    retention = AppGroup("retention", help="The data retention schedule.")

    @retention.command("apply")
    def retention_apply() -> None:
        """Apply the retention schedule now (the scheduler does this every night)."""
        from app.admin.retention import apply_retention

        done = apply_retention(clock.now())
        db.session.commit()
        click.echo("Retention applied: " + ", ".join(f"{count} {what}" for what, count in done.items()) + ".")

    app.cli.add_command(retention)

    feedback_group = AppGroup("feedback", help="Feedback after sessions.")

    @feedback_group.command("release")
    def feedback_release() -> None:
        """Release the held-back anonymous answers of sessions whose feedback has closed (the scheduler
        does this every 15 minutes)."""
        from app.evaluation.jobs import release_feedback

        released = release_feedback(clock.now())
        db.session.commit()
        click.echo(f"Released {released} anonymous answer(s).")

    app.cli.add_command(feedback_group)
