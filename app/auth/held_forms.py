"""Keeping what someone typed when their sign-in ended while they were typing.

A POST that reaches a page needing sign-in from a browser that is no longer signed in (the session
timed out, or was ended from another device) would otherwise lose the answers. If the signed
cookie still names the account that was signed in, the posted fields (never the CSRF token, a
password or a file) are held for an hour against that account and that page, under a random token
of which only the hash is stored. Sign-in then leads back to the page with `?restore=<token>`, and
the page puts the answers back into its form for that same person, once. Nothing is saved to the
page's own records until they press its button.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, flash, redirect, request, session
from flask_login import current_user, login_url
from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from app import clock
from app.auth.models import HeldForm, User
from app.db import db, write_unit
from app.extensions import login_manager
from app.tokens import hash_token, new_token

HOLD_FOR = timedelta(hours=1)
SIGNED_OUT_MESSAGE = ("You were signed out, so your answers were not saved yet. "
                      "Sign in and they will be put back in the form.")
RESTORED_MESSAGE = "We have put back what you typed. Save it to keep it."
RESTORE_PARAMETER = "restore"


def _account_id(value) -> int | None:
    """The id part of Flask-Login's "<id>:<session_version>"."""
    if not isinstance(value, str):
        return None
    raw_id, _, _version = value.partition(":")
    return int(raw_id) if raw_id.isdigit() else None


def _cookie_account_id() -> int | None:
    """The account the browser's signed session cookie named when the request arrived. Signing-in
    checks may already have cleared the session (a staff member idle too long), so the cookie as
    received is read again; its signature and age are checked as for any session."""
    interface = current_app.session_interface
    serializer = interface.get_signing_serializer(current_app) if hasattr(interface, "get_signing_serializer") else None
    cookie = request.cookies.get(interface.get_cookie_name(current_app))
    if serializer is None or not cookie:
        return None
    try:
        data = serializer.loads(cookie, max_age=int(current_app.permanent_session_lifetime.total_seconds()))
    except Exception:  # noqa: BLE001  (a bad or old cookie names nobody, whatever the reason)
        return None
    return _account_id(data.get("_user_id")) if isinstance(data, dict) else None


def signed_out_account() -> User | None:
    """The enabled account this browser was signed in as, now that it is not."""
    account_id = _account_id(session.get("_user_id")) or _cookie_account_id()
    if account_id is None:
        return None
    user = db.session.get(User, account_id)
    return user if user is not None and not user.is_disabled else None


def fields_to_hold(form: MultiDict) -> dict[str, list[str]]:
    """The posted fields worth putting back: never the CSRF token nor anything that looks like a
    password (files are not in `request.form` at all)."""
    return {name: values for name, values in form.to_dict(flat=False).items()
            if name != "csrf_token" and "password" not in name.lower()}


def hold_form(*, user: User, path: str, data: dict[str, list[str]], now: datetime) -> str:
    """Keep the fields for an hour and return the token that gets them back. An earlier hold of the same
    page for the same person gives way to this one; expired holds are cleared on the way."""
    db.session.execute(delete(HeldForm).where(HeldForm.expires_at <= now))
    db.session.execute(delete(HeldForm).where(HeldForm.user_id == user.id, HeldForm.path == path))
    token, token_hash = new_token()
    db.session.add(HeldForm(token_hash=token_hash, user_id=user.id, path=path, data=data, created_at=now,
                            expires_at=now + HOLD_FOR))
    db.session.flush()
    return token


def purge_expired_held_forms(now: datetime) -> int:
    """Remove holds past their hour (the retention job can call this; holding a form also does)."""
    return db.session.execute(delete(HeldForm).where(HeldForm.expires_at <= now)).rowcount


def _hold_this_request() -> str | None:
    """Hold this POST's fields if the browser names an account; the token, or None if nothing was held."""
    if request.method != "POST" or request.mimetype not in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
        return None
    data = fields_to_hold(request.form)
    if not data:
        return None
    user = signed_out_account()
    if user is None:
        return None
    try:
        token = hold_form(user=user, path=request.path, data=data, now=clock.now())
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("could not hold a signed-out form for user %s", user.id)
        return None
    return token


def unauthorized():
    """Flask-Login's answer to a request that needs sign-in: the sign-in page with `next`, as by
    default, and for a POST from a browser that was signed in, the typed answers held for later."""
    token = _hold_this_request()
    if token is not None:
        flash(SIGNED_OUT_MESSAGE, "info")
        return redirect(login_url(login_manager.login_view, next_url=f"{request.path}?{RESTORE_PARAMETER}={token}"))
    if login_manager.login_message:
        flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def restore(path: str | None = None) -> MultiDict | None:
    """On a GET with `?restore=<token>`: the held fields, if the hold belongs to the signed-in person,
    was for this page (`path`, by default the request's) and has not expired. Single use: the hold
    is deleted as it is given back."""
    token = request.args.get(RESTORE_PARAMETER)
    if request.method != "GET" or not token or not current_user.is_authenticated:
        return None
    held = db.session.scalar(select(HeldForm).where(HeldForm.token_hash == hash_token(token)))
    if (held is None or held.user_id != current_user.id or held.path != (path or request.path)
            or held.expires_at <= clock.now()):
        return None
    held_id, data = held.id, held.data
    with write_unit():
        # Whoever deletes it first gets it: a second tab with the same link gets nothing.
        taken = db.session.execute(delete(HeldForm).where(HeldForm.id == held_id)).rowcount
    if taken != 1:
        return None
    return MultiDict([(name, value) for name, values in data.items() for value in values])
