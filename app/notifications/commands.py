"""The outbox on the command line: `flask reminders send-due` and `flask reminders retry-failed`.

`reminders plan` asks every domain for its reminders, which notifications cannot see: the wiring on
top (app/cli.py) adds it to this group.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.audit import record
from app.db import db
from app.notifications.services import retry_failed, send_due_report

reminders = AppGroup("reminders", help="The outbox of emails and reminders.")


@reminders.command("send-due")
def send_due_command() -> None:
    """Send every email that is due now. Exits 1 when the mail server refused or could not be reached."""
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
    count = retry_failed(now=clock.now(), message_id=message_id)
    record(actor=None, action="outbox_retried", target_type="outbox_message", target_id=message_id,
           detail={"count": count, "via": "command line"})
    db.session.commit()
    click.echo(f"{count} failed message(s) will be sent again on the next run.")


def register(cli: click.Group) -> None:
    cli.add_command(reminders)
