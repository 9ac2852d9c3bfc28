"""Convene: create_app wires configuration, extensions, blueprints, CLI and error pages."""

from __future__ import annotations

import secrets
from contextlib import suppress
from pathlib import Path

from flask import Flask, g, redirect, request, url_for
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from app import audit, clock, formatting, heartbeat  # noqa: F401  (heartbeat: its table)
from app.content import ContentError, load_content
from app.db import configure_sqlite, reset_write_unit, set_write_unit
from app.extensions import csrf, db, limiter, login_manager, migrate
from app.notifications.transports import transport_from_config

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def create_app(config=None) -> Flask:
    """Build the application. `config` is a config class or mapping; default from CONVENE_ENV."""
    from config import INSTANCE_DIR, config_from_environment

    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    config = config or config_from_environment()
    if isinstance(config, dict):
        from config import TestingConfig

        app.config.from_object(TestingConfig)
        app.config.update(config)
    else:
        config.validate()
        app.config.from_object(config)
    try:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        from config import ConfigurationError

        raise ConfigurationError(f"The instance folder {app.instance_path} cannot be created ({error.strerror}): "
                                 "set CONVENE_INSTANCE_PATH to a folder this user can write.") from None
    if app.config.get("PROXY_HOPS"):
        # Behind that many proxies, the client's address (rate limits, the audit log) and scheme come from
        # their X-Forwarded-For/-Proto. Not the host: every link is built from BASE_URL.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)

    _configure_templates(app)
    register_extensions(app)
    register_blueprints(app)
    register_signal_handlers()
    register_request_hooks(app)
    register_errorhandlers(app)
    register_commands(app)

    try:
        app.extensions["convene_content"] = load_content(app.config["CONTENT_DIR"])
    except ContentError as error:
        # `flask content check` still runs and lists the problems; anything else refuses to start
        # (app.startup.check) rather than failing on the first page that needs the content.
        app.extensions["convene_content"], app.extensions["convene_content_error"] = None, error
    app.extensions["convene_mail"] = transport_from_config(app.config)

    if app.config["SCHEDULER_EMBEDDED"]:
        # Started by the first request, so CLI commands (db upgrade, seed-demo) never run it.
        from app.scheduler import start_embedded

        app.before_request_funcs.setdefault(None, []).insert(0, lambda: start_embedded(app) and None)
    return app


def _autoescape(template_name: str | None) -> bool:
    return template_name is None or not template_name.endswith(".txt")


def _configure_templates(app: Flask) -> None:
    # NHS.UK component macros come from the nhsuk-frontend-jinja package; ChainableUndefined
    # is what its macros expect for optional parameters.
    # Escape everything but plain-text email templates: Flask's default escapes only .html and
    # similar names, which would leave the .jinja component macros writing values unescaped.
    app.jinja_options = {**app.jinja_options, "undefined": ChainableUndefined, "autoescape": _autoescape}
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(str(Path(app.root_path) / "templates")),
        PackageLoader("nhsuk_frontend_jinja"),
    ])
    app.jinja_env.filters.update(formatting.FILTERS)
    from app import permissions
    from app.programme import access

    app.jinja_env.globals.update(permissions.TEMPLATE_PREDICATES)
    app.jinja_env.globals.update(access.TEMPLATE_PREDICATES)
    app.jinja_env.globals["now"] = clock.now


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from app.auth.held_forms import unauthorized
    from app.auth.sessions import load_user

    login_manager.user_loader(load_user)
    # The sign-in redirect, which also keeps what was typed into a form when the sign-in had ended.
    login_manager.unauthorized_handler(unauthorized)

    with app.app_context():
        configure_sqlite(db.engine)


def register_blueprints(app: Flask) -> None:
    from app.admin.views import bp as admin_bp
    from app.applications.views import bp as applications_bp
    from app.attendance.views import bp as attendance_bp
    from app.auth.views import bp as auth_bp
    from app.celebration.views import bp as celebration_bp
    from app.communities.programme_views import bp as programmes_of_work_bp
    from app.communities.views import bp as communities_bp
    from app.evaluation.views import bp as evaluation_bp
    from app.groups.views import bp as groups_bp
    from app.portal.views import bp as portal_bp
    from app.programme import (
        facilitator_views,  # noqa: F401  (adds the facilitators page to programme's blueprint)
        template_views,  # noqa: F401  (adds the templates pages to programme's blueprint)
    )
    from app.programme.views import bp as programme_bp
    from app.public.views import bp as public_bp

    for blueprint in (public_bp, auth_bp, programme_bp, applications_bp, attendance_bp, portal_bp, groups_bp, celebration_bp,
                      evaluation_bp, communities_bp, programmes_of_work_bp, admin_bp):
        app.register_blueprint(blueprint)


