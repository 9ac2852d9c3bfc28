"""The outbox: queueing, sending what is due, retries, claims and the transports."""

from __future__ import annotations

import email
import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import event, func, select, update

from app import clock
from app.db import db
from app.notifications import services
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import (
    CLAIM_LEASE,
    Attachment,
    backlog,
    cancel_pending,
    queue_email,
    send_due,
)
from app.notifications.transports import FileTransport

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Convene//EN\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:session-7@convene.test\r\nSUMMARY:Module 3 day 1\r\n"
    "DTSTART:20261130T093000Z\r\nDTEND:20261130T123000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def queue(key: str, *, due_at: datetime = NOW - timedelta(minutes=1), **fields) -> bool:
    values = {"recipient": f"{key.replace(':', '-')}@example.org", "subject": f"Subject of {key}",
              "body_text": f"Text of {key}", **fields}
    return queue_email(key=key, due_at=due_at, **values)


def row(key: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def count_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


class FailingTransport:
    """A transport whose server is down (or that refuses some recipients)."""

    def __init__(self, refuse=lambda message: True, error: Exception | None = None):
        self.refuse, self.error = refuse, error
        self.sent = []

    def send(self, message):
        if self.refuse(message):
            raise self.error or ConnectionRefusedError("mail server unavailable")
        self.sent.append(message)


# --- queue_email --------------------------------------------------------------------------------


def test_queue_email_writes_one_pending_row_and_a_second_write_of_the_same_key_is_a_no_op(frozen_now):
    queue_email(key="reminder:session-7:user-3", recipient="Ada@Example.org", subject="Tomorrow: Module 3",
                body_text="See you tomorrow.", due_at=NOW + timedelta(hours=2), category="reminder")
    db.session.commit()
    queue_email(key="reminder:session-7:user-3", recipient="someone.else@example.org",
                subject="Changed", body_text="Changed", due_at=NOW)
    db.session.commit()

    assert count_rows() == 1
    message = row("reminder:session-7:user-3")
    assert message.status == OutboxStatus.PENDING
    assert message.recipient == "ada@example.org"
    assert message.subject == "Tomorrow: Module 3"
    assert message.due_at == NOW + timedelta(hours=2)
    assert message.attempts == 0
    assert message.sent_at is None


def test_queue_email_says_whether_it_wrote_a_row():
    first = queue("welcome:user-1")
    second = queue("welcome:user-1", subject="Again")
    third = queue("welcome:user-2")

    assert (first, second, third) == (True, False, True)
    assert count_rows() == 2


def test_a_rolled_back_transaction_queues_nothing():
    queue("welcome:user-1")
    db.session.rollback()

    assert count_rows() == 0
    assert send_due(NOW) == 0


def test_cr_and_lf_in_recipient_or_subject_cannot_add_headers(mailbox):
    with pytest.raises(ValueError):
        queue_email(key="reset:user-0", recipient="victim@example.org\r\nBcc: attacker@evil.example",
                    subject="Reset", body_text="Follow the link.", due_at=NOW)
    queue_email(key="reset:user-1",
                recipient="victim@example.org",
                subject="Reset your password\r\nBcc: attacker@evil.example\nX-Injected: yes",
                body_text="Follow the link.", due_at=NOW)
    queue_email(key="reset:user-2", recipient="plain@example.org", subject="Reset your password",
                body_text="Follow the link.", due_at=NOW)
    db.session.commit()

    assert send_due(NOW) == 2

    injected, plain = sorted(mailbox, key=lambda m: m["X-Convene-Key"])
    received = email.message_from_bytes(bytes(injected), policy=policy.default)
    assert received["Bcc"] is None and received["X-Injected"] is None
    assert sorted(received.keys()) == sorted(plain.keys())
    assert "\n" not in received["Subject"] and "\r" not in received["Subject"]
    assert received["Subject"].startswith("Reset your password")
    header_block = bytes(injected).split(b"\n\n", 1)[0]
    assert not any(line.lower().startswith((b"bcc", b"x-injected")) for line in header_block.splitlines())


# --- send_due -----------------------------------------------------------------------------------


def test_send_due_sends_what_is_due_marks_it_sent_and_leaves_later_messages(mailbox):
    queue("a", due_at=NOW - timedelta(hours=1))
    queue("b", due_at=NOW)
    queue("later", due_at=NOW + timedelta(minutes=1))
    db.session.commit()

    assert send_due(NOW) == 2

    assert sorted(m["To"] for m in mailbox) == ["a@example.org", "b@example.org"]
    for key in ("a", "b"):
        sent = row(key)
        assert sent.status == OutboxStatus.SENT
        assert sent.sent_at == NOW
        assert sent.attempts == 1
        assert sent.claim_token is None
        delivered = next(m for m in mailbox if m["X-Convene-Key"] == key)
        assert sent.message_id == delivered["Message-ID"]
        assert sent.message_id.endswith("@convene.test>")
        assert delivered["Subject"] == f"Subject of {key}"
        assert delivered.get_body(preferencelist=("plain",)).get_content().strip() == f"Text of {key}"
    later = row("later")
    assert later.status == OutboxStatus.PENDING and later.sent_at is None and later.attempts == 0

    # Nothing is sent twice; the later message goes when its time comes.
    assert send_due(NOW) == 0
    assert len(mailbox) == 2
    assert send_due(NOW + timedelta(minutes=1)) == 1
    assert [m["X-Convene-Key"] for m in mailbox[2:]] == ["later"]
    assert row("later").status == OutboxStatus.SENT


def test_send_due_works_through_more_messages_than_one_batch(mailbox):
    for n in range(7):
        queue(f"batch:{n}")
    db.session.commit()

    assert send_due(NOW, limit=3) == 7

    assert sorted(m["X-Convene-Key"] for m in mailbox) == sorted(f"batch:{n}" for n in range(7))
    assert db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT.value)) == 7


