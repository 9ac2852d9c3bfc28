"""Discussion moderation: facilitators hide posts too, staff read hidden text and show it again, threads are
locked and pinned, and people follow or mute a thread (issue 23, point 12). Each was missing before."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.notifications.models import OutboxMessage
from app.portal import discussion
from app.portal.models import Post, Thread
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_facilitator, make_participant, make_team


def digests(thread: Thread) -> set[str]:
    """Who is emailed about new posts in this thread (pending digest emails)."""
    return set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.key.startswith(f"thread-digest:{thread.id}:"))))


def started(cohort, person, title="Rotas", body="How do you share the rota?"):
    return discussion.start_thread(actor=person, cohort=cohort, title=title, body=body, module_number=None,
                                   now=clock.now())


# -- hiding ----------------------------------------------------------------------------------

def test_a_facilitator_hides_a_post_and_participants_no_longer_read_it(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort, name="Author Person")
    reader = make_participant(cohort)
    facilitator = make_facilitator(name="Fay Facilitator")
    thread = started(cohort, author, body="Patient Jane Doe, bed 4, said...")
    post_id, thread_id = thread.posts[0].id, thread.id
    login_as(facilitator)
    path = f"/posts/{post_id}/hide"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "reason": "Names a patient"})
    assert response.status_code == 302
    assert db.session.get(Post, post_id).is_hidden
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "post_hidden")).one()
    assert (event.actor_id, event.detail["reason"]) == (facilitator.id, "Names a patient")

    login_as(reader)
    page = client.get(f"/threads/{thread_id}").get_data(as_text=True)
    assert "Jane Doe" not in page and "Names a patient" not in page
    assert "This post was hidden by the programme team." in page


def test_staff_read_what_a_hidden_post_said_who_hid_it_and_why_and_can_show_it_again(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort)
    thread = started(cohort, author, body="Patient Jane Doe, bed 4, said...")
    post = thread.posts[0]
    team = make_team(name="Tam Team")
    discussion.hide_post(actor=team, post=post, reason="Names a patient", now=clock.now())
    post_id, thread_id = post.id, thread.id
    login_as(make_facilitator())
    page = client.get(f"/threads/{thread_id}").get_data(as_text=True)
    assert "Hidden from participants" in page
    assert "Jane Doe" in page and "Hidden by Tam Team: Names a patient" in page
    assert "Show it to participants again" in page
    response = client.post(f"/posts/{post_id}/unhide",
                           data={"csrf_token": csrf_token(client, f"/threads/{thread_id}"), "on": "0"},
                           follow_redirects=True)
    assert "The post is shown to participants again." in response.get_data(as_text=True)
    assert not db.session.get(Post, post_id).is_hidden
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "post_unhidden")).one()
    login_as(author)
    assert "Jane Doe" in client.get(f"/threads/{thread_id}").get_data(as_text=True)


def test_participants_cannot_hide_or_unhide_posts(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort)
    other = make_participant(cohort)
    thread = started(cohort, author)
    post_id, thread_id = thread.posts[0].id, thread.id
    with pytest.raises(PermissionDenied):
        discussion.hide_post(actor=other, post=thread.posts[0], reason="I disagree", now=clock.now())
    login_as(other)
    token = csrf_token(client, f"/threads/{thread_id}")
    assert client.post(f"/posts/{post_id}/hide", data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert client.post(f"/posts/{post_id}/unhide", data={"csrf_token": token, "on": "0"}).status_code == 403
    assert not db.session.get(Post, post_id).is_hidden
    assert "Hide" not in client.get(f"/threads/{thread_id}").get_data(as_text=True).split("<h1>")[1]


def test_hiding_needs_a_reason_and_keeps_the_form(client, login_as, frozen_now):
    cohort = make_cohort()
    thread = started(cohort, make_participant(cohort))
    post_id = thread.posts[0].id
    login_as(make_team())
    path = f"/posts/{post_id}/hide"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "reason": "  "})
    assert response.status_code == 200
    assert "Say why the post is hidden" in response.get_data(as_text=True)
    assert not db.session.get(Post, post_id).is_hidden


# -- locking and pinning ---------------------------------------------------------------------

def test_a_locked_thread_takes_no_posts_and_says_so_before_typing(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort)
    thread = started(cohort, author)
    thread_id = thread.id
    login_as(make_facilitator())
    response = client.post(f"/threads/{thread_id}/lock",
                           data={"csrf_token": csrf_token(client, f"/threads/{thread_id}"), "on": "1"},
                           follow_redirects=True)
    assert "The discussion is locked" in response.get_data(as_text=True)
    assert db.session.get(Thread, thread_id).is_locked

    login_as(author)
    page = client.get(f"/threads/{thread_id}").get_data(as_text=True)
    assert "This discussion is locked: it takes no new posts." in page
    assert "Post reply" not in page
    token = csrf_token(client, f"/threads/{thread_id}")
    response = client.post(f"/threads/{thread_id}", data={"csrf_token": token, "body": "Sneaking in"})
    assert response.status_code == 200
    assert "This discussion is locked" in response.get_data(as_text=True)
    assert len(db.session.get(Thread, thread_id).posts) == 1
    # The author's own post can no longer be edited either, and the edit page says so first.
    post_id = db.session.get(Thread, thread_id).posts[0].id
    assert "This discussion is locked" in client.get(f"/posts/{post_id}/edit").get_data(as_text=True)

    login_as(make_team())
    client.post(f"/threads/{thread_id}/lock",
                data={"csrf_token": csrf_token(client, f"/threads/{thread_id}"), "on": "0"})
    assert not db.session.get(Thread, thread_id).is_locked
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "thread")))
    assert actions == {"thread_locked", "thread_unlocked"}


def test_pinned_threads_are_listed_first(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    old = started(cohort, person, title="House rules")
    frozen_now.shift(timedelta(days=1))
    started(cohort, person, title="Newer talk")
    assert [t.title for t, _ in discussion.threads_of(cohort)] == ["Newer talk", "House rules"]
    old_id, cohort_id = old.id, cohort.id
    login_as(make_team())
    client.post(f"/threads/{old_id}/pin", data={"csrf_token": csrf_token(client, f"/threads/{old_id}"), "on": "1"})
    page = client.get(f"/cohorts/{cohort_id}/discussion").get_data(as_text=True)
    assert page.index("House rules") < page.index("Newer talk")
    assert "Pinned" in page


def test_participants_cannot_lock_or_pin(client, login_as, frozen_now):
    cohort = make_cohort()
    person = make_participant(cohort)
    thread = started(cohort, person)
    with pytest.raises(PermissionDenied):
        discussion.set_locked(actor=person, thread=thread, locked=True, now=clock.now())
    thread_id = thread.id
    login_as(person)
    token = csrf_token(client, f"/threads/{thread_id}")
    for action in ("lock", "pin"):
        assert client.post(f"/threads/{thread_id}/{action}", data={"csrf_token": token, "on": "1"}).status_code == 403
    row = db.session.get(Thread, thread_id)
    assert not row.is_locked and not row.is_pinned


def test_locking_twice_is_a_clear_message_not_an_error(frozen_now):
    cohort = make_cohort()
    thread = started(cohort, make_participant(cohort))
    team = make_team()
    discussion.set_locked(actor=team, thread=thread, locked=True, now=clock.now())
    with pytest.raises(DomainError, match="already locked"):
        discussion.set_locked(actor=team, thread=thread, locked=True, now=clock.now())


# -- following and muting --------------------------------------------------------------------

def test_following_brings_emails_without_posting_and_muting_stops_them_after_posting(frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort, email="author@example.org")
    follower = make_participant(cohort, email="follower@example.org")
    muter = make_participant(cohort, email="muter@example.org")
    bystander = make_participant(cohort, email="bystander@example.org")
    thread = started(cohort, author)
    discussion.add_post(actor=muter, thread=thread, body="Me too", now=clock.now())
    discussion.choose_subscription(actor=follower, thread=thread, state="following", now=clock.now())
    discussion.choose_subscription(actor=muter, thread=thread, state="muted", now=clock.now())
    frozen_now.shift(timedelta(hours=2))
    discussion.add_post(actor=author, thread=thread, body="Here is ours", now=clock.now())
    latest = clock.now().strftime("%Y%m%d%H")
    recipients = set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.key.like(f"thread-digest:{thread.id}:%:{latest}"))))
    assert recipients == {"follower@example.org"}
    assert "bystander@example.org" not in digests(thread)
    assert discussion.is_hearing(follower, thread) and not discussion.is_hearing(muter, thread)
    assert discussion.is_hearing(author, thread) and not discussion.is_hearing(bystander, thread)

    # Back to the default: the muter is emailed again because they posted.
    discussion.choose_subscription(actor=muter, thread=thread, state=None, now=clock.now())
    frozen_now.shift(timedelta(hours=2))
    discussion.add_post(actor=author, thread=thread, body="And more", now=clock.now())
    latest = clock.now().strftime("%Y%m%d%H")
    recipients = set(db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.key.like(f"thread-digest:{thread.id}:%:{latest}"))))
    assert recipients == {"follower@example.org", "muter@example.org"}


def test_the_thread_page_says_whether_you_are_emailed_and_lets_you_choose(client, login_as, frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort)
    reader = make_participant(cohort)
    thread = started(cohort, author)
    thread_id = thread.id
    login_as(reader)
    page = client.get(f"/threads/{thread_id}").get_data(as_text=True)
    assert "You are not emailed about new posts here." in page
    response = client.post(f"/threads/{thread_id}/following",
                           data={"csrf_token": csrf_token(client, f"/threads/{thread_id}"), "state": "following"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "You are following this discussion" in page
    assert "You are emailed about new posts here" in page
    assert 'value="following" checked' in page
    response = client.post(f"/threads/{thread_id}/following",
                           data={"csrf_token": csrf_token(client, f"/threads/{thread_id}"), "state": "everything"})
    assert response.status_code == 302  # an unknown choice changes nothing
    assert discussion.subscription_of(reader, db.session.get(Thread, thread_id)) == "following"


def test_another_cohorts_participant_cannot_follow_a_thread(client, login_as, frozen_now):
    cohort = make_cohort()
    thread = started(cohort, make_participant(cohort))
    outsider = make_participant(make_cohort())
    with pytest.raises(PermissionDenied):
        discussion.choose_subscription(actor=outsider, thread=thread, state="following", now=clock.now())
    thread_id = thread.id
    login_as(outsider)
    token = csrf_token(client, "/settings")
    response = client.post(f"/threads/{thread_id}/following", data={"csrf_token": token, "state": "following"})
    assert response.status_code == 404


def test_the_digest_email_says_how_to_stop_it(frozen_now):
    cohort = make_cohort()
    author = make_participant(cohort)
    follower = make_participant(cohort, email="f@example.org")
    thread = started(cohort, author)
    discussion.choose_subscription(actor=follower, thread=thread, state="following", now=clock.now())
    discussion.add_post(actor=author, thread=thread, body="More", now=clock.now())
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "f@example.org")).one()
    assert "mute the discussion" in message.body_text
    assert f"/threads/{thread.id}#following" in message.body_text
