"""Secret links at rest: after the demo is seeded and its email sent, no sign-off, RSVP or reset link
that works can be found anywhere in the database, nor on the team's outbox pages; the email itself
carries a working link; a team member who opens a line manager's link cannot act on it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.auth.services import request_password_reset
from app.db import db
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links, send_due
from tests.factories import make_application, make_team, open_cohort

SECRET = re.compile(r"/(sponsor|rsvp|password/reset)/([A-Za-z0-9_\-]{20,})")


def _text_of(message) -> str:
    """Every part of a sent email, decoded (bodies go out base64-encoded)."""
    return "\n".join(part.get_payload(decode=True).decode("utf-8", "replace") for part in message.walk()
                     if not part.is_multipart())


def _everything_stored() -> str:
    seen = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            seen += [bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v) for v in row]
    return "\n".join(seen)


def test_no_working_secret_link_is_stored_or_shown_after_the_demo_and_a_send(app, client, login_as, mailbox,
                                                                              frozen_now):
    from app.demo import seed

    seed(now=clock.now())
    # And fresh mail of every secret kind: a line manager's request, a password reset, an invitation.
    make_application(open_cohort(), submit=True)
    request_password_reset(email="participant@example.org", now=clock.now())
    db.session.commit()
    send_due(clock.now() + timedelta(days=3))
    db.session.commit()
    assert {kind for message in mailbox for kind, _ in SECRET.findall(_text_of(message))} >= {
        "sponsor", "password/reset"}
    assert not SECRET.findall(_everything_stored()), "a secret link is readable in the database"
    # The emails sent do carry working links (the sign-off page opens from one).
    sent_links = [m for message in mailbox for m in SECRET.findall(_text_of(message))]
    assert any(kind == "sponsor" for kind, _ in sent_links)
    kind, token = next((k, t) for k, t in sent_links if k == "sponsor")
    assert client.get(f"/sponsor/{token}").status_code == 200
    # The team's outbox pages show that a private link is there, and not the link.
    team = make_team()
    sealed = db.session.scalars(select(OutboxMessage).where(OutboxMessage.body_text.contains("[[sealed:"))).all()
    assert sealed
    login_as(team)
    for message in sealed[:20]:
        page = client.get(f"/team/outbox/{message.id}").get_data(as_text=True)
        assert "a private link, only in the email itself" in page and not SECRET.search(page)
        assert SECRET.search(open_links(message.body_text))  # the sender can still open it
    # A team member following the line manager's link is sent to record on their behalf instead.
    staff_view = client.get(f"/sponsor/{token}")
    assert staff_view.status_code == 403 and "record it on their behalf" in staff_view.get_data(as_text=True)
    refused = client.post(f"/sponsor/{token}", data={"decision": "approve", "confirms_release": "y"})
    assert refused.status_code in (400, 403)
