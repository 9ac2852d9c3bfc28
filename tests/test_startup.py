"""Errors people can act on: every way Convene cannot start says so in one sentence, with no traceback,
for `flask` commands and for gunicorn alike; broken content is reported by `flask content check`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.startup import command_from_argv

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], tmp_path: Path, **env) -> subprocess.CompletedProcess:
    base = {**os.environ, "CONVENE_ENV": "development", "SCHEDULER_EMBEDDED": "false",
            "CONVENE_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    base.pop("TEST_DATABASE_URL", None)
    return subprocess.run(args, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120)


def flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def one_sentence(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert "Traceback" not in result.stdout + result.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("Convene cannot start: ")
    return lines[0]


@pytest.mark.parametrize(("env", "expected"), [
    ({"SMTP_PORT": "twenty-five"}, "SMTP_PORT must be a whole number, not 'twenty-five'."),
    ({"CONVENE_ENV": "prod"}, "CONVENE_ENV must be one of development, testing, production, not 'prod'."),
    ({"CONVENE_ENV": "production", "SECRET_KEY": "", "BASE_URL": "https://convene.example.org"},
     "SECRET_KEY must be set to a random value of at least 32 characters"),
    ({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/convene"},
     "Cannot connect to the database at postgresql+psycopg://nobody@127.0.0.1:1/convene (DATABASE_URL)"),
    ({"DATABASE_URL": "mysql://nobody@127.0.0.1/convene"}, "DATABASE_URL must be a SQLite (sqlite:///path) or "
     "PostgreSQL (postgresql://user@host/name) address, not mysql://..."),
    ({"CONVENE_INSTANCE_PATH": "/proc/convene-instance"}, "The instance folder /proc/convene-instance cannot be"),
])
def test_a_setting_that_cannot_work_is_one_sentence(tmp_path, env, expected):
    result = run(flask("seed-demo", "--if-empty"), tmp_path, **env)
    assert result.returncode == 1
    assert expected in one_sentence(result)


def test_an_unmigrated_database_says_to_migrate_and_db_upgrade_still_runs(tmp_path):
    result = run(flask("seed-demo", "--if-empty"), tmp_path)
    assert "run `flask --app wsgi db upgrade`" in one_sentence(result)
    assert run(flask("db", "upgrade"), tmp_path).returncode == 0
    assert run(flask("seed-demo", "--if-empty"), tmp_path).returncode == 0


def test_gunicorn_stops_with_the_sentence_instead_of_restarting_workers(tmp_path):
    result = run([sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "wsgi:app"], tmp_path,
                 SMTP_PORT="abc")
    assert result.returncode == 3  # gunicorn: a worker failed to boot; the master stops
    assert "Convene cannot start: SMTP_PORT must be a whole number, not 'abc'." in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Convene cannot start") == 1


def test_broken_content_stops_the_app_but_content_check_reports_it(tmp_path):
    import shutil

    content = tmp_path / "content"
    shutil.copytree(ROOT / "modules_content", content)
    target = next(content.rglob("*.md"))
    target.write_bytes(target.read_bytes().replace(b"\n", b"\n\xff", 3))
    assert run(flask("db", "upgrade"), tmp_path).returncode == 0
    served = run(flask("seed-demo", "--if-empty"), tmp_path, CONTENT_DIR=str(content))
    assert "has 1 problem(s): run `flask --app wsgi content check`" in one_sentence(served)
    checked = run(flask("content", "check"), tmp_path, CONTENT_DIR=str(content))
    assert checked.returncode != 0 and "Traceback" not in checked.stdout + checked.stderr
    assert f"{target}:2: not valid UTF-8 (byte 0xff)" in checked.stdout + checked.stderr


def test_the_command_is_read_from_the_flask_command_line_only():
    assert command_from_argv(["/x/bin/flask", "--app", "wsgi", "db", "upgrade"]) == "db"
    assert command_from_argv(["/x/flask/__main__.py", "--app", "wsgi", "content", "check"]) == "content"
    assert command_from_argv(["/x/bin/gunicorn", "wsgi:app"]) is None
