"""Secret links at rest: after the demo is seeded and its email sent, no sign-off, RSVP, reset or
email confirmation link that works can be found anywhere in the database, nor on the team's outbox
pages; the email itself carries a working link; a team member who opens a line manager's link cannot act on it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app import clock
from app.auth.services import request_password_reset, start_registration
from app.communities.models import Community
from app.communities.services.spaces import invite
from app.db import db
from app.notifications.models import OutboxMessage
from app.notifications.services import open_links, send_due
from tests.adversary import everything_stored
from tests.factories import make_application, make_team, open_cohort

SECRET = re.compile(r"/(sponsor|rsvp|password/reset|register/confirm|join)/([A-Za-z0-9_\-]{20,})")


def _text_of(message) -> str:
    """Every part of a sent email, decoded (bodies go out base64-encoded)."""
    return "\n".join(part.get_payload(decode=True).decode("utf-8", "replace") for part in message.walk()
                     if not part.is_multipart())


def test_no_working_secret_link_is_stored_or_shown_after_the_demo_and_a_send(app, client, login_as, mailbox,
                                                                              frozen_now):
    from demo.seed import seed

    seed(now=clock.now())
    # And fresh mail of every secret kind: a line manager's request, a password reset, an invitation,
    # a new account's confirmation.
    make_application(open_cohort(), submit=True)
    request_password_reset(email="participant@example.org", now=clock.now())
    start_registration(email="newcomer@example.org", name="New Comer", password="a long enough phrase",
                       now=clock.now())
    community = db.session.scalars(select(Community).order_by(Community.id)).first()
    invite(actor=community.conveners[0], community=community, email="invited.here@example.org", role="member",
           now=clock.now())
    db.session.commit()
    send_due(clock.now() + timedelta(days=3))
    db.session.commit()
    assert {kind for message in mailbox for kind, _ in SECRET.findall(_text_of(message))} >= {
        "sponsor", "password/reset", "register/confirm", "join"}
    assert not SECRET.findall(everything_stored()), "a secret link is readable in the database"
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


def test_the_migration_seals_links_of_mail_still_to_go_and_removes_those_already_sent(app, scratch_database_url):
    """Email written before links were sealed: after upgrading, none of its links is readable, and the
    one still to go opens back to its link when it is sent."""
    import flask_migrate
    from sqlalchemy import text

    from app import create_app

    link = "http://convene.test/sponsor/" + "A" * 43
    scratch = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        flask_migrate.upgrade(revision="5b8e1d7c9a20")
        for key, status in (("waiting", "pending"), ("gone", "sent")):
            db.session.execute(text(
                "INSERT INTO outbox_messages (key, recipient, subject, body_text, body_html, attachments, category, "
                "due_at, status, attempts, last_error, message_id, created_at, updated_at) VALUES (:key, "
                "'lm@example.org', 'Please confirm', :body, :html, '[]', 'application', :at, :status, 0, '', '', "
                ":at, :at)"), {"key": key, "status": status, "body": f"Open {link} to answer.",
                               "html": f'<a href="{link}">Answer</a>', "at": clock.now()})
        db.session.commit()
        flask_migrate.upgrade()
        assert link not in everything_stored()
        waiting = db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == "waiting"))
        gone = db.session.scalar(select(OutboxMessage).where(OutboxMessage.key == "gone"))
        assert open_links(waiting.body_text) == f"Open {link} to answer."
        assert link in open_links(waiting.body_html, html=True)
        assert "a private link, only in the email itself" in gone.body_text
        db.session.remove()
        db.engine.dispose()


def test_after_every_secret_link_flow_no_team_page_shows_a_secret(app, client, login_as, frozen_now):
    """Run each flow with a secret in it (a password reset, a line manager's sign-off, an RSVP, a calendar
    feed, two-step setup, confirming a new account), with refused CSRF checks on each secret page; then no
    page the team can open (audit log, outbox and each message, people) shows any of those secrets."""
    import pyotp

    from app.celebration.services import invite_guest
    from tests.adversary import pages_the_team_can_reach
    from tests.conftest import csrf_token, sign_in_client
    from tests.factories import PASSWORD, make_participant, make_user

    def links(kind: str) -> list[str]:
        found = [m for message in db.session.scalars(select(OutboxMessage))
                 for m in SECRET.findall(open_links(message.body_text))]
        return [token for k, token in found if k == kind]

    secrets: set[str] = set()
    cohort = open_cohort()
    # A password reset: refused without a token, refused with a weak password, then done.
    person = make_user(email="resetter@example.org")
    db.session.commit()
    client.post("/password/forgot", data={"csrf_token": csrf_token(client, "/password/forgot"),
                                          "email": person.email})
    [reset] = links("password/reset")
    client.post(f"/password/reset/{reset}", data={"password": "x"})
    client.post(f"/password/reset/{reset}", data={"csrf_token": csrf_token(client, f"/password/reset/{reset}"),
                                                  "password": "aaaaaaaaaa", "confirm": "aaaaaaaaaa"})
    client.post(f"/password/reset/{reset}", data={"csrf_token": csrf_token(client, f"/password/reset/{reset}"),
                                                  "password": "a brand new phrase", "confirm": "a brand new phrase"})
    secrets.add(reset)
    # A line manager's sign-off request.
    make_application(cohort, submit=True)
    sponsor = links("sponsor")[0]
    client.get(f"/sponsor/{sponsor}")
    client.post(f"/sponsor/{sponsor}", data={"decision": "approve"})
    secrets |= set(links("sponsor"))
    # A guest's RSVP.
    from app.programme.models import SessionKind
    from tests.factories import make_session

    make_session(cohort, starts_at=clock.now() + timedelta(days=60), kind=SessionKind.CELEBRATION)
    invite_guest(actor=make_participant(cohort), cohort=cohort, name="A Guest", email="guest@example.org",
                 relationship="colleague", now=clock.now())
    db.session.commit()
    rsvp = links("rsvp")[0]
    guest = app.test_client()
    guest.post(f"/rsvp/{rsvp}", data={"coming": "yes"})
    guest.post(f"/rsvp/{rsvp}", data={"csrf_token": csrf_token(guest, f"/rsvp/{rsvp}"), "coming": "yes"})
    secrets |= set(links("rsvp"))
    # A new account's confirmation.
    newcomer = app.test_client()
    newcomer.post("/register", data={"csrf_token": csrf_token(newcomer, "/register"), "name": "New Comer",
                                     "email": "newcomer@example.org", "password": "a long enough phrase",
                                     "confirm": "a long enough phrase"})
    [confirm] = links("register/confirm")
    newcomer.post(f"/register/confirm/{confirm}", data={})
    newcomer.post(f"/register/confirm/{confirm}",
                  data={"csrf_token": csrf_token(newcomer, f"/register/confirm/{confirm}")})
    secrets.add(confirm)
    # A calendar feed and two-step setup, by a signed-in participant.
    participant = make_participant(cohort, email="subscriber@example.org")
    browser = sign_in_client(app.test_client(), participant)
    page = browser.post("/settings/calendar", data={"csrf_token": csrf_token(browser, "/settings"),
                                                    "action": "create"}).get_data(as_text=True)
    calendar = re.search(r"/calendar/([A-Za-z0-9_\-]{20,})\.ics", page).group(1)
    assert browser.get(f"/calendar/{calendar}.ics").status_code == 200
    app.test_client().post(f"/calendar/{calendar}.ics", data={})
    secrets.add(calendar)
    browser.get("/settings/two-step")
    with browser.session_transaction() as session:
        totp_secret = session["two_step_secret"]
    browser.post("/settings/two-step", data={"code": "123456"})
    browser.post("/settings/two-step", data={"csrf_token": csrf_token(browser, "/settings/two-step"),
                                             "code": pyotp.TOTP(totp_secret).at(clock.now()), "password": PASSWORD})
    secrets.add(totp_secret)
    db.session.expire_all()
    assert db.session.get(type(participant), participant.id).totp_enabled_at is not None

    from app.audit import AuditEvent

    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "csrf_refused")).all()
    login_as(make_team())
    pages = pages_the_team_can_reach(client)
    assert any("/team/outbox/" in path for path in pages) and any("/team/people/" in path for path in pages)
    for path, body in pages.items():
        for secret in secrets:
            assert secret not in body, f"{path} shows a secret"
        assert not SECRET.search(body), f"{path} shows a secret link"
    assert not any(secret in str(row.detail) for row in db.session.scalars(select(AuditEvent))
                   for secret in secrets), "a secret in an audit row's detail"
