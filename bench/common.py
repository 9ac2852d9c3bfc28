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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_app():
    """An app on a new SQLite file (or DATABASE_URL), migrated to head."""
    import flask_migrate

    from app import create_app

    folder = Path(tempfile.mkdtemp(prefix="convene-bench-"))
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "MAIL_FILE_DIR": folder,
                      "UPLOAD_DIR": folder / "uploads"})
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):
        flask_migrate.upgrade()
    return app


def signed_in_client(app, user_id: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


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
