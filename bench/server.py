"""The app as it runs in production, for the benchmarks: a large seeded database, gunicorn, wrk.

    with LargeSite() as site:          # seeds a throwaway database (or uses DATABASE_URL)
        site.start(workers=2)          # gunicorn, sync workers, on a free loopback port
        cookie = site.cookie_for("archive-01-000@example.org")
        rate, p99 = wrk(site.url("/home"), cookie)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str | None:
    """The wrk binary, installing the Debian package when we are root; None (said loudly) if missing."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return shutil.which("wrk")


class LargeSite:
    """A throwaway instance folder with the large demo, and a gunicorn serving it."""

    def __init__(self, database_url: str | None = None, seed: bool = True) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="convene-bench-"))
        self.database_url = database_url or os.environ.get("DATABASE_URL") or \
            f"sqlite:///{self.folder}/convene.sqlite3"
        self.port = free_port()
        self.env = {**os.environ, "CONVENE_ENV": "production", "SECRET_KEY": SECRET,
                    "RATELIMIT_SINGLE_PROCESS": "true",  # the benchmarks accept limits counted per worker
                    "BASE_URL": f"http://127.0.0.1:{self.port}", "SESSION_COOKIE_SECURE": "false",
                    "DATABASE_URL": self.database_url, "CONVENE_INSTANCE_PATH": str(self.folder),
                    "UPLOAD_DIR": str(self.folder / "uploads"), "MAIL_FILE_DIR": str(self.folder / "mail"),
                    "SCHEDULER_EMBEDDED": "false"}
        self.server: subprocess.Popen | None = None
        self.seed_seconds = 0.0
        if seed:
            self.flask("db", "upgrade")
            started = time.perf_counter()
            self.flask("seed-demo", "--scale", "large")
            self.seed_seconds = time.perf_counter() - started

    def flask(self, *args: str) -> str:
        done = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def app(self):
        """An app object on the same database and secret, to sign cookies and look things up."""
        sys.path.insert(0, str(ROOT))
        from app import create_app

        return create_app({"SQLALCHEMY_DATABASE_URI": self.database_url, "SECRET_KEY": SECRET,
                           "UPLOAD_DIR": self.folder / "uploads", "MAIL_FILE_DIR": self.folder / "mail",
                           "SCHEDULER_EMBEDDED": False, "WTF_CSRF_ENABLED": False})

    def start(self, workers: int = 2) -> None:
        self.server = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=self.env, start_new_session=True)
        for _ in range(150):
            try:
                with urllib.request.urlopen(self.url("/healthz/live"), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        if self.server and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=30)
        self.server = None

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> LargeSite:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def session_cookie(app, user) -> str:
    """A `Cookie:` header value for a live server-side session of `user` (as signing in makes)."""
    from app import clock
    from app.auth.sessions import start_session
    from app.db import db

    token = start_session(user, now=clock.now())
    db.session.commit()
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps({"_user_id": user.get_id(), "_fresh": True, "sid": token,
                              "seen": clock.now().timestamp()})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


_LATENCY = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)")


def wrk(url: str, cookie: str | None = None, *, connections: int = 8, seconds: int = 10) -> tuple[float, float, str]:
    """Requests a second, p99 in ms, and any errors wrk reported ('' when none)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(_RATE.search(out).group(1))
    value, unit = _LATENCY.search(out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = "; ".join(m.group(0) for m in _ERRORS.finditer(out))
    return rate, p99, errors
