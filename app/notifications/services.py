"""Writing to the outbox and sending what is due. Imports no other domain."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from html import escape as html_escape

from flask import current_app
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app import clock, sealing
from app.db import db
from app.notifications.models import OutboxMessage, OutboxStatus
from app.urls import site_domain

# Reminder planners look back this far, so after downtime they still write what is relevant
# (each row also expires when it stops being useful, so nothing goes out late).
CATCH_UP = timedelta(hours=24)
# A row left in "sending" this long (its worker died) is claimed again. A live sender renews the lease
# of its batch at least this often, and of each message just before sending it.
CLAIM_LEASE = timedelta(minutes=10)
LEASE_RENEW_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: str

    def as_dict(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type, "content": self.content}


# Secret links (sign-off, RSVP, password reset) are written into an email's stored body sealed, and
# opened only as the message is built for sending: nobody reading the outbox table, its pages, a
# backup or a subject access export can follow one. `_LINK_CONTEXT` keeps this key apart from others.
_LINK_CONTEXT = b"convene outbox secret link v1"
_SEALED_LINK = re.compile(r"\[\[sealed:([A-Za-z0-9_-]+)\]\]")
REDACTED_LINK = "[a private link, only in the email itself]"


def seal_link(url: str) -> str:
    """A placeholder for `url` to put in an email's template instead of the link itself."""
    blob = sealing.seal(_LINK_CONTEXT, url.encode())
    return "[[sealed:" + base64.urlsafe_b64encode(blob).decode().rstrip("=") + "]]"


def open_links(text: str, *, html: bool = False) -> str:
    """The text as it is sent: every sealed placeholder replaced by its link."""
    def opened(match: re.Match) -> str:
        data = match.group(1)
        url = sealing.unseal(_LINK_CONTEXT, base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))).decode()
        return html_escape(url, quote=True) if html else url

    return _SEALED_LINK.sub(opened, text)


def redact_links(text: str) -> str:
    """The text as the team's pages show it: sealed links stay private."""
    return _SEALED_LINK.sub(REDACTED_LINK, text)


