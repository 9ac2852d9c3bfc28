"""`flask backup` and `flask restore`: the database and the uploaded files in one archive.

SQLite: the online backup API (a consistent copy while the app runs). PostgreSQL: `pg_dump
--format=custom` and `pg_restore --clean`, which must be on the PATH (same major version as the
server). The archive is a .tar.gz holding `database.sqlite3` or `database.pgdump`, `uploads/` and
`manifest.json` (when, which database kind, the migration revision, file count).
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import db


class BackupError(Exception):
    """A backup or restore that cannot go ahead, with a sentence saying why."""


def _url():
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _pg_args(url) -> tuple[list[str], dict]:
    args = ["--host", url.host or "localhost", "--port", str(url.port or 5432), "--username", url.username or "",
            "--dbname", url.database or ""]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return args, env


def _run(command: list[str], env: dict) -> None:
    import os

    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed: install the PostgreSQL client tools.")
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")


def backup(target: Path, *, now: datetime) -> dict:
    """Write the archive; returns its manifest."""
    url = _url()
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.session.rollback()
    with tempfile.TemporaryDirectory() as work:
        work_path = Path(work)
        if url.get_backend_name() == "sqlite":
            dump = work_path / "database.sqlite3"
            source = sqlite3.connect(url.database)
            copy = sqlite3.connect(dump)
            with copy:
                source.backup(copy)
            source.close()
            copy.close()
        else:
            dump = work_path / "database.pgdump"
            args, env = _pg_args(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), *args], env)
        files = sorted(p for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.exists() else []
        manifest = {"created_at": now.isoformat(), "database": url.get_backend_name(), "revision": revision,
                    "files": len(files)}
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w:gz") as archive:
            archive.add(dump, arcname=dump.name)
            for path in files:
                archive.add(path, arcname=f"uploads/{path.relative_to(upload_dir)}")
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return manifest


def restore(source: Path) -> dict:
    """Replace the database and the uploads with the archive's. Returns its manifest."""
    url = _url()
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}.")
    with tempfile.TemporaryDirectory() as work, tarfile.open(source, "r:gz") as archive:
        archive.extractall(work, filter="data")
        work_path = Path(work)
        manifest = json.loads((work_path / "manifest.json").read_text())
        if manifest["database"] != url.get_backend_name():
            raise BackupError(f"This backup is of a {manifest['database']} database; this app uses "
                              f"{url.get_backend_name()}.")
        db.session.remove()
        db.engine.dispose()
        if manifest["database"] == "sqlite":
            source_db = sqlite3.connect(work_path / "database.sqlite3")
            live = sqlite3.connect(url.database)
            with live:
                source_db.backup(live)
            source_db.close()
            live.close()
        else:
            args, env = _pg_args(url)
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  *args, str(work_path / "database.pgdump")], env)
        upload_dir = Path(current_app.config["UPLOAD_DIR"])
        if upload_dir.exists():
            shutil.rmtree(upload_dir)
        upload_dir.mkdir(parents=True, exist_ok=True)
        restored = work_path / "uploads"
        if restored.exists():
            shutil.copytree(restored, upload_dir, dirs_exist_ok=True)
    return manifest
