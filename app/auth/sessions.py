"""Signed-in sessions that the server can end.

Signing in clears the cookie (no fixation), creates a `UserSession` and puts its random key in the
signed cookie with the time of the last request. `load_user` accepts a cookie only while its
session is live, the account enabled and its `session_version` current; staff are signed out
after 30 minutes without a request and everyone after PERMANENT_SESSION_LIFETIME without one (the
last-seen time rides in the signed cookie, so an old cookie replayed later is stale too), and every
session ends SESSION_ABSOLUTE_LIFETIME after it started, however busy. Expired rows are never
accepted, whatever the cookie says, and the retention job deletes them. Signing out ends that session; "sign out everywhere", a
password change and disabling the account end them all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from app import clock
from app.auth.models import User, UserSession
from app.db import db
from app.tokens import hash_token, new_token


def sign_in(user: User, *, now: datetime) -> None:
    """Start a fresh session for this person in this browser."""
    session.clear()
    token = start_session(user, now=now, user_agent=request.headers.get("User-Agent", ""),
                          origin=request.remote_addr or "")
    session["sid"] = token
    session["seen"] = now.timestamp()
    login_user(user)


def start_session(user: User, *, now: datetime, user_agent: str = "", origin: str = "") -> str:
    token, key_hash = new_token()
    db.session.add(UserSession(user_id=user.id, key_hash=key_hash, created_at=now, user_agent=user_agent[:200],
                               origin=origin[:100]))
    db.session.flush()
    return token


def sign_out(*, now: datetime) -> None:
    """End this browser's session on the server, then clear the cookie."""
    token = session.get("sid")
    if token:
        db.session.execute(update(UserSession).where(UserSession.key_hash == hash_token(token),
                                                     UserSession.revoked_at.is_(None)).values(revoked_at=now))
    logout_user()
    session.clear()


def end_all_sessions(user: User, *, now: datetime, keep_current: bool = False) -> int:
    """End every session of this person (optionally all but this browser's). Returns how many."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep_current and session.get("sid"):
        query = query.where(UserSession.key_hash != hash_token(session["sid"]))
    ended = db.session.execute(query.values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    if not keep_current:
        user.session_version += 1
    db.session.flush()
    return ended


def started_after(now: datetime) -> datetime:
    """Sessions that started at or before this instant have reached their absolute lifetime."""
    return now - current_app.config["SESSION_ABSOLUTE_LIFETIME"]


def live_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
        UserSession.created_at > started_after(clock.now())).order_by(UserSession.created_at.desc())))


def current_key_hash() -> str | None:
    token = session.get("sid")
    return hash_token(token) if token else None


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user behind this cookie, if the cookie is still good."""
    try:
        raw_id, version = user_id.split(":")
        user_key = int(raw_id)
    except (ValueError, TypeError):
        return None
    token = session.get("sid")
    if not token:
        return None
    now = clock.now()
    # The person and their live server-side session in one query: every signed-in request pays for it.
    user = db.session.scalar(select(User).join(UserSession, UserSession.user_id == User.id).where(
        User.id == user_key, UserSession.key_hash == hash_token(token), UserSession.revoked_at.is_(None),
        UserSession.created_at > started_after(now)))
    if user is None or str(user.session_version) != version or user.is_disabled:
        return None
    seen = session.get("seen")
    idle = current_app.config["STAFF_IDLE_TIMEOUT" if user.is_staff else "PERMANENT_SESSION_LIFETIME"]
    if not isinstance(seen, int | float) or now - datetime.fromtimestamp(seen, UTC) > idle:
        session.clear()
        return None
    session["seen"] = now.timestamp()
    return user