def _clean_header(value: str) -> str:
    """CR and LF can never reach a header: they would let a value add headers of its own."""
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def queue_email(*, key: str, recipient: str, subject: str, body_text: str, body_html: str = "",
                due_at: datetime, category: str = "general",
                attachments: list[Attachment] | None = None, expires_at: datetime | None = None,
                cohort_id: int | None = None) -> bool:
    """Write an email to the outbox in the caller's transaction (`cohort_id`: the cohort it is about).

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
        cohort_id=cohort_id,
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


def _with_prefix(prefixes: list[str]):
    return or_(*(func.substr(OutboxMessage.key, 1, len(prefix)) == prefix for prefix in prefixes))


def count_pending_any(key_prefixes: list[str]) -> int:
    """How many pending messages have a key starting with one of these prefixes."""
    return sum(db.session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(_with_prefix(key_prefixes[start:start + 200]), OutboxMessage.status == OutboxStatus.PENDING.value))
        for start in range(0, len(key_prefixes), 200))


def cancel_pending_any(key_prefixes: list[str], reason: str = "its reminder rule changed") -> int:
    """cancel_pending for many prefixes, a few hundred to a statement. Returns how many."""
    cancelled = 0
    for start in range(0, len(key_prefixes), 200):
        chunk = key_prefixes[start:start + 200]
        result = db.session.execute(
            update(OutboxMessage)
            .where(_with_prefix(chunk), OutboxMessage.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.CANCELLED.value, last_error=f"Cancelled: {reason}")
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


def build_message(row, *, sender: str, domain: str, now: datetime | None = None, message_id: str = "") -> Message:
    """The MIME message for a row: plain text, an HTML alternative, then attachments.

    Built with the email package's classic MIME classes: the modern EmailMessage API parses every
    header it is given and cost about 7 ms a message, which capped sending near 130 a second.
    """
    body = MIMEText(open_links(row.body_text), "plain", "utf-8")
    if row.body_html:
        alternative = MIMEMultipart("alternative")
        alternative.attach(body)
        alternative.attach(MIMEText(open_links(row.body_html, html=True), "html", "utf-8"))
        body = alternative
    if row.attachments:
        message = MIMEMultipart("mixed")
        message.attach(body)
        for attachment in row.attachments:
            maintype, subtype = attachment["content_type"].split(";")[0].strip().split("/")
            if maintype == "text":
                part = MIMEText(attachment["content"], subtype, "utf-8")
                # A calendar invitation's method travels in its MIME type too (iMIP, RFC 6047 2.4).
                for param in attachment["content_type"].split(";")[1:]:
                    name, _, value = param.partition("=")
                    if name.strip().lower() != "charset" and value.strip():
                        part.set_param(name.strip(), value.strip().strip('"'), requote=False)
            else:
                part = MIMEApplication(attachment["content"].encode("utf-8"), subtype)
            part.add_header("Content-Disposition", "attachment", filename=attachment["filename"])
            message.attach(part)
    else:
        message = body
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = Header(row.subject, "utf-8").encode() if not row.subject.isascii() else row.subject
    message["Date"] = format_datetime(now or clock.now())
    message["Message-ID"] = message_id or message_id_for(row.id, row.key, domain)
    message["X-Convene-Key"] = _clean_header(row.key)
    return message


def sender_prefix() -> str:
    """The first characters of every claim token this scheduler writes (from SCHEDULER_ID, by default
    the host name), so a restarted scheduler knows which half-sent claims were its own."""
    identity = current_app.config.get("SCHEDULER_ID") or socket.gethostname()
    return hashlib.sha256(identity.encode()).hexdigest()[:8]


# Recipients who have opted out of a category, checked when a message is due (not only when it was
# planned): category -> a select of their email addresses. Domains above notifications register
# theirs at start-up (auth: people who turned optional reminders off).
_opted_out: dict[str, Callable[[], Select]] = {}


def register_opt_out(category: str, recipients: Callable[[], Select]) -> None:
    _opted_out[category] = recipients


def _claim(now: datetime, limit: int) -> tuple[str, list]:
    """Atomically mark up to `limit` due rows as ours and read them. Committed before sending.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so several senders never wait on or take each other's
    rows. SQLite: the conditional UPDATE runs under BEGIN IMMEDIATE, which serialises claims.
    Returns plain rows (not ORM objects), so the commits made while sending reload nothing.
    """
    token = sender_prefix() + secrets.token_hex(12)
    stale = now - CLAIM_LEASE
    table = OutboxMessage.__table__
    # Reminders that became irrelevant while waiting (their session started) are skipped, and so are
    # those left half-sent by a sender that died: nothing goes out after it has expired.
    db.session.execute(
        update(table).where(table.c.expires_at <= now, or_(
            table.c.status == OutboxStatus.PENDING.value,
            (table.c.status == OutboxStatus.SENDING.value) & (table.c.claimed_at < stale)))
        .values(status=OutboxStatus.CANCELLED.value, claim_token=None,
                last_error="Skipped: no longer relevant when it was due")
    )
    for category, recipients in _opted_out.items():
        db.session.execute(
            update(table).where(table.c.status == OutboxStatus.PENDING.value, table.c.due_at <= now,
                                table.c.category == category, table.c.recipient.in_(recipients().scalar_subquery()))
            .values(status=OutboxStatus.CANCELLED.value, last_error="Cancelled: they turned these emails off"))
    due = select(table.c.id).where(
        or_(
            (table.c.status == OutboxStatus.PENDING.value) & (table.c.due_at <= now),
            (table.c.status == OutboxStatus.SENDING.value) & (table.c.claimed_at < stale),
        )
    ).order_by(table.c.due_at, table.c.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        # A materialised CTE: PostgreSQL runs the locking, limited select once. As a plain IN
        # (subquery) it may run it again for each row it updates, and claim past the limit (seen:
        # 1,000 rows claimed by a batch of 50).
        chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        due = select(chosen.c.id)
    # One statement claims the batch (no list of ids sent back and forth); then read what we got.
    db.session.execute(
        update(table).where(table.c.id.in_(due.scalar_subquery()))
        .values(status=OutboxStatus.SENDING.value, claimed_at=now, claim_token=token, attempts=table.c.attempts + 1,
                first_attempted_at=func.coalesce(table.c.first_attempted_at, now))
    )
    # Only what sending needs: the timestamps' conversions cost more than the rest of the claim.
    rows = db.session.execute(select(*_SENDING_COLUMNS).where(table.c.claim_token == token).order_by(table.c.id)).all()
    db.session.commit()
    return token, rows


_SENDING_COLUMNS = [OutboxMessage.__table__.c[name] for name in (
    "id", "key", "recipient", "subject", "body_text", "body_html", "attachments", "attempts", "first_attempted_at")]


def message_id_for(row_id: int, key: str, domain: str) -> str:
    """The Message-ID of a row: the same on every attempt, so a repeat can be recognised as one."""
    return f"<outbox.{row_id}.{hashlib.sha256(key.encode()).hexdigest()[:16]}@{domain}>"


def retry_delay(attempts: int, cap: timedelta = timedelta(hours=1)) -> timedelta:
    """Exponential back-off: 1, 2, 4, 8 ... minutes after each failed attempt, never more than `cap`."""
    return min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 20)), cap)


# Errors that mean the mail server cannot be reached or stopped answering (not that it refused one
# message): the rest of the batch would fail the same way, so it is handed back to try later.
SERVER_DOWN = (ConnectionError, TimeoutError, socket.timeout, socket.gaierror, smtplib.SMTPServerDisconnected,
               smtplib.SMTPConnectError, smtplib.SMTPHeloError)


@dataclass
class SendReport:
    """What one run of send_due did: for the CLI's message and exit status."""

    sent: int = 0
    deferred: int = 0  # tried and refused, or handed back while the server was down: due again later
    failed: int = 0  # refused for longer than OUTBOX_GIVE_UP_HOURS: failed for good (the team can retry)
    skipped: int = 0  # claimed by another sender meanwhile
    errors: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        if text not in self.errors:
            self.errors.append(text)


