"""Discussion rules: threads and posts, who is emailed about new posts, and moderation.

Moderation: the programme team and facilitators hide a post (with a reason, audited) and see what a
hidden post said, marked as hidden; they can show it again. They lock a thread (no new posts, said on
the page) and pin it (listed first). Anyone taking part follows a thread (emailed about new posts without
having posted) or mutes it (never emailed about it, even after posting).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, render_template
from sqlalchemy import func, select

from app import audit
from app.auth.models import User
from app.db import db
from app.errors import DomainError, PermissionDenied
from app.notifications.services import queue_email
from app.portal.models import Post, SubscriptionState, Thread, ThreadSubscription
from app.programme.access import is_participant_of
from app.programme.models import Cohort
from app.urls import absolute_url

POST_EDIT_WINDOW = timedelta(minutes=30)


def _require_member(actor: User, cohort_id: int) -> None:
    if not (actor.is_staff or is_participant_of(actor, cohort_id)):
        raise PermissionDenied("Only this cohort's participants and the programme team take part here.")


def _require_moderator(actor: User) -> None:
    if not actor.is_staff:
        raise PermissionDenied("Only the programme team and facilitators moderate the discussion.")


def start_thread(*, actor: User, cohort: Cohort, title: str, body: str, module_number: int | None,
                 now: datetime) -> Thread:
    _require_member(actor, cohort.id)
    if not title.strip():
        raise DomainError("Give the discussion a title.", field="title")
    if not body.strip():
        raise DomainError("Write the first post.", field="body")
    thread = Thread(cohort_id=cohort.id, title=title.strip()[:200], author_id=actor.id, last_post_at=now,
                    module_number=module_number)
    db.session.add(thread)
    db.session.flush()
    add_post(actor=actor, thread=thread, body=body, now=now)
    return thread


def add_post(*, actor: User, thread: Thread, body: str, now: datetime) -> Post:
    _require_member(actor, thread.cohort_id)
    if thread.is_locked:
        raise DomainError("This discussion is locked: it takes no new posts.", field="body")
    if not body.strip():
        raise DomainError("Write something before posting.", field="body")
    post = Post(thread=thread, author_id=actor.id, body=body.strip()[:10000], created_at=now, updated_at=now)
    db.session.add(post)
    thread.last_post_at = now
    db.session.flush()
    _notify_thread(thread, poster=actor, now=now)
    return post


def thread_audience(thread: Thread) -> select:
    """Who hears about new posts: everyone who posted or follows it, less anyone who muted it."""
    choices = select(ThreadSubscription.user_id, ThreadSubscription.state).where(
        ThreadSubscription.thread_id == thread.id).subquery()
    posters = select(Post.author_id).where(Post.thread_id == thread.id)
    followers = select(choices.c.user_id).where(choices.c.state == SubscriptionState.FOLLOWING.value)
    muted = select(choices.c.user_id).where(choices.c.state == SubscriptionState.MUTED.value)
    return (select(User.id, User.name, User.email)
            .where(User.id.in_(posters.union(followers)), User.id.not_in(muted), User.is_disabled.is_(False)))


def _notify_thread(thread: Thread, *, poster: User, now: datetime) -> None:
    """Everyone else in the thread hears about new posts, at most one email per thread per hour."""
    window = now.replace(minute=0, second=0, microsecond=0)
    people = db.session.execute(thread_audience(thread).where(User.id != poster.id)).all()
    link = absolute_url("portal.thread", thread_id=thread.id)
    settings = f"{link}#following"
    for user_id, name, email in people:
        context = dict(name=name, thread=thread, link=link, settings=settings,
                       programme_name=current_app.config["PROGRAMME_NAME"])
        queue_email(key=f"thread-digest:{thread.id}:{user_id}:{window:%Y%m%d%H}", recipient=email,
                    subject=f"New posts in \u201c{thread.title}\u201d", category="discussion",
                    body_text=render_template("portal/email/thread.txt", **context),
                    body_html=render_template("portal/email/thread.html", **context),
                    due_at=window + timedelta(hours=1))


def post_edit_refusal(actor: User, post: Post, now: datetime) -> str | None:
    """Why this person cannot edit this post now, or None when they can. The one rule: the service
    enforces it, the thread page asks it before offering "Edit", the edit page before showing a form."""
    if post.author_id != actor.id:
        return "You can only edit your own posts."
    if post.is_hidden:
        return "This post was hidden by the programme team, so it cannot be edited."
    if post.thread.is_locked:
        return "This discussion is locked, so its posts can no longer be changed."
    if now - post.created_at > POST_EDIT_WINDOW:
        return "Posts can be edited for 30 minutes after posting. This one can no longer be changed."
    return None


def edit_post(*, actor: User, post: Post, body: str, now: datetime) -> None:
    if post.author_id != actor.id:
        raise PermissionDenied("You can only edit your own posts.")
    refusal = post_edit_refusal(actor, post, now)
    if refusal:
        raise DomainError(refusal, field="body")
    if not body.strip():
        raise DomainError("A post cannot be empty.", field="body")
    post.body, post.edited_at = body.strip()[:10000], now
    db.session.flush()


# -- moderation ------------------------------------------------------------------------------

def hide_post(*, actor: User, post: Post, reason: str, now: datetime) -> None:
    """Hide a post from participants (staff still read it, marked as hidden). Says why, audited."""
    _require_moderator(actor)
    if post.is_hidden:
        raise DomainError("This post is already hidden.")
    if not reason.strip():
        raise DomainError("Say why the post is hidden.", field="reason")
    post.is_hidden, post.hidden_reason, post.hidden_by_id = True, reason.strip()[:500], actor.id
    audit.record(actor=actor, action="post_hidden", target_type="post", target_id=post.id,
                 detail={"reason": post.hidden_reason}, now=now)
    db.session.flush()


def unhide_post(*, actor: User, post: Post, now: datetime) -> None:
    """Show a hidden post again (audited with the reason it had been hidden for)."""
    _require_moderator(actor)
    if not post.is_hidden:
        raise DomainError("This post is not hidden.")
    audit.record(actor=actor, action="post_unhidden", target_type="post", target_id=post.id,
                 detail={"hidden_for": post.hidden_reason}, now=now)
    post.is_hidden, post.hidden_reason, post.hidden_by_id = False, "", None
    db.session.flush()


def _set_flag(actor: User, thread: Thread, flag: str, on: bool, now: datetime) -> None:
    """Lock or pin a thread (or undo it), audited as thread_locked, thread_unpinned..."""
    _require_moderator(actor)
    word = {"is_locked": "locked", "is_pinned": "pinned"}[flag]
    if getattr(thread, flag) == on:
        raise DomainError(f"This discussion is already {word}." if on else f"This discussion is not {word}.")
    setattr(thread, flag, on)
    audit.record(actor=actor, action=f"thread_{'' if on else 'un'}{word}", target_type="thread",
                 target_id=thread.id, detail={"title": thread.title}, now=now)
    db.session.flush()


def set_locked(*, actor: User, thread: Thread, locked: bool, now: datetime) -> None:
    """A locked thread takes no new posts and no edits."""
    _set_flag(actor, thread, "is_locked", locked, now)


def set_pinned(*, actor: User, thread: Thread, pinned: bool, now: datetime) -> None:
    """Pinned threads are listed first."""
    _set_flag(actor, thread, "is_pinned", pinned, now)


# -- following -------------------------------------------------------------------------------

def subscription_of(user: User, thread: Thread) -> str | None:
    """'following', 'muted', or None (emailed only once they have posted)."""
    return db.session.scalar(select(ThreadSubscription.state).where(
        ThreadSubscription.thread_id == thread.id, ThreadSubscription.user_id == user.id))


def is_hearing(user: User, thread: Thread) -> bool:
    """Whether this person is emailed about new posts in the thread now."""
    return db.session.scalar(select(func.count()).select_from(thread_audience(thread).where(User.id == user.id)
                                                              .subquery())) > 0


def choose_subscription(*, actor: User, thread: Thread, state: str | None, now: datetime) -> None:
    """Follow or mute a thread, or go back to the default (None: emailed once you have posted)."""
    _require_member(actor, thread.cohort_id)
    if state is not None and state not in {s.value for s in SubscriptionState}:
        raise DomainError("Choose to follow or mute the discussion.")
    row = db.session.get(ThreadSubscription, (thread.id, actor.id))
    if state is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(ThreadSubscription(thread_id=thread.id, user_id=actor.id, state=state, chosen_at=now))
    else:
        row.state, row.chosen_at = state, now
    db.session.flush()


def threads_of(cohort: Cohort) -> list[tuple[Thread, int]]:
    """The cohort's threads, pinned first, then by latest post, each with its number of posts."""
    counts = dict(db.session.execute(select(Post.thread_id, func.count()).join(Thread)
                                     .where(Thread.cohort_id == cohort.id).group_by(Post.thread_id)).all())
    threads = db.session.scalars(select(Thread).where(Thread.cohort_id == cohort.id)
                                 .order_by(Thread.is_pinned.desc(), Thread.last_post_at.desc())).all()
    return [(t, counts.get(t.id, 0)) for t in threads]
