"""Sign in, sign out, register and confirm the address, reset a forgotten password."""

import time

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from app import clock
from app.auth import services, sessions
from app.auth.forms import (
    CalendarLinkForm,
    ChangePasswordForm,
    ConfirmEmailForm,
    DeletionRequestForm,
    EndSessionsForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ReminderSettingsForm,
    ResendConfirmationForm,
    ResetPasswordForm,
)
from app.errors import DomainError, InvalidToken
from app.extensions import limiter
from app.form_errors import attach_domain_error
from app.permissions import public, signed_in
from app.unit_of_work import unit_of_work
from app.urls import absolute_url, safe_next

RESET_ANSWER_FLOOR = 0.05  # seconds

bp = Blueprint("auth", __name__, template_folder="templates")


def _failed_sign_in(response) -> bool:
    """Per network address only failed sign-ins count (a success redirects), so a whole organisation
    behind one address can sign in; each account has its own limit on wrong passwords (services)."""
    return response.status_code != 302


def _sign_in_failures_per_address() -> str:
    return f"{current_app.config['SIGN_IN_FAILURES_PER_ADDRESS_PER_HOUR']} per hour"


def _registrations_per_address() -> str:
    return f"{current_app.config['REGISTRATIONS_PER_ADDRESS_PER_HOUR']} per hour"


def landing_for(user) -> str:
    return url_for("admin.dashboard") if user.is_staff else url_for("programme.home")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_failures_per_address, methods=["POST"], deduct_when=_failed_sign_in)
