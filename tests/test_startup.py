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
    ({"PROXY_HOPS": "-1"}, "PROXY_HOPS must be 0 (no proxy in front) or the number of proxies, not -1."),
    ({"SMTP_TLS": "maybe"}, "SMTP_TLS must be one of none, starttls, implicit, not 'maybe'."),
    ({"SMTP_CA_FILE": "/no/such/ca.pem"}, "SMTP_CA_FILE must be a PEM file of certificate authorities, but "
     "/no/such/ca.pem is not a file."),
    ({"MAIL_TRANSPORT": "smtp", "SMTP_TLS": "starttls", "SMTP_CA_FILE": str(ROOT / "wsgi.py")},
     f"SMTP_CA_FILE {ROOT / 'wsgi.py'} could not be read as PEM certificates"),
    ({"HEALTHZ_TOKEN": "short"}, "HEALTHZ_TOKEN must be a random value of at least 20 characters, or empty."),
    ({"RATELIMIT_STORAGE_URI": "reddis://127.0.0.1:6379"}, "RATELIMIT_STORAGE_URI reddis://127.0.0.1:6379 cannot be "
     "used (unknown storage scheme : reddis://127.0.0.1:6379): use memory:// for one process, or redis://"),
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


# -- rate limits shared by every worker -------------------------------------------------------------

PRODUCTION = {"CONVENE_ENV": "production", "SECRET_KEY": "s" * 40, "BASE_URL": "https://convene.example.org"}


def test_production_refuses_rate_limits_each_worker_counts_apart(tmp_path):
    result = run(flask("seed-demo", "--if-empty"), tmp_path, **PRODUCTION, RATELIMIT_STORAGE_URI="memory://")
    assert result.returncode == 1
    assert one_sentence(result) == (
        "Convene cannot start: in production RATELIMIT_STORAGE_URI must name a store every web worker shares, "
        "e.g. redis://127.0.0.1:6379/0, because memory:// counts each worker apart "
        "(set RATELIMIT_SINGLE_PROCESS=true if one process serves Convene).")


@pytest.mark.parametrize("env", [
    {"RATELIMIT_SINGLE_PROCESS": "true"},
    {"WEB_CONCURRENCY": "1"},
    {"RATELIMIT_ENABLED": "false"},
    {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"},  # not reached: `flask routes` serves no pages
])
def test_production_accepts_one_process_or_a_shared_store(tmp_path, env):
    result = run(flask("routes"), tmp_path, **PRODUCTION, **env)
    assert result.returncode == 0, result.stderr
    assert "Convene cannot start" not in result.stderr


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Redis on a free loopback port (the Debian package redis-server), stopped afterwards."""
    import shutil
    import time

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server): the Redis rate-limit store "
                    "is not tested")
    import redis

    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def test_a_redis_store_is_shared_and_counts(app, redis_url):
    import redis

    from app import create_app
    from app.db import db
    from app.extensions import limiter
    from app.startup import check

    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url})
    try:
        check(limited, None)  # reachable: no complaint

        @limited.get("/__limited")
        @limiter.limit("2 per minute")
        def counted():
            return "ok"

        counted.access_rule = "public"
        statuses = [limited.test_client().get("/__limited").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        with redis.Redis.from_url(redis_url) as store:
            assert store.keys("LIMITS*")  # the counts are in Redis, for every worker
    finally:
        limiter.reset()
        limiter.enabled = False
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_with_redis_down_each_process_counts_in_memory_until_it_is_back(app, redis_url):
    import redis

    from app import create_app
    from app.db import db
    from app.extensions import limiter

    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url,
                          "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})

    @limited.get("/__limited")
    @limiter.limit("2 per minute")
    def counted():
        return "ok"

    counted.access_rule = "public"
    try:
        assert limited.test_client().get("/__limited").status_code == 200
        redis.Redis.from_url(redis_url).shutdown(nosave=True)
        statuses = [limited.test_client().get("/__limited").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]  # counted afresh in this process's memory, not a 500
    finally:
        limiter._storage_dead = False
        limiter.enabled = False
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_gunicorn_serves_with_a_redis_store_in_production(tmp_path, redis_url):
    import time
    import urllib.request

    env = {**PRODUCTION, "RATELIMIT_STORAGE_URI": redis_url, "SESSION_COOKIE_SECURE": "false"}
    assert run(flask("db", "upgrade"), tmp_path, **env).returncode == 0
    port = free_port()
    base = {**os.environ, "SCHEDULER_EMBEDDED": "false", "CONVENE_INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", **env}
    base.pop("TEST_DATABASE_URL", None)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as stderr:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--bind", f"127.0.0.1:{port}",
                                   "wsgi:app"], cwd=ROOT, env=base, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/live", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.05)
        else:
            pytest.fail("gunicorn did not answer")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Convene cannot start" not in log.read_text()


def test_a_redis_store_that_does_not_answer_is_a_warning_not_a_refusal(tmp_path, caplog):
    """Sign-in must keep working through a Redis outage, and a web process restarted meanwhile too."""
    from app import create_app
    from app.db import db
    from app.extensions import limiter
    from app.startup import check

    uri = f"redis://:secret@127.0.0.1:{free_port()}/0"
    env = {**PRODUCTION, "RATELIMIT_STORAGE_URI": uri}
    assert run(flask("db", "upgrade"), tmp_path, **env).returncode == 0
    served = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite3", "RATELIMIT_ENABLED": True,
                         "RATELIMIT_STORAGE_URI": uri})
    try:
        check(served, None)  # does not raise
    finally:
        limiter.enabled = False
        with served.app_context():
            db.session.remove()
            db.engine.dispose()
    warning = " ".join(record.getMessage() for record in caplog.records if record.name == "convene.startup")
    assert "Cannot reach the rate-limit store at redis://:***@127.0.0.1:" in warning
    assert "(RATELIMIT_STORAGE_URI): each process counts requests in memory until it answers" in warning
    assert "secret" not in warning