# Pages a team member can still open before turning on two-step sign-in when it is required.
TWO_STEP_EXEMPT = {"auth.two_step_settings", "auth.logout", "static", "public.healthz", "public.privacy"}


def register_signal_handlers() -> None:
    """Domains above programme subscribe to what it announces (connecting twice is harmless)."""
    from app.applications.services.cohort_changes import on_cohort_settings_changed as applications_check
    from app.attendance.guards import apologies_sent
    from app.attendance.guards import on_session_calling_off as attendance_guards
    from app.celebration.services import on_cohort_settings_changed as celebration_checks
    from app.celebration.services import on_session_changed as celebration_reacts
    from app.evaluation.jobs import on_session_changed as evaluation_reacts
    from app.programme.signals import (
        cohort_settings_changed,
        register_session_notes,
        session_calling_off,
        session_changed,
    )

    for receiver in (celebration_reacts, evaluation_reacts):
        session_changed.connect(receiver, weak=False)
    for receiver in (applications_check, celebration_checks):
        cohort_settings_changed.connect(receiver, weak=False)
    session_calling_off.connect(attendance_guards, weak=False)
    register_session_notes(apologies_sent)
    from app.attendance.guards import session_deletion_notes as attendance_notes
    from app.celebration.services import session_deletion_notes as celebration_notes
    from app.groups.services import session_deletion_notes as groups_notes
    from app.portal.services import session_deletion_notes as portal_notes
    from app.programme.signals import register_deletion_notes

    for provider in (portal_notes, groups_notes, celebration_notes, attendance_notes):
        register_deletion_notes(provider)

    from app.evaluation.home import home_prompts
    from app.portal.progress import progress_home_panel
    from app.portal.services import directory_home_panel
    from app.programme.home_panels import register_home_panel

    register_home_panel("evaluation", home_prompts)
    register_home_panel("directory", directory_home_panel)
    from app.communities.services.access import landing as communities_landing
    from app.programme.home_panels import register_landing

    register_landing(communities_landing)
    register_home_panel("progress", progress_home_panel)

    from app.applications import jobs as applications_jobs
    from app.celebration import jobs as celebration_jobs
    from app.communities import jobs as communities_jobs
    from app.evaluation import jobs as evaluation_jobs
    from app.groups import jobs as groups_jobs
    from app.portal import jobs as portal_jobs
    from app.programme.reminder_rules import register_rules

    register_rules(*applications_jobs.REMINDER_RULES, *groups_jobs.REMINDER_RULES,
                   *evaluation_jobs.REMINDER_RULES, *celebration_jobs.REMINDER_RULES, *portal_jobs.REMINDER_RULES,
                   *communities_jobs.REMINDER_RULES)

    from app.auth.services import OPTIONAL_REMINDERS, opted_out_of_reminders
    from app.notifications.services import register_opt_out

    register_opt_out(OPTIONAL_REMINDERS, opted_out_of_reminders)


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _before():
        g.csp_nonce = secrets.token_urlsafe(16)
        # SQLite: only units of work that may write take the write lock at BEGIN.
        g._write_unit_token = set_write_unit(request.method not in READ_METHODS)
        g._audit_origin_token = audit.set_origin(request.remote_addr or "unknown")
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is not None and request.endpoint != "static" and not hasattr(view, "access_rule"):
            raise RuntimeError(f"{request.endpoint} has no access rule: add one from app.permissions")
        if app.config["REQUIRE_TEAM_TWO_STEP"] and request.endpoint not in TWO_STEP_EXEMPT:
            from flask_login import current_user

            from app.auth.two_step import required_for

            if current_user.is_authenticated and required_for(current_user, app.config):
                return redirect(url_for("auth.two_step_settings"))
        return None

    @app.teardown_request
    def _teardown(_exc):
        token = g.pop("_write_unit_token", None)
        if token is not None:
            reset_write_unit(token)
        origin_token = g.pop("_audit_origin_token", None)
        if origin_token is not None:
            audit.reset_origin(origin_token)

    @app.context_processor
    def _template_context():
        return {
            "cspNonce": g.get("csp_nonce", ""),
            "assetPath": "/static/nhsuk/assets",
            "programme_name": app.config["PROGRAMME_NAME"],
            "header_logo_url": app.config["HEADER_LOGO_URL"],
        }

    @app.after_request
    def _security_headers(response):
        nonce = g.get("csp_nonce", "")
        font_src = " ".join(filter(None, ["'self'", app.config["FONT_ORIGIN"]]))
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
            f"font-src {font_src}; connect-src 'self'; form-action 'self'; base-uri 'self'; "
            "object-src 'none'; frame-ancestors 'none'",
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        # A page reached by a secret link sets its own stricter "no-referrer": keep it.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if app.config["HSTS"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        from flask_login import current_user

        if request.endpoint != "static" and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response