def test_text_and_html_bodies_arrive_as_alternatives_with_the_ics_as_an_attachment(mailbox):
    queue("invite:session-7", body_text="Module 3 starts at 09:30.",
          body_html="<p>Module 3 starts at <strong>09:30</strong>.</p>",
          attachments=[Attachment("module-3-day-1.ics", "text/calendar; charset=utf-8", ICS)])
    db.session.commit()

    assert send_due(NOW) == 1

    received = email.message_from_bytes(bytes(mailbox[0]), policy=policy.default)
    assert received.get_body(preferencelist=("plain",)).get_content().strip() == "Module 3 starts at 09:30."
    html = received.get_body(preferencelist=("html",))
    assert html.get_content_type() == "text/html"
    assert "<strong>09:30</strong>" in html.get_content()
    attachments = list(received.iter_attachments())
    assert len(attachments) == 1
    ics = attachments[0]
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_filename() == "module-3-day-1.ics"
    assert ics.get_content_disposition() == "attachment"
    content = ics.get_content()
    assert content.startswith("BEGIN:VCALENDAR") and "UID:session-7@convene.test" in content


def test_a_text_only_message_has_no_html_part_or_attachment(mailbox):
    queue("plain")
    db.session.commit()
    send_due(NOW)

    received = email.message_from_bytes(bytes(mailbox[0]), policy=policy.default)
    assert received.get_content_type() == "text/plain"
    assert received.get_body(preferencelist=("html",)) is None
    assert list(received.iter_attachments()) == []


# --- failures and retries -----------------------------------------------------------------------