# Set by the scheduler process on SIGTERM/SIGINT: senders stop between two messages, record what
# they sent and hand back the rest of their claim, so a graceful stop sends nothing twice.
stop_sending = threading.Event()


def send_due(now: datetime, *, transport=None, limit: int | None = None) -> int:
    """Send every due message once. Returns how many were sent (`send_due_report` says the rest)."""
    return send_due_report(now, transport=transport, limit=limit).sent


def send_due_report(now: datetime, *, transport=None, limit: int | None = None) -> SendReport:
    """Send every due message once.

    Claims a batch (one statement, committed), then sends its messages one by one. Before each
    message it checks the row is still its own and renews its lease (a slow server cannot let
    another sender take it over), renews the whole batch's lease every LEASE_RENEW_EVERY, and
    records each outcome as soon as the transport has answered. A sender killed outright can repeat
    at most the one message between "accepted" and "recorded", with the same Message-ID. When the
    server cannot be reached or stops answering, the rest of the batch is handed back to be tried
    after the back-off rather than each waiting for its own time-out. Safe in several processes.
    """
    config = current_app.config
    transport = transport or current_app.extensions["convene_mail"]
    limit = limit or config["OUTBOX_BATCH_SIZE"]
    give_up = timedelta(hours=config["OUTBOX_GIVE_UP_HOURS"])
    cap = timedelta(minutes=config["OUTBOX_RETRY_MAX_MINUTES"])
    domain = site_domain()
    report = SendReport()
    # Leases are measured on the run's own clock (`now` plus the time spent since), so a run for a
    # given instant (a catch-up, a test) claims and renews in the same terms, batch after batch.
    started = time.monotonic()

    def moment() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    while not stop_sending.is_set():
        token, rows = _claim(moment(), limit)
        if not rows:
            return report
        renewed = moment()
        # Transports that can, send a batch over one connection; plain ones send one by one.
        with _recorder(token, now, domain) as record, \
                (transport.batch() if hasattr(transport, "batch") else nullcontext()):
            for index, row in enumerate(rows):
                if stop_sending.is_set():
                    record.other(_hand_back(token, [r.id for r in rows[index:]]))
                    break
                at = moment()
                if at - renewed >= LEASE_RENEW_EVERY:
                    record.renew_all(at)
                    renewed = at
                if not record.hold(row.id, at):
                    report.skipped += 1  # another sender has it now: it is theirs to send
                    continue
                message_id = message_id_for(row.id, row.key, domain)
                try:
                    transport.send(build_message(row, sender=config["MAIL_FROM"], domain=domain, now=now,
                                                 message_id=message_id))
                except Exception as error:  # noqa: BLE001 - any transport failure is recorded and retried
                    retry_at = now + retry_delay(row.attempts, cap)
                    failed = retry_at > (row.first_attempted_at or now) + give_up
                    record.other(_unsent(token, row.id, error, retry_at, failed))
                    report.error(f"{type(error).__name__}: {error}")
                    if failed:
                        report.failed += 1
                    else:
                        report.deferred += 1
                    if isinstance(error, SERVER_DOWN):
                        rest = [r.id for r in rows[index + 1:]]
                        if rest:
                            record.other(_hand_back(token, rest, due_at=retry_at))
                            report.deferred += len(rest)
                        return report
                else:
                    record.sent(row.id, message_id)
                    report.sent += 1
        if len(rows) < limit:
            return report
    return report


