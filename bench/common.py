"""Shared pieces of the benchmarks: a throwaway migrated database, timing and query counting."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_app(url: str | None = None, **config):
    """An app on `url`, or a new SQLite file (or DATABASE_URL), migrated to head; `config` overrides settings."""
    import flask_migrate

    from app import create_app

    folder = Path(tempfile.mkdtemp(prefix="convene-bench-"))
    url = url or os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "MAIL_FILE_DIR": folder,
                      "UPLOAD_DIR": folder / "uploads", **config})
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):
        flask_migrate.upgrade()
    return app


def signed_in_client(app, user_id: str):
    """A test client with a live server-side session for this user, as signing in gives."""
    from app import clock
    from app.auth.models import User
    from app.auth.sessions import start_session
    from app.db import db

    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, int(user_id.split(":")[0]))
        token = start_session(user, now=clock.now())
        db.session.commit()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = user_id
        session["_fresh"] = True
        session["sid"] = token
        session["seen"] = clock.now().timestamp()
    return client


class Figure(NamedTuple):
    """One line of the benchmark table: what, the measured value, the target and whether it is met."""

    name: str
    value: str
    target: str
    passed: bool | None  # None: printed for information, no target

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "MISS")


def print_table(figures: list[Figure]) -> None:
    widths = [max(len(row[i]) for row in [("figure", "value", "target"), *figures]) for i in range(3)]
    header = f"{'figure':<{widths[0]}}  {'value':>{widths[1]}}  {'target':<{widths[2]}}  verdict"
    print(header)
    print("-" * len(header))
    for figure in figures:
        print(f"{figure.name:<{widths[0]}}  {figure.value:>{widths[1]}}  {figure.target:<{widths[2]}}  {figure.verdict}")


def measure(app, client, path: str, repeat: int) -> tuple[float, int]:
    """Median seconds per request after a warm-up, and the queries one request makes."""
    from sqlalchemy import event

    from app.db import db

    for _ in range(5):
        assert client.get(path).status_code == 200, path
    queries: list[str] = []

    def listener(_conn, _cursor, statement, *_args, sink=queries):
        if not statement.startswith("BEGIN"):
            sink.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", listener)
        client.get(path)
        event.remove(db.engine, "before_cursor_execute", listener)
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), len(queries)
