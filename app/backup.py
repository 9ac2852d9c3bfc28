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
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import db, migration_script


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
            # Always an uploads/ entry, even with no files: a restore replaces the uploads only when
            # the archive holds them.
            folder = tarfile.TarInfo("uploads")
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(folder)
            for path in files:
                archive.add(path, arcname=f"uploads/{path.relative_to(upload_dir)}")
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return manifest


@dataclass
class RestorePlan:
    """What a restore would do, worked out from an archive that has been read in full and checked."""

    work: Path
    manifest: dict
    replaces_uploads: bool
    upgrade_from: str | None  # the archive's revision when it is older than the code's

    def describe(self, upload_dir: Path) -> list[str]:
        lines = [f"The {self.manifest['database']} database will be replaced by the backup made "
                 f"{self.manifest['created_at']} (migration {self.manifest['revision']})."]
        if self.upgrade_from:
            lines.append("That backup is from an older version: it will be upgraded to this version's "
                         "migrations after it is restored.")
        if self.replaces_uploads:
            lines.append(f"Every uploaded file in {upload_dir} will be replaced by the "
                         f"{self.manifest['files']} file(s) in the backup.")
        else:
            lines.append(f"The backup holds no uploaded files, so the files in {upload_dir} are left as they are.")
        return lines


def _heads() -> tuple[set[str], set[str]]:
    """The code's migration heads, and every revision it knows."""
    script = migration_script()
    return set(script.get_heads()), {rev.revision for rev in script.walk_revisions()}


def plan_restore(source: Path, work: Path) -> RestorePlan:
    """Read and check the whole archive into `work`, changing nothing. BackupError says what is wrong,
    in one sentence, for a missing, empty, truncated, foreign or corrupt archive."""
    url = _url()
    if not source.is_file():
        raise BackupError(f"There is no backup at {source}.")
    if source.stat().st_size == 0:
        raise BackupError(f"{source} is empty: it is not a backup made by `flask backup`.")
    try:
        with tarfile.open(source, "r:gz") as archive:
            names = archive.getnames()
            archive.extractall(work, filter="data")
    except (EOFError, zlib.error) as error:
        raise BackupError(f"{source} is incomplete (it ends before the archive does: {error}); "
                          "nothing was changed.") from None
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{source} is not a backup made by `flask backup` (not a .tar.gz archive: {error}); "
                          "nothing was changed.") from None
    if "manifest.json" not in names:
        raise BackupError(f"{source} has no manifest.json, so it is not a backup made by `flask backup`; "
                          "nothing was changed.")
    try:
        manifest = json.loads((work / "manifest.json").read_text())
        kind, revision = manifest["database"], manifest["revision"]
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{source} has a manifest.json that cannot be read; nothing was changed.") from None
    if kind != url.get_backend_name():
        raise BackupError(f"This backup is of a {kind} database; this app uses {url.get_backend_name()}.")
    dump = work / ("database.sqlite3" if kind == "sqlite" else "database.pgdump")
    if not dump.is_file():
        raise BackupError(f"{source} has no {dump.name}, so there is no database to restore; nothing was changed.")
    if kind == "sqlite":
        try:
            check = sqlite3.connect(dump)
            result = check.execute("PRAGMA integrity_check").fetchone()[0]
            check.close()
        except sqlite3.DatabaseError as error:
            raise BackupError(f"The database in {source} is damaged ({error}); nothing was changed.") from None
        if result != "ok":
            raise BackupError(f"The database in {source} is damaged ({result}); nothing was changed.")
    heads, known = _heads()
    if revision not in known:
        raise BackupError(f"This backup was made by a newer or different version of Convene (migration "
                          f"{revision}, unknown here): restore it with that version.")
    replaces_uploads = "uploads" in names or any(name.startswith("uploads/") for name in names)
    return RestorePlan(work, manifest, replaces_uploads, None if revision in heads else revision)


def restore(source: Path, *, confirm=None) -> dict:
    """Replace the database, and the uploads if the archive holds them, with the archive's.

    The archive is read and checked in full first; `confirm(plan_lines)` is asked before anything
    changes (return False to stop). A backup from an older version is upgraded after it is restored.
    Returns the manifest.
    """
    url = _url()
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    with tempfile.TemporaryDirectory() as work:
        plan = plan_restore(source, Path(work))
        if confirm is not None and not confirm(plan.describe(upload_dir)):
            raise BackupError("Nothing was restored.")
        db.session.remove()
        db.engine.dispose()
        if plan.manifest["database"] == "sqlite":
            source_db = sqlite3.connect(plan.work / "database.sqlite3")
            live = sqlite3.connect(url.database)
            with live:
                source_db.backup(live)
            source_db.close()
            live.close()
        else:
            args, env = _pg_args(url)
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  *args, str(plan.work / "database.pgdump")], env)
        if plan.upgrade_from:
            import flask_migrate

            flask_migrate.upgrade()
        if plan.replaces_uploads:
            staged = upload_dir.with_name(upload_dir.name + ".restoring")
            if staged.exists():
                shutil.rmtree(staged)
            restored = plan.work / "uploads"
            shutil.copytree(restored, staged) if restored.exists() else staged.mkdir(parents=True)
            if upload_dir.exists():
                shutil.rmtree(upload_dir)
            staged.rename(upload_dir)
    return plan.manifest
