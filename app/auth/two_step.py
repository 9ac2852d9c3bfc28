"""Two-step sign-in with an authenticator app (TOTP, RFC 6238: 6 digits, 30-second steps).

A code is accepted for the current step and one either side (clock drift), and each step only
once (a code seen by someone looking over a shoulder cannot be replayed). When
REQUIRE_TEAM_TWO_STEP is set, team members must turn it on before they can use any other page.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno
from markupsafe import Markup

from app.audit import record
from app.auth.models import User
from app.db import db
from app.errors import DomainError

STEP_SECONDS = 30
ISSUER = "Convene"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The setup link as an inline SVG QR code (no external image, so the CSP holds)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, title="QR code to add Convene to your authenticator app")
    return Markup(svg)  # noqa: S704 - segno's own SVG markup, from a URI we built


def _matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code) and (last_step is None or step > last_step):
            return step
    return None


def turn_on(*, user: User, secret: str, code: str, password: str | None, now: datetime) -> None:
    """Turn on two-step sign-in: the current password (so a borrowed signed-in browser cannot tie the
    account to someone else's phone) and a code from the newly added app."""
    from app.auth.services import check_current_password

    check_current_password(user=user, password=password, now=now, field="password")
    step = _matching_step(secret, code, now, None)
    if step is None:
        raise DomainError("That code did not match. Enter the 6-digit code your app shows now.", field="code")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, now, step
    record(actor=user, action="two_step_enabled", target_type="user", target_id=user.id, now=now)
    db.session.flush()


def check_code(*, user: User, code: str, now: datetime) -> bool:
    """A sign-in code: True (and the step is used up) or False."""
    if not user.totp_enabled_at or not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        record(actor=None, action="two_step_failed", target_type="user", target_id=user.id, now=now)
        return False
    user.totp_last_step = step
    db.session.flush()
    return True


def turn_off(*, actor: User, user: User, code: str | None, now: datetime) -> None:
    """The person (with a current code) or the team (for someone who lost their phone) turns it off."""
    if actor.id == user.id:
        if not check_code(user=user, code=code or "", now=now):
            raise DomainError("That code did not match. Enter the 6-digit code your app shows now.", field="code")
    elif not actor.is_team:
        raise DomainError("Only the programme team can turn off someone else's two-step sign-in.")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    record(actor=actor, action="two_step_disabled", target_type="user", target_id=user.id, now=now)
    db.session.flush()


def required_for(user: User, config) -> bool:
    return bool(config["REQUIRE_TEAM_TWO_STEP"]) and user.is_team and user.totp_enabled_at is None