def test_a_failed_send_backs_off_to_a_cap_then_fails_only_after_the_give_up_window(app, mailbox, monkeypatch):
    assert (app.config["OUTBOX_RETRY_MAX_MINUTES"], app.config["OUTBOX_GIVE_UP_HOURS"]) == (60, 48)
    monkeypatch.setitem(app.config, "OUTBOX_GIVE_UP_HOURS", 4)
    queue("fragile")
    db.session.commit()
    down = FailingTransport()

    at, delays = NOW, []
    while True:
        assert send_due(at, transport=down) == 0
        message = row("fragile")
        if message.status == OutboxStatus.FAILED:
            break
        assert message.status == OutboxStatus.PENDING and message.last_error.startswith("ConnectionRefusedError")
        assert message.sent_at is None and message.claim_token is None
        # Not retried before its new due time.
        assert send_due(message.due_at - timedelta(seconds=1), transport=down) == 0
        delays.append(int((message.due_at - at).total_seconds() // 60))
        at = message.due_at
    assert delays[:7] == [1, 2, 4, 8, 16, 32, 60] and set(delays[6:]) == {60}
    assert at - NOW <= timedelta(hours=4) < at - NOW + timedelta(hours=1)  # tried for the whole window
    assert abs(message.first_attempted_at - NOW) < timedelta(seconds=1) and "mail server unavailable" in message.last_error

    # A failed message is never picked up again by itself, even when the server is back...
    assert send_due(at + timedelta(days=1)) == 0
    assert mailbox == [] and row("fragile").status == OutboxStatus.FAILED
    # ...until someone retries it: then it goes, with the same Message-ID it always had.
    assert services.retry_failed(now=at + timedelta(days=1)) == 1
    db.session.commit()
    assert send_due(at + timedelta(days=1)) == 1
    assert mailbox[0]["Message-ID"] == services.message_id_for(message.id, "fragile", "convene.test")


def test_a_thirty_minute_outage_loses_nothing(mailbox):
    for n in range(3):
        queue(f"outage:{n}")
    db.session.commit()
    down, at = FailingTransport(), NOW
    while at < NOW + timedelta(minutes=30):
        send_due(at, transport=down)
        at += timedelta(minutes=1)
    assert {row(f"outage:{n}").status for n in range(3)} == {OutboxStatus.PENDING}
    assert send_due(NOW + timedelta(hours=2)) == 3
    assert sorted(m["X-Convene-Key"] for m in mailbox) == [f"outage:{n}" for n in range(3)]


def test_when_the_server_is_down_the_rest_of_the_batch_waits_instead_of_each_timing_out():
    for n in range(5):
        queue(f"down:{n}")
    db.session.commit()
    down = FailingTransport()
    calls = []
    original = down.send
    down.send = lambda message: (calls.append(message), original(message))
    report = services.send_due_report(NOW, transport=down)
    assert len(calls) == 1 and (report.sent, report.deferred, report.failed) == (0, 5, 0)
    assert "ConnectionRefusedError: mail server unavailable" in report.errors
    assert {row(f"down:{n}").status for n in range(5)} == {OutboxStatus.PENDING}
    assert {row(f"down:{n}").due_at for n in range(5)} == {NOW + timedelta(minutes=1)}
    assert [row(f"down:{n}").attempts for n in range(5)] == [1, 0, 0, 0, 0]


def test_an_expired_reminder_is_never_sent_even_after_retries(mailbox):
    queue("expiring", expires_at=NOW + timedelta(minutes=5))
    db.session.commit()
    send_due(NOW, transport=FailingTransport())
    assert send_due(NOW + timedelta(minutes=10)) == 0
    assert mailbox == [] and row("expiring").status == OutboxStatus.CANCELLED


def test_a_message_that_fails_once_is_sent_on_retry_and_its_error_cleared(mailbox):
    queue("flaky")
    db.session.commit()

    send_due(NOW, transport=FailingTransport())
    retry_at = row("flaky").due_at
    assert send_due(retry_at) == 1

    message = row("flaky")
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 2
    assert message.last_error == ""
    assert message.sent_at == retry_at
    assert [m["X-Convene-Key"] for m in mailbox] == ["flaky"]


def test_one_refused_message_does_not_stop_the_others():
    queue("good-1")
    queue("bad")
    queue("good-2")
    db.session.commit()
    picky = FailingTransport(refuse=lambda message: message["To"] == "bad@example.org",
                             error=smtplib.SMTPRecipientsRefused({"bad@example.org": (550, b"No such user")}))

    assert send_due(NOW, transport=picky) == 2

    assert sorted(m["To"] for m in picky.sent) == ["good-1@example.org", "good-2@example.org"]
    assert row("bad").status == OutboxStatus.PENDING
    assert row("bad").last_error.startswith("SMTPRecipientsRefused")
    assert {row("good-1").status, row("good-2").status} == {OutboxStatus.SENT}


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (7, 60), (30, 60)])
def test_retry_delay_doubles_after_each_failed_attempt(attempts, minutes):
    assert services.retry_delay(attempts) == timedelta(minutes=minutes)


# --- claims -------------------------------------------------------------------------------------


def _make_sending(key: str, claimed_at: datetime) -> None:
    queue(key)
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.key == key)
        .values(status=OutboxStatus.SENDING.value, claimed_at=claimed_at, claim_token="a-worker-that-died",
                attempts=1)
    )
    db.session.commit()


