"""The emails about a person's own account, and the single-use links some of them carry.

Every one goes at once (`due_at=now`) in the "account" category, with a plain-text and an HTML
part from `auth/email/<template>.txt|html`. A single-use link (email confirmation, password reset)
is a random token of which only the hash is stored, in a row of `model` that expires after `ttl`;
the link itself is sealed in the stored email and opened only when it is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import render_template

from app.auth.models import User
from app.db import db
from app.notifications.services import queue_email, seal_link
from app.tokens import new_token
from app.urls import absolute_url


def queue_account_email(*, key: str, user: User, subject: str, template: str, now: datetime, **context) -> None:
    context = {"user": user, **context}
    queue_email(
        key=key, recipient=user.email, subject=subject,
        body_text=render_template(f"auth/email/{template}.txt", **context),
        body_html=render_template(f"auth/email/{template}.html", **context),
        due_at=now, category="account",
    )


def new_single_use_link(model, *, user: User, endpoint: str, ttl: timedelta, now: datetime):
    """A new link row of `model` for this person: (row, its token's hash, the sealed absolute link)."""
    token, token_hash = new_token()
    row = model(user_id=user.id, token_hash=token_hash, created_at=now, expires_at=now + ttl)
    db.session.add(row)
    db.session.flush()
    return row, token_hash, seal_link(absolute_url(endpoint, token=token))
