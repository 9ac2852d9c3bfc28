"""Two-step sign-in pages: the code after the password, and turning it on or off in settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from app import clock
from app.auth import sessions, two_step
from app.auth.forms import TwoStepCodeForm, TwoStepSettingsForm
from app.auth.models import User
from app.auth.views import bp, landing_for
from app.db import db
from app.errors import DomainError
from app.extensions import limiter
from app.permissions import public, signed_in
from app.unit_of_work import unit_of_work

PENDING_FOR = timedelta(minutes=5)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10 per 15 minutes", methods=["POST"])
@public
def two_step_code():
    pending = session.get("two_step") or {}
    started = datetime.fromtimestamp(pending.get("at", 0), UTC)
    user = db.session.get(User, pending["user"]) if pending.get("user") else None
    if user is None or clock.now() - started > PENDING_FOR or user.is_disabled:
        session.pop("two_step", None)
        flash("Sign in again: the time to enter your code ran out.", "info")
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        target = pending.get("next")
        with unit_of_work():  # a failed attempt's audit row is kept too: it counts towards the limits
            matched = two_step.check_code(user=user, code=TwoStepCodeForm().code.data or "", now=clock.now())
            if matched:
                sessions.sign_in(user, now=clock.now())
        if matched:
            return redirect(target or landing_for(user))
        error = "That code did not match. Enter the 6-digit code your authenticator app shows now."
    return render_template("auth/two_step_code.html", error=error, form_errors=bool(error)), 400 if error else 200


@bp.route("/settings/two-step", methods=["GET", "POST"])
@signed_in
def two_step_settings():
    now = clock.now()
    error, error_field = None, None
    if request.method == "POST":
        form = TwoStepSettingsForm()
        with unit_of_work() as work:
            try:
                if form.action.data == "off":
                    two_step.turn_off(actor=current_user, user=current_user, code=form.code.data, now=now)
                    work.success = "Two-step sign-in is off."
                else:
                    secret = session.get("two_step_secret")
                    if not secret:
                        raise DomainError("Your setup expired. Scan the new QR code and enter its code.",
                                          field="code")
                    two_step.turn_on(user=current_user, secret=secret, code=form.code.data or "",
                                     password=form.password.data or "", now=now)
                    session.pop("two_step_secret", None)
                    work.success = "Two-step sign-in is on. You will be asked for a code each time you sign in."
            except DomainError as failure:
                # Committed all the same: only the failed attempt's audit row, which counts towards the limits.
                error, error_field = failure.message, failure.field or "code"
        if error is None:
            return redirect(url_for("auth.settings"))
    uri = None
    if not current_user.totp_enabled_at:
        if "two_step_secret" not in session:  # kept across reloads, so a scanned code stays valid
            session["two_step_secret"] = two_step.new_secret()
        uri = two_step.provisioning_uri(current_user, session["two_step_secret"])
    required = two_step.required_for(current_user, current_app.config)
    body = render_template("auth/two_step_settings.html", uri=uri, qr=two_step.qr_svg(uri) if uri else None,
                           secret=session.get("two_step_secret") if uri else None, error=error,
                           error_field=error_field, required=required,
                           form_errors=bool(error))
    return body, 400 if error else 200
