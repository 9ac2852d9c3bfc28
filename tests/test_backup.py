"""Restores that never delete what they do not replace, say what they will do first, and refuse a bad
archive with one sentence, changing nothing; a backup from an older version is upgraded."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy import select, text

from app import create_app
from app.auth.models import User
from app.db import db
from tests.factories import make_user

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def files(app, tmp_path):
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    (tmp_path / "uploads").mkdir()
    for n in range(3):
        (tmp_path / "uploads" / f"file-{n}.pdf").write_bytes(PDF)
    return tmp_path / "uploads"


def _archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _backup(runner, target: Path) -> Path:
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    return target


def _emails() -> set[str]:
    db.session.remove()
    return set(db.session.scalars(select(User.email)))


def test_a_backup_without_uploads_leaves_the_files_alone_and_says_so(app, runner, files, tmp_path):
    make_user(email="kept@example.org")
    db.session.commit()
    full = _backup(runner, tmp_path / "full.tar.gz")
    # The same archive without its uploads (as made by an older version with no files, or by hand).
    with tarfile.open(full, "r:gz") as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()
                   if m.isfile() and not m.name.startswith("uploads")}
    bare = _archive(tmp_path / "bare.tar.gz", members)
    db.session.remove()
    result = runner.invoke(args=["restore", str(bare), "--yes"])
    assert result.exit_code == 0, result.output
    assert "files in" in result.output and "are left as they are" in result.output
    assert sorted(p.name for p in files.iterdir()) == ["file-0.pdf", "file-1.pdf", "file-2.pdf"]


def test_restore_says_what_it_will_replace_and_changes_nothing_when_told_no(app, runner, files, tmp_path):
    make_user(email="before@example.org")
    db.session.commit()
    archive = _backup(runner, tmp_path / "backup.tar.gz")
    make_user(email="after@example.org")
    db.session.commit()
    (files / "file-0.pdf").unlink()
    db.session.remove()
    result = runner.invoke(args=["restore", str(archive)], input="n\n")
    assert result.exit_code == 1
    assert "database will be replaced by the backup made" in result.output
    assert "Every uploaded file in" in result.output and "3 file(s) in the backup" in result.output
    assert "Nothing was restored." in result.output and "Aborted" not in result.output
    assert "after@example.org" in _emails() and not (files / "file-0.pdf").exists()
    result = runner.invoke(args=["restore", str(archive)], input="y\n")
    assert result.exit_code == 0, result.output
    assert "after@example.org" not in _emails() and (files / "file-0.pdf").exists()


@pytest.mark.parametrize("problem", ["truncated", "garbage", "empty", "no manifest", "corrupt database",
                                     "unknown revision", "unreadable manifest"])
def test_a_bad_archive_is_refused_with_one_sentence_and_nothing_changes(app, runner, files, tmp_path, problem):
    make_user(email="still-here@example.org")
    db.session.commit()
    good = _backup(runner, tmp_path / "good.tar.gz")
    data = good.read_bytes()
    with tarfile.open(good, "r:gz") as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
    manifest = json.loads(members["manifest.json"])
    bad = tmp_path / "bad.tar.gz"
    if problem == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif problem == "garbage":
        bad.write_bytes(b"this is not an archive at all" * 10)
    elif problem == "empty":
        bad.write_bytes(b"")
    elif problem == "no manifest":
        _archive(bad, {k: v for k, v in members.items() if k != "manifest.json"})
    elif problem == "unreadable manifest":
        _archive(bad, {**members, "manifest.json": b"{not json"})
    elif problem == "unknown revision":
        _archive(bad, {**members, "manifest.json": json.dumps({**manifest, "revision": "ffffffffffff"}).encode()})
    else:
        if manifest["database"] != "sqlite":
            pytest.skip("a damaged SQLite file; pg_restore reports a damaged dump itself")
        _archive(bad, {**members, "database.sqlite3": b"SQLite format 3\x00" + b"\x07" * 5000})
    db.session.remove()
    result = runner.invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert "still-here@example.org" in _emails()
    assert len(list(files.iterdir())) == 3


def test_a_backup_from_an_older_version_is_restored_and_upgraded(app, runner, files, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("built from an older SQLite database; the PostgreSQL round trip is tested with pg_dump")
    from alembic.script import ScriptDirectory

    migrate_ext = app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate_ext.migrate.get_config(migrate_ext.directory))
    older = script.get_revision(script.get_current_head()).down_revision
    old_db = tmp_path / "older.sqlite3"
    scratch = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{old_db}"})
    with scratch.app_context():
        flask_migrate.upgrade(revision=older)
        db.session.execute(text("INSERT INTO users (email, name, password_hash, staff_role, job_title, profession, "
                                "is_disabled, wants_reminders, session_version, created_at, updated_at) VALUES "
                                "('old@example.org', 'Old', 'x', 'none', '', '', 0, 1, 0, '2025-01-01 00:00:00', "
                                "'2025-01-01 00:00:00')"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    manifest = {"created_at": "2025-06-01T00:00:00+00:00", "database": "sqlite", "revision": older, "files": 0}
    archive = _archive(tmp_path / "older.tar.gz", {"database.sqlite3": old_db.read_bytes(),
                                                    "manifest.json": json.dumps(manifest).encode()})
    db.session.remove()
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert "upgraded" in result.output
    assert "old@example.org" in _emails()
    current = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    assert current == script.get_current_head()
    with sqlite3.connect(db.engine.url.database) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "scheduler_heartbeats" in tables


def test_downgrading_a_database_that_holds_people_to_nothing_asks_first(app, scratch_database_url):
    """`flask db downgrade base` on a populated database: told "no", nothing changes."""
    from flask.testing import FlaskCliRunner

    populated = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with populated.app_context():
        flask_migrate.upgrade()
        db.session.add(User(email="someone@example.org", name="Someone", password_hash="x"))
        db.session.commit()
        db.session.remove()
    runner = FlaskCliRunner(populated)
    with populated.app_context():  # the command runs in the app whose context is current
        result = runner.invoke(args=["db", "downgrade", "base"], input="n\n")
        assert result.exit_code == 1 and "including 1 account(s)" in result.output
        assert "Nothing was changed." in result.output
        assert db.session.scalar(text("SELECT COUNT(*) FROM users")) == 1
        db.session.remove()
        db.engine.dispose()