def register_errorhandlers(app: Flask) -> None:
    from flask import render_template
    from flask_wtf.csrf import CSRFError

    from app.errors import DomainError

    def _page(status: int, title: str, message: str):
        return render_template("errors/error.html", status=status, title=title, message=message), status

    @app.errorhandler(400)
    def bad_request(_error):
        return _page(400, "That request could not be understood", "Go back, reload the page and try again.")

    def _record_denial(kind: str, *, repeated: bool = False) -> None:
        """A refused request in the audit log: who, which page, from where. Never the form's contents,
        nor a secret link's token (on those pages the path is the secret): it is replaced by "…"."""
        from flask_login import current_user

        from app.urls import path_without_secrets

        db.session.rollback()
        # A CSRF check refuses before the request hooks run, so say where the request came from here.
        origin_token = audit.set_origin(request.remote_addr or "unknown")
        try:
            actor = current_user if current_user.is_authenticated else None
            detail = {"method": request.method, "endpoint": request.endpoint or "",
                      "path": path_without_secrets(request.path, request.view_args)[:300]}
            if repeated:  # anyone can cause these: one row per person and address each hour, with a count
                audit.record_repeated(actor=actor, action=kind, target_type="request", detail=detail)
            else:
                audit.record(actor=actor, action=kind, target_type="request", target_id=None, detail=detail)
            db.session.commit()
        except SQLAlchemyError:  # the refusal must still be shown if the log cannot be written
            db.session.rollback()
        finally:
            audit.reset_origin(origin_token)

    @app.errorhandler(403)
    def forbidden(_error):
        _record_denial("access_denied")
        return _page(403, "You do not have access to this page",
                     "Your account cannot open this page. If you think it should, contact the programme team.")

    @app.errorhandler(404)
    def not_found(_error):
        return _page(404, "Page not found",
                     "If you typed the web address, check it is correct. If you pasted it, check you copied "
                     "the entire address.")

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return _page(405, "That action is not available here", "Go back and use the buttons on the page.")

    @app.errorhandler(413)
    def too_large(_error):
        return _page(413, "The file is too large",
                     f"Files must be {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB or smaller.")

    @app.errorhandler(429)
    def too_many(_error):
        return _page(429, "Too many attempts", "Wait a while (at most an hour), then try again.")

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        _record_denial("csrf_refused", repeated=True)
        return _page(400, "This form has expired",
                     "For your security, forms expire. Go back, reload the page and try again.")

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        titles = {403: "You cannot do that", 404: "Not found", 409: "That has already happened"}
        return _page(error.status_code, titles.get(error.status_code, "That could not be done"), error.message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(_error):
        """The database cannot be reached (restarting, failing over): 503 with a retry hint, not a 500
        loop; pool_pre_ping replaces dead connections, so pages come back by themselves when it does."""
        with suppress(SQLAlchemyError):
            db.session.rollback()
        # The page is drawn without asking the database who is signed in.
        g._login_user = login_manager.anonymous_user()
        app.logger.warning("database unavailable: %s", str(_error).splitlines()[0][:200])
        body, status = _page(503, "Sorry, the service is unavailable for a moment",
                             "Try again in a minute. Nothing you submitted was saved.")
        return body, status, {"Retry-After": "30"}

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return _page(500, "Sorry, there is a problem with the service",
                     "Try again later. Nothing you submitted was saved.")


def register_commands(app: Flask) -> None:
    """Each domain adds its own commands (`app/<domain>/commands.py`); app/cli.py adds those that wire
    several domains (seed-demo, backup, restore, scheduler run, reminders plan) and goes last."""
    from app import cli
    from app.admin import commands as admin
    from app.auth import commands as auth
    from app.evaluation import commands as evaluation
    from app.notifications import commands as notifications

    for domain in (notifications, auth, evaluation, admin):
        domain.register(app.cli)
    cli.register(app.cli)
