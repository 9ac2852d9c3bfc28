"""Writing to the outbox and sending what is due. Imports no other domain."""

from __future__ import annotations

import secrets
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import String, cast, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app import clock
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.urls import site_domain

# Reminder planners look back this far, so after downtime they still write what is relevant
# (each row also expires when it stops being useful, so nothing goes out late).
CATCH_UP = timedelta(hours=24)
# A row left in "sending" this long (its worker died) is claimed again.
CLAIM_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: str

    def as_dict(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type, "content": self.content}


def _clean_header(value: str) -> str:
    """CR and LF can never reach a header: they would let a value add headers of its own."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def queue_email(*, key: str, recipient: str, subject: str, body_text: str, body_html: str = "",
                due_at: datetime, category: str = "general",
                attachments: list[Attachment] | None = None, expires_at: datetime | None = None) -> bool:
    """Write an email to the outbox in the caller's transaction.

    The key makes this idempotent: a second call with the same key changes nothing and
    returns False. Returns True when a row was written.
    """
    recipient = _clean_header(recipient).lower()
    if not recipient or any(c in recipient for c in ",;<> ") or recipient.count("@") != 1:
        raise ValueError(f"an outbox message goes to exactly one plain address, not {recipient!r}")
    values = dict(
        key=key,
        recipient=recipient,
        subject=_clean_header(subject)[:250],
        body_text=body_text,
        body_html=body_html,
        attachments=[a.as_dict() for a in (attachments or [])],
        category=category,
        due_at=due_at,
        expires_at=expires_at,
        status=OutboxStatus.PENDING.value,
        attempts=0,
        last_error="",
        message_id="",
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["key"])
                 .returning(OutboxMessage.id))
    return db.session.execute(statement).scalar_one_or_none() is not None


def cancel_pending(key_prefix: str) -> int:
    """Cancel pending messages whose key starts with a prefix (a re-plan). Returns how many."""
    # An exact comparison of the key's start: LIKE is case-insensitive on SQLite and treats % and _ as wildcards.
    result = db.session.execute(
        update(OutboxMessage)
        .where(func.substr(OutboxMessage.key, 1, len(key_prefix)) == key_prefix,
               OutboxMessage.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def cancel_pending_any(key_prefixes: list[str]) -> int:
    """cancel_pending for many prefixes, a few hundred to a statement. Returns how many."""
    cancelled = 0
    for start in range(0, len(key_prefixes), 200):
        chunk = key_prefixes[start:start + 200]
        result = db.session.execute(
            update(OutboxMessage)
            .where(or_(*(func.substr(OutboxMessage.key, 1, len(prefix)) == prefix for prefix in chunk)),
                   OutboxMessage.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.CANCELLED.value, last_error="Cancelled: its reminder rule changed")
            .execution_options(synchronize_session=False)
        )
        cancelled += result.rowcount
    return cancelled


def cancel_pending_keys(keys: list[str]) -> int:
    """Cancel pending messages with exactly these keys. Returns how many."""
    cancelled = 0
    for start in range(0, len(keys), 500):
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key.in_(keys[start:start + 500]), OutboxMessage.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.CANCELLED.value, last_error="Cancelled: its reminder rule changed")
            .execution_options(synchronize_session=False)
        )
        cancelled += result.rowcount
    return cancelled


def cancel_pending_to(recipient: str, categories: tuple[str, ...]) -> int:
    """Cancel someone's pending emails of these categories (they left the programme, for example)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient == recipient.lower(), OutboxMessage.category.in_(categories),
               OutboxMessage.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value, last_error="Cancelled: the person left the programme")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def build_message(row: OutboxMessage, *, sender: str, domain: str, now: datetime | None = None) -> Message:
    """The MIME message for a row: plain text, an HTML alternative, then attachments.

    Built with the email package's classic MIME classes: the modern EmailMessage API parses every
    header it is given and cost about 7 ms a message, which capped sending near 130 a second.
    """
    body = MIMEText(row.body_text, "plain", "utf-8")
    if row.body_html:
        alternative = MIMEMultipart("alternative")
        alternative.attach(body)
        alternative.attach(MIMEText(row.body_html, "html", "utf-8"))
        body = alternative
    if row.attachments:
        message = MIMEMultipart("mixed")
        message.attach(body)
        for attachment in row.attachments:
            maintype, subtype = attachment["content_type"].split(";")[0].strip().split("/")
            if maintype == "text":
                part = MIMEText(attachment["content"], subtype, "utf-8")
            else:
                part = MIMEApplication(attachment["content"].encode("utf-8"), subtype)
            part.add_header("Content-Disposition", "attachment", filename=attachment["filename"])
            message.attach(part)
    else:
        message = body
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = Header(row.subject, "utf-8").encode() if not row.subject.isascii() else row.subject
    message["Date"] = format_datetime(now or row.due_at)
    message["Message-ID"] = row.message_id or message_id_for(row.id, row.claim_token, domain)
    message["X-Convene-Key"] = _clean_header(row.key)
    return message