def test_a_message_stuck_in_sending_past_the_lease_is_claimed_again_and_sent(mailbox):
    _make_sending("stuck", claimed_at=NOW - CLAIM_LEASE - timedelta(minutes=1))

    assert send_due(NOW) == 1

    message = row("stuck")
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 2
    assert message.sent_at == NOW
    assert [m["X-Convene-Key"] for m in mailbox] == ["stuck"]


def test_a_message_another_sender_claimed_recently_is_left_alone(mailbox):
    _make_sending("in-flight", claimed_at=NOW - CLAIM_LEASE + timedelta(minutes=1))

    assert send_due(NOW) == 0

    message = row("in-flight")
    assert message.status == OutboxStatus.SENDING
    assert message.claim_token == "a-worker-that-died"
    assert message.attempts == 1
    assert mailbox == []


def test_rows_claimed_once_cannot_be_claimed_by_a_second_sender():
    for key in ("one", "two", "three"):
        queue(key)
    queue("later", due_at=NOW + timedelta(hours=1))
    db.session.commit()

    first_token, first_rows = services._claim(NOW, 10)
    second_token, second_rows = services._claim(NOW, 10)

    first_ids = [r.id for r in first_rows]
    assert len(first_ids) == 3
    assert second_rows == []
    assert first_token != second_token
    claimed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(first_ids))).all()
    assert {m.key for m in claimed} == {"one", "two", "three"}
    assert {(m.status, m.claim_token, m.claimed_at, m.attempts) for m in claimed} == {
        (OutboxStatus.SENDING, first_token, NOW, 1)
    }
    # And a sender running now finds nothing left to send.
    assert send_due(NOW) == 0


class SenderKilled(BaseException):
    """What a hard kill looks like from inside send_due: it stops dead, no handler runs."""


def test_a_sender_killed_after_the_server_accepted_a_message_repeats_that_message_only(mailbox):
    for n in range(6):
        queue(f"killed:{n}")
    db.session.commit()
    delivered = []

    class DiesAfterThirdAccepted:
        def send(self, message):
            delivered.append(message["X-Convene-Key"])
            if len(delivered) == 3:
                raise SenderKilled

    with pytest.raises(SenderKilled):
        send_due(NOW, transport=DiesAfterThirdAccepted())
    db.session.rollback()  # the process is gone: whatever it had not committed is lost

    # The two messages before were recorded as they went; the third and the rest are still claimed.
    assert [row(f"killed:{n}").status for n in range(6)] == [OutboxStatus.SENT] * 2 + [OutboxStatus.SENDING] * 4
    # A later run, past the lease, sends the four: the one accepted but unrecorded goes a second time.
    again = FailingTransport(refuse=lambda message: False)
    assert send_due(NOW + CLAIM_LEASE + timedelta(minutes=1), transport=again) == 4
    assert delivered + [m["X-Convene-Key"] for m in again.sent] == [f"killed:{n}" for n in (0, 1, 2, 2, 3, 4, 5)]
    assert {row(f"killed:{n}").status for n in range(6)} == {OutboxStatus.SENT}


def test_a_stop_request_ends_sending_between_messages_and_hands_the_rest_back(mailbox):
    for n in range(5):
        queue(f"stopping:{n}")
    db.session.commit()
    sent = []

    class StopAsked:
        def send(self, message):
            sent.append(message["X-Convene-Key"])
            if len(sent) == 2:
                services.stop_sending.set()  # SIGTERM arrives while this message is in hand

    try:
        assert send_due(NOW, transport=StopAsked()) == 2
    finally:
        services.stop_sending.clear()

    assert [row(f"stopping:{n}").status for n in range(5)] == [OutboxStatus.SENT] * 2 + [OutboxStatus.PENDING] * 3
    handed_back = row("stopping:2")
    assert (handed_back.claim_token, handed_back.attempts, handed_back.due_at) == (None, 0, NOW - timedelta(minutes=1))
    # The next run sends the rest straight away (no lease to wait out), and nothing twice.
    assert send_due(NOW) == 3
    assert sent + [m["X-Convene-Key"] for m in mailbox] == [f"stopping:{n}" for n in range(5)]


