"""People and their organisations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import TimestampMixin, db


class StaffRole(StrEnum):
    NONE = "none"
    FACILITATOR = "facilitator"
    TEAM = "team"


class OrganisationKind(StrEnum):
    NHS_TRUST = "nhs_trust"
    PRIMARY_CARE = "primary_care"
    LOCAL_GOVERNMENT = "local_government"
    SOCIAL_CARE = "social_care"
    PUBLIC_HEALTH = "public_health"
    CHARITY = "charity"
    HIGHER_EDUCATION = "higher_education"
    HEALTH_INNOVATION_NETWORK = "health_innovation_network"
    OTHER = "other"

    @property
    def label(self) -> str:
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS = {
    OrganisationKind.NHS_TRUST: "NHS trust",
    OrganisationKind.PRIMARY_CARE: "Primary care",
    OrganisationKind.LOCAL_GOVERNMENT: "Local government",
    OrganisationKind.SOCIAL_CARE: "Social care",
    OrganisationKind.PUBLIC_HEALTH: "Public health",
    OrganisationKind.CHARITY: "Charity or voluntary sector",
    OrganisationKind.HIGHER_EDUCATION: "Higher education",
    OrganisationKind.HEALTH_INNOVATION_NETWORK: "Health innovation network",
    OrganisationKind.OTHER: "Other",
}


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


class Organisation(TimestampMixin, db.Model):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("kind", OrganisationKind), name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default=OrganisationKind.OTHER.value)
    region: Mapped[str] = mapped_column(String(100), default="")
    # An organisation an applicant adds is offered to others only once the team has accepted it
    # (until then only applications naming it show it).
    accepted_at: Mapped[datetime | None]

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def kind_label(self) -> str:
        return OrganisationKind(self.kind).label


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("staff_role", StaffRole), name="staff_role_valid"),
        CheckConstraint("email = lower(email)", name="email_casefolded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    staff_role: Mapped[str] = mapped_column(String(20), default=StaffRole.NONE.value)
    job_title: Mapped[str] = mapped_column(String(120), default="")
    profession: Mapped[str] = mapped_column(String(120), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    is_disabled: Mapped[bool] = mapped_column(default=False)
    # Bumped to sign the person out everywhere: it is part of the id kept in session cookies.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]
    # When the person proved they receive email at this address (a confirmation link). An account
    # whose address is not confirmed cannot sign in.
    email_confirmed_at: Mapped[datetime | None]
    # The private calendar feed's token (its SHA-256; the token itself is shown once).
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Optional reminders (not sign-off requests or schedule changes) can be turned off.
    wants_reminders: Mapped[bool] = mapped_column(default=True, server_default="1")
    # Two-step sign-in with an authenticator app (TOTP): the shared secret, when it was turned on,
    # and the last time step used (a code is accepted once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    # Data protection: when the person asked for their account to be deleted, and when it was erased.
    deletion_requested_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")

    # -- Flask-Login ---------------------------------------------------------------------
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return not self.is_disabled

    # -- passwords ----------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    # -- roles --------------------------------------------------------------------------
    @property
    def is_team(self) -> bool:
        return self.staff_role == StaffRole.TEAM

    @property
    def is_facilitator(self) -> bool:
        return self.staff_role == StaffRole.FACILITATOR

    @property
    def is_staff(self) -> bool:
        return self.staff_role in (StaffRole.TEAM, StaffRole.FACILITATOR)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class SingleUseLink:
    """A single-use, expiring emailed link of one person's. Only the token's SHA-256 is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    @declared_attr
    def user(cls) -> Mapped[User]:
        return relationship()


class EmailConfirmation(SingleUseLink, db.Model):
    """A link proving an address receives email."""

    __tablename__ = "email_confirmations"


class PasswordResetToken(SingleUseLink, db.Model):
    """A password reset link."""

    __tablename__ = "password_reset_tokens"


class UserSession(db.Model):
    """One signed-in browser. The cookie holds a random key; only its SHA-256 is stored, so a
    session can be ended from the server (sign out, sign out everywhere, password change,
    disabling) and a replayed cookie then fails."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    origin: Mapped[str] = mapped_column(String(100), default="")

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None



class HeldForm(db.Model):
    """What someone typed into a form when their sign-in had expired, kept for an hour so that signing
    in again puts it back. Only for the account that was signed in; only the token's SHA-256 is stored."""

    __tablename__ = "held_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