def _claim(now: datetime, limit: int) -> tuple[str, list[int]]:
    """Atomically mark up to `limit` due rows as ours. Committed before sending.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so several senders never wait on or take each other's
    rows. SQLite: the conditional UPDATE runs under BEGIN IMMEDIATE, which serialises claims.
    """
    token = secrets.token_hex(16)
    stale = now - CLAIM_LEASE
    table = OutboxMessage.__table__
    # Reminders that became irrelevant while waiting (their session started) are skipped.
    db.session.execute(
        update(table).where(table.c.status == OutboxStatus.PENDING.value, table.c.expires_at <= now)
        .values(status=OutboxStatus.CANCELLED.value, last_error="Skipped: no longer relevant when it was due")
    )
    due = select(table.c.id).where(
        or_(
            (table.c.status == OutboxStatus.PENDING.value) & (table.c.due_at <= now),
            (table.c.status == OutboxStatus.SENDING.value) & (table.c.claimed_at < stale),
        )
    ).order_by(table.c.due_at, table.c.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # One statement claims the batch (no list of ids sent back and forth); then read what we got.
    db.session.execute(
        update(table).where(table.c.id.in_(due.scalar_subquery()))
        .values(status=OutboxStatus.SENDING.value, claimed_at=now, claim_token=token, attempts=table.c.attempts + 1)
    )
    ids = list(db.session.scalars(select(table.c.id).where(table.c.claim_token == token).order_by(table.c.id)))
    db.session.commit()
    return token, ids


def message_id_for(row_id: int, token: str | None, domain: str) -> str:
    """The Message-ID of one sending attempt: unique, and computable in SQL when marking a batch sent."""
    return f"<outbox.{row_id}.{token}@{domain}>" if token else make_msgid(idstring=f"outbox-{row_id}", domain=domain)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 1, 2, 4, 8 ... minutes after each failed attempt."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


def send_due(now: datetime, *, transport=None, limit: int | None = None) -> int:
    """Send every due message once. Returns how many were sent.

    Claims a batch, commits the claim, sends, then records each outcome. Safe to run in several
    processes at once: a row is claimed by one of them only.
    """
    config = current_app.config
    transport = transport or current_app.extensions["convene_mail"]
    limit = limit or config["OUTBOX_BATCH_SIZE"]
    max_attempts = config["OUTBOX_MAX_ATTEMPTS"]
    domain = site_domain()
    sent_total = 0
    while True:
        token, ids = _claim(now, limit)
        if not ids:
            return sent_total
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id)
        ).all()
        sent_ids: list[tuple[int, str]] = []
        # Transports that can, send a batch over one connection; plain ones send one by one.
        with (transport.batch() if hasattr(transport, "batch") else nullcontext()):
            for row in rows:
                try:
                    message = build_message(row, sender=config["MAIL_FROM"], domain=domain, now=now)
                    transport.send(message)
                except Exception as error:  # noqa: BLE001 - any transport failure is recorded and retried
                    row.last_error = f"{type(error).__name__}: {error}"[:2000]
                    row.claim_token = None
                    if row.attempts >= max_attempts:
                        row.status = OutboxStatus.FAILED.value
                    else:
                        row.status = OutboxStatus.PENDING.value
                        row.due_at = now + retry_delay(row.attempts)
                else:
                    sent_ids.append((row.id, message["Message-ID"]))
        if sent_ids:
            _mark_sent(token, now, domain)
        db.session.commit()
        sent_total += len(sent_ids)
        if len(ids) < limit:
            return sent_total


def _mark_sent(token: str, now: datetime, domain: str) -> None:
    """Mark the rows of this claim that were sent (failures were flushed back to pending), in one
    statement, and only while the claim is still ours: a sender that outlived its lease marks nothing."""
    db.session.flush()
    table = OutboxMessage.__table__
    db.session.execute(
        update(table).where(table.c.claim_token == token, table.c.status == OutboxStatus.SENDING.value)
        .values(status=OutboxStatus.SENT.value, sent_at=now, claim_token=None, last_error="",
                message_id=literal("<outbox.") + cast(table.c.id, String) + literal(f".{token}@{domain}>"))
    )


def backlog(now: datetime) -> dict:
    """Counts for health checks and the outbox page."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({status: n for status, n in rows})
    overdue = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.due_at <= now
        )
    )
    return {"by_status": counts, "due_now": overdue}
