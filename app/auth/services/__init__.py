"""Accounts: registration, sign-in checks, password resets, settings, staff roles. One module per
concern; import services from here."""

from app.auth.services.account_settings import (  # noqa: F401
    OPTIONAL_REMINDERS,
    cancel_deletion_request,
    create_calendar_token,
    opted_out_of_reminders,
    request_deletion,
    revoke_calendar_token,
    set_disabled,
    set_reminders,
    set_role,
    sign_out_everywhere,
    user_for_calendar_token,
)
from app.auth.services.registration import (  # noqa: F401
    CONFIRMATION_EMAIL_GAP,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_confirmation_token,
    check_password_rules,
    confirm_email,
    create_admin,
    find_user_by_email,
    normalise_email,
    register_user,
    resend_confirmation,
    start_registration,
)
from app.auth.services.signing_in import (  # noqa: F401
    FAILURE_MEMORY,
    FRESH_START_ACTIONS,
    EmailNotConfirmed,
    SignInLocked,
    authenticate,
    change_password,
    check_current_password,
    check_not_locked,
    check_reset_token,
    request_password_reset,
    reset_password,
)