@public
def login():
    if current_user.is_authenticated:
        return redirect(landing_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        unconfirmed = None
        # Every attempt's audit row is committed (a failed one counts towards the limits).
        with unit_of_work(flash_error=False) as work:
            try:
                user = services.authenticate(email=form.email.data, password=form.password.data, now=clock.now())
            except services.EmailNotConfirmed as error:
                unconfirmed = error  # its audit row and the new link are kept
            else:
                if user is not None and not user.totp_enabled_at:
                    sessions.sign_in(user, now=clock.now())
        if work.failed:  # SignInLocked: refused before any check, nothing written
            form.email.errors = [work.error.message]
            return render_template("auth/login.html", form=form, form_errors=True), 429
        if unconfirmed is not None:
            form.email.errors = [unconfirmed.message]
            return render_template("auth/login.html", form=form, form_errors=True)
        if user is not None and user.totp_enabled_at:
            return _start_two_step(user, safe_next(request.args.get("next")))
        if user is not None:
            return redirect(safe_next(request.args.get("next")) or landing_for(user))
        form.form_errors.append("Enter a correct email address and password")
        form.email.errors = ["Enter a correct email address and password"]
    return render_template("auth/login.html", form=form, form_errors=bool(form.errors or form.form_errors))


def _start_two_step(user, target: str | None):
    """The password (or emailed link) is done and committed: ask for the authenticator code before
    signing in."""
    session.clear()
    session["two_step"] = {"user": user.id, "at": clock.now().timestamp(), "next": target}
    return redirect(url_for("auth.two_step_code"))


@bp.post("/sign-out")
@signed_in
def logout():
    with unit_of_work("You have signed out."):
        sessions.sign_out(now=clock.now())
    return redirect(url_for("public.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_registrations_per_address, methods=["POST"])
@public
def register():
    if current_user.is_authenticated:
        return redirect(landing_for(current_user))
    form = RegisterForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            services.start_registration(email=form.email.data, name=form.name.data, password=form.password.data,
                                        job_title=form.job_title.data or "", now=clock.now())
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            # The same page whether or not the address already had an account.
            return _check_your_email(form.email.data)
    return render_template("auth/register.html", form=form, form_errors=bool(form.errors or form.form_errors))


def _confirm_invalid(message: str) -> str:
    return render_template("link_invalid.html", message=message, next_steps=[
        (url_for("auth.resend_confirmation"), "Ask for a new confirmation link"), (url_for("auth.login"), "Sign in")])


def _reset_invalid(message: str) -> str:
    return render_template("link_invalid.html", message=message, next_steps=[
        (url_for("auth.forgot_password"), "Ask for a new reset link")])


def _check_your_email(email: str, *, resent: bool = False):
    hours = int(current_app.config["EMAIL_CONFIRM_TTL"].total_seconds() // 3600)
    return render_template("auth/register_sent.html", email=email.strip(), hours=hours, resent=resent)


@bp.route("/register/resend", methods=["GET", "POST"])
@limiter.limit("60 per 15 minutes", methods=["POST"])  # each account gets at most one link per 10 minutes
@public
def resend_confirmation():
    form = ResendConfirmationForm()
    if form.validate_on_submit():
        with unit_of_work():
            services.resend_confirmation(email=form.email.data, now=clock.now())
        return _check_your_email(form.email.data, resent=True)
    return render_template("auth/resend.html", form=form, form_errors=bool(form.errors))


def _private(body: str, status: int = 200) -> Response:
    """A page reached by a secret link: not cached, and the link not passed on as a referrer."""
    return Response(body, status=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@public
def confirm_email(token: str):
    """Opening the emailed link changes nothing; its one button confirms the address and signs in."""
    now = clock.now()
    try:
        user = services.check_confirmation_token(token=token, now=now)
    except InvalidToken as error:
        return _private(_confirm_invalid(error.message), 400)
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            user = services.confirm_email(token=token, now=now)
            if not user.totp_enabled_at:
                sessions.sign_in(user, now=now)
                work.success = "Your email address is confirmed and your account is ready."
        if work.failed:  # InvalidToken: the link was used or ended meanwhile
            return _private(_confirm_invalid(work.error.message), 400)
        if user.totp_enabled_at:
            response = _start_two_step(user, None)
            flash("Your email address is confirmed.", "success")
            return response
        return redirect(landing_for(user))
    return _private(render_template("auth/confirm.html", form=form, user=user))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("60 per 15 minutes", methods=["POST"])  # each account gets at most a few emails an hour
@public
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        started = time.monotonic()
        with unit_of_work():
            services.request_password_reset(email=form.email.data, now=clock.now())
        # The answer leaves no sooner than this, whether or not the address has an account: the work
        # differs by about a millisecond, which enough requests could measure (bench/registration.py).
        time.sleep(max(0.0, RESET_ANSWER_FLOOR - (time.monotonic() - started)))
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_template("auth/forgot.html", form=form, form_errors=bool(form.errors))


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    try:
        services.check_reset_token(token=token, now=clock.now())
    except InvalidToken as error:
        return _private(_reset_invalid(error.message), 400)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with unit_of_work("Your password has been changed. Sign in with your new password.",
                          flash_error=False) as work:
            services.reset_password(token=token, password=form.password.data, now=clock.now())
            sessions.sign_out(now=clock.now())
        if isinstance(work.error, InvalidToken):
            return _private(_reset_invalid(work.error.message), 400)
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            return redirect(url_for("auth.login"))
    return _private(render_template("auth/reset.html", form=form, form_errors=bool(form.errors or form.form_errors)))


def _settings_page(**context):
    return render_template("auth/settings.html", has_calendar=bool(current_user.calendar_token_hash),
                           sessions=sessions.live_sessions(current_user), current_key=sessions.current_key_hash(),
                           **{"feed_url": None, "password_form": ChangePasswordForm(formdata=None), **context})


@bp.post("/settings/password")
@signed_in
def change_password():
    """A new password, proving the current one: other browsers are signed out and the person emailed."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        refused = None
        with unit_of_work(flash_error=False) as work:
            try:
                ended = services.change_password(user=current_user, current_password=form.current_password.data,
                                                 new_password=form.password.data, now=clock.now())
            except services.SignInLocked:
                raise  # refused before any check: nothing to keep
            except DomainError as error:
                refused = error  # committed all the same: a wrong current password counts towards the limit
            else:
                others = f" and signed out of {ended} other browser{'s' if ended != 1 else ''}" if ended else ""
                work.success = f"Your password has been changed{others}."
        if work.failed:
            form.current_password.errors = [work.error.message]
            return _settings_page(password_form=form, form_errors=True), 429
        if refused is None:
            return redirect(url_for("auth.settings"))
        attach_domain_error(form, refused)
    return _settings_page(password_form=form, form_errors=True), 400


@bp.get("/settings")
@signed_in
def settings():
    return _settings_page()


@bp.post("/settings/sessions")
@signed_in
def end_sessions():
    """Sign out of every other browser, or of every browser including this one."""
    now = clock.now()
    if EndSessionsForm().scope.data == "others":
        with unit_of_work() as work:
            ended = sessions.end_all_sessions(current_user, now=now, keep_current=True)
            work.success = f"Signed out of {ended} other browser{'s' if ended != 1 else ''}."
        return redirect(url_for("auth.settings"))
    with unit_of_work("You have signed out everywhere."):
        services.sign_out_everywhere(actor=current_user, person=current_user, now=now)
        sessions.sign_out(now=now)
    return redirect(url_for("auth.login"))


@bp.post("/settings/delete-account")
@signed_in
def delete_account():
    if DeletionRequestForm().action.data == "withdraw":
        with unit_of_work("Your request is withdrawn: your account stays."):
            services.cancel_deletion_request(user=current_user, now=clock.now())
    else:
        with unit_of_work("Your request is received. The programme team will delete your account within 30 days; "
                          "until then you can withdraw it here."):
            services.request_deletion(user=current_user, now=clock.now())
    return redirect(url_for("auth.settings"))


@bp.post("/settings/reminders")
@signed_in
def reminder_settings():
    wanted = ReminderSettingsForm().wants_reminders.data == "y"
    with unit_of_work() as work:
        cancelled = services.set_reminders(user=current_user, wanted=wanted, now=clock.now())
        stopped = f" {cancelled} already planned will not be sent." if cancelled else ""
        work.success = ("Reminders are on." if wanted else f"Reminders are off.{stopped} You will still get schedule "
                        "changes and anything that needs your answer.")
    return redirect(url_for("auth.settings"))


@bp.post("/settings/calendar")
@signed_in
def calendar_link():
    """Create, reset or turn off the private calendar link. A new link is shown once, here."""
    action = CalendarLinkForm().action.data
    if action == "revoke":
        with unit_of_work("Your calendar link is turned off. Calendars using it will stop updating."):
            services.revoke_calendar_token(user=current_user)
        return redirect(url_for("auth.settings"))
    if action not in ("create", "reset"):
        abort(400)
    with unit_of_work():
        token = services.create_calendar_token(user=current_user)
    feed_url = absolute_url("programme.calendar_feed", token=token)
    return _settings_page(feed_url=feed_url, reset=action == "reset")


from app.auth import two_step_views  # noqa: E402, F401  (registers the two-step pages)