def reclaim_own(now: datetime) -> int:
    """At a scheduler's start: what this scheduler claimed before it stopped (same SCHEDULER_ID) is due
    again at once rather than after the lease. Returns how many rows."""
    prefix = sender_prefix()
    result = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENDING.value,
                                    func.substr(OutboxMessage.claim_token, 1, len(prefix)) == prefix)
        .values(status=OutboxStatus.PENDING.value, claim_token=None, claimed_at=None, due_at=now,
                attempts=OutboxMessage.attempts - 1)
        .execution_options(synchronize_session=False))
    return result.rowcount


def retry_failed(*, now: datetime, message_id: int | None = None) -> int:
    """Send failed email again: one message, or every failed one. Its attempts start afresh; one that
    has expired meanwhile is not sent (it is skipped when claimed). Returns how many."""
    statement = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED.value)
    if message_id is not None:
        statement = statement.where(OutboxMessage.id == message_id)
    result = db.session.execute(statement.values(
        status=OutboxStatus.PENDING.value, due_at=now, attempts=0, first_attempted_at=None, claim_token=None,
        last_error="").execution_options(synchronize_session=False))
    return result.rowcount


_OUTBOX = OutboxMessage.__table__


class _Recorder:
    """Commits each claimed message's outcome on one connection held for the whole batch.

    A sent message is recorded with one short statement on the driver's own cursor and a commit
    (and so is each check that a row is still ours): about a third of the cost of going
    through SQLAlchemy for each of thousands of rows. Every outcome applies only while the claim
    is still ours, so a sender that outlived its lease records nothing.
    """

    def __init__(self, connection, token: str, now: datetime, domain: str):
        self.connection, self.token, self.domain = connection, token, domain
        dialect = connection.dialect
        self.postgres = dialect.name == "postgresql"
        self.raw = connection.connection.driver_connection
        self.cursor = self.raw.cursor()
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.process = process = _OUTBOX.c.sent_at.type.bind_processor(dialect)
        self.sent_at = process(now) if process else now
        self.hold_sql = (f"UPDATE outbox_messages SET claimed_at = {mark} "
                         f"WHERE id = {mark} AND claim_token = {mark} AND status = 'sending'")
        self.sent_sql = (f"UPDATE outbox_messages SET status = 'sent', claim_token = NULL, last_error = '', "
                         f"sent_at = {mark}, message_id = {mark} "
                         f"WHERE id = {mark} AND claim_token = {mark} AND status = 'sending'")
        if self.postgres:
            # Waiting for the disk would cost a flush per message. Were the database server itself
            # to crash in the next moment, the row would stay "sending" and go again after the
            # lease: a duplicate, never a loss. (A crash of this process loses nothing: the server
            # has the commit.)
            self.cursor.execute("SET synchronous_commit TO OFF")
            self.raw.commit()

    def hold(self, row_id: int, moment: datetime) -> bool:
        """Still ours? Renew this row's lease just before sending it; False if another sender has it."""
        self.cursor.execute(self.hold_sql, (self.process(moment) if self.process else moment, row_id, self.token))
        held = self.cursor.rowcount == 1
        self.raw.commit()
        return held

    def renew_all(self, moment: datetime) -> None:
        """Renew the lease of every row of the batch not yet sent (a slow server keeps them ours)."""
        self.connection.execute(update(_OUTBOX).where(_OUTBOX.c.claim_token == self.token,
                                                      _OUTBOX.c.status == OutboxStatus.SENDING.value)
                                .values(claimed_at=moment))
        self.connection.commit()

    def sent(self, row_id: int, message_id: str) -> None:
        self.cursor.execute(self.sent_sql, (self.sent_at, message_id, row_id, self.token))
        # On SQLite the driver may hold a transaction the pool began: commit, so the record is durable
        # now and no write lock is held while the next message goes (a no-op when none is open).
        self.raw.commit()

    def other(self, statement) -> None:
        """A rarer outcome (refused, handed back), through SQLAlchemy."""
        self.connection.execute(statement)
        self.connection.commit()

    def close(self) -> None:
        if self.postgres:
            self.raw.rollback()
            self.cursor.execute("RESET synchronous_commit")
            self.raw.commit()
        self.cursor.close()


