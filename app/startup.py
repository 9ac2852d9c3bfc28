"""What must be true before a process serves pages or runs a command, each said in one sentence.

`wsgi.py` runs these checks for gunicorn, `flask run` and every `flask` command, and prints the
sentence instead of a traceback: a bad setting (a non-numeric SMTP_PORT, an unknown CONVENE_ENV, a
production SECRET_KEY left unset, in-memory rate limits shared by several workers), a database that
cannot be reached or has not been migrated, an instance folder that cannot be written, broken programme
content. Commands that exist to mend one of these skip its check (`flask db ...` the migrations,
`flask content check` the content). A rate-limit store (Redis) that does not answer is only a warning
for the processes that serve pages: they count in memory until it does, so sign-in keeps working.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from config import ConfigurationError

__all__ = ["ConfigurationError", "check", "command_from_argv", "create_checked_app"]


def command_from_argv(argv: list[str]) -> str | None:
    """The `flask` command being run ("db", "content", "run", ...), or None when serving (gunicorn)."""
    if not argv or not (Path(argv[0]).name.startswith("flask")
                        or argv[0].endswith(os.path.join("flask", "__main__.py"))):
        return None
    args = argv[1:]
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg in ("--app", "-A", "--env-file", "-e"):
            skip_next = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return None


def _database_problem(app: Flask) -> str | None:
    from app.db import db

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).resolve().parent
        if not folder.is_dir():
            return f"The folder for the SQLite database, {folder}, does not exist."
        if not os.access(folder, os.W_OK):
            return (f"The folder {folder} cannot be written by this user, so the SQLite database there cannot be "
                    "used: give it write permission or set CONVENE_INSTANCE_PATH.")
    try:
        with app.app_context():
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure to connect becomes one sentence
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
        return f"Cannot connect to the database at {where} (DATABASE_URL): {reason}."
    finally:
        with app.app_context():
            db.engine.dispose()  # no connection is carried into forked workers (gunicorn --preload)
    return None


def _migration_problem(app: Flask) -> str | None:
    from app.db import database_heads, db, migration_script

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                current = database_heads(connection)
        finally:
            db.engine.dispose()
        heads = set(migration_script().get_heads())
    if not current:
        return "The database has no tables yet: run `flask --app wsgi db upgrade` (or `make run`, which does)."
    if current != heads:
        return ("The database is at an older migration than this version of Convene: run "
                "`flask --app wsgi db upgrade`.")
    return None


def _rate_limit_store_problem(app: Flask) -> str | None:
    """A shared rate-limit store (Redis) that does not answer, said in one sentence."""
    from limits.storage import storage_from_string

    from app.extensions import storage_uri_for_people

    uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if not app.config.get("RATELIMIT_ENABLED") or uri.startswith("memory://"):
        return None
    storage = storage_from_string(uri, **app.config.get("RATELIMIT_STORAGE_OPTIONS", {}))
    try:
        if storage.check():
            return None
    finally:
        client = getattr(storage, "storage", None)  # no connection is carried into forked workers
        if hasattr(client, "close"):
            client.close()
    return (f"Cannot reach the rate-limit store at {storage_uri_for_people(uri)} (RATELIMIT_STORAGE_URI): "
            "each process counts requests in memory until it answers; start it, or correct the address.")


def check(app: Flask, command: str | None) -> None:
    """Raise ConfigurationError with the first thing that stops this process from working."""
    content_error = app.extensions.get("convene_content_error")
    if content_error is not None and command != "content":
        raise ConfigurationError(f"The programme content in {app.config['CONTENT_DIR']} has "
                                 f"{len(content_error.problems)} problem(s): run `flask --app wsgi content check` "
                                 "to see each with its file and line.")
    if command in ("content", "routes", "shell"):
        return
    problem = _database_problem(app)
    if problem is None and command != "db":
        problem = _migration_problem(app)
    if problem:
        raise ConfigurationError(problem)
    if command in (None, "run"):  # only the processes that serve pages count requests
        warning = _rate_limit_store_problem(app)
        if warning:
            logging.getLogger("convene.startup").warning("Convene: %s", warning)


def create_checked_app() -> Flask:
    """The app for gunicorn and the CLI, or one sentence on stderr and exit status 1."""
    from app import create_app

    command = command_from_argv(sys.argv)
    try:
        app = create_app()
        check(app, command)
    except ConfigurationError as error:
        print(f"Convene cannot start: {error}", file=sys.stderr)
        # Under gunicorn, 3 is "the worker failed to boot": the master stops instead of starting
        # another worker that would fail the same way, over and over.
        raise SystemExit(1 if command else 3) from None
    return app