def test_several_senders_at_once_send_each_message_exactly_once(app):
    keys = [f"crowd:{n}" for n in range(24)]
    for key in keys:
        queue(key)
    db.session.commit()

    delivered = []
    lock = threading.Lock()

    class SlowTransport:
        def send(self, message):
            with lock:
                delivered.append(message["X-Convene-Key"])

    def run_sender() -> int:
        with app.app_context():
            return send_due(NOW, transport=SlowTransport(), limit=4)

    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = [future.result() for future in [pool.submit(run_sender) for _ in range(3)]]

    assert sum(counts) == len(keys)
    assert sorted(delivered) == sorted(keys)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT.value)) == 24


def test_two_senders_looking_for_due_rows_at_the_same_moment_never_take_the_same_ones(app, monkeypatch):
    """Both senders run their claim query before either marks anything: the worst interleaving."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite BEGIN IMMEDIATE makes the second claim wait for the first")
    keys = [f"race:{n}" for n in range(8)]
    for key in keys:
        queue(key)
    db.session.commit()

    both_looked = threading.Barrier(2)
    waited = threading.local()
    arrivals = []  # what each sender's wait at the barrier returned: 0 and 1 when both got there
    delivered = []
    lock = threading.Lock()

    def hold_after_first_claim_query(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT outbox_messages.id") and not getattr(waited, "done", False):
            waited.done = True
            arrivals.append(both_looked.wait(timeout=10))

    class Collector:
        def send(self, message):
            with lock:
                delivered.append(message["X-Convene-Key"])

    claims = []
    real_claim = services._claim

    def recording_claim(now, limit):
        token, rows = real_claim(now, limit)
        with lock:
            claims.append([r.id for r in rows])
        return token, rows

    monkeypatch.setattr(services, "_claim", recording_claim)

    def run_sender() -> int:
        with app.app_context():
            return send_due(NOW, transport=Collector(), limit=4)

    event.listen(db.engine, "after_cursor_execute", hold_after_first_claim_query)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = [future.result() for future in [pool.submit(run_sender) for _ in range(2)]]
    finally:
        event.remove(db.engine, "after_cursor_execute", hold_after_first_claim_query)

    # The race really happened: both senders ran the claim query and met at the barrier before either
    # went on (if the claim query changed shape, nothing would wait and the test would prove nothing).
    assert sorted(arrivals) == [0, 1] and not both_looked.broken
    assert sorted(delivered) == sorted(keys)
    assert sum(counts) == len(keys)
    # Each row was claimed by one sender only (SKIP LOCKED): no sender waited for or took another's.
    claimed = [row_id for ids in claims for row_id in ids]
    assert len(claimed) == len(set(claimed)) == len(keys)


# --- cancel_pending -----------------------------------------------------------------------------


def test_cancel_pending_cancels_only_pending_rows_with_that_prefix(mailbox):
    queue("session:7:reminder:user-1", due_at=NOW + timedelta(days=1))
    queue("session:7:reminder:user-2", due_at=NOW + timedelta(days=1))
    queue("session:7:invite:user-1", due_at=NOW - timedelta(minutes=5))
    queue("session:70:reminder:user-1", due_at=NOW + timedelta(days=1))
    queue("session:8:reminder:user-1", due_at=NOW + timedelta(days=1))
    db.session.commit()
    send_due(NOW)  # sends the invite, which cannot be unsent
    db.session.commit()

    cancelled = cancel_pending("session:7:")
    db.session.commit()

    assert cancelled == 2
    statuses = {m.key: m.status for m in db.session.scalars(select(OutboxMessage))}
    assert statuses == {
        "session:7:reminder:user-1": OutboxStatus.CANCELLED,
        "session:7:reminder:user-2": OutboxStatus.CANCELLED,
        "session:7:invite:user-1": OutboxStatus.SENT,
        "session:70:reminder:user-1": OutboxStatus.PENDING,
        "session:8:reminder:user-1": OutboxStatus.PENDING,
    }
    # Cancelled reminders never go out.
    assert send_due(NOW + timedelta(days=2)) == 2
    assert {m["X-Convene-Key"] for m in mailbox} == {
        "session:7:invite:user-1", "session:70:reminder:user-1", "session:8:reminder:user-1",
    }
    assert len(mailbox) == 3


@pytest.mark.parametrize("prefix", ["cohort%", "cohort_1:", "%", "_"])
def test_percent_and_underscore_in_a_prefix_are_not_wildcards(prefix):
    queue("cohort%:reminder")
    queue("cohort_1:reminder")
    queue("cohortX1:reminder")
    queue("cohort-anything:reminder")
    db.session.commit()

    cancelled = cancel_pending(prefix)
    db.session.commit()

    expected = {m.key for m in db.session.scalars(select(OutboxMessage)) if m.key.startswith(prefix)}
    actually = {m.key for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.CANCELLED.value))}
    assert actually == expected
    assert cancelled == len(expected)
    assert "cohortX1:reminder" not in actually and "cohort-anything:reminder" not in actually


# --- transports ---------------------------------------------------------------------------------


def test_the_file_transport_writes_an_eml_file_a_mail_client_can_read(tmp_path):
    queue_email(key="welcome:user-9", recipient="grace@example.org", subject="Welcome to Convene – cohort 4",
                body_text="Your place is confirmed.", body_html="<p>Your place is confirmed.</p>",
                attachments=[Attachment("welcome.ics", "text/calendar", ICS)], due_at=NOW)
    db.session.commit()
    folder = tmp_path / "mail"

    assert send_due(NOW, transport=FileTransport(folder)) == 1

    files = list(folder.glob("*.eml"))
    assert len(files) == 1
    received = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert received["Subject"] == "Welcome to Convene – cohort 4"
    assert received["To"] == "grace@example.org"
    assert received["Message-ID"] == row("welcome:user-9").message_id
    assert received.get_body(preferencelist=("plain",)).get_content().strip() == "Your place is confirmed."
    assert [part.get_filename() for part in received.iter_attachments()] == ["welcome.ics"]


# --- backlog ------------------------------------------------------------------------------------


def test_backlog_counts_messages_by_status_and_those_due_now():
    queue("due-1", due_at=NOW - timedelta(hours=2))
    queue("due-2", due_at=NOW)
    queue("future", due_at=NOW + timedelta(hours=1))
    queue("to-send", due_at=NOW - timedelta(days=1))
    queue("to-fail", due_at=NOW - timedelta(days=1))
    queue("to-cancel", due_at=NOW - timedelta(days=1))
    db.session.commit()
    yesterday = NOW - timedelta(days=1)
    send_due(yesterday)  # to-send, to-fail, to-cancel are due then; one of each outcome below
    db.session.execute(update(OutboxMessage).where(OutboxMessage.key == "to-fail")
                       .values(status=OutboxStatus.FAILED.value))
    db.session.execute(update(OutboxMessage).where(OutboxMessage.key == "to-cancel")
                       .values(status=OutboxStatus.PENDING.value, due_at=NOW + timedelta(days=1)))
    cancel_pending("to-cancel")
    db.session.commit()

    summary = backlog(NOW)

    assert summary["by_status"] == {"pending": 3, "sending": 0, "sent": 1, "failed": 1, "cancelled": 1}
    assert summary["due_now"] == 2
    assert backlog(NOW + timedelta(hours=1))["due_now"] == 3
    assert backlog(NOW - timedelta(days=3))["due_now"] == 0


# --- the CLI ------------------------------------------------------------------------------------


def test_flask_reminders_send_due_sends_what_is_due_now(runner, mailbox, frozen_now):
    now = clock.now()
    queue("cli:1", due_at=now - timedelta(minutes=30))
    queue("cli:2", due_at=now)
    queue("cli:tomorrow", due_at=now + timedelta(days=1))
    db.session.commit()

    result = runner.invoke(args=["reminders", "send-due"])

    assert result.exit_code == 0, result.output
    assert "Sent 2 message(s)." in result.output
    assert sorted(m["X-Convene-Key"] for m in mailbox) == ["cli:1", "cli:2"]
    assert row("cli:1").sent_at == now
    assert row("cli:tomorrow").status == OutboxStatus.PENDING

    again = runner.invoke(args=["reminders", "send-due"])
    assert again.exit_code == 0
    assert "Sent 0 message(s)." in again.output
    assert len(mailbox) == 2


def test_cancel_pending_matches_the_key_prefix_exactly_including_case():
    queue("session:7:reminder")
    queue("Session:7:reminder")
    assert cancel_pending("session:7:") == 1


def test_an_outbox_message_goes_to_exactly_one_address():
    with pytest.raises(ValueError):
        queue("two", recipient="a@example.org, b@example.org")


def test_a_repeat_after_a_kill_carries_the_same_message_id(mailbox):
    queue("repeat")
    db.session.commit()
    seen = []

    class AcceptsThenDies:
        def send(self, message):
            seen.append(message["Message-ID"])
            raise SenderKilled

    with pytest.raises(SenderKilled):
        send_due(NOW, transport=AcceptsThenDies())
    db.session.rollback()
    assert send_due(NOW + CLAIM_LEASE + timedelta(minutes=1)) == 1
    assert mailbox[0]["Message-ID"] == seen[0] == row("repeat").message_id


def test_a_restarted_scheduler_takes_back_its_own_half_sent_claim_at_once_but_not_anothers(app, monkeypatch):
    queue("mine")
    queue("theirs")
    db.session.commit()
    monkeypatch.setitem(app.config, "SCHEDULER_ID", "scheduler-a")
    mine = services.sender_prefix() + "0" * 24
    monkeypatch.setitem(app.config, "SCHEDULER_ID", "scheduler-b")
    theirs = services.sender_prefix() + "0" * 24
    for key, token in (("mine", mine), ("theirs", theirs)):
        db.session.execute(update(OutboxMessage).where(OutboxMessage.key == key).values(
            status=OutboxStatus.SENDING.value, claimed_at=NOW, claim_token=token, attempts=1))
    db.session.commit()
    monkeypatch.setitem(app.config, "SCHEDULER_ID", "scheduler-a")
    assert services.reclaim_own(NOW) == 1
    db.session.commit()
    assert (row("mine").status, row("mine").attempts) == (OutboxStatus.PENDING, 0)
    assert row("theirs").status == OutboxStatus.SENDING
    assert send_due(NOW) == 1  # at once, not after the lease


def test_the_team_retries_one_failed_email_or_all_of_them_and_it_is_audited(client, login_as):
    from app.audit import AuditEvent
    from tests.conftest import csrf_token
    from tests.factories import make_team

    for key in ("failed:1", "failed:2", "failed:3"):
        queue(key)
    db.session.execute(update(OutboxMessage).values(status=OutboxStatus.FAILED.value, attempts=9,
                                                    last_error="ConnectionRefusedError: down"))
    db.session.commit()
    one = row("failed:1").id
    login_as(make_team())
    page = client.get("/team/outbox").get_data(as_text=True)
    assert "3 emails could not be sent" in page and "Try every failed email again" in page
    token = csrf_token(client, f"/team/outbox/{one}")
    assert client.post(f"/team/outbox/{one}/retry", data={"csrf_token": token}).status_code == 302
    assert (row("failed:1").status, row("failed:1").attempts) == (OutboxStatus.PENDING, 0)
    again = client.post(f"/team/outbox/{one}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "Only an email that failed can be tried again" in again.get_data(as_text=True)
    assert client.post("/team/outbox/retry-failed", data={"csrf_token": token}).status_code == 302
    assert {row(k).status for k in ("failed:2", "failed:3")} == {OutboxStatus.PENDING}
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "email_retried")).all()
    assert len(actions) == 2


def test_healthz_is_not_ok_with_failed_or_overdue_mail_or_no_scheduler(app, client, monkeypatch, frozen_now):
    from app import heartbeat

    monkeypatch.setitem(app.config, "HEALTHZ_TOKEN", "t" * 32)  # the details are for a monitor with the token
    auth = {"Authorization": "Bearer " + "t" * 32}
    assert client.get("/healthz").status_code == 200
    queue("late", due_at=clock.now() - timedelta(minutes=20))
    db.session.commit()
    body = client.get("/healthz", headers=auth)
    assert body.status_code == 503 and "overdue" in " ".join(body.get_json()["problems"])
    db.session.execute(update(OutboxMessage).values(status=OutboxStatus.FAILED.value))
    db.session.commit()
    body = client.get("/healthz", headers=auth).get_json()
    assert body["status"] == "error" and "failed for good" in " ".join(body["problems"])
    db.session.execute(update(OutboxMessage).values(status=OutboxStatus.SENT.value))
    db.session.commit()
    monkeypatch.setitem(app.config, "SCHEDULER_REQUIRED", True)
    assert "no scheduler has run" in " ".join(client.get("/healthz", headers=auth).get_json()["problems"])
    heartbeat.beat(clock.now() - timedelta(minutes=2), name="host:1")
    db.session.commit()
    assert client.get("/healthz").status_code == 200
    frozen_now.move_to(clock.now() + timedelta(minutes=10))
    assert client.get("/healthz").status_code == 503  # the scheduler went quiet