@contextmanager
def _recorder(token: str, now: datetime, domain: str):
    with db.engine.connect() as connection:
        recorder = _Recorder(connection, token, now, domain)
        try:
            yield recorder
        finally:
            recorder.close()


def _unsent(token: str, row_id: int, error: Exception, retry_at: datetime, failed: bool):
    """A message the transport refused: failed for good after the last attempt, else due again later."""
    values = {"last_error": f"{type(error).__name__}: {error}"[:2000], "claim_token": None,
              "status": OutboxStatus.FAILED.value if failed else OutboxStatus.PENDING.value}
    if not failed:
        values["due_at"] = retry_at
    return update(_OUTBOX).where(_OUTBOX.c.id == row_id, _OUTBOX.c.claim_token == token,
                                 _OUTBOX.c.status == OutboxStatus.SENDING.value).values(**values)


def _hand_back(token: str, ids: list[int], due_at: datetime | None = None):
    """Claimed rows we will not send now (the process is stopping, or the server is down): due again at
    once, or at `due_at`; not counted as attempts."""
    values = dict(status=OutboxStatus.PENDING.value, claim_token=None, claimed_at=None,
                  attempts=_OUTBOX.c.attempts - 1)
    if due_at is not None:
        values["due_at"] = due_at
    return update(_OUTBOX).where(_OUTBOX.c.id.in_(ids), _OUTBOX.c.claim_token == token).values(**values)


def backlog(now: datetime, overdue_after: timedelta = timedelta(minutes=15)) -> dict:
    """Counts for health checks and the outbox page: by status, due now, overdue (due more than
    `overdue_after` ago and still not sent), and retrying (refused for longer than that)."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({status: n for status, n in rows})
    waiting = OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value])
    late = now - overdue_after
    due_now, overdue, retrying = db.session.execute(
        select(func.count().filter(OutboxMessage.due_at <= now), func.count().filter(OutboxMessage.due_at <= late),
               func.count().filter(OutboxMessage.attempts > 0, OutboxMessage.first_attempted_at <= late))
        .select_from(OutboxMessage).where(waiting)).one()
    return {"by_status": counts, "due_now": due_now, "overdue": overdue, "retrying": retrying}
